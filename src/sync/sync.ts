/**
 * Sync (the seed's Sync button): claim the phone system (one sync at a time,
 * see `claim.ts`), pull its list from Microsoft Graph, then replace the
 * stored list with it in one D1 transaction, only when the whole pull
 * succeeded. A failed or partial pull changes nothing; the attempt (time,
 * outcome, reason, counts) is recorded on the phone system, by the run that
 * holds the claim only.
 */
import { eq } from 'drizzle-orm'
import * as z from 'zod/mini'
import { type Actor, SYSTEM_ACTOR } from '../access/principal'
import { auditStatement } from '../audit/write'
import type { Config } from '../config'
import { getDb } from '../db/client'
import { type PhoneSystemRow, phoneSystems } from '../db/schema'
import { isGuardFailure, toStatement } from '../db/statements'
import { AppError, errorCodeOf } from '../errors'
import { type RedirectUris, reconcilePortal } from '../hostnames/redirect-uris'
import { log } from '../log'
import { metrics } from '../observe/metrics'
import { clientForOrg } from '../oidc/clients'
import { listPushedByScim } from '../phone-systems/sync-source'
import type { ReplaceCounts } from '../sso/plan'
import { writePlan } from '../sso/store'
import { appPortalOf, portalOf } from '../tenancy/portal'
import { claimSync, heldGuard, releaseStatement, SYNC_RETRY_AFTER_MS, type SyncClaim, syncUnderWaySince } from './claim'
import { FULL_REASONS, type FullReason, pullListUpdate, SYNC_MODES, type SyncMode } from './delta'
import { scheduledAfter } from './fleet'
import type { PullStats } from './pull'

export interface SyncOutcome extends ReplaceCounts {
  /** A pull's source: never `scim` (a pushed list is refused before anything is pulled). */
  source: Exclude<PhoneSystemRow['syncSource'], 'scim'>
  /** `delta`: Graph's changes since the last sync applied; `full`: the list read whole, and why. */
  mode: SyncMode
  fullReason: FullReason | null
  graphRequests: number
  graphPages: number
  disabledSkipped: number
  d1Statements: number
  ms: number
}

/** What a Sync answers: the list's counts, what it cost, and the portal's redirect URIs it registered. */
export const syncResultSchema = z.object({
  added: z.number(),
  removed: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  total: z.number(),
  source: z.enum(['app_assignments', 'group']),
  mode: z.enum(SYNC_MODES),
  fullReason: z.nullable(z.enum(FULL_REASONS)),
  graphRequests: z.number(),
  graphPages: z.number(),
  disabledSkipped: z.number(),
  d1Statements: z.number(),
  ms: z.number(),
  redirectUris: z.object({ registered: z.number(), pending: z.number() }),
})

export type SyncResult = z.output<typeof syncResultSchema>

/** The next scheduled sync after one at `now`: the interval plus jitter (`fleet.ts` scheduledAfter). */
export function nextScheduledSync(config: Config, now: number, random = Math.random): number {
  return scheduledAfter(config.syncIntervalMs, now, random)
}

export interface SyncOptions {
  /** The schedule: sync only if the phone system is still due by then (else 409 `sync_in_progress`: skipped). */
  dueBy?: number
}

export async function syncPhoneSystem(
  d1: D1Database,
  config: Config,
  actor: Actor,
  phoneSystem: PhoneSystemRow,
  now: number,
  options: SyncOptions = {},
): Promise<SyncOutcome> {
  const source = phoneSystem.syncSource
  if (source === 'scim') throw listPushedByScim()
  // Nothing is read from an unproven tenant: naming a tenant proves nothing (ARCHITECTURE §6).
  if (phoneSystem.tenantStatus === 'unverified') {
    throw new AppError(
      'tenant_not_connected',
      `The Microsoft 365 tenant ${phoneSystem.entraTenantId} of this phone system is not connected yet, so nothing was read from it. ` +
        'Create a connect link (POST …/phone-systems/{id}/connect, or "Connect Microsoft 365" in the console) and send it to an administrator of that tenant; Sync works once they have connected it.',
    )
  }
  const started = Date.now()
  const claim = await claimSync(d1, phoneSystem.id, started, options)
  let stats: PullStats | undefined
  try {
    // The app of the phone system's portal (a moved customer's partner's during its transition, until it has its own).
    const client = await clientForOrg(d1, config, await appPortalOf(d1, phoneSystem.orgId, started))
    const update = await pullListUpdate(d1, config, client, { ...phoneSystem, syncSource: source }, now)
    stats = update.stats
    const finished = Date.now()
    const { counts } = update.plan
    const written = await writePlan(d1, phoneSystem, update.plan, {
      now,
      alsoRun: [
        // A run whose claim was taken over (it outlived SYNC_CLAIM_TTL_MS) writes nothing: 409 `conflict`.
        ...heldGuard(d1, claim),
        ...update.stateStatements,
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
            summary: { ...counts, graphRequests: stats.requests, mode: update.mode, fullReason: update.fullReason },
          },
          now,
        ),
        releaseStatement(d1, claim),
      ],
    })
    const statements = update.reads + written
    metrics.sync(config.metrics, {
      ...syncPointOf(actor, phoneSystem, started),
      result: 'success',
      reason: 'ok',
      ...counts,
      graphRequests: stats.requests,
    })
    return {
      ...counts,
      source,
      mode: update.mode,
      fullReason: update.fullReason,
      graphRequests: stats.requests,
      graphPages: stats.pages,
      disabledSkipped: stats.disabled,
      d1Statements: statements,
      ms: Date.now() - started,
    }
  } catch (error) {
    const message = error instanceof AppError ? error.message : 'Internal error during sync'
    const code = errorCodeOf(error)
    log('warn', 'sync failed; the SSO list is unchanged', { phoneSystemId: phoneSystem.id, code })
    metrics.sync(config.metrics, {
      ...syncPointOf(actor, phoneSystem, started),
      result: 'failure',
      reason: code,
      ...NO_COUNTS,
      graphRequests: stats?.requests ?? 0,
    })
    await recordFailure(d1, phoneSystem, claim, message).catch((recordError: unknown) =>
      log('error', 'could not record the failed sync', { phoneSystemId: phoneSystem.id, error: String(recordError) }),
    )
    throw error
  }
}

const NO_COUNTS = { added: 0, removed: 0, updated: 0, unchanged: 0, total: 0 }

/** The fields of a sync's data point that do not depend on how it ended. */
function syncPointOf(actor: Actor, phoneSystem: PhoneSystemRow, started: number) {
  return {
    orgId: phoneSystem.orgId,
    phoneSystemId: phoneSystem.id,
    trigger: actor === SYSTEM_ACTOR ? ('scheduled' as const) : ('api' as const),
    durationMs: Date.now() - started,
  }
}

/** Records a failed sync and releases the claim, only if this run still holds it (else it writes nothing). */
async function recordFailure(
  d1: D1Database,
  phoneSystem: PhoneSystemRow,
  claim: SyncClaim,
  message: string,
): Promise<void> {
  const at = Date.now()
  const update = getDb(d1)
    .update(phoneSystems)
    .set({
      lastSyncAt: at,
      lastSyncStatus: 'failed',
      lastSyncError: message.slice(0, 1000),
      nextSyncAt: phoneSystem.nextSyncAt === null ? null : at + SYNC_RETRY_AFTER_MS,
    })
    .where(eq(phoneSystems.id, phoneSystem.id))
  try {
    await d1.batch([...heldGuard(d1, claim), toStatement(d1, update), releaseStatement(d1, claim)])
  } catch (error) {
    if (!isGuardFailure(error)) throw error
    log('warn', 'a failed sync whose claim was taken over records nothing', { phoneSystemId: phoneSystem.id })
  }
}

/**
 * Sync as the button and the schedule both do it (the seed's Sync step):
 * the list from Graph, then the redirect URIs of the portal's direct hosts
 * that are not registered yet.
 */
export async function syncNow(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  actor: Actor,
  phoneSystem: PhoneSystemRow,
  now: number,
  options: SyncOptions = {},
): Promise<SyncResult> {
  const outcome = await syncPhoneSystem(d1, config, actor, phoneSystem, now, options)
  const redirectUris = await reconcilePortal(d1, config, uris, await portalOf(d1, phoneSystem.orgId), now)
  return { ...outcome, redirectUris }
}

/** What a phone system's sync record does not hold itself: who ran the last sync, and a sync under way now. */
export interface SyncActivity {
  /** The actor of the last sync when it succeeded (`system`: the schedule), from its audit row; a failed sync writes none. */
  lastSyncedBy: string | null
  underWaySince: number | null
}

/** For a phone system the caller has already read in its scope. */
export async function syncActivity(d1: D1Database, phoneSystem: PhoneSystemRow, now: number): Promise<SyncActivity> {
  const [underWaySince, audit] = await Promise.all([
    syncUnderWaySince(d1, phoneSystem.id, now),
    phoneSystem.lastSyncStatus === 'success'
      ? d1
          .prepare(
            "SELECT actor FROM audit_log WHERE target_type = 'sso_list' AND target_id = ? AND action = 'sso_list.sync' ORDER BY id DESC LIMIT 1",
          )
          .bind(phoneSystem.id)
          .first<{ actor: string }>()
      : null,
  ])
  return { lastSyncedBy: audit?.actor ?? null, underWaySince }
}
