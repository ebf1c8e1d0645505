/**
 * Which Entra app a sign-in uses: the portal's own Microsoft integration when
 * the host's organization has one, else the provider's multi-tenant app.
 */
import { eq, sql } from 'drizzle-orm'
import type { Config } from '../config'
import { getDb } from '../db/client'
import { microsoftIntegrations } from '../db/schema'
import { decryptSecret } from '../lib/crypto'

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
export async function clientForOrg(d1: D1Database, config: Config, orgId: string | null): Promise<EntraClient> {
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
 * Whether a portal's integration lets users of tenant `tid` sign in: its
 * allowed tenants, when it lists any. The one rule, for the portal's own
 * hosts (its client) and the primary host (each candidate's portal).
 */
export function allowsTenant(allowedTenantIds: readonly string[] | null, tid: string): boolean {
  return allowedTenantIds === null || allowedTenantIds.length === 0 || allowedTenantIds.includes(tid)
}

/** The allowed tenants of each portal that has an integration (the others allow any tenant). */
export async function allowedTenantsOf(d1: D1Database, portalIds: readonly string[]): Promise<Map<string, string[]>> {
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
