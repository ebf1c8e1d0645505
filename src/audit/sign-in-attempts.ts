/**
 * The sign-in audit (`sign_in_attempts`): one row per step of every attempt
 * that reached the callback with a genuine state, code or token (callback,
 * complete, choose), with its outcome.
 * Identifiers only: never a token, code, cookie or state.
 */
import { asc, getTableColumns, inArray, lt } from 'drizzle-orm'
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

/**
 * One step's row, as the sign-in audit queue carries it (`audit/queue.ts`):
 * every column but the id D1 numbers rows with, and the event id the step
 * chose, which makes writing it twice write it once.
 */
export type SignInAttemptRow = Omit<typeof signInAttempts.$inferInsert, 'id' | 'eventId'> & { eventId: string }

/** D1 binds at most 100 parameters per statement: rows per INSERT, each binding every column but the id. */
const ROWS_PER_STATEMENT = Math.floor(100 / (Object.keys(getTableColumns(signInAttempts)).length - 1))

/**
 * Writes the rows in one D1 call (a batch, which D1 runs as one transaction:
 * all or none), a row whose event id is already stored adding nothing.
 */
export async function insertSignInAttempts(d1: D1Database, rows: readonly SignInAttemptRow[]): Promise<void> {
  const db = getDb(d1)
  const statements = []
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    statements.push(
      db
        .insert(signInAttempts)
        .values(rows.slice(start, start + ROWS_PER_STATEMENT))
        .onConflictDoNothing({ target: signInAttempts.eventId }),
    )
  }
  const [first, ...rest] = statements
  if (first) await db.batch([first, ...rest])
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
