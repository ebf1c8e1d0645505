/**
 * The ops health view (`GET /api/v1/health`, ARCHITECTURE §11): what ops
 * check when paged. The configuration as the Worker sees it (no secret
 * values), D1 and its latest migration, the cron (the last run of every job,
 * and whether it stopped), the Entra client secret's expiry, the signing keys
 * and their ages, and a list of warnings, each saying what to do.
 */

import type { Principal } from '../access/principal'
import type { Config } from '../config'
import { AppError, errorCodeOf } from '../errors'
import { DAY_MS, iso, isoOrNull } from '../lib/time'
import { type ClientSecretHealth, clientSecretHealth } from './client-secret'
import { lastJobRuns } from './job-runs'

/** The cron runs every 5 minutes: three missed runs mean it stopped. */
export const STALE_JOB_MS = 15 * 60 * 1000
/** A signing key older than this is due for rotation (README, "Rotating signing keys"). */
export const SIGNING_KEY_WARNING_DAYS = 365

export interface SigningKeyHealth {
  kid: string
  current: boolean
  /** From the kid's date (`npm run keys:new` names keys `YYYY-MM-DD-…`); null when the kid carries none. */
  createdOn: string | null
  ageDays: number | null
}

/** Pure: the published keys, current first, with their ages. */
export function signingKeyHealth(kids: string[], now: number): SigningKeyHealth[] {
  return kids.map((kid, index) => {
    const date = /^(\d{4}-\d{2}-\d{2})-/.exec(kid)?.[1]
    const created = date === undefined ? Number.NaN : Date.parse(`${date}T00:00:00Z`)
    const known = Number.isFinite(created)
    return {
      kid,
      current: index === 0,
      createdOn: known ? date! : null,
      ageDays: known ? Math.floor((now - created) / DAY_MS) : null,
    }
  })
}

export interface JobHealth {
  job: string
  ok: boolean
  startedAt: string
  durationMs: number
  result: Record<string, number>
  error: string | null
  lastOkAt: string | null
}

/** The view, for ops only: it names the configuration and the jobs of every partner. */
export async function healthOf(
  d1: D1Database,
  config: Config,
  principal: Principal,
  bound: { metrics: boolean },
  now: number,
) {
  if (principal.kind !== 'ops') throw new AppError('forbidden', 'Only the provider (the ops key) reads the health view')
  const warnings: string[] = []

  let database: { status: 'ok' | 'unreachable'; latencyMs: number; latestMigration: string | null; error?: string }
  let jobs: JobHealth[] = []
  const started = Date.now()
  try {
    const migration = await d1
      .prepare('SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1')
      .first<{ name: string }>()
      .catch(() => null)
    jobs = (await lastJobRuns(d1)).map((run) => ({
      job: run.job,
      ok: run.ok,
      startedAt: iso(run.startedAt),
      durationMs: run.finishedAt - run.startedAt,
      result: JSON.parse(run.result) as Record<string, number>,
      error: run.error,
      lastOkAt: isoOrNull(run.lastOkAt),
    }))
    database = { status: 'ok', latencyMs: Date.now() - started, latestMigration: migration?.name ?? null }
  } catch (error) {
    database = {
      status: 'unreachable',
      latencyMs: Date.now() - started,
      latestMigration: null,
      error: errorCodeOf(error),
    }
    warnings.push(
      'D1 did not answer: sign-ins and the admin API fail with 503 until it does (docs/OPERATIONS.md, "D1 unavailable").',
    )
  }

  const lastRunAt = jobs.reduce<number | null>((latest, job) => Math.max(latest ?? 0, Date.parse(job.startedAt)), null)
  const cronStatus =
    database.status !== 'ok'
      ? 'unknown'
      : lastRunAt === null
        ? 'never_run'
        : now - lastRunAt > STALE_JOB_MS
          ? 'stale'
          : jobs.some((job) => !job.ok)
            ? 'failing'
            : 'ok'
  if (cronStatus === 'never_run' || cronStatus === 'stale') {
    warnings.push(
      `The scheduled jobs have ${cronStatus === 'never_run' ? 'never run' : `not run since ${isoOrNull(lastRunAt)}`}: check [triggers] crons in wrangler.toml and the Worker's Cron Triggers in the dashboard.`,
    )
  }
  for (const job of jobs.filter((j) => !j.ok)) {
    warnings.push(`Scheduled job "${job.job}" failed at ${job.startedAt}: ${job.error ?? 'no message'}.`)
  }

  const clientSecret: ClientSecretHealth = await clientSecretHealth(config, now)
  if (clientSecret.status !== 'ok' && clientSecret.message) warnings.push(clientSecret.message)

  const signingKeys = signingKeyHealth(
    config.signingKeys.map((key) => key.kid),
    now,
  )
  const current = signingKeys[0]
  if (current?.ageDays != null && current.ageDays > SIGNING_KEY_WARNING_DAYS) {
    warnings.push(
      `The current signing key ${current.kid} is ${current.ageDays} days old: rotate it (README, "Rotating signing keys").`,
    )
  }
  if (!bound.metrics) {
    warnings.push('No METRICS binding: sign-ins, syncs and hostname changes are not counted in Analytics Engine.')
  }

  return {
    status:
      database.status !== 'ok' ? ('unavailable' as const) : warnings.length ? ('warning' as const) : ('ok' as const),
    checkedAt: iso(now),
    warnings,
    configuration: {
      status: 'ok' as const,
      primaryHost: config.primaryHost,
      providerZone: config.providerZone,
      customHostnames: config.customHostnames,
      cloudflareConfigured: config.cloudflare !== null,
      entraAuthority: config.entra.authority,
      entraClientId: config.entra.clientId,
      entraHomeTenantId: config.entra.homeTenantId,
      graphBase: config.graphBase,
      opsKeySet: config.adminApiKey !== undefined,
      syncIntervalHours: config.syncIntervalMs / 3_600_000,
      signInAttemptsRetentionDays: config.signInAttemptsRetentionMs / DAY_MS,
      analytics: bound.metrics,
    },
    database,
    scheduled: { status: cronStatus, lastRunAt: isoOrNull(lastRunAt), jobs },
    entraClientSecret: clientSecret,
    signingKeys,
  }
}

export type Health = Awaited<ReturnType<typeof healthOf>>
