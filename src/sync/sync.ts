/**
 * Sync (the seed's Sync button): pull the phone system's list from Microsoft
 * Graph, then replace the stored list with it in one D1 transaction, only
 * when the whole pull succeeded. A failed or partial pull changes nothing;
 * the attempt (time, outcome, reason, counts) is recorded on the phone system.
 */
import { asc, eq, lte } from 'drizzle-orm'
import type { Principal } from '../admin/audit'
import { auditStatement, SYSTEM_ACTOR } from '../admin/audit'
import type { Config } from '../config'
import { getDb } from '../db/client'
import { organizations, phoneSystems } from '../db/schema'
import { toStatement } from '../db/statements'
import { AppError } from '../errors'
import { log } from '../log'
import { clientForOrg } from '../oidc/clients'
import type { ReplaceCounts } from '../sso/plan'
import { replaceSsoList } from '../sso/store'
import { type PullStats, pullSsoList } from './pull'

export type PhoneSystemRow = typeof phoneSystems.$inferSelect

export interface SyncOutcome extends ReplaceCounts {
  source: PhoneSystemRow['syncSource']
  graphRequests: number
  graphPages: number
  disabledSkipped: number
  d1Statements: number
  ms: number
}

/** After a failure, when to try again on schedule. */
const RETRY_AFTER_FAILURE_MS = 60 * 60 * 1000

/** The organization whose Microsoft integration serves a phone system: flat customers live in their partner's portal. */
export async function portalOf(d1: D1Database, orgId: string): Promise<string> {
  const org = await getDb(d1).select().from(organizations).where(eq(organizations.id, orgId)).get()
  return org?.kind === 'customer' && org.structure === 'flat' && org.parentId ? org.parentId : orgId
}

export function nextScheduledSync(config: Config, now: number, random = Math.random): number {
  // Jitter spreads phone systems synced together apart, so one cron run never meets them all at once.
  return now + config.syncIntervalMs + Math.floor(random() * config.syncIntervalMs * 0.2)
}

export async function syncPhoneSystem(
  d1: D1Database,
  config: Config,
  actor: Principal | typeof SYSTEM_ACTOR,
  phoneSystem: PhoneSystemRow,
  now: number,
): Promise<SyncOutcome> {
  const started = Date.now()
  let stats: PullStats | undefined
  try {
    const client = await clientForOrg(d1, config, await portalOf(d1, phoneSystem.orgId))
    const pulled = await pullSsoList(config, client, phoneSystem.entraTenantId, {
      kind: phoneSystem.syncSource,
      groupId: phoneSystem.syncGroupId,
    })
    stats = pulled.stats
    const finished = Date.now()
    const result = await replaceSsoList(d1, phoneSystem, pulled.users, {
      now,
      plan: { keepStoredExtension: true },
      alsoRun: (counts) => [
        toStatement(
          d1,
          getDb(d1)
            .update(phoneSystems)
            .set({
              lastSyncAt: finished,
              lastSyncStatus: 'success',
              lastSyncError: null,
              lastSyncCounts: { ...counts },
              nextSyncAt: nextScheduledSync(config, finished),
            })
            .where(eq(phoneSystems.id, phoneSystem.id)),
        ),
        auditStatement(
          d1,
          actor,
          {
            orgId: phoneSystem.orgId,
            action: 'sso_list.sync',
            targetType: 'sso_list',
            targetId: phoneSystem.id,
            summary: { ...counts, graphRequests: stats!.requests },
          },
          now,
        ),
      ],
    })
    const { statements, ...counts } = result
    return {
      ...counts,
      source: phoneSystem.syncSource,
      graphRequests: stats.requests,
      graphPages: stats.pages,
      disabledSkipped: stats.disabled,
      d1Statements: statements,
      ms: Date.now() - started,
    }
  } catch (error) {
    const message = error instanceof AppError ? error.message : 'Internal error during sync'
    log('warn', 'sync failed; the SSO list is unchanged', {
      phoneSystemId: phoneSystem.id,
      code: error instanceof AppError ? error.code : 'internal',
    })
    await getDb(d1)
      .update(phoneSystems)
      .set({
        lastSyncAt: Date.now(),
        lastSyncStatus: 'failed',
        lastSyncError: message.slice(0, 1000),
        nextSyncAt: phoneSystem.nextSyncAt === null ? null : Date.now() + RETRY_AFTER_FAILURE_MS,
      })
      .where(eq(phoneSystems.id, phoneSystem.id))
      .catch((recordError: unknown) =>
        log('error', 'could not record the failed sync', { phoneSystemId: phoneSystem.id, error: String(recordError) }),
      )
    throw error
  }
}

/**
 * What one scheduled run may spend: a Worker invocation may make 1,000
 * subrequests (Graph) and 1,000 D1 queries. A run stops starting syncs when
 * the next one could take it past the budget; the rest are due next run.
 */
export const RUN_BUDGET = { phoneSystems: 10, requests: 800 }

/** A phone system's likely cost, from its last sync (or a small default). */
function estimatedRequests(ps: PhoneSystemRow): number {
  const last = ps.lastSyncCounts as { total?: number } | null
  return 10 + Math.ceil((last?.total ?? 0) / 999) * 2 + 30
}

export async function syncDuePhoneSystems(
  d1: D1Database,
  config: Config,
  now: number,
): Promise<{ synced: number; failed: number; deferred: number }> {
  const due = await getDb(d1)
    .select()
    .from(phoneSystems)
    .where(lte(phoneSystems.nextSyncAt, now))
    .orderBy(asc(phoneSystems.nextSyncAt))
    .limit(RUN_BUDGET.phoneSystems)
    .all()
  let used = 0
  let synced = 0
  let failed = 0
  let deferred = 0
  for (const ps of due) {
    if (used + estimatedRequests(ps) > RUN_BUDGET.requests) {
      deferred++
      continue
    }
    try {
      const outcome = await syncPhoneSystem(d1, config, SYSTEM_ACTOR, ps, now)
      used += outcome.graphRequests + outcome.d1Statements
      synced++
    } catch {
      used += estimatedRequests(ps)
      failed++
    }
  }
  return { synced, failed, deferred }
}
