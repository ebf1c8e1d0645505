/**
 * Login hostnames of a portal (ARCHITECTURE §2, 4, 5): provider subdomains (live at
 * once: the wildcard route and certificate serve them) and custom domains
 * (through Cloudflare for SaaS, pending until the partner's DNS records
 * verify). Attaching, detaching, switching the callback mode, re-reading
 * the status; every change with its audit row in the same batch, and the
 * isolate's host cache told at once.
 */
import { and, asc, eq, inArray, isNotNull, lt, lte } from 'drizzle-orm'
import * as z from 'zod/mini'
import { type Actor, type Principal, SYSTEM_ACTOR } from '../access/principal'
import { asNotFound, notFound, orgInScope } from '../access/scope'
import { recordChange } from '../audit/write'
import type { CloudflareConfig, Config } from '../config'
import { getDb } from '../db/client'
import { CALLBACK_MODES, type HostnameRow, type HostnameStatus, hostnames } from '../db/schema'
import { isGuardFailure, isUniqueViolation } from '../db/statements'
import { AppError } from '../errors'
import { hostCache } from '../hosts/resolve'
import { HOSTNAME_PROBLEM_MESSAGES, isDirectSubdomain, isWithinZone, parseHostnameInput } from '../lib/hostname'
import { log } from '../log'
import { metrics } from '../observe/metrics'
import { callbackUri } from '../signin/callback-uri'
import { assertIsPortal } from '../tenancy/portal'
import {
  createCustomHostname,
  deleteCustomHostname,
  getCustomHostname,
  refreshCustomHostname,
} from '../upstream/cloudflare'
import { type DnsAnswer, DohFailure, dohQuery } from '../upstream/doh'
import { mapCloudflareStatus, nextCheckDelayMs, verificationOf } from './cloudflare-status'
import {
  type ActionWords,
  type CloudflareFindings,
  type Diagnosis,
  type DnsFindings,
  diagnose,
  expectedRecords,
  needsAddressLookup,
  txtNamesToRead,
} from './diagnose'
import {
  AWAITING_ACTIVATION,
  hostAsRead,
  hostStillAsRead,
  type RedirectUris,
  reconcileHost,
  registerHost,
  unregisterHost,
  withdrawRegistration,
} from './redirect-uris'
import { hostnameView } from './view'

/**
 * Labels below the provider zone that no tenant may take: they name the
 * provider's own services, and a tenant holding one could pass for the provider.
 */
export const RESERVED_SUBDOMAIN_LABELS = new Set([
  'www',
  'api',
  'admin',
  'login',
  'sso',
  'auth',
  'account',
  'accounts',
  'mail',
  'status',
  'support',
  'portal',
  'mtp',
])

const callbackMode = z.enum(CALLBACK_MODES, 'must be "central" or "direct"')

export const attachHostnameSchema = z.strictObject({
  hostname: z.string().check(z.maxLength(1024, 'must be at most 1024 characters')),
  callbackMode: z.optional(callbackMode),
})

export const updateHostnameSchema = z.strictObject({ callbackMode })

/** Parses a hostname from a request (body or path), with a 400 that names the problem. */
export function requireHostname(raw: string, field = 'hostname'): string {
  const parsed = parseHostnameInput(raw)
  if (!parsed.ok) {
    throw new AppError('invalid_hostname', `"${field}" ${HOSTNAME_PROBLEM_MESSAGES[parsed.problem]}`, { field })
  }
  return parsed.hostname
}

export async function findHostname(d1: D1Database, hostname: string): Promise<HostnameRow | undefined> {
  return getDb(d1).select().from(hostnames).where(eq(hostnames.hostname, hostname)).get()
}

/** The hostname (as typed: it is normalized here), if attached to an organization the principal reaches; the same 404 otherwise. */
export async function getHostname(d1: D1Database, principal: Principal, raw: string): Promise<HostnameRow> {
  const hostname = requireHostname(raw)
  const row = await findHostname(d1, hostname)
  const missing = () => notFound('attached hostname', hostname)
  if (!row) throw missing()
  // Outside the key's scope reads as not attached; a D1 outage stays an outage (503), never a 404.
  await orgInScope(d1, principal, row.orgId).catch(asNotFound(missing))
  return row
}

export async function listHostnames(d1: D1Database, principal: Principal, orgId: string): Promise<HostnameRow[]> {
  await orgInScope(d1, principal, orgId)
  return getDb(d1).select().from(hostnames).where(eq(hostnames.orgId, orgId)).orderBy(asc(hostnames.hostname)).all()
}

/** Which kind of hostname this is, or why it cannot be attached at all. */
export function classifyHostname(config: Config, hostname: string): 'subdomain' | 'custom' {
  if (hostname === config.primaryHost) {
    throw new AppError(
      'primary_host_reserved',
      `"hostname" is the provider's primary login host and cannot be bound to an organization`,
      { field: 'hostname' },
    )
  }
  if (hostname === config.customHostnameCnameTarget) {
    // The provider's own name (custom domains point at it), like the reserved labels: no tenant may pass for it.
    throw new AppError(
      'hostname_reserved',
      `"hostname" ${hostname} is the CNAME target of every custom domain (CUSTOM_HOSTNAME_CNAME_TARGET) and cannot be bound to an organization`,
      { field: 'hostname' },
    )
  }
  if (!isWithinZone(hostname, config.providerZone)) return 'custom'
  if (!isDirectSubdomain(hostname, config.providerZone)) {
    throw new AppError(
      'invalid_hostname',
      `"hostname" must be exactly one label below ${config.providerZone} (such as acme.${config.providerZone}): the provider's certificate covers no other names in its zone`,
      { field: 'hostname' },
    )
  }
  const label = hostname.slice(0, -(config.providerZone.length + 1))
  if (RESERVED_SUBDOMAIN_LABELS.has(label)) {
    throw new AppError('hostname_reserved', `"hostname" ${hostname} is reserved for the provider's own services`, {
      field: 'hostname',
    })
  }
  return 'subdomain'
}

function hostnameTaken(hostname: string): AppError {
  return new AppError('hostname_taken', `${hostname} is already attached to an organization; detach it there first`, {
    field: 'hostname',
  })
}

/**
 * The Cloudflare for SaaS client custom domains go through, or null when CUSTOM_HOSTNAMES is "local"
 * (tests: no verification at all). A configuration read without it (the sign-in Worker's scope,
 * src/config.ts `ConfigScope`) is refused, never taken for "local": a custom domain attached without
 * Cloudflare would be active at once, unverified.
 */
function customHostnameClient(config: Config): CloudflareConfig | null {
  if (config.cloudflare) return config.cloudflare
  if (config.customHostnames === 'local') return null
  throw new AppError(
    'cloudflare_unavailable',
    'Custom domains go through Cloudflare, but this Worker has no Cloudflare client; nothing was changed',
  )
}

export async function attachHostname(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  principal: Principal,
  orgId: string,
  input: z.output<typeof attachHostnameSchema>,
  now: number,
): Promise<HostnameRow> {
  const hostname = requireHostname(input.hostname)
  const kind = classifyHostname(config, hostname)
  assertIsPortal(await orgInScope(d1, principal, orgId), 'hostname')
  if (await findHostname(d1, hostname)) throw hostnameTaken(hostname)

  // Provider subdomains are served by the wildcard route and certificate: live at once.
  // With CUSTOM_HOSTNAMES=local there is no Cloudflare to verify custom domains either.
  let row: HostnameRow = {
    hostname,
    orgId,
    kind,
    status: 'active',
    statusDetail: null,
    verification: null,
    callbackMode: input.callbackMode ?? 'central',
    redirectUriRegistered: false,
    redirectUriDetail: null,
    redirectUriAppId: null,
    redirectUriCheckedAt: null,
    cloudflareId: null,
    checkedAt: null,
    pendingSince: null,
    checkCount: 0,
    nextCheckAt: null,
    createdAt: now,
    updatedAt: now,
  }
  const cloudflare = kind === 'custom' ? customHostnameClient(config) : null
  if (cloudflare) {
    // Cloudflare first: if it refuses, nothing is stored.
    const created = await createCustomHostname(cloudflare, hostname)
    const { status, detail } = mapCloudflareStatus(created)
    const delay = nextCheckDelayMs(status, 0)
    row = {
      ...row,
      status,
      statusDetail: detail,
      verification: verificationOf(created),
      cloudflareId: created.id,
      checkedAt: now,
      pendingSince: isUnproven(status) ? now : null,
      nextCheckAt: delay === null ? null : now + delay,
    }
  }
  if (row.callbackMode === 'direct' && row.status !== 'active') {
    row = { ...row, ...AWAITING_ACTIVATION }
  } else if (row.callbackMode === 'direct') {
    try {
      row = { ...row, ...(await registerHost(d1, config, uris, row)), redirectUriCheckedAt: now }
    } catch (error) {
      // The 256-URI ceiling is the partner's to resolve: refuse, and leave nothing at Cloudflare either.
      if (cloudflare && row.cloudflareId)
        await deleteCustomHostname(cloudflare, row.cloudflareId).catch(() => undefined)
      throw error
    }
  }
  try {
    await recordChange(
      d1,
      principal,
      {
        orgId,
        action: 'hostname.attach',
        targetType: 'hostname',
        targetId: hostname,
        summary: { after: hostnameView(row) },
      },
      now,
      getDb(d1).insert(hostnames).values(row),
    )
  } catch (error) {
    // Lost to someone attaching the same name at the same moment: the URI is theirs too when it is on the same app.
    const winner = isUniqueViolation(error) ? await findHostname(d1, hostname) : undefined
    const shared = winner?.redirectUriRegistered && winner.redirectUriAppId === row.redirectUriAppId
    if (row.redirectUriRegistered && !shared) await unregisterHost(d1, config, uris, row).catch(() => undefined)
    // Never leave a Cloudflare hostname behind that D1 does not know about (nor delete the one the winner stored).
    if (cloudflare && row.cloudflareId && winner?.cloudflareId !== row.cloudflareId) {
      await deleteCustomHostname(cloudflare, row.cloudflareId).catch((cleanup: unknown) =>
        log('error', 'custom hostname left at Cloudflare after a failed attach', {
          hostname,
          cloudflareId: row.cloudflareId,
          error: String(cleanup),
        }),
      )
    }
    if (isUniqueViolation(error)) throw hostnameTaken(hostname)
    throw error
  }
  statusChanged(config, row, 'none', row.status)
  return row
}

export async function detachHostname(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  principal: Principal,
  rawHostname: string,
  now: number,
): Promise<void> {
  const row = await getHostname(d1, principal, rawHostname)
  if (row.redirectUriRegistered) {
    // Graph first: a redirect URI left on our app for a domain that is no longer ours must not happen silently.
    await unregisterHost(d1, config, uris, row)
    await getDb(d1)
      .update(hostnames)
      .set({ redirectUriRegistered: false, redirectUriAppId: null, updatedAt: now })
      .where(eq(hostnames.hostname, row.hostname))
    hostCache(config).delete(row.hostname)
  }
  if (row.cloudflareId) {
    if (!config.cloudflare) {
      throw new AppError(
        'cloudflare_unavailable',
        'This hostname lives at Cloudflare, but CUSTOM_HOSTNAMES is not "cloudflare"; nothing was changed',
      )
    }
    // Cloudflare first: if it fails, the hostname stays attached and the partner can retry.
    await deleteCustomHostname(config.cloudflare, row.cloudflareId)
  }
  await recordChange(
    d1,
    principal,
    {
      orgId: row.orgId,
      action: 'hostname.detach',
      targetType: 'hostname',
      targetId: row.hostname,
      summary: { before: hostnameView(row) },
    },
    now,
    getDb(d1).delete(hostnames).where(eq(hostnames.hostname, row.hostname)),
  )
  statusChanged(config, row, row.status, 'detached')
}

/**
 * Re-reads a custom hostname's status from Cloudflare now (asking it to
 * validate again while pending) and stores what it says, after retrying the
 * redirect-URI registration of a direct host that is not registered yet.
 * The check button, the scheduled refresh: the same steps.
 */
export async function refreshHostname(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  actor: Actor,
  row: HostnameRow,
  now: number,
): Promise<HostnameRow> {
  const seen = row.cloudflareId && config.cloudflare ? await refreshFromCloudflare(d1, config, actor, row, now) : row
  return reconcileHost(d1, config, uris, seen, now)
}

async function refreshFromCloudflare(
  d1: D1Database,
  config: Config,
  actor: Actor,
  row: HostnameRow,
  now: number,
): Promise<HostnameRow> {
  if (!row.cloudflareId || !config.cloudflare) return row
  const seen =
    row.status === 'pending'
      ? await refreshCustomHostname(config.cloudflare, row.cloudflareId)
      : await getCustomHostname(config.cloudflare, row.cloudflareId)
  const mapped = seen
    ? mapCloudflareStatus(seen)
    : {
        status: 'failed' as const,
        detail: 'Cloudflare no longer has this hostname (deleted there); detach it and attach it again',
      }
  const checkCount = row.checkCount + 1
  const delay = nextCheckDelayMs(mapped.status, checkCount)
  const after: HostnameRow = {
    ...row,
    status: mapped.status,
    statusDetail: mapped.detail,
    verification: seen ? verificationOf(seen) : row.verification,
    checkedAt: now,
    checkCount,
    pendingSince: unprovenSince(row, mapped.status, now),
    nextCheckAt: delay === null ? null : now + delay,
    updatedAt: now,
  }
  const update = getDb(d1)
    .update(hostnames)
    .set({
      status: after.status,
      statusDetail: after.statusDetail,
      verification: after.verification,
      checkedAt: now,
      checkCount,
      pendingSince: after.pendingSince,
      nextCheckAt: after.nextCheckAt,
      updatedAt: now,
    })
    .where(eq(hostnames.hostname, row.hostname))
  if (after.status === row.status) {
    await update
    return after
  }
  await recordChange(
    d1,
    actor,
    {
      orgId: row.orgId,
      action: 'hostname.status',
      targetType: 'hostname',
      targetId: row.hostname,
      summary: { before: row.status, after: after.status, detail: after.statusDetail },
    },
    now,
    update,
  )
  statusChanged(config, row, row.status, after.status)
  return after
}

/**
 * After a hostname's status changed (attached, re-read, detached, released):
 * the Analytics Engine point, and this isolate's cached answer for it dropped.
 */
function statusChanged(
  config: Config,
  row: Pick<HostnameRow, 'hostname' | 'orgId'>,
  from: HostnameStatus | 'none',
  to: HostnameStatus | 'detached' | 'released',
): void {
  metrics.hostnameStatus(config.metrics, { hostname: row.hostname, orgId: row.orgId, from, to })
  hostCache(config).delete(row.hostname)
}

/** `POST …/check`: the hostname re-read now, for a principal that reaches it. */
export async function checkHostname(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  principal: Principal,
  rawHostname: string,
  now: number,
): Promise<HostnameRow> {
  return refreshHostname(d1, config, uris, principal, await getHostname(d1, principal, rawHostname), now)
}

/**
 * `POST …/diagnose`: what DNS (through DNS over HTTPS) and Cloudflare say
 * about the hostname now, and what its redirect-URI registration is, with
 * every problem and its fix. Reads only: the stored status is `…/check`'s to
 * change. DNS or Cloudflare failing makes that part `unavailable`, never the
 * call. At most six DNS queries, in two rounds run in parallel: the CNAME
 * (beside Cloudflare), then the TXT records Cloudflare asks for and, for a
 * name without a CNAME, its A records.
 */
export async function diagnoseHostname(
  d1: D1Database,
  config: Config,
  principal: Principal,
  rawHostname: string,
  now: number,
  words?: (row: HostnameRow) => ActionWords,
): Promise<Diagnosis> {
  const row = await getHostname(d1, principal, rawHostname)
  const input = {
    row,
    ...(words ? { words: words(row) } : {}),
    callbackUri: callbackUri(config, row.hostname),
    cnameTarget: config.customHostnameCnameTarget,
    now,
  }
  if (row.kind !== 'custom') {
    const reason = `${row.hostname} is a subdomain of the provider zone ${config.providerZone}: the provider's wildcard DNS record, route and certificate serve it`
    return diagnose({
      ...input,
      dns: { state: 'not_applicable', reason },
      cloudflare: { state: 'not_applicable', reason },
    })
  }
  const [cloudflare, cname] = await Promise.all([readCloudflare(config, row), lookUp(config, row.hostname, 'CNAME')])
  let dns: DnsFindings
  if (cname instanceof DohFailure) {
    dns = { state: 'unavailable', reason: cname.message }
  } else {
    const names = txtNamesToRead(expectedRecords(row, cloudflare))
    const [address, ...txts] = await Promise.all([
      needsAddressLookup(cname, row.hostname) ? lookUp(config, row.hostname, 'A') : null,
      ...names.map((name) => lookUp(config, name, 'TXT')),
    ])
    const failed = [address, ...txts].find((answer) => answer instanceof DohFailure)
    dns = failed
      ? { state: 'unavailable', reason: failed.message }
      : {
          state: 'checked',
          reading: {
            cname,
            address: address as DnsAnswer | null,
            txt: new Map(names.map((name, i) => [name, txts[i] as DnsAnswer])),
          },
        }
  }
  if (dns.state === 'unavailable') {
    log('warn', 'diagnose: DNS over HTTPS unavailable', { hostname: row.hostname, reason: dns.reason })
  }
  return diagnose({ ...input, dns, cloudflare })
}

/** One DNS query; a failure is returned (it makes the DNS part unavailable), never thrown. */
function lookUp(config: Config, name: string, type: 'A' | 'CNAME' | 'TXT'): Promise<DnsAnswer | DohFailure> {
  return dohQuery(config.doh, name, type).catch((error: unknown) =>
    error instanceof DohFailure ? error : new DohFailure(`the DNS over HTTPS query ${name} ${type} failed`),
  )
}

/** The custom hostname as Cloudflare has it now (a GET: nothing is asked to change); a failure is `unavailable`. */
async function readCloudflare(config: Config, row: HostnameRow): Promise<CloudflareFindings> {
  if (!config.cloudflare) {
    return {
      state: 'not_applicable',
      reason: 'CUSTOM_HOSTNAMES is "local": custom domains do not go through Cloudflare',
    }
  }
  if (!row.cloudflareId) {
    return {
      state: 'not_applicable',
      reason:
        'This hostname was attached without Cloudflare (CUSTOM_HOSTNAMES was "local"); detach and attach it again to put it through Cloudflare',
    }
  }
  try {
    return { state: 'checked', hostname: await getCustomHostname(config.cloudflare, row.cloudflareId) }
  } catch (error) {
    if (!(error instanceof AppError)) throw error
    // The client's messages are written for changes ("nothing was changed. Retry."); this one changes nothing anyway.
    return {
      state: 'unavailable',
      reason: error.message.replace('; nothing was changed.', '.').replace(/ Retry\.$/, ''),
    }
  }
}

/** How many hostnames one scheduled run refreshes, so a run stays well inside an invocation's limits. */
export const REFRESH_BUDGET = 25

/**
 * The scheduled refresh: custom hostnames whose next check is due (pending
 * ones with backoff, active ones daily), oldest first. Stops early when
 * Cloudflare rate limits.
 */
export async function refreshDueHostnames(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  actor: Actor,
  now: number,
): Promise<{ checked: number; changed: number; errors: number }> {
  if (!config.cloudflare) return { checked: 0, changed: 0, errors: 0 }
  const due = await getDb(d1)
    .select()
    .from(hostnames)
    .where(and(isNotNull(hostnames.cloudflareId), lte(hostnames.nextCheckAt, now)))
    .orderBy(asc(hostnames.nextCheckAt))
    .limit(REFRESH_BUDGET)
    .all()
  let changed = 0
  let errors = 0
  let checked = 0
  for (const row of due) {
    try {
      const after = await refreshHostname(d1, config, uris, actor, row, now)
      checked++
      if (after.status !== row.status) changed++
    } catch (error) {
      errors++
      log('warn', 'hostname refresh failed', {
        hostname: row.hostname,
        code: error instanceof AppError ? error.code : 'internal',
      })
      if (error instanceof AppError && error.code === 'cloudflare_rate_limited') break
    }
  }
  return { checked, changed, errors }
}

/**
 * Switches a hostname between central and direct callback mode: registering
 * its redirect URI (direct; the 256 ceiling refuses with nothing changed) or
 * removing it (central; a Graph failure refuses with nothing changed).
 */
export async function updateHostname(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  principal: Principal,
  rawHostname: string,
  input: z.output<typeof updateHostnameSchema>,
  now: number,
): Promise<HostnameRow> {
  const before = await getHostname(d1, principal, rawHostname)
  if (input.callbackMode === before.callbackMode) return before
  let after: HostnameRow = { ...before, callbackMode: input.callbackMode, updatedAt: now }
  if (input.callbackMode === 'direct') {
    after =
      before.status === 'active'
        ? { ...after, ...(await registerHost(d1, config, uris, before)), redirectUriCheckedAt: now }
        : { ...after, ...AWAITING_ACTIVATION }
  } else {
    if (before.redirectUriRegistered) await unregisterHost(d1, config, uris, before)
    after = { ...after, redirectUriRegistered: false, redirectUriDetail: null, redirectUriAppId: null }
  }
  try {
    await recordChange(
      d1,
      principal,
      {
        orgId: before.orgId,
        action: 'hostname.update',
        targetType: 'hostname',
        targetId: before.hostname,
        summary: { before: hostnameView(before), after: hostnameView(after) },
      },
      now,
      // Decided on the row read above: detached, switched or re-verified meanwhile, nothing is written.
      ...hostStillAsRead(d1, before),
      getDb(d1)
        .update(hostnames)
        .set({
          callbackMode: after.callbackMode,
          redirectUriRegistered: after.redirectUriRegistered,
          redirectUriDetail: after.redirectUriDetail,
          redirectUriAppId: after.redirectUriAppId,
          redirectUriCheckedAt: after.redirectUriCheckedAt,
          updatedAt: now,
        })
        .where(hostAsRead(before)),
    )
  } catch (error) {
    if (!isGuardFailure(error)) throw error
    // The URI just registered must not outlive the host it was registered for.
    if (!(await withdrawRegistration(d1, config, uris, before, after)))
      throw notFound('attached hostname', before.hostname)
    throw new AppError(
      'conflict',
      'The hostname changed while its callback mode was being switched; nothing was written. Retry.',
    )
  }
  hostCache(config).delete(before.hostname)
  return after
}

/** Cloudflare's own validation window: a custom domain still pending (or failed) after it is released. */
export const PENDING_RELEASE_MS = 7 * 24 * 60 * 60 * 1000

/** A custom domain nobody has proved (yet, or since it last was): released `PENDING_RELEASE_MS` after `pendingSince`. */
const UNPROVEN = ['pending', 'failed'] as const satisfies readonly HostnameStatus[]
const isUnproven = (status: HostnameStatus) => (UNPROVEN as readonly HostnameStatus[]).includes(status)

/**
 * `pendingSince` after a refresh: when the domain was last seen pending
 * after being active (or attached), kept while it stays pending or fails,
 * so a domain Cloudflare gave up on is released too; NULL once it is active
 * (or moved), and for one that failed straight from active.
 */
function unprovenSince(row: HostnameRow, status: HostnameStatus, now: number): number | null {
  const wasUnproven = isUnproven(row.status) && row.pendingSince !== null
  if (status === 'pending') return wasUnproven ? row.pendingSince : now
  if (status === 'failed') return wasUnproven ? row.pendingSince : null
  return null
}

/**
 * Releases custom domains that stayed pending for 7 days (the partner never
 * published the DNS records), or failed on the way (Cloudflare gave up on
 * them) without being active again, at Cloudflare and here, so nobody holds
 * a domain they cannot prove. The audit log says why; attaching it again
 * starts over.
 */
export async function releaseStalePending(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  now: number,
): Promise<{ released: number; errors: number }> {
  const stale = await getDb(d1)
    .select()
    .from(hostnames)
    .where(and(inArray(hostnames.status, UNPROVEN), lt(hostnames.pendingSince, now - PENDING_RELEASE_MS)))
    .orderBy(asc(hostnames.pendingSince))
    .limit(REFRESH_BUDGET)
    .all()
  let released = 0
  let errors = 0
  for (const row of stale) {
    try {
      if (row.redirectUriRegistered) await unregisterHost(d1, config, uris, row)
      if (row.cloudflareId && config.cloudflare) await deleteCustomHostname(config.cloudflare, row.cloudflareId)
      await recordChange(
        d1,
        SYSTEM_ACTOR,
        {
          orgId: row.orgId,
          action: 'hostname.release',
          targetType: 'hostname',
          targetId: row.hostname,
          summary: {
            before: hostnameView(row),
            reason:
              row.status === 'failed'
                ? `Verification failed (${row.statusDetail ?? 'Cloudflare gave up on it'}) and did not complete within 7 days, so the hostname was released. Attach it again to start over.`
                : 'Verification did not complete within 7 days (the DNS records were not published), so the hostname was released. Attach it again to start over.',
          },
        },
        now,
        getDb(d1).delete(hostnames).where(eq(hostnames.hostname, row.hostname)),
      )
      statusChanged(config, row, row.status, 'released')
      released++
    } catch (error) {
      errors++
      log('warn', 'stale pending hostname not released yet', {
        hostname: row.hostname,
        code: error instanceof AppError ? error.code : 'internal',
      })
    }
  }
  return { released, errors }
}
