import type { Context, MiddlewareHandler } from 'hono'
import type { Config } from '../config'
import { AppError } from '../errors'
import type { AppEnv } from '../http/context'
import { readDb } from '../http/read-session'
import { startAgainOn } from '../http/render'
import { normalizeRequestHost } from '../lib/hostname'
import type { Site } from '../tenancy/site'
import { knownSite, resolveHost } from './resolve'

/**
 * Resolves the request's host to the site it serves and refuses anything
 * else before a route runs: unknown (or moved) hosts get the neutral 404,
 * hosts still being set up get the "being set up" page.
 */
export const resolveSite: MiddlewareHandler<AppEnv> = async (c, next) => {
  const hostname = normalizeRequestHost(new URL(c.req.url).host)
  if (hostname === null) throw new AppError('host_invalid', 'Invalid host')

  // What the isolate knows first: a cached host opens no read session at all (the login page's hot path).
  let site: Site | null | undefined = knownSite(c.var.config, hostname)
  try {
    if (site === undefined) site = await resolveHost(readDb(c), c.var.config, hostname)
  } catch (error) {
    // The host is the request's own: trying again means its login page, once D1 answers.
    startAgainOn(c, hostname)
    throw new AppError('database_unavailable', 'Host lookup failed', { cause: error, headers: { 'Retry-After': '30' } })
  }
  if (site === null || (site.kind === 'tenant' && site.status === 'moved')) {
    throw new AppError('host_not_found', 'Unknown host')
  }
  c.set('site', site)
  if (!siteIsOpen(site)) {
    throw new AppError('host_not_ready', 'Host not active yet', { headers: { 'Retry-After': '300' } })
  }
  await next()
}

/** Whether a site's routes run: the primary host, or a tenant's host once active (moved and pending ones are refused above). */
export function siteIsOpen(site: Site): boolean {
  return site.kind === 'primary' || site.status === 'active'
}

/** What the isolate already knows of the request's host (memory only: never D1). */
export function knownRequestSite(c: Context<AppEnv>): Site | null | undefined {
  return knownSiteOf(c.var.config, new URL(c.req.url))
}

/** What the isolate already knows of `url`'s host (memory only: never D1); undefined for nothing, or no hostname. */
export function knownSiteOf(config: Config, url: URL): Site | null | undefined {
  // The isolate only holds normalized names, and normalizing a normalized name changes nothing: a hit on the
  // hostname as the URL parser left it is what normalizing would have found, without the work (the login page's hot path).
  const known = knownSite(config, url.hostname)
  if (known !== undefined) return known
  const hostname = normalizeRequestHost(url.host)
  return hostname === null || hostname === url.hostname ? undefined : knownSite(config, hostname)
}
