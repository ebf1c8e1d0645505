import { and, asc, eq, isNotNull, lte } from 'drizzle-orm'
import {
  createCustomHostname,
  deleteCustomHostname,
  getCustomHostname,
  refreshCustomHostname,
} from '../cloudflare/client'
import { mapCloudflareStatus, nextCheckDelayMs, verificationOf } from '../cloudflare/status'
import type { Config } from '../config'
import { getDb } from '../db/client'
import { type CallbackMode, hostnames } from '../db/schema'
import { isUniqueViolation, toStatement } from '../db/statements'
import { AppError } from '../errors'
import { registerRedirectUri, unregisterRedirectUri } from '../graph/redirect-uris'
import { HOSTNAME_PROBLEM_MESSAGES, isDirectSubdomain, isWithinZone, parseHostnameInput } from '../hosts/normalize'
import { hostCache } from '../hosts/resolve'
import { originFor } from '../http/origin'
import { log } from '../log'
import { clientForOrg } from '../oidc/clients'
import { auditStatement, type Principal, SYSTEM_ACTOR } from './audit'
import { iso } from './json'
import { orgInScope } from './scope'

export type HostnameRow = typeof hostnames.$inferSelect

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

export function hostnameJson(row: HostnameRow) {
  return {
    hostname: row.hostname,
    organizationId: row.orgId,
    kind: row.kind,
    status: row.status,
    statusDetail: row.statusDetail,
    callbackMode: row.callbackMode,
    redirectUriRegistered: row.redirectUriRegistered,
    redirectUriDetail: row.redirectUriDetail,
    verification: row.verification ?? null,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    checkedAt: row.checkedAt === null ? null : iso(row.checkedAt),
    nextCheckAt: row.nextCheckAt === null ? null : iso(row.nextCheckAt),
  }
}

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

/** The hostname, if attached to an organization the principal reaches; the same 404 otherwise. */
export async function getHostname(d1: D1Database, principal: Principal, hostname: string): Promise<HostnameRow> {
  const row = await findHostname(d1, hostname)
  const notFound = () => new AppError('not_found', `No hostname "${hostname}" is attached`)
  if (!row) throw notFound()
  await orgInScope(d1, principal, row.orgId).catch(() => {
    throw notFound()
  })
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
      {
        field: 'hostname',
      },
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

export async function attachHostname(
  d1: D1Database,
  config: Config,
  principal: Principal,
  orgId: string,
  input: { hostname: string; callbackMode?: CallbackMode | undefined },
  now: number,
  requestUrl: URL,
): Promise<HostnameRow> {
  const hostname = requireHostname(input.hostname)
  const kind = classifyHostname(config, hostname)
  const org = await orgInScope(d1, principal, orgId)
  if (org.kind === 'customer' && org.structure === 'flat') {
    throw new AppError(
      'flat_customer_cannot_own_hostname',
      `Customer "${org.name}" is flat (it lives inside its partner's portal) and cannot own a hostname. ` +
        'Ask the provider to move it to a nested portal of its own, then attach the hostname to it; ' +
        'or attach the hostname to the partner, whose hosts serve its flat customers.',
    )
  }
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
    cloudflareId: null,
    checkedAt: null,
    checkCount: 0,
    nextCheckAt: null,
    createdAt: now,
    updatedAt: now,
  }
  const cloudflare = kind === 'custom' ? config.cloudflare : null
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
      nextCheckAt: delay === null ? null : now + delay,
    }
  }
  const uri = callbackUriOf(hostname, requestUrl)
  if (row.callbackMode === 'direct') {
    try {
      row = { ...row, ...(await registration(d1, config, row, uri)) }
    } catch (error) {
      // The 256-URI ceiling is the partner's to resolve: refuse, and leave nothing at Cloudflare either.
      if (cloudflare && row.cloudflareId)
        await deleteCustomHostname(cloudflare, row.cloudflareId).catch(() => undefined)
      throw error
    }
  }
  try {
    await d1.batch([
      toStatement(d1, getDb(d1).insert(hostnames).values(row)),
      auditStatement(
        d1,
        principal,
        {
          orgId,
          action: 'hostname.attach',
          targetType: 'hostname',
          targetId: hostname,
          summary: { after: hostnameJson(row) },
        },
        now,
      ),
    ])
  } catch (error) {
    if (row.redirectUriRegistered) {
      await unregisterRedirectUri(config, await clientForOrg(d1, config, orgId), uri).catch(() => undefined)
    }
    // Never leave a Cloudflare hostname behind that D1 does not know about.
    if (cloudflare && row.cloudflareId) {
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
  hostCache(config).delete(hostname)
  return row
}

function hostnameTaken(hostname: string): AppError {
  return new AppError('hostname_taken', `${hostname} is already attached to an organization; detach it there first`, {
    field: 'hostname',
  })
}

export async function detachHostname(
  d1: D1Database,
  config: Config,
  principal: Principal,
  rawHostname: string,
  now: number,
  requestUrl: URL,
): Promise<void> {
  const row = await getHostname(d1, principal, requireHostname(rawHostname))
  if (row.redirectUriRegistered) {
    // Graph first: a redirect URI left on our app for a domain that is no longer ours must not happen silently.
    await unregisterRedirectUri(
      config,
      await clientForOrg(d1, config, row.orgId),
      callbackUriOf(row.hostname, requestUrl),
    )
    await getDb(d1)
      .update(hostnames)
      .set({ redirectUriRegistered: false, updatedAt: now })
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
  await d1.batch([
    toStatement(d1, getDb(d1).delete(hostnames).where(eq(hostnames.hostname, row.hostname))),
    auditStatement(
      d1,
      principal,
      {
        orgId: row.orgId,
        action: 'hostname.detach',
        targetType: 'hostname',
        targetId: row.hostname,
        summary: { before: hostnameJson(row) },
      },
      now,
    ),
  ])
  hostCache(config).delete(row.hostname)
}

/**
 * Re-reads a custom hostname's status from Cloudflare now (asking it to
 * validate again while pending) and stores what it says. Provider
 * subdomains and local hosts have nothing to re-read.
 */
export async function refreshHostname(
  d1: D1Database,
  config: Config,
  actor: Principal | typeof SYSTEM_ACTOR,
  row: HostnameRow,
  now: number,
  requestUrl?: URL,
): Promise<HostnameRow> {
  if (requestUrl && row.callbackMode === 'direct' && !row.redirectUriRegistered) {
    row = await retryRegistration(d1, config, row, callbackUriOf(row.hostname, requestUrl), now)
  }
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
    nextCheckAt: delay === null ? null : now + delay,
    updatedAt: now,
  }
  const statements = [
    toStatement(
      d1,
      getDb(d1)
        .update(hostnames)
        .set({
          status: after.status,
          statusDetail: after.statusDetail,
          verification: after.verification,
          checkedAt: now,
          checkCount,
          nextCheckAt: after.nextCheckAt,
          updatedAt: now,
        })
        .where(eq(hostnames.hostname, row.hostname)),
    ),
  ]
  if (after.status !== row.status) {
    statements.push(
      auditStatement(
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
      ),
    )
  }
  await d1.batch(statements)
  if (after.status !== row.status) hostCache(config).delete(row.hostname)
  return after
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
      const after = await refreshHostname(d1, config, SYSTEM_ACTOR, row, now)
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

/** The redirect URI a direct-mode host signs in with (with the dev port for loopback hosts, as the sign-in builds it). */
export function callbackUriOf(hostname: string, requestUrl: URL): string {
  return `${originFor(hostname, requestUrl)}/sso/callback`
}

/**
 * Registers a direct host's redirect URI on its portal's Entra app. Graph
 * trouble other than the 256 ceiling does not stop anything: the host signs
 * in through the central callback until a check or Sync registers it.
 */
async function registration(
  d1: D1Database,
  config: Config,
  row: HostnameRow,
  uri: string,
): Promise<Pick<HostnameRow, 'redirectUriRegistered' | 'redirectUriDetail'>> {
  try {
    await registerRedirectUri(config, await clientForOrg(d1, config, row.orgId), uri)
    return { redirectUriRegistered: true, redirectUriDetail: null }
  } catch (error) {
    if (error instanceof AppError && error.code === 'redirect_uri_limit') throw error
    const detail = error instanceof AppError ? error.message : 'Microsoft Graph failed'
    log('warn', 'redirect URI not registered; central callback in use', {
      hostname: row.hostname,
      code: error instanceof AppError ? error.code : 'internal',
    })
    return {
      redirectUriRegistered: false,
      redirectUriDetail: `Not registered yet (central callback in use): ${detail}`,
    }
  }
}

async function retryRegistration(
  d1: D1Database,
  config: Config,
  row: HostnameRow,
  uri: string,
  now: number,
): Promise<HostnameRow> {
  let outcome: Pick<HostnameRow, 'redirectUriRegistered' | 'redirectUriDetail'>
  try {
    outcome = await registration(d1, config, row, uri)
  } catch (error) {
    // At the ceiling: say so on the hostname; it keeps signing in centrally.
    outcome = {
      redirectUriRegistered: false,
      redirectUriDetail: error instanceof AppError ? error.message : 'Microsoft Graph failed',
    }
  }
  await getDb(d1)
    .update(hostnames)
    .set({ ...outcome, updatedAt: now })
    .where(eq(hostnames.hostname, row.hostname))
  if (outcome.redirectUriRegistered) hostCache(config).delete(row.hostname)
  return { ...row, ...outcome, updatedAt: now }
}

/** Registers the redirect URIs of a portal's direct hosts that are not registered yet (part of Sync). */
export async function reconcileRedirectUris(
  d1: D1Database,
  config: Config,
  orgId: string,
  requestUrl: URL,
  now: number,
): Promise<{ registered: number; pending: number }> {
  const rows = await getDb(d1)
    .select()
    .from(hostnames)
    .where(
      and(eq(hostnames.orgId, orgId), eq(hostnames.callbackMode, 'direct'), eq(hostnames.redirectUriRegistered, false)),
    )
    .all()
  let registered = 0
  for (const row of rows) {
    const after = await retryRegistration(d1, config, row, callbackUriOf(row.hostname, requestUrl), now)
    if (after.redirectUriRegistered) registered++
  }
  return { registered, pending: rows.length - registered }
}

/**
 * Switches a hostname between central and direct callback mode: registering
 * its redirect URI (direct; the 256 ceiling refuses with nothing changed) or
 * removing it (central; a Graph failure refuses with nothing changed).
 */
export async function updateHostname(
  d1: D1Database,
  config: Config,
  principal: Principal,
  rawHostname: string,
  input: { callbackMode: CallbackMode },
  now: number,
  requestUrl: URL,
): Promise<HostnameRow> {
  const before = await getHostname(d1, principal, requireHostname(rawHostname))
  if (input.callbackMode === before.callbackMode) return before
  const uri = callbackUriOf(before.hostname, requestUrl)
  let after: HostnameRow = { ...before, callbackMode: input.callbackMode, updatedAt: now }
  if (input.callbackMode === 'direct') {
    after = { ...after, ...(await registration(d1, config, before, uri)) }
  } else {
    if (before.redirectUriRegistered)
      await unregisterRedirectUri(config, await clientForOrg(d1, config, before.orgId), uri)
    after = { ...after, redirectUriRegistered: false, redirectUriDetail: null }
  }
  await d1.batch([
    toStatement(
      d1,
      getDb(d1)
        .update(hostnames)
        .set({
          callbackMode: after.callbackMode,
          redirectUriRegistered: after.redirectUriRegistered,
          redirectUriDetail: after.redirectUriDetail,
          updatedAt: now,
        })
        .where(eq(hostnames.hostname, before.hostname)),
    ),
    auditStatement(
      d1,
      principal,
      {
        orgId: before.orgId,
        action: 'hostname.update',
        targetType: 'hostname',
        targetId: before.hostname,
        summary: { before: hostnameJson(before), after: hostnameJson(after) },
      },
      now,
    ),
  ])
  hostCache(config).delete(before.hostname)
  return after
}
