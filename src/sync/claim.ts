/**
 * At most one sync of a phone system at a time (ARCHITECTURE §8). A sync starts by
 * claiming the phone system's `sync_runs` row, and in the same transaction
 * moves its next scheduled sync forward, both before anything is pulled: a
 * second sync meanwhile answers 409 `sync_in_progress` and writes nothing,
 * and a run that dies mid-pull (an isolate out of memory) leaves the phone
 * system due an hour later instead of first in line again. Every write of the
 * sync afterwards is conditional on still holding the claim (`held`), so a
 * run whose claim was taken over writes nothing; the claim is released in
 * the batch that records the outcome. A claim older than `SYNC_CLAIM_TTL_MS`
 * is a crashed run's and may be taken over.
 */
import { guard } from '../db/statements'
import { AppError } from '../errors'

/**
 * How long a claim blocks other syncs: far longer than a sync takes (seconds;
 * its waits for throttling are capped at 30 s and each Graph call times out),
 * and as long as a scheduled invocation may last.
 */
export const SYNC_CLAIM_TTL_MS = 15 * 60 * 1000

/** When a sync is claimed, its phone system's next scheduled sync moves this far ahead (if it has one). */
export const SYNC_RETRY_AFTER_MS = 60 * 60 * 1000

export interface SyncClaim {
  phoneSystemId: string
  runId: string
}

/**
 * Claims the sync of `phoneSystemId` now, or throws 409 `sync_in_progress`.
 * `dueBy`: claim only if the phone system is still due by then (the schedule,
 * so a sync that finished meanwhile is not repeated).
 */
export async function claimSync(
  d1: D1Database,
  phoneSystemId: string,
  now: number,
  options: { dueBy?: number } = {},
): Promise<SyncClaim> {
  const runId = crypto.randomUUID()
  const due = options.dueBy === undefined ? '' : ' AND next_sync_at <= ?5'
  const [claimed] = await d1.batch([
    d1
      .prepare(
        `INSERT INTO sync_runs (phone_system_id, run_id, started_at)
         SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM phone_systems WHERE id = ?1${due})
         ON CONFLICT (phone_system_id) DO UPDATE SET run_id = excluded.run_id, started_at = excluded.started_at
         WHERE sync_runs.started_at <= ?4`,
      )
      .bind(
        phoneSystemId,
        runId,
        now,
        now - SYNC_CLAIM_TTL_MS,
        ...(options.dueBy === undefined ? [] : [options.dueBy]),
      ),
    d1
      .prepare(
        `UPDATE phone_systems SET next_sync_at = ?3
         WHERE id = ?1 AND next_sync_at IS NOT NULL
           AND EXISTS (SELECT 1 FROM sync_runs WHERE phone_system_id = ?1 AND run_id = ?2)`,
      )
      .bind(phoneSystemId, runId, now + SYNC_RETRY_AFTER_MS),
  ])
  if (claimed?.meta.changes !== 1) {
    throw new AppError(
      'sync_in_progress',
      'A sync of this phone system is already under way; nothing was started. Wait for it to finish (its result shows in the phone system\'s "sync" status), then Sync again if needed.',
    )
  }
  return { phoneSystemId, runId }
}

const HELD = 'EXISTS (SELECT 1 FROM sync_runs WHERE phone_system_id = ? AND run_id = ?)'

/** Statements that fail (and roll back) a batch unless the claim is still this run's. */
export function heldGuard(d1: D1Database, claim: SyncClaim): D1PreparedStatement[] {
  return guard(d1, HELD, claim.phoneSystemId, claim.runId)
}

/** Releases the claim, if it is still this run's. */
export function releaseStatement(d1: D1Database, claim: SyncClaim): D1PreparedStatement {
  return d1
    .prepare('DELETE FROM sync_runs WHERE phone_system_id = ? AND run_id = ?')
    .bind(claim.phoneSystemId, claim.runId)
}

/** When the sync of `phoneSystemId` under way now started; null when none is (a claim past its TTL is a dead run's). */
export async function syncUnderWaySince(d1: D1Database, phoneSystemId: string, now: number): Promise<number | null> {
  const row = await d1
    .prepare('SELECT started_at FROM sync_runs WHERE phone_system_id = ? AND started_at > ?')
    .bind(phoneSystemId, now - SYNC_CLAIM_TTL_MS)
    .first<{ started_at: number }>()
  return row?.started_at ?? null
}
