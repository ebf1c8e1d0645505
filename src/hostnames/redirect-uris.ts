/**
 * Direct callback mode (DESIGN 4): the host's `/sso/callback` must be a
 * redirect URI of the Entra app it signs in with, or Entra answers
 * AADSTS50011. Registered and removed through Microsoft Graph
 * (`PATCH /applications(appId='…')` with `web.redirectUris`), within Entra's
 * limit of 256 per app.
 *
 * @see https://learn.microsoft.com/entra/identity-platform/reply-url#maximum-number-of-redirect-uris-and-uri-length
 */
import { and, asc, eq, lt } from 'drizzle-orm'
import type { Config } from '../config'
import { getDb } from '../db/client'
import { type HostnameRow, hostnames } from '../db/schema'
import { AppError } from '../errors'
import { hostCache } from '../hosts/resolve'
import { log } from '../log'
import { clientForOrg, type EntraClient } from '../oidc/clients'
import { callbackUri } from '../signin/callback-uri'
import { appOnlyToken, type GraphCall, graphRequest } from '../upstream/graph'

export const REDIRECT_URI_LIMIT = 256
const CALL: GraphCall = { permission: 'Application.ReadWrite.OwnedBy', retries: 2, maxRetryAfterMs: 5_000 }

interface Application {
  web?: { redirectUris?: string[] }
}

function appPath(client: EntraClient): string {
  return `/v1.0/applications(appId='${client.clientId}')`
}

async function token(config: Config, client: EntraClient): Promise<string> {
  if (!client.homeTenantId) {
    throw new AppError(
      'graph_not_configured',
      client.orgId === null
        ? "ENTRA_HOME_TENANT_ID is not set, so the gateway cannot register redirect URIs on the provider's app; the host signs in through the central callback"
        : "The portal's Microsoft integration has no home tenant; the host signs in through the central callback",
    )
  }
  return appOnlyToken(config, client, client.homeTenantId, CALL)
}

async function currentUris(config: Config, client: EntraClient, bearer: string): Promise<string[]> {
  const app = await graphRequest<Application>(config, bearer, 'GET', `${appPath(client)}?$select=web`, CALL)
  return app?.web?.redirectUris ?? []
}

/** Makes sure `uri` is registered. Throws `redirect_uri_limit` (409) when the app already has 256. */
async function registerRedirectUri(config: Config, client: EntraClient, uri: string): Promise<void> {
  const bearer = await token(config, client)
  const uris = await currentUris(config, client, bearer)
  if (uris.includes(uri)) return
  if (uris.length >= REDIRECT_URI_LIMIT) {
    throw new AppError(
      'redirect_uri_limit',
      `The Entra app ${client.clientId} already has ${uris.length} redirect URIs, Entra's maximum of ${REDIRECT_URI_LIMIT}; nothing was changed. ` +
        'Attach this hostname with callbackMode "central" (it needs no redirect URI of its own), or move hosts to central mode to free URIs.',
      { field: 'callbackMode' },
    )
  }
  await graphRequest(config, bearer, 'PATCH', appPath(client), CALL, { web: { redirectUris: [...uris, uri] } })
}

/** Makes sure `uri` is no longer registered. */
async function unregisterRedirectUri(config: Config, client: EntraClient, uri: string): Promise<void> {
  const bearer = await token(config, client)
  const uris = await currentUris(config, client, bearer)
  if (!uris.includes(uri)) return
  await graphRequest(config, bearer, 'PATCH', appPath(client), CALL, {
    web: { redirectUris: uris.filter((u) => u !== uri) },
  })
}

export type Registration = Pick<HostnameRow, 'redirectUriRegistered' | 'redirectUriDetail'>

/**
 * Registers a direct host's redirect URI on its portal's Entra app. Graph
 * trouble other than the 256 ceiling does not stop anything: the host signs
 * in through the central callback until a check, Sync or the schedule
 * registers it.
 */
export async function registerHost(
  d1: D1Database,
  config: Config,
  row: Pick<HostnameRow, 'hostname' | 'orgId'>,
): Promise<Registration> {
  try {
    await registerRedirectUri(config, await clientForOrg(d1, config, row.orgId), callbackUri(config, row.hostname))
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

/** Removes a host's redirect URI from its portal's Entra app (Graph failures throw: nothing may be left behind silently). */
export async function unregisterHost(
  d1: D1Database,
  config: Config,
  row: Pick<HostnameRow, 'hostname' | 'orgId'>,
): Promise<void> {
  await unregisterRedirectUri(config, await clientForOrg(d1, config, row.orgId), callbackUri(config, row.hostname))
}

/** Tries again to register a direct host that is not registered yet, and stores the outcome. */
export async function retryRegistration(
  d1: D1Database,
  config: Config,
  row: HostnameRow,
  now: number,
): Promise<HostnameRow> {
  let outcome: Registration
  try {
    outcome = await registerHost(d1, config, row)
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

const unregisteredDirect = and(eq(hostnames.callbackMode, 'direct'), eq(hostnames.redirectUriRegistered, false))

/** Registers the redirect URIs of a portal's direct hosts that are not registered yet (part of Sync). */
export async function reconcilePortal(
  d1: D1Database,
  config: Config,
  portalOrgId: string,
  now: number,
): Promise<{ registered: number; pending: number }> {
  const rows = await getDb(d1)
    .select()
    .from(hostnames)
    .where(and(eq(hostnames.orgId, portalOrgId), unregisteredDirect))
    .all()
  const registered = await retryEach(d1, config, rows, now)
  return { registered, pending: rows.length - registered }
}

/** Retries each host in turn; how many are registered afterwards. */
async function retryEach(d1: D1Database, config: Config, rows: HostnameRow[], now: number): Promise<number> {
  let registered = 0
  for (const row of rows) {
    if ((await retryRegistration(d1, config, row, now)).redirectUriRegistered) registered++
  }
  return registered
}

/** How many hosts one scheduled run retries, and how long a host rests between tries. */
export const REGISTRATION_RETRY = { perRun: 10, restMs: 15 * 60 * 1000 }

/**
 * The schedule's share: direct hosts still on the central callback get their
 * registration retried, the longest-waiting first, each at most every 15
 * minutes, so a host whose Graph call failed once does not wait for someone
 * to press Check or Sync.
 */
export async function retryDueRegistrations(
  d1: D1Database,
  config: Config,
  now: number,
): Promise<{ tried: number; registered: number }> {
  const due = await getDb(d1)
    .select()
    .from(hostnames)
    .where(and(unregisteredDirect, lt(hostnames.updatedAt, now - REGISTRATION_RETRY.restMs)))
    .orderBy(asc(hostnames.updatedAt))
    .limit(REGISTRATION_RETRY.perRun)
    .all()
  const registered = await retryEach(d1, config, due, now)
  return { tried: due.length, registered }
}
