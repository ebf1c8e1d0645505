/**
 * Direct callback mode (ARCHITECTURE §4), the Graph side: the host's
 * `/sso/callback` must be a redirect URI of the Entra app it signs in with,
 * or Entra answers AADSTS50011. Listed, added and removed through Microsoft
 * Graph (`PATCH /applications(appId='…')` with the whole `web.redirectUris`
 * list), within Entra's limit of 256 per app. The list is read, changed and
 * written back, so two writers at once lose each other's change: only the
 * app's registrar (`registrar.ts`, one Durable Object per app) calls these,
 * one at a time, and every write is read back.
 *
 * @see https://learn.microsoft.com/entra/identity-platform/reply-url#maximum-number-of-redirect-uris-and-uri-length
 * @see https://learn.microsoft.com/graph/api/application-update
 */
import type { Config } from '../config'
import { AppError } from '../errors'
import type { EntraClient } from '../oidc/clients'
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
export async function registerRedirectUri(config: Config, client: EntraClient, uri: string): Promise<void> {
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
  await readBack(config, client, bearer, uri, true)
}

/** Makes sure `uri` is no longer registered. */
export async function unregisterRedirectUri(config: Config, client: EntraClient, uri: string): Promise<void> {
  const bearer = await token(config, client)
  const uris = await currentUris(config, client, bearer)
  if (!uris.includes(uri)) return
  await graphRequest(config, bearer, 'PATCH', appPath(client), CALL, {
    web: { redirectUris: uris.filter((u) => u !== uri) },
  })
  await readBack(config, client, bearer, uri, false)
}

/** Whether `uri` is registered on the app right now. */
export async function isRedirectUriRegistered(config: Config, client: EntraClient, uri: string): Promise<boolean> {
  return (await currentUris(config, client, await token(config, client))).includes(uri)
}

/** A write is believed only once Graph reads it back (another tool may have written the list meanwhile). */
async function readBack(config: Config, client: EntraClient, bearer: string, uri: string, present: boolean) {
  if ((await currentUris(config, client, bearer)).includes(uri) !== present) {
    throw new AppError(
      'graph_unavailable',
      `Microsoft Graph did not keep the change to the redirect URIs of app ${client.clientId} (another change overwrote it); retry`,
    )
  }
}
