/**
 * The last run of each scheduled job, one `job_runs` row per job: written at
 * the end of every run (`jobs/scheduled.ts`), read by the ops health view
 * (`health.ts`). A failure keeps the time of the last success.
 */
import { asc, sql } from 'drizzle-orm'
import { getDb } from '../db/client'
import { type JobRunRow, jobRuns } from '../db/schema'

export type JobOutcome = { ok: true; result: Record<string, number> } | { ok: false; error: string }

export async function recordJobRun(d1: D1Database, job: string, startedAt: number, outcome: JobOutcome) {
  const finishedAt = Date.now()
  const row = {
    job,
    startedAt,
    finishedAt,
    ok: outcome.ok,
    result: JSON.stringify(outcome.ok ? outcome.result : {}),
    // An error's message names what failed (a code, a host); capped so a runaway message cannot bloat the row.
    error: outcome.ok ? null : outcome.error.slice(0, 500),
    lastOkAt: outcome.ok ? finishedAt : null,
  }
  await getDb(d1)
    .insert(jobRuns)
    .values(row)
    .onConflictDoUpdate({
      target: jobRuns.job,
      set: {
        startedAt: row.startedAt,
        finishedAt: row.finishedAt,
        ok: row.ok,
        result: row.result,
        error: row.error,
        lastOkAt: outcome.ok ? finishedAt : sql`${jobRuns.lastOkAt}`,
      },
    })
}

export async function lastJobRuns(d1: D1Database): Promise<JobRunRow[]> {
  return getDb(d1).select().from(jobRuns).orderBy(asc(jobRuns.job)).all()
}
