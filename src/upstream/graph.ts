/**
 * Microsoft Graph with app-only tokens (client credentials, cached per app
 * and tenant): requests with bounded retries on throttling (429/503 with
 * Retry-After), and failures turned into `AppError`s that say what to do,
 * naming the permission a 401/403 lacks.
 *
 * @see https://learn.microsoft.com/graph/throttling
 * @see https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
 */
import * as oauth from 'oauth4webapi'
import type { Config } from '../config'
import { AppError } from '../errors'
import { sha256 } from '../lib/crypto'
import type { EntraClient } from '../oidc/clients'
import { discover, toUpstreamError } from '../oidc/entra'

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default'
const TOKEN_MARGIN_MS = 5 * 60 * 1000

const tokens = new Map<string, { token: string; expiresAt: number }>()

export interface GraphCall {
  /** The Graph application permission the call needs, named in a 401/403 answer. */
  permission: string
  /** How many times to retry after a 429/503 (default 3) and the longest Retry-After honoured (default 10 s). */
  retries?: number
  maxRetryAfterMs?: number
  /** Answer null for a 404 instead of failing (lookups by alternate key). */
  notFoundIsNull?: boolean
  /** Counts requests made, for budgets and reports. */
  counter?: { requests: number }
  /** Ask Entra for a new token even when one is cached (a consent is confirmed only by a token issued after it). */
  fresh?: boolean
}

/** An app-only Graph token of `client` in `tenant`. */
export async function appOnlyToken(
  config: Config,
  client: EntraClient,
  tenant: string,
  call: GraphCall,
): Promise<string> {
  // Keyed by whose app, which app, which tenant and which secret: a portal naming another portal's client id
  // with a wrong secret must never be handed the token that the right secret earned.
  const key = `${client.orgId ?? 'provider'}|${client.clientId}|${tenant}|${await sha256(client.clientSecret)}`
  const cached = tokens.get(key)
  if (!call.fresh && cached && cached.expiresAt > Date.now() + TOKEN_MARGIN_MS) return cached.token
  const as = await discover(config, tenant)
  try {
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: client.clientId },
      oauth.ClientSecretPost(client.clientSecret),
      new URLSearchParams({ scope: GRAPH_SCOPE }),
      {
        signal: AbortSignal.timeout(config.entra.timeoutMs),
        [oauth.allowInsecureRequests]: config.entra.insecureLoopback,
      },
    )
    const result = await oauth.processClientCredentialsResponse(as, { client_id: client.clientId }, response)
    tokens.set(key, { token: result.access_token, expiresAt: Date.now() + (result.expires_in ?? 3600) * 1000 })
    return result.access_token
  } catch (error) {
    const appError = toUpstreamError(error, 'token')
    if (appError.code === 'entra_app_not_in_tenant' || appError.code === 'entra_consent_required') {
      throw new AppError(
        'graph_permission',
        `The Entra app ${client.clientId} is not consented in tenant ${tenant}, so it cannot call Microsoft Graph. ` +
          `An administrator of that tenant must grant admin consent for "${call.permission}" (the integration's Reprovision Account step).`,
        { cause: error },
      )
    }
    if (appError.code === 'entra_client_secret') {
      throw new AppError(
        'graph_permission',
        `Entra refused the client secret of app ${client.clientId}: the secret must be renewed.`,
        { cause: error },
      )
    }
    throw appError
  }
}

/** Forget cached Graph tokens (tests). */
export function resetGraphTokens(): void {
  tokens.clear()
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * One Graph request (path relative to GRAPH_BASE, or an absolute
 * @odata.nextLink on it). Answers the parsed JSON (or null for 204).
 */
export async function graphRequest<T>(
  config: Config,
  token: string,
  method: string,
  pathOrUrl: string,
  call: GraphCall,
  body?: unknown,
): Promise<T | null> {
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${config.graphBase}${pathOrUrl}`
  if (!url.startsWith(`${config.graphBase}/`)) {
    throw new AppError('graph_unavailable', 'Microsoft Graph sent a link to another host; refusing to follow it')
  }
  const retries = call.retries ?? 3
  const maxWait = call.maxRetryAfterMs ?? 10_000
  for (let attempt = 0; ; attempt++) {
    let response: Response
    if (call.counter) call.counter.requests++
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ConsistencyLevel: 'eventual',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(config.entra.timeoutMs),
      })
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new AppError('graph_timeout', 'Microsoft Graph did not answer in time; nothing was changed. Retry.', {
          cause: error,
        })
      }
      throw new AppError('graph_unavailable', 'Microsoft Graph could not be reached; nothing was changed. Retry.', {
        cause: error,
      })
    }
    if (response.status === 204) return null
    if (response.ok) return (await response.json()) as T
    if (response.status === 404 && call.notFoundIsNull) {
      await response.body?.cancel()
      return null
    }

    const text = await response.text()
    let graphCode = ''
    let graphMessage = ''
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } }
      graphCode = parsed.error?.code ?? ''
      graphMessage = parsed.error?.message ?? ''
    } catch {
      // not JSON: the status says enough
    }
    if (response.status === 429 || response.status === 503) {
      const retryAfter = Number(response.headers.get('retry-after') ?? '1')
      const waitMs = Math.max(0, Math.min(Number.isFinite(retryAfter) ? retryAfter * 1000 : 1000, maxWait))
      if (attempt < retries) {
        await sleep(waitMs)
        continue
      }
      throw new AppError(
        'graph_throttled',
        `Microsoft Graph is throttling (${response.status}) even after ${retries} retries; nothing was changed. Retry later.`,
        {
          headers: { 'Retry-After': String(Math.ceil(waitMs / 1000) || 1) },
        },
      )
    }
    if (response.status === 401 || response.status === 403) {
      throw new AppError(
        'graph_permission',
        `Microsoft Graph refused the request (${graphCode || response.status}): the app lacks the "${call.permission}" application permission, or its consent was withdrawn. ` +
          "An administrator must grant admin consent again (the integration's Reprovision Account step).",
      )
    }
    if (response.status >= 500) {
      throw new AppError(
        'graph_unavailable',
        `Microsoft Graph answered ${response.status}; nothing was changed. Retry.`,
      )
    }
    throw new AppError(
      'graph_unavailable',
      `Microsoft Graph refused the request: ${graphCode || response.status}${graphMessage ? ` (${graphMessage.slice(0, 200)})` : ''}`,
    )
  }
}
