/**
 * Which phone systems a login host serves (DESIGN 3.5): those of the host's
 * organization and of its flat customers; on the primary host, all of them.
 */
import { and, eq, or } from 'drizzle-orm'
import { getDb } from '../db/client'
import { organizations, phoneSystems } from '../db/schema'
import type { Site } from '../hosts/resolve'
import type { EntraClient } from '../oidc/clients'

export type PhoneSystemRow = typeof phoneSystems.$inferSelect

/** Phone systems reachable from a tenant host. (The primary host reaches all: see `isTenantServed`.) */
export async function reachablePhoneSystems(d1: D1Database, orgId: string): Promise<PhoneSystemRow[]> {
  const rows = await getDb(d1)
    .select({ ps: phoneSystems })
    .from(phoneSystems)
    .innerJoin(organizations, eq(organizations.id, phoneSystems.orgId))
    .where(
      or(eq(phoneSystems.orgId, orgId), and(eq(organizations.parentId, orgId), eq(organizations.structure, 'flat'))),
    )
    .all()
  return rows.map((r) => r.ps)
}

/**
 * The Entra tenants of the phone systems a site reaches, narrowed to the
 * tenants its portal's integration allows; empty for the primary host (it
 * reaches every tenant).
 */
export async function tenantsOfSite(d1: D1Database, site: Site, client: EntraClient): Promise<string[]> {
  if (site.kind === 'primary') return []
  const tenants = [...new Set((await reachablePhoneSystems(d1, site.org.id)).map((ps) => ps.entraTenantId))]
  return client.allowedTenantIds ? tenants.filter((t) => client.allowedTenantIds!.includes(t)) : tenants
}

/** Whether a user of tenant `tid` may sign in on this site at all. */
export async function isTenantServed(d1: D1Database, site: Site, tid: string, client: EntraClient): Promise<boolean> {
  if (client.allowedTenantIds && !client.allowedTenantIds.includes(tid)) return false
  if (site.kind === 'primary') {
    const row = await getDb(d1)
      .select({ id: phoneSystems.id })
      .from(phoneSystems)
      .where(eq(phoneSystems.entraTenantId, tid))
      .limit(1)
      .get()
    return row !== undefined
  }
  return (await tenantsOfSite(d1, site, client)).includes(tid)
}
