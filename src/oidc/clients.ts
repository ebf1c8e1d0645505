/**
 * Which Entra app a sign-in uses: the portal's own Microsoft integration when
 * the host's organization has one, else the provider's multi-tenant app.
 */
import { eq, type SQL, type SQLWrapper, sql } from 'drizzle-orm'
import type { Config } from '../config'
import { type D1Reader, getDb } from '../db/client'
import { microsoftIntegrations } from '../db/schema'
import { decryptSecret } from '../lib/crypto'
import { IsolateCache } from '../lib/ttl-cache'

export interface EntraClient {
  clientId: string
  clientSecret: string
  /** The portal whose integration this is; null for the provider's app. */
  orgId: string | null
  /** Where the app is registered (Graph calls about the app itself go there); null for the provider's app. */
  homeTenantId: string | null
  /** Tenants allowed to sign in with it; null: any tenant a reachable phone system has. */
  allowedTenantIds: string[] | null
}

export function providerClient(config: Config): EntraClient {
  return {
    clientId: config.entra.clientId,
    clientSecret: config.entra.clientSecret,
    orgId: null,
    homeTenantId: config.entra.homeTenantId,
    allowedTenantIds: null,
  }
}

export const secretContext = (orgId: string, clientId: string) => `microsoft-integration:${orgId}:${clientId}`

/** The client of a portal (an organization owning hosts), or the provider's when it has no integration. */
export async function clientForOrg(d1: D1Reader, config: Config, orgId: string | null): Promise<EntraClient> {
  if (orgId === null) return providerClient(config)
  const row = await getDb(d1).select().from(microsoftIntegrations).where(eq(microsoftIntegrations.orgId, orgId)).get()
  if (!row) return providerClient(config)
  return {
    clientId: row.clientId,
    clientSecret: await decryptSecret(row.clientSecretEnc, config.dataKey, secretContext(row.orgId, row.clientId)),
    orgId: row.orgId,
    homeTenantId: row.homeTenantId,
    allowedTenantIds: row.allowedTenantIds.length > 0 ? row.allowedTenantIds : null,
  }
}

/**
 * The isolate's sign-in clients, by portal: the integration read and its secret decrypted once per
 * TTL (in memory only; `null`: the portal has none, the provider's app signs in).
 *
 * Why a few seconds of staleness lets nobody in: a client decides only which app Entra signs the user
 * in with (a stale secret fails the code redemption, a refusal), and its allowed tenants are a first,
 * early refusal: `findCandidates` checks the portal's allowed tenants again against what D1 says now
 * (`allowedByPortalSql`), so a narrowed list refuses at once. Writes in this isolate empty the cache
 * (`forgetCachedReads`). Sign-in only: connect, sync and the redirect URI jobs read `clientForOrg`.
 */
const signInClients = new IsolateCache<EntraClient>({ maxEntries: 10_000, maxNegativeEntries: 1_000 })

/** `clientForOrg` through the isolate's cache (sign-in's hot path). */
export async function signInClient(d1: D1Reader, config: Config, orgId: string | null): Promise<EntraClient> {
  if (orgId === null) return providerClient(config)
  const cache = signInClients.with(config.hostCacheTtlMs)
  const cached = cache.get(orgId)
  if (cached.hit) return cached.value ?? providerClient(config)
  const client = await clientForOrg(d1, config, orgId)
  cache.set(orgId, client.orgId === null ? null : client)
  return client
}

/**
 * Whether a portal's integration lets users of tenant `tid` sign in: its
 * allowed tenants, when it lists any. The one rule, for the portal's own
 * hosts (its client) and the primary host (each candidate's portal).
 */
export function allowsTenant(allowedTenantIds: readonly string[] | null, tid: string): boolean {
  return allowedTenantIds === null || allowedTenantIds.length === 0 || allowedTenantIds.includes(tid)
}

/**
 * SQL: `allowsTenant` for the integration of portal `portalOrgId`, from what D1 holds now (no
 * integration, or one listing no tenant, allows any).
 */
export function allowedByPortalSql(portalOrgId: string, tidColumn: SQLWrapper): SQL {
  return sql`NOT EXISTS (SELECT 1 FROM ${microsoftIntegrations} WHERE ${microsoftIntegrations.orgId} = ${portalOrgId} AND json_array_length(${microsoftIntegrations.allowedTenantIds}) > 0 AND NOT EXISTS (SELECT 1 FROM json_each(${microsoftIntegrations.allowedTenantIds}) WHERE value = ${tidColumn}))`
}

/** The allowed tenants of each portal that has an integration (the others allow any tenant). */
export async function allowedTenantsOf(d1: D1Reader, portalIds: readonly string[]): Promise<Map<string, string[]>> {
  if (portalIds.length === 0) return new Map()
  const rows = await getDb(d1)
    .select({ orgId: microsoftIntegrations.orgId, allowed: microsoftIntegrations.allowedTenantIds })
    .from(microsoftIntegrations)
    // json_each, not a bound list: a user may reach more portals than D1 allows parameters (100).
    .where(
      sql`${microsoftIntegrations.orgId} IN (SELECT value FROM json_each(${JSON.stringify([...new Set(portalIds)])}))`,
    )
    .all()
  return new Map(rows.map((row) => [row.orgId, row.allowed]))
}
