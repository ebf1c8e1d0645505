/**
 * Scheduled sync through the SYNC_JOBS queue (policy in `fleet.ts`): the cron
 * plans (`planDueSyncs`), the admin Worker's queue consumer syncs
 * (`consumeSyncJobs`), each phone system with the same `syncNow` as the Sync
 * button.
 *
 * Delivery is at least once. A message carries its phone system and the lease
 * the planner gave it (`dueBy`): the sync claims the phone system only if its
 * next sync is still at or before that lease (`claim.ts`), so a duplicate
 * delivery, or a message for a phone system synced since, syncs nothing. A
 * phone system deleted while queued is skipped. A lost message needs no
 * redelivery: the lease runs out and the next cron sends the phone system again.
 */
import { eq } from 'drizzle-orm'
import * as z from 'zod/mini'
import { SYSTEM_ACTOR } from '../access/principal'
import { retryDelaySeconds } from '../audit/queue-consumer'
import type { Config } from '../config'
import { getDb } from '../db/client'
import { graphTenantBackoff, type PhoneSystemRow, phoneSystems } from '../db/schema'
import { AppError, ConfigError } from '../errors'
import type { RedirectUris } from '../hostnames/redirect-uris'
import { log } from '../log'
import { metrics } from '../observe/metrics'
import { clientForOrg } from '../oidc/clients'
import { appPortalOf } from '../tenancy/portal'
import { APP_WIDE, backoffMs, chunks, FLEET, INVOCATION_LIMITS, type PlanReport, planReport, runLimit } from './fleet'

export { SYNC_QUEUES } from './fleet'

import { MAX_REQUESTS_PER_PULL } from './pull'
import { syncNow } from './sync'

/** One message: sync this phone system if it is still due by `dueBy` (the lease the planner gave it). */
export interface SyncJob {
  phoneSystemId: string
  dueBy: number
}

const jobSchema = z.object({
  phoneSystemId: z.string().check(z.minLength(1), z.maxLength(64)),
  dueBy: z.int(),
})

// ---------------------------------------------------------------- the planner (the cron)

/**
 * Picks the phone systems due now (tenant connected, not backed off), oldest first and at most
 * `runLimit`, moves each one's next sync a lease ahead, all in one UPDATE through
 * `phone_systems_sync_due_idx`, then sends one message each. Three D1 queries however big the fleet.
 */
export async function planDueSyncs(
  d1: D1Database,
  queue: Queue | undefined,
  config: Config,
  now: number,
): Promise<PlanReport & { unsent: number }> {
  if (!queue) {
    throw new ConfigError(
      'SYNC_JOBS is not bound: the admin Worker sends scheduled syncs to the sso-gateway-sync queue (wrangler.admin.toml [[queues.producers]]).',
    )
  }
  const appWide = await d1
    .prepare('SELECT until, strikes FROM graph_tenant_backoff WHERE tenant_id = ?')
    .bind(APP_WIDE.tenantId)
    .first<{ until: number; strikes: number }>()
  const limit = runLimit(appWide, now)
  const lease = now + FLEET.leaseMs
  const { results: planned } = await d1
    .prepare(
      `UPDATE phone_systems SET next_sync_at = ?1
       WHERE id IN (
         SELECT id FROM phone_systems
         WHERE next_sync_at <= ?2 AND tenant_status != 'unverified' AND sync_source != 'scim'
           AND entra_tenant_id NOT IN (SELECT tenant_id FROM graph_tenant_backoff WHERE until > ?2)
         ORDER BY next_sync_at LIMIT ?3)
       RETURNING id`,
    )
    .bind(lease, now, limit)
    .all<{ id: string }>()
  // What is left due after this run, for the report: the backlog, and what backoffs hold back.
  const left = await d1
    .prepare(
      `SELECT count(*) AS due,
         coalesce(sum(entra_tenant_id IN (SELECT tenant_id FROM graph_tenant_backoff WHERE until > ?1)), 0) AS backed_off,
         min(CASE WHEN entra_tenant_id NOT IN (SELECT tenant_id FROM graph_tenant_backoff WHERE until > ?1) THEN next_sync_at END) AS oldest
       FROM phone_systems WHERE next_sync_at <= ?1 AND tenant_status != 'unverified' AND sync_source != 'scim'`,
    )
    .bind(now)
    .first<{ due: number; backed_off: number; oldest: number | null }>()
  let unsent = 0
  for (const part of chunks(planned.map((row) => row.id))) {
    try {
      await queue.sendBatch(
        part.map((phoneSystemId) => ({ body: { phoneSystemId, dueBy: lease } satisfies SyncJob, contentType: 'json' })),
      )
    } catch (error) {
      // Not sent: due again at once, for the next run, instead of after the lease.
      unsent += part.length
      log('error', 'sync jobs not sent; due again next run', { phoneSystems: part.length, error: String(error) })
      await d1
        .prepare(
          'UPDATE phone_systems SET next_sync_at = ?1 WHERE id IN (SELECT value FROM json_each(?2)) AND next_sync_at = ?3',
        )
        .bind(now, JSON.stringify(part), lease)
        .run()
    }
  }
  const sent = planned.length - unsent
  const report = planReport({
    due: sent + (left?.due ?? 0) - (left?.backed_off ?? 0) + unsent,
    sent,
    oldestDueAt: left?.oldest ?? null,
    backedOff: left?.backed_off ?? 0,
    limit,
    now,
  })
  metrics.syncPlan(config.metrics, {
    state: report.behind ? 'behind' : 'ok',
    due: report.due,
    sent: report.sent,
    backlog: report.backlog,
    lateMs: report.lateMs,
    backedOff: report.backedOff,
    limit: report.limit,
  })
  if (report.behind) {
    log('warn', 'sync fleet behind: due phone systems left for the next runs', {
      alert: 'sync_fleet_behind',
      ...report,
      appWideBackoffUntil: appWide && appWide.until > now ? appWide.until : null,
    })
  }
  return { ...report, unsent }
}

// ---------------------------------------------------------------- the consumer

/**
 * What one sync may cost at most, reserved before it starts so an invocation stays inside
 * `INVOCATION_LIMITS`: the pull's own bound, plus the token, discovery and the redirect URI registrar;
 * D1: a 50,000-user replace is about 40 statements, the claim, reads and audit a dozen more.
 */
export const SYNC_RESERVE = { subrequests: MAX_REQUESTS_PER_PULL + 30, d1Queries: 100 } as const

/** Counts the statements prepared through it: what an invocation has spent of its D1 queries (an upper bound). */
function countingD1(d1: D1Database, count: { queries: number }): D1Database {
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === 'prepare') {
        return (sql: string) => {
          count.queries++
          return target.prepare(sql)
        }
      }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

export interface ConsumeResult {
  synced: number
  failed: number
  skipped: number
  /** Held back by its tenant's backoff: due again when it ends. */
  deferred: number
  /** Left for a later invocation: this one could not hold another sync's reserve. */
  retried: number
  throttled: number
  d1Queries: number
  subrequests: number
}

/**
 * The queue consumer: the batch's syncs one after another, each only if what is left of the
 * invocation's limits still holds its reserve (else retried, to a later invocation). Every outcome
 * the schedule already covers is acked: a failed sync is recorded and due again in an hour
 * (`syncPhoneSystem`); a throttled one also backs its tenant off. Only an unexpected error (D1
 * down) retries the message, with a growing delay, up to the dead letter queue.
 */
export async function consumeSyncJobs(
  batch: MessageBatch<unknown>,
  env: { DB: D1Database },
  config: Config,
  uris: RedirectUris,
  random: () => number = Math.random,
): Promise<ConsumeResult> {
  const count = { queries: 0 }
  const d1 = countingD1(env.DB, count)
  const result: ConsumeResult = {
    synced: 0,
    failed: 0,
    skipped: 0,
    deferred: 0,
    retried: 0,
    throttled: 0,
    d1Queries: 0,
    subrequests: 0,
  }
  for (const message of batch.messages) {
    const parsed = jobSchema.safeParse(message.body)
    if (!parsed.success) {
      log('error', 'sync job malformed; dropped', { queue: batch.queue, messageId: message.id })
      message.ack()
      continue
    }
    const job = parsed.data
    if (
      result.subrequests + SYNC_RESERVE.subrequests > INVOCATION_LIMITS.subrequests ||
      count.queries + SYNC_RESERVE.d1Queries > INVOCATION_LIMITS.d1Queries
    ) {
      result.retried++
      message.retry({ delaySeconds: 1 })
      continue
    }
    try {
      const outcome = await syncJob(d1, config, uris, job, random)
      result[outcome.kind]++
      result.subrequests += outcome.subrequests
      if (outcome.kind === 'throttled') result.failed++
      message.ack()
    } catch (error) {
      const delaySeconds = retryDelaySeconds(message.attempts)
      log('error', 'sync job failed unexpectedly; retrying', {
        phoneSystemId: job.phoneSystemId,
        attempts: message.attempts,
        delaySeconds,
        error: String(error),
      })
      result.subrequests += SYNC_RESERVE.subrequests
      message.retry({ delaySeconds })
    }
  }
  result.d1Queries = count.queries
  log('info', 'sync jobs consumed', { queue: batch.queue, messages: batch.messages.length, ...result })
  return result
}

type JobOutcome = { kind: 'synced' | 'failed' | 'skipped' | 'deferred' | 'throttled'; subrequests: number }

async function syncJob(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  job: SyncJob,
  random: () => number,
): Promise<JobOutcome> {
  const now = Date.now()
  const row = await getDb(d1)
    .select({ phoneSystem: phoneSystems, backoff: graphTenantBackoff })
    .from(phoneSystems)
    .leftJoin(graphTenantBackoff, eq(graphTenantBackoff.tenantId, phoneSystems.entraTenantId))
    .where(eq(phoneSystems.id, job.phoneSystemId))
    .get()
  if (!row) {
    log('info', 'sync job skipped: the phone system was deleted', { phoneSystemId: job.phoneSystemId })
    return { kind: 'skipped', subrequests: 0 }
  }
  const { phoneSystem, backoff } = row
  // Synced since it was sent (by the button, or a duplicate of this message), or no longer scheduled.
  if (
    phoneSystem.nextSyncAt === null ||
    phoneSystem.nextSyncAt > job.dueBy ||
    phoneSystem.tenantStatus === 'unverified' ||
    // A list SCIM pushes is never pulled (its schedule is cleared when it becomes SCIM's; this holds whatever set one).
    phoneSystem.syncSource === 'scim'
  ) {
    return { kind: 'skipped', subrequests: 0 }
  }
  if (backoff && backoff.until > now) {
    // Its tenant was throttled after the planner sent it: due again when the backoff ends.
    await d1
      .prepare('UPDATE phone_systems SET next_sync_at = ?1 WHERE id = ?2 AND next_sync_at <= ?3')
      .bind(backoff.until, phoneSystem.id, job.dueBy)
      .run()
    return { kind: 'deferred', subrequests: 0 }
  }
  try {
    const result = await syncNow(d1, config, uris, SYSTEM_ACTOR, phoneSystem, now, { dueBy: job.dueBy })
    // A tenant that answers again has its backoff forgotten.
    if (backoff) await d1.prepare('DELETE FROM graph_tenant_backoff WHERE tenant_id = ?').bind(backoff.tenantId).run()
    // Each redirect URI registered or retried costs a read and a write at Graph; token, discovery, registrar.
    const redirectUriRequests = (result.redirectUris.registered + result.redirectUris.pending) * 2
    return { kind: 'synced', subrequests: result.graphRequests + redirectUriRequests + 3 }
  } catch (error) {
    if (!(error instanceof AppError)) throw error
    if (error.code === 'sync_in_progress') return { kind: 'skipped', subrequests: 1 }
    if (error.code === 'graph_throttled') {
      // A portal's own Entra app throttled is that portal's (its partner holds the secret and can spend the
      // app's Graph quota at will): it backs the tenant off, never the provider's app for the whole fleet.
      const client = await clientForOrg(d1, config, await appPortalOf(d1, phoneSystem.orgId, now))
      await recordThrottle(d1, phoneSystem, backoff?.strikes ?? 0, retryAfterOf(error), random, {
        providerApp: client.orgId === null,
      })
      return { kind: 'throttled', subrequests: MAX_REQUESTS_PER_PULL }
    }
    // Recorded on the phone system by the sync, and due again in an hour.
    return { kind: 'failed', subrequests: MAX_REQUESTS_PER_PULL }
  }
}

function retryAfterOf(error: AppError): number {
  const seconds = Number(error.headers['Retry-After'])
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0
}

/**
 * Backs the phone system's tenant off (one more strike), and the whole app when `APP_WIDE.tenants`
 * tenants were throttled within its window: Graph throttling the provider's app across tenants.
 *
 * Only the provider's app counts towards the app-wide backoff (`providerApp`): a throttle of a portal's
 * own app is recorded with `throttled_at` 0, so it backs its tenant off and is never counted as one of
 * the provider app's throttled tenants (a partner spending its own app's quota in a few tenants would
 * otherwise halve every other partner's scheduled syncs).
 */
export async function recordThrottle(
  d1: D1Database,
  phoneSystem: Pick<PhoneSystemRow, 'id' | 'entraTenantId'>,
  previousStrikes: number,
  retryAfterMs: number,
  random: () => number = Math.random,
  options: { providerApp: boolean } = { providerApp: true },
): Promise<void> {
  const now = Date.now()
  const strikes = previousStrikes + 1
  const until = now + backoffMs(strikes, retryAfterMs, random)
  const upsert = `INSERT INTO graph_tenant_backoff (tenant_id, until, strikes, throttled_at) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (tenant_id) DO UPDATE SET until = excluded.until, strikes = excluded.strikes, throttled_at = excluded.throttled_at`
  await d1
    .prepare(upsert)
    .bind(phoneSystem.entraTenantId, until, strikes, options.providerApp ? now : 0)
    .run()
  log('warn', 'Graph throttles a tenant: its scheduled syncs back off', {
    alert: 'graph_tenant_backoff',
    tenantId: phoneSystem.entraTenantId,
    phoneSystemId: phoneSystem.id,
    providerApp: options.providerApp,
    strikes,
    until,
  })
  if (!options.providerApp) return
  const seen = await d1
    .prepare(
      `SELECT (SELECT count(*) FROM graph_tenant_backoff WHERE throttled_at > ?1 AND tenant_id != ?2) AS tenants,
         (SELECT strikes FROM graph_tenant_backoff WHERE tenant_id = ?2 AND until > ?1) AS strikes`,
    )
    .bind(now - APP_WIDE.windowMs, APP_WIDE.tenantId)
    .first<{ tenants: number; strikes: number | null }>()
  if ((seen?.tenants ?? 0) < APP_WIDE.tenants) return
  // One app-wide strike per window at most: the tenants throttled together are one event.
  const appStrikes = (seen?.strikes ?? 0) + 1
  const appUntil = now + backoffMs(appStrikes, 0, random)
  const applied = await d1
    .prepare(`${upsert} WHERE graph_tenant_backoff.throttled_at <= ?5`)
    .bind(APP_WIDE.tenantId, appUntil, appStrikes, now, now - APP_WIDE.windowMs)
    .run()
  if (applied.meta.changes > 0) {
    log('error', 'Graph throttles the app across tenants: the sync planner slows down', {
      alert: 'graph_app_backoff',
      tenants: seen?.tenants,
      strikes: appStrikes,
      until: appUntil,
    })
  }
}
