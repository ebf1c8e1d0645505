/**
 * A local stand-in for Microsoft Graph (v1.0), sharing state with the Entra
 * ID stand-in of the same process: the app registrations whose redirect URIs
 * Graph edits are the ones the authorize endpoint checks, and the app-only
 * tokens it accepts are the ones that stand-in issued (signature, audience,
 * roles). Errors come in Graph's shape `{"error": {"code", "message",
 * "innerError"}}`; throttling with 429 and Retry-After.
 *
 * @see https://learn.microsoft.com/graph/api/application-update
 * @see https://learn.microsoft.com/graph/errors
 */
import { randomUUID } from 'node:crypto'
import type http from 'node:http'
import type { EntraApp, EntraStandIn } from '../entra/server.ts'
import { LocalServer, readBody, sendJson } from '../http.ts'

export const MAX_REDIRECT_URIS = 256

export type GraphFault = 'throttled' | 'server_error' | 'unavailable' | 'gone'

export function graphError(code: string, message: string) {
  return {
    error: {
      code,
      message,
      innerError: { date: new Date().toISOString(), 'request-id': randomUUID(), 'client-request-id': randomUUID() },
    },
  }
}

export interface GraphCaller {
  tid: string
  appid: string
  roles: string[]
}

export class GraphStandIn extends LocalServer {
  /** Faults for the next requests, keyed by what they are about (an app id, a tenant id). */
  readonly faults = new Map<string, GraphFault[]>()
  readonly calls: Array<{ method: string; path: string }> = []
  /**
   * Hostile Graph (review tests): `/__hostile/redirect?to=URL` answers a 302 there; `/__hostile/capture`
   * records the Authorization header it was sent (read back through the `captured` control route).
   */
  readonly captured: Array<{ path: string; authorization: string | null }> = []
  private readonly entra: EntraStandIn
  protected readonly serverName = 'graph stand-in'

  constructor(entra: EntraStandIn) {
    super()
    this.entra = entra
  }

  async listen(port = 0): Promise<string> {
    return this.serve(port, '127.0.0.1', (p) => `http://127.0.0.1:${p}`)
  }

  /** Answers a queued fault for `about`, if any; true when it answered. */
  protected fault(res: http.ServerResponse, about: string): boolean {
    const fault = this.faults.get(about)?.shift()
    if (!fault) return false
    if (fault === 'throttled') {
      sendJson(res, 429, graphError('TooManyRequests', 'Too many requests.'), { 'retry-after': '1' })
    } else if (fault === 'gone') {
      // What Graph answers a delta link it no longer serves; a hostile review sends it to any request.
      sendJson(res, 410, graphError('syncStateNotFound', 'The sync state is no longer valid.'))
    } else if (fault === 'unavailable') {
      sendJson(res, 503, graphError('serviceNotAvailable', 'Service unavailable.'), { 'retry-after': '1' })
    } else {
      sendJson(res, 500, graphError('generalException', 'An internal server error occurred.'))
    }
    return true
  }

  private async caller(req: http.IncomingMessage): Promise<GraphCaller | null> {
    const header = req.headers.authorization ?? ''
    if (!header.startsWith('Bearer ')) return null
    return this.entra.verifyGraphToken(header.slice(7))
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const path = decodeURIComponent(url.pathname)
    if (path.startsWith('/__control/')) return this.control(req, res, path.slice('/__control/'.length).split('/'))
    if (path === '/__hostile/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' })
      res.end()
      return
    }
    if (path === '/__hostile/capture') {
      this.captured.push({ path: `${path}${url.search}`, authorization: req.headers.authorization ?? null })
      return sendJson(res, 200, { value: [] })
    }
    this.calls.push({ method: req.method ?? 'GET', path: `${path}${url.search}` })

    const caller = await this.caller(req)
    if (!caller) {
      return sendJson(
        res,
        401,
        graphError('InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.'),
      )
    }
    const app = /^\/v1\.0\/applications\(appId='([0-9a-fA-F-]{36})'\)$/.exec(path)
    if (app) return this.application(req, res, caller, app[1]!.toLowerCase())
    return this.route(req, res, caller, url, path)
  }

  /** Further resources (the sync's users, groups and service principals); 404 here. */
  protected async route(
    _req: http.IncomingMessage,
    res: http.ServerResponse,
    _caller: GraphCaller,
    _url: URL,
    path: string,
  ): Promise<void> {
    sendJson(res, 400, graphError('BadRequest', `Resource not found for the segment '${path.split('/')[2] ?? ''}'.`))
  }

  private async application(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    caller: GraphCaller,
    appId: string,
  ): Promise<void> {
    if (this.fault(res, appId)) return
    const writable =
      caller.roles.includes('Application.ReadWrite.All') ||
      (caller.roles.includes('Application.ReadWrite.OwnedBy') && caller.appid === appId)
    const readable = writable || caller.roles.includes('Application.Read.All')
    const registration = this.entra.apps.get(appId)
    if (!readable)
      return sendJson(
        res,
        403,
        graphError('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
      )
    if (!registration)
      return sendJson(
        res,
        404,
        graphError(
          'Request_ResourceNotFound',
          `Resource '${appId}' does not exist or one of its queried reference-property objects are not present.`,
        ),
      )

    if (req.method === 'GET') {
      const select = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('$select')
      if (select === 'passwordCredentials') {
        // Graph never returns a secret's value: only its hint (first three characters) and dates.
        return sendJson(res, 200, {
          '@odata.context': `${this.base}/v1.0/$metadata#applications(passwordCredentials)/$entity`,
          passwordCredentials: passwordCredentialsOf(registration),
        })
      }
      return sendJson(res, 200, {
        '@odata.context': `${this.base}/v1.0/$metadata#applications(id,appId,web)/$entity`,
        id: `obj-${appId}`,
        appId,
        web: {
          redirectUris: registration.redirectUris,
          homePageUrl: null,
          logoutUrl: null,
          implicitGrantSettings: { enableIdTokenIssuance: false, enableAccessTokenIssuance: false },
        },
      })
    }
    if (req.method === 'PATCH') {
      if (!writable)
        return sendJson(
          res,
          403,
          graphError('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
        )
      const body = JSON.parse((await readBody(req)) || '{}') as { web?: { redirectUris?: unknown } }
      const uris = body.web?.redirectUris
      if (!Array.isArray(uris) || !uris.every((u) => typeof u === 'string')) {
        return sendJson(
          res,
          400,
          graphError(
            'Request_BadRequest',
            "Invalid value specified for property 'redirectUris' of resource 'Application'.",
          ),
        )
      }
      if (uris.length > MAX_REDIRECT_URIS) {
        return sendJson(
          res,
          400,
          graphError('Request_BadRequest', `The number of redirect URIs exceeds the maximum of ${MAX_REDIRECT_URIS}.`),
        )
      }
      registration.redirectUris = [...uris]
      res.writeHead(204)
      res.end()
      return
    }
    return sendJson(res, 405, graphError('Request_BadRequest', 'Method not allowed.'))
  }

  protected async control(req: http.IncomingMessage, res: http.ServerResponse, parts: string[]): Promise<void> {
    const body = req.readableEnded
      ? {}
      : (JSON.parse((await readBody(req)) || '{}') as { about?: string; faults?: GraphFault[] })
    if (parts[0] === 'faults') {
      this.faults.set(String(body.about), [...(body.faults ?? [])])
      return sendJson(res, 200, body)
    }
    if (parts[0] === 'calls') return sendJson(res, 200, this.calls)
    if (parts[0] === 'captured') return sendJson(res, 200, this.captured.splice(0))
    return sendJson(res, 404, { error: 'unknown control route' })
  }
}

/**
 * An app's client secrets as Graph lists them (`passwordCredential`): the one
 * the app was given, valid two years unless `secretExpiresAt` says otherwise,
 * and any older ones the test added.
 *
 * @see https://learn.microsoft.com/graph/api/resources/passwordcredential
 */
function passwordCredentialsOf(app: EntraApp) {
  const end = app.secretExpiresAt ?? new Date(Date.now() + 730 * 86_400_000).toISOString()
  const start = new Date(Date.parse(end) - 730 * 86_400_000).toISOString()
  return [
    {
      customKeyIdentifier: null,
      displayName: 'edge-sso-gateway',
      endDateTime: end,
      hint: app.secret.slice(0, 3),
      keyId: `00000000-0000-4000-8000-${app.clientId.slice(-12)}`,
      secretText: null,
      startDateTime: start,
    },
    ...(app.otherSecrets ?? []).map((other, index) => ({
      customKeyIdentifier: null,
      displayName: other.displayName,
      endDateTime: other.endDateTime,
      hint: other.hint,
      keyId: `00000000-0000-4000-8001-${String(index).padStart(12, '0')}`,
      secretText: null,
      startDateTime: new Date(Date.parse(other.endDateTime) - 365 * 86_400_000).toISOString(),
    })),
  ]
}

export async function startGraphStandIn(entra: EntraStandIn, port = 0): Promise<GraphStandIn> {
  const graph = new GraphStandIn(entra)
  await graph.listen(port)
  return graph
}
