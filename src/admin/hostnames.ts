import { asc, eq } from 'drizzle-orm'
import type { Config } from '../config'
import { getDb } from '../db/client'
import { type CallbackMode, hostnames } from '../db/schema'
import { isUniqueViolation, toStatement } from '../db/statements'
import { AppError } from '../errors'
import { iso } from './json'
import { HOSTNAME_PROBLEM_MESSAGES, isDirectSubdomain, isWithinZone, parseHostnameInput } from '../hosts/normalize'
import { hostCache } from '../hosts/resolve'
import { type Principal, auditStatement } from './audit'
import { orgInScope } from './scope'

export type HostnameRow = typeof hostnames.$inferSelect

/**
 * Labels below the provider zone that no tenant may take: they name the
 * provider's own services, and a tenant holding one could pass for the provider.
 */
export const RESERVED_SUBDOMAIN_LABELS = new Set([
  'www', 'api', 'admin', 'login', 'sso', 'auth', 'account', 'accounts', 'mail', 'status', 'support', 'portal', 'mtp',
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
    verification: row.verification ?? null,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    checkedAt: row.checkedAt === null ? null : iso(row.checkedAt),
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
    throw new AppError('primary_host_reserved', `"hostname" is the provider's primary login host and cannot be bound to an organization`, {
      field: 'hostname',
    })
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
): Promise<HostnameRow> {
  const hostname = requireHostname(input.hostname)
  const kind = classifyHostname(config, hostname)
  const org = await orgInScope(d1, principal, orgId)
  if (org.kind === 'customer' && org.structure === 'flat') {
    throw new AppError(
      'flat_customer_cannot_own_hostname',
      `Customer "${org.name}" is flat (it lives inside its partner's portal) and cannot own a hostname. ` +
        'Ask the provider to move it to a nested portal of its own, then attach the hostname to it; ' +
        "or attach the hostname to the partner, whose hosts serve its flat customers.",
    )
  }
  if (kind === 'custom' && config.customHostnames === 'cloudflare') {
    throw new AppError(
      'custom_hostnames_unavailable',
      'Custom domains are attached through Cloudflare for SaaS, which this gateway version does not support yet. ' +
        'Use a subdomain of the provider zone, or run with CUSTOM_HOSTNAMES=local for development.',
    )
  }
  const existing = await findHostname(d1, hostname)
  if (existing) throw hostnameTaken(hostname)

  const row: HostnameRow = {
    hostname,
    orgId,
    kind,
    // Provider subdomains are served by the wildcard route and certificate: live at once.
    // With CUSTOM_HOSTNAMES=local there is no Cloudflare to verify custom domains.
    status: 'active',
    statusDetail: null,
    verification: null,
    callbackMode: input.callbackMode ?? 'central',
    redirectUriRegistered: false,
    cloudflareId: null,
    checkedAt: null,
    createdAt: now,
    updatedAt: now,
  }
  try {
    await d1.batch([
      toStatement(d1, getDb(d1).insert(hostnames).values(row)),
      auditStatement(
        d1,
        principal,
        { orgId, action: 'hostname.attach', targetType: 'hostname', targetId: hostname, summary: { after: hostnameJson(row) } },
        now,
      ),
    ])
  } catch (error) {
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
): Promise<void> {
  const row = await getHostname(d1, principal, requireHostname(rawHostname))
  await d1.batch([
    toStatement(d1, getDb(d1).delete(hostnames).where(eq(hostnames.hostname, row.hostname))),
    auditStatement(
      d1,
      principal,
      { orgId: row.orgId, action: 'hostname.detach', targetType: 'hostname', targetId: row.hostname, summary: { before: hostnameJson(row) } },
      now,
    ),
  ])
  hostCache(config).delete(row.hostname)
}
