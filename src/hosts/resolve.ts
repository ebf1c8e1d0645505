import { eq } from 'drizzle-orm'
import type { Config } from '../config'
import { getDb } from '../db/client'
import {
  type CallbackMode,
  type HostnameStatus,
  hostnames,
  type OrgKind,
  type OrgStructure,
  organizations,
} from '../db/schema'
import { isHexColor } from '../pages/colors'
import { TtlCache } from './cache'

export const DEFAULT_ACCENT_COLOR = '#0f6cbd'

export interface Branding {
  displayName: string
  logoUrl: string | null
  accentColor: string
}

export interface TenantSite {
  kind: 'tenant'
  hostname: string
  status: HostnameStatus
  callbackMode: CallbackMode
  redirectUriRegistered: boolean
  org: { id: string; kind: OrgKind; structure: OrgStructure | null; name: string }
  branding: Branding
}

export interface PrimarySite {
  kind: 'primary'
  hostname: string
  branding: Branding
}

export type Site = PrimarySite | TenantSite

const primarySites = new WeakMap<Config, PrimarySite>()

/** One object per configuration, so that what is derived from it (the rendered page) can be cached too. */
function primarySite(config: Config): PrimarySite {
  let site = primarySites.get(config)
  if (!site) {
    site = {
      kind: 'primary',
      hostname: config.primaryHost,
      branding: { displayName: config.providerDisplayName, logoUrl: null, accentColor: DEFAULT_ACCENT_COLOR },
    }
    primarySites.set(config, site)
  }
  return site
}

let sharedCache: { ttlMs: number; cache: TtlCache<TenantSite> } | undefined

/** The isolate's host cache (one per isolate; rebuilt if the TTL setting changes). */
export function hostCache(config: Config): TtlCache<TenantSite> {
  if (!sharedCache || sharedCache.ttlMs !== config.hostCacheTtlMs) {
    sharedCache = {
      ttlMs: config.hostCacheTtlMs,
      cache: new TtlCache<TenantSite>({ ttlMs: config.hostCacheTtlMs, maxEntries: 10_000 }),
    }
  }
  return sharedCache.cache
}

/**
 * Maps a normalized hostname to what it serves: the provider's primary host,
 * a tenant's host (in any status: the caller decides what pending means), or
 * `null` for a host nobody attached. Cached in isolate memory, negative
 * answers included.
 */
export async function resolveHost(
  d1: D1Database,
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

export async function loadTenantSite(d1: D1Database, hostname: string): Promise<TenantSite | null> {
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
    branding: {
      displayName: org.displayName ?? org.name,
      // Re-checked on the way out: a row written around the API must not inject CSS or a logo from http.
      logoUrl: org.logoUrl && isSafeLogoUrl(org.logoUrl) ? org.logoUrl : null,
      accentColor:
        org.accentColor && isHexColor(org.accentColor) ? org.accentColor.toLowerCase() : DEFAULT_ACCENT_COLOR,
    },
  }
}

/** Logos are shown on login pages: https only, no credentials, no odd characters. */
export function isSafeLogoUrl(value: string): boolean {
  if (value.length > 2048) return false
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  return url.protocol === 'https:' && url.username === '' && url.password === '' && url.href === value
}

/** Where a page with this branding loads images from: the logo's origin, or nowhere (its CSP img-src). */
export function logoOrigins(branding: Branding): string[] {
  return branding.logoUrl ? [new URL(branding.logoUrl).origin] : []
}
