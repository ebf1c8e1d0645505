/**
 * The sign-in audit (`sign_in_attempts`): one row per step of every attempt
 * that reached the callback (callback, complete, choose), with its outcome.
 * Identifiers only: never a token, code, cookie or state.
 */
import { getDb } from '../db/client'
import { signInAttempts } from '../db/schema'

export interface AttemptFacts {
  step: 'callback' | 'complete' | 'choose'
  hostname?: string
  orgId?: string | null
  phoneSystemId?: string
  tid?: string
  oid?: string
  /** Set by handlers that end well; errors decide the outcome otherwise. */
  result?: 'success' | 'pending'
  reason?: string
}

export type SignInAttemptRow = typeof signInAttempts.$inferInsert

export async function recordSignInAttempt(d1: D1Database, row: SignInAttemptRow): Promise<void> {
  await getDb(d1).insert(signInAttempts).values(row)
}
