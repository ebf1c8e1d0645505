/**
 * The cron (wrangler.toml `[triggers]`, every 5 minutes): housekeeping that
 * must not wait for a request. Each job is independent: it runs on its own,
 * bounded per run, and one failing (or a bad configuration) never stops the
 * others. The jobs call the same domain functions as the routes, acting as
 * the `system` actor.
 */
import { SYSTEM_ACTOR } from '../access/principal'
import { deleteAttemptsBefore } from '../audit/sign-in-attempts'
import { type Config, getConfig } from '../config'
import { deleteExpiredConnectSessions } from '../connect/session'
import { deleteEndedSessions } from '../console/session'
import type { Env } from '../env'
import {
  confirmDueRegistrations,
  type RedirectUris,
  redirectUrisOf,
  retryDueRegistrations,
} from '../hostnames/redirect-uris'
import { refreshDueHostnames, releaseStalePending } from '../hostnames/service'
import { log } from '../log'
import { clientSecretHealth } from '../ops/client-secret'
import { type JobOutcome, recordJobRun } from '../ops/job-runs'
import { deleteLegacyFlows } from '../signin/legacy-flows'
import { planDueSyncs } from '../sync/fleet-queue'

/** What every job gets: the database, the configuration, the per-app registrars of redirect URIs, the queue of syncs. */
interface JobContext {
  d1: D1Database
  syncJobs: Queue | undefined
  config: Config
  uris: RedirectUris
  now: number
}

interface Job {
  name: string
  /**
   * Whether the job has anything to do this run (every run when absent). A run
   * with nothing due is not a run: job_runs keeps the last real one, its
   * failure and its last success, for the health view.
   */
  due?(now: number): boolean
  run(context: JobContext): Promise<Record<string, number>>
}

/** Deletions run in batches of this many rows, at most `maxBatches` per run, so a backlog never times a run out. */
export const DELETION_BATCHES = { rows: 500, maxBatches: 20 }

/** Repeats a bounded deletion until it finds less than a full batch, or the run's share is used up. */
async function deleteInBatches(deleteBatch: (limit: number) => Promise<number>): Promise<Record<string, number>> {
  let deleted = 0
  for (let batch = 0; batch < DELETION_BATCHES.maxBatches; batch++) {
    const count = await deleteBatch(DELETION_BATCHES.rows)
    deleted += count
    if (count < DELETION_BATCHES.rows) return { deleted, backlog: 0 }
  }
  return { deleted, backlog: 1 }
}

export const JOBS: Job[] = [
  {
    // Flows now live in Durable Objects that delete themselves; this drains the rows D1 kept before (same name, so
    // job_runs and the health view carry on).
    name: 'expired sign-in flows deleted',
    run: ({ d1, now }) => deleteInBatches((limit) => deleteLegacyFlows(d1, now, limit)),
  },
  {
    name: 'sign-in attempts past their retention deleted',
    run: ({ d1, config, now }) =>
      deleteInBatches((limit) => deleteAttemptsBefore(d1, now - config.signInAttemptsRetentionMs, limit)),
  },
  {
    name: 'expired connect sessions deleted',
    run: ({ d1, now }) => deleteInBatches((limit) => deleteExpiredConnectSessions(d1, now, limit)),
  },
  {
    name: 'ended console sessions deleted',
    run: ({ d1, now }) => deleteInBatches((limit) => deleteEndedSessions(d1, now, limit)),
  },
  {
    // Plans only: the due phone systems go to the SYNC_JOBS queue, whose consumer syncs them (sync/fleet-queue.ts).
    name: 'scheduled syncs',
    run: async ({ d1, syncJobs, config, now }) => {
      const { behind, ...report } = await planDueSyncs(d1, syncJobs, config, now)
      return { ...report, behind: behind ? 1 : 0 }
    },
  },
  {
    name: 'custom hostnames refreshed',
    run: ({ d1, config, uris, now }) => refreshDueHostnames(d1, config, uris, SYSTEM_ACTOR, now),
  },
  {
    name: 'stale pending custom hostnames released',
    run: ({ d1, config, uris, now }) => releaseStalePending(d1, config, uris, now),
  },
  {
    name: 'redirect URI registrations retried',
    run: ({ d1, config, uris, now }) => retryDueRegistrations(d1, config, uris, now),
  },
  {
    name: 'Entra client secret expiry checked',
    due: clientSecretCheckDue,
    run: ({ config, now }) => checkClientSecretExpiry(config, now),
  },
  {
    name: 'redirect URI registrations confirmed',
    run: ({ d1, config, uris, now }) => confirmDueRegistrations(d1, config, uris, now),
  },
]

/** Four times a day (the run in the first five minutes of every sixth hour): one Graph read, not 288. */
export const SECRET_CHECK_EVERY_HOURS = 6

function clientSecretCheckDue(now: number): boolean {
  const at = new Date(now)
  return at.getUTCHours() % SECRET_CHECK_EVERY_HOURS === 0 && at.getUTCMinutes() < 5
}

/**
 * The Entra client secret's expiry, read from Graph: a warning in the log 30
 * days ahead (an error once expired), for the alert of docs/OPERATIONS.md.
 */
async function checkClientSecretExpiry(config: Config, now: number): Promise<Record<string, number>> {
  const health = await clientSecretHealth(config, now)
  if (health.status === 'expired' || health.status === 'expiring' || health.status === 'not_listed') {
    log(health.status === 'expiring' ? 'warn' : 'error', `Entra client secret ${health.status}`, {
      alert: 'entra_client_secret',
      expiresAt: health.expiresAt,
      daysLeft: health.daysLeft,
      remedy: health.message,
    })
  }
  if (health.status === 'unknown') throw new Error(health.message ?? 'the client secret expiry could not be read')
  return { checked: 1, daysLeft: health.daysLeft ?? -1, expiring: health.status === 'ok' ? 0 : 1 }
}

async function runJob(job: Job, env: Env, now: number): Promise<void> {
  if (job.due && !job.due(now)) return
  const startedAt = Date.now()
  let outcome: JobOutcome
  try {
    const result = await job.run({
      d1: env.DB,
      syncJobs: env.SYNC_JOBS,
      config: getConfig(env),
      uris: redirectUrisOf(env),
      now,
    })
    log('info', job.name, result)
    outcome = { ok: true, result }
  } catch (error) {
    log('error', `job failed: ${job.name}`, { error: String(error) })
    outcome = { ok: false, error: error instanceof Error ? error.message : String(error) }
  }
  await recordJobRun(env.DB, job.name, startedAt, outcome).catch((error: unknown) =>
    log('error', 'could not record a job run', { job: job.name, error: String(error) }),
  )
}

export function runScheduledJobs(env: Env, ctx: ExecutionContext, now = Date.now()): void {
  for (const job of JOBS) ctx.waitUntil(runJob(job, env, now))
}
