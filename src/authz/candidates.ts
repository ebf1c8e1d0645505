/**
 * The D1 side of authorization: which phone systems a site reaches (ARCHITECTURE
 * §3.5: those its portal serves; on the primary host, all), and the SSO
 * records there that could belong to the signed-in user, found through the
 * (tid, oid), (tid, upn) and (tid, email) indexes. The rule that decides
 * is `match.ts`; this only narrows.
 */
import { and, eq, ne, type SQL, sql } from 'drizzle-orm'
import type { Config } from '../config'
import { type D1Reader, getDb } from '../db/client'
import { type OrgRow, type PhoneSystemRow, phoneSystems } from '../db/schema'
import { IsolateCache } from '../lib/ttl-cache'
import { allowedByPortalSql, allowedTenantsOf, allowsTenant } from '../oidc/clients'
import type { Identity } from '../oidc/identity'
import { fromRow, type SsoUser, type SsoUserRow, ssoUserColumns } from '../sso/types'
import { appPortalIdOf, phoneSystemsOfPortal, portalsServing, servedByPortal } from '../tenancy/portal'
import type { Site } from '../tenancy/site'
import { bestPerPhoneSystem, type MatchKind, matchRecord } from './match'

export type PhoneSystemRef = Pick<PhoneSystemRow, 'id' | 'orgId' | 'name' | 'webClientUrl' | 'handoffUrl'>

export interface Candidate {
  record: SsoUser
  kind: MatchKind
  phoneSystem: PhoneSystemRef
}

/**
 * What a site reaches: every phone system whose tenant is proven (the
 * primary host), or the proven ones its portal serves, read once. A phone
 * system whose tenant nobody proved serves nobody (ARCHITECTURE §6); the portal's
 * count of those says why a host has no sign-in yet.
 */
export type Reach =
  | { kind: 'all' }
  | { kind: 'portal'; portalId: string; phoneSystems: PhoneSystemRow[]; unproven: number }

export async function reachOf(d1: D1Reader, site: Site, now: number = Date.now()): Promise<Reach> {
  if (site.kind === 'primary') return { kind: 'all' }
  // A login host always belongs to a portal (flat customers own none), so its organization is the portal.
  const all = await phoneSystemsOfPortal(d1, site.org.id, now)
  const proven = all.filter((ps) => ps.tenantStatus !== 'unverified')
  return { kind: 'portal', portalId: site.org.id, phoneSystems: proven, unproven: all.length - proven.length }
}

/**
 * The isolate's reach per portal, for the TTL (`config.hostCacheTtlMs`), like the host cache.
 *
 * Why a few seconds of staleness lets nobody in: the cached reach only shapes the sign-in (which
 * tenant's authority `/sso/login` sends the user to, which page says no: "tenant not allowed" or
 * "not listed"). Who passes is `findCandidates`, which on a portal's host reads the phone systems
 * afresh in the same query as the SSO list: a phone system deleted, unverified (its tenant released),
 * moved out of the portal or out of its transition, or a tenant dropped from the portal's allowed
 * tenants refuses the very next completion. Stale the other way (a phone system just added) only
 * refuses until the TTL passes or this isolate writes (`forgetCachedReads`).
 */
const reaches = new IsolateCache<Reach>({ maxEntries: 10_000, maxNegativeEntries: 0 })

/** `reachOf` through the isolate's cache (sign-in's hot path). */
export async function cachedReachOf(d1: D1Reader, config: Config, site: Site): Promise<Reach> {
  if (site.kind === 'primary') return { kind: 'all' }
  const cache = reaches.with(config.hostCacheTtlMs)
  const cached = cache.get(site.org.id)
  if (cached.hit && cached.value) return cached.value
  const reach = await reachOf(d1, site)
  cache.set(site.org.id, reach)
  return reach
}

/** The distinct Entra tenants of the reached phone systems. */
export function tenantsOf(reach: Extract<Reach, { kind: 'portal' }>): string[] {
  return [...new Set(reach.phoneSystems.map((ps) => ps.entraTenantId))]
}

/** Whether some reached phone system is in tenant `tid`. */
export async function reachesTenant(d1: D1Reader, reach: Reach, tid: string): Promise<boolean> {
  if (reach.kind === 'portal') return reach.phoneSystems.some((ps) => ps.entraTenantId === tid)
  const row = await getDb(d1)
    .select({ id: phoneSystems.id })
    .from(phoneSystems)
    .where(and(eq(phoneSystems.entraTenantId, tid), ne(phoneSystems.tenantStatus, 'unverified')))
    .limit(1)
    .get()
  return row !== undefined
}

type CandidateRow = SsoUserRow & {
  org_kind: OrgRow['kind']
  org_structure: OrgRow['structure']
  org_parent_id: string | null
  org_partner_hosts_until: number | null
  ps_org_id: string
  ps_name: string
  ps_web_client_url: string
  ps_handoff_url: string
}

/**
 * The SSO records of `identity` in `from`, narrowed: by (tid, oid), else by (tid, upn) or (tid, email)
 * for records Sync stored without an oid, each branch on its own index.
 */
function byIdentity(columns: string, from: string, identity: Identity, narrow: () => SQL): SQL {
  const branch = (match: SQL) => sql`SELECT ${sql.raw(columns)} ${sql.raw(from)} WHERE ${match} AND ${narrow()}`
  return sql`${branch(sql`u.tid = ${identity.tid} AND u.oid = ${identity.oid}`)}
    UNION ALL ${branch(sql`u.tid = ${identity.tid} AND u.oid IS NULL AND u.upn = ${identity.upn ?? null}`)}
    UNION ALL ${branch(sql`u.tid = ${identity.tid} AND u.oid IS NULL AND u.email = ${identity.email ?? null}`)}`
}

/** The phone system columns a candidate row carries, besides the SSO record's own. */
const PHONE_SYSTEM_COLUMNS = `ps.org_id AS ps_org_id, ps.name AS ps_name,
  ps.web_client_url AS ps_web_client_url, ps.handoff_url AS ps_handoff_url`

/** A record counts only on a proven phone system of its own tenant (a list left from another tenant never does). */
const PROVEN_OF_OWN_TENANT = "ps.tenant_status != 'unverified' AND u.tid = ps.entra_tenant_id"

type PortalCandidateRow = SsoUserRow &
  Pick<CandidateRow, 'ps_org_id' | 'ps_name' | 'ps_web_client_url' | 'ps_handoff_url'>

/**
 * The SSO records on reached phone systems that match `identity`: one per phone system, the strongest.
 * Always one read of what D1 holds now (never a cache): on a portal's host the phone systems are
 * joined afresh (proven, of the record's tenant, served by the portal now, a tenant its integration
 * allows), so the cached reach can never let anyone in.
 */
export async function findCandidates(
  d1: D1Reader,
  reach: Reach,
  identity: Identity,
  now: number = Date.now(),
): Promise<Candidate[]> {
  let rows: Array<{ record: SsoUser; phoneSystem: PhoneSystemRef | undefined }>
  if (reach.kind === 'portal') {
    const columns = `${ssoUserColumns('u')}, ${PHONE_SYSTEM_COLUMNS}`
    const from = 'FROM sso_users u JOIN phone_systems ps ON ps.id = u.phone_system_id'
    const narrow = () =>
      sql`${sql.raw(PROVEN_OF_OWN_TENANT)} AND ${servedByPortal(sql.raw('ps.org_id'), reach.portalId, now)} AND ${allowedByPortalSql(reach.portalId, sql.raw('u.tid'))}`
    const results = await getDb(d1).all<PortalCandidateRow>(
      sql`${byIdentity(columns, from, identity, narrow)} ORDER BY phone_system_id`,
    )
    rows = results.map((row) => ({ record: fromRow(row), phoneSystem: phoneSystemOfRow(row) }))
  } else {
    const columns = `${ssoUserColumns('u')}, ${PHONE_SYSTEM_COLUMNS},
      o.kind AS org_kind, o.structure AS org_structure, o.parent_id AS org_parent_id,
      o.partner_hosts_until AS org_partner_hosts_until`
    const from = `FROM sso_users u JOIN phone_systems ps ON ps.id = u.phone_system_id
      JOIN organizations o ON o.id = ps.org_id`
    const results = await getDb(d1).all<CandidateRow>(
      byIdentity(columns, from, identity, () => sql.raw(PROVEN_OF_OWN_TENANT)),
    )
    // A portal's allowed tenants apply on the primary host as on the portal's own hosts: those of the
    // portal whose app the phone system uses (a moved customer's partner's, until it has its own).
    const orgOfRow = (row: CandidateRow) => ({
      id: row.ps_org_id,
      kind: row.org_kind,
      structure: row.org_structure,
      parentId: row.org_parent_id,
      partnerHostsUntil: row.org_partner_hosts_until,
    })
    const allowed = await allowedTenantsOf(
      d1,
      results.flatMap((row) => portalsServing(orgOfRow(row), now)),
    )
    const appPortalOfRow = (row: CandidateRow) => appPortalIdOf(orgOfRow(row), now, (id) => allowed.has(id))
    rows = results
      .filter((row) => allowsTenant(allowed.get(appPortalOfRow(row)) ?? null, row.tid))
      .map((row) => ({ record: fromRow(row), phoneSystem: phoneSystemOfRow(row) }))
  }

  const matches: Candidate[] = []
  for (const { record, phoneSystem } of rows) {
    const kind = matchRecord(record, identity)
    if (kind === null || !phoneSystem) continue
    matches.push({ record, kind, phoneSystem })
  }
  return bestPerPhoneSystem(matches).sort(
    (a, b) => compare(a.phoneSystem.name, b.phoneSystem.name) || compare(a.phoneSystem.id, b.phoneSystem.id),
  )
}

function phoneSystemOfRow(row: PortalCandidateRow): PhoneSystemRef {
  return {
    id: row.phone_system_id,
    orgId: row.ps_org_id,
    name: row.ps_name,
    webClientUrl: row.ps_web_client_url,
    handoffUrl: row.ps_handoff_url,
  }
}

/** Code-unit order, as SQLite's BINARY collation sorts these ASCII-heavy names. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
