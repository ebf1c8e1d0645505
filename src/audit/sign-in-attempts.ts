/**
 * The sign-in audit (`sign_in_attempts`): one row per step of every attempt
 * that reached the callback with a genuine state, code or token (callback,
 * complete, choose), with its outcome.
 * Identifiers only: never a token, code, cookie or state.
 */
import { asc, inArray, lt } from 'drizzle-orm'
import { getDb } from '../db/client'
import { signInAttempts } from '../db/schema'

export interface AttemptFacts {
  step: 'callback' | 'complete' | 'choose'
  hostname?: string
  orgId?: string | null
  phoneSystemId?: string
  tid?: string
  oid?: string
  /** The identity's `preferred_username` (its UPN), for the sign-in log; null when Entra gave none. */
  account?: string | null
  /**
   * The request carried a genuine state, completion code or chooser token.
   * Only such attempts are written to D1: anything else is anonymous noise,
   * logged but never stored (ARCHITECTURE §8).
   */
  authentic?: boolean
  /** When the flow began (its login redirect), for the whole sign-in's duration. */
  startedAt?: number
  /** How the flow comes back from Entra: the central callback, the host's own (direct), or the primary host's own. */
  callbackMode?: 'central' | 'direct' | 'primary'
  /** Set by handlers that end well; errors decide the outcome otherwise. */
  result?: 'success' | 'pending'
  reason?: string
}

export type SignInAttemptRow = typeof signInAttempts.$inferInsert

export async function recordSignInAttempt(d1: D1Database, row: SignInAttemptRow): Promise<void> {
  await getDb(d1).insert(signInAttempts).values(row)
}

/** Deletes up to `limit` attempt rows older than `before` (the retention), oldest first; how many it deleted. */
export async function deleteAttemptsBefore(d1: D1Database, before: number, limit: number): Promise<number> {
  const db = getDb(d1)
  const old = db
    .select({ id: signInAttempts.id })
    .from(signInAttempts)
    .where(lt(signInAttempts.at, before))
    .orderBy(asc(signInAttempts.at))
    .limit(limit)
  const result = await db.delete(signInAttempts).where(inArray(signInAttempts.id, old)).run()
  return result.meta.changes ?? 0
}
