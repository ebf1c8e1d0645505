/**
 * What a host serves (ARCHITECTURE §3.1): the provider's primary host, a tenant's
 * host in any status (the caller decides what pending means), or nothing.
 * Answers are cached in isolate memory, negative ones included.
 */
import { eq } from 'drizzle-orm'
import type { Config } from '../config'
import { type D1Reader, getDb } from '../db/client'
import { hostnames, organizations } from '../db/schema'
import { IsolateCache, type TtlCache } from '../lib/ttl-cache'
import { brandingOf, providerBranding } from '../tenancy/branding'
import type { PrimarySite, Site, TenantSite } from '../tenancy/site'

const primarySites = new WeakMap<Config, PrimarySite>()

/** One object per configuration, so that what is derived from it (the rendered page) can be cached too. */
function primarySite(config: Config): PrimarySite {
  let site = primarySites.get(config)
  if (!site) {
    site = {
      kind: 'primary',
      hostname: config.primaryHost,
      branding: providerBranding(config.providerDisplayName),
    }
    primarySites.set(config, site)
  }
  return site
}

const sites = new IsolateCache<TenantSite>({ maxEntries: 10_000, maxNegativeEntries: 1_000 })

/** The isolate's host cache (one per isolate; rebuilt if the TTL setting changes). */
export function hostCache(config: Config): TtlCache<TenantSite> {
  return sites.with(config.hostCacheTtlMs)
}

/** What the isolate already knows of `hostname`, without asking D1 (undefined: nothing). */
export function knownSite(config: Config, hostname: string): Site | null | undefined {
  if (hostname === config.primaryHost) return primarySite(config)
  const cached = hostCache(config).get(hostname)
  return cached.hit ? cached.value : undefined
}

/**
 * Maps a normalized hostname to what it serves: the provider's primary host,
 * a tenant's host (in any status: the caller decides what pending means), or
 * `null` for a host nobody attached. Cached in isolate memory, negative
 * answers included.
 */
export async function resolveHost(
  d1: D1Reader,
  config: Config,
  hostname: string,
  cache: TtlCache<TenantSite> = hostCache(config),
): Promise<Site | null> {
  if (hostname === config.primaryHost) return primarySite(config)
  const cached = cache.get(hostname)
  if (cached.hit) return cached.value

  const site = await loadTenantSite(d1, hostname)
  cache.set(hostname, site)
  return site
}

export async function loadTenantSite(d1: D1Reader, hostname: string): Promise<TenantSite | null> {
  const row = await getDb(d1)
    .select({ host: hostnames, org: organizations })
    .from(hostnames)
    .innerJoin(organizations, eq(organizations.id, hostnames.orgId))
    .where(eq(hostnames.hostname, hostname))
    .get()
  if (!row) return null
  const { host, org } = row
  return {
    kind: 'tenant',
    hostname: host.hostname,
    status: host.status,
    callbackMode: host.callbackMode,
    redirectUriRegistered: host.redirectUriRegistered,
    org: { id: org.id, kind: org.kind, structure: org.structure, name: org.name },
    branding: brandingOf(org),
  }
}
