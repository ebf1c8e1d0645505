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
  /**
   * How many times to retry after a 429/503 (default 3) and the longest Retry-After honoured (default 10 s):
   * Graph asking for a longer wait ends the call at once, since retrying sooner only earns another 429.
   */
  retries?: number
  maxRetryAfterMs?: number
  /** Shared by a series of calls (one sync's pull): what they may wait for throttling, all together. */
  budget?: ThrottleBudget
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

/**
 * Graph's answer to a delta link it no longer serves: expired (seven days
 * for directory objects: `syncStateNotFound`), or a reset of the tenant's
 * change tracking (410 Gone): the client must start again with a full read.
 * Thrown for the caller to fall back on, never shown to anyone.
 *
 * @see https://learn.microsoft.com/graph/delta-query-overview#synchronization-reset
 * @see https://learn.microsoft.com/graph/errors
 */
export class GraphResyncRequired extends Error {
  override readonly name = 'GraphResyncRequired'
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`Microsoft Graph asks for a full synchronization (${status} ${code || 'Gone'})`)
  }
}

const RESYNC_CODES = new Set(['syncStateNotFound', 'syncStateInvalid', 'resyncRequired'])

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * The time a series of Graph calls (one sync's pull) may spend waiting out
 * throttling, all together. Each Retry-After is honoured while it fits in
 * what is left; one that does not fit ends the series at once.
 */
export class ThrottleBudget {
  waitedMs = 0

  constructor(
    /** What waits, for the message when it gives up ("the sync"). */
    readonly what: string,
    readonly limitMs: number,
    /** How to wait (tests pass one that only records the waits). */
    readonly sleep: (ms: number) => Promise<void> = realSleep,
  ) {}

  get leftMs(): number {
    return Math.max(0, this.limitMs - this.waitedMs)
  }
}

/** A Retry-After header in ms: delay-seconds or an HTTP date (RFC 9110, 10.2.3); 1 s when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number {
  const text = value?.trim() ?? ''
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = text === '' ? Number.NaN : Date.parse(text)
  return Number.isNaN(at) ? 1000 : Math.max(0, at - now)
}

const seconds = (ms: number) => Math.ceil(ms / 1000)

const graphUrl = (config: Pick<Config, 'graphBase'>, pathOrUrl: string) =>
  pathOrUrl.startsWith('http') ? pathOrUrl : `${config.graphBase}${pathOrUrl}`

/** Whether a path, or a link Graph sent (`@odata.nextLink`, `@odata.deltaLink`), is on GRAPH_BASE's origin. */
export function isGraphLink(config: Pick<Config, 'graphBase'>, pathOrUrl: string): boolean {
  const url = graphUrl(config, pathOrUrl)
  return url.startsWith(`${config.graphBase}/`) && sameOrigin(url, config.graphBase)
}

function sameOrigin(url: string, base: string): boolean {
  try {
    return new URL(url).origin === new URL(base).origin
  } catch {
    return false
  }
}

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
  const url = graphUrl(config, pathOrUrl)
  // The bearer token goes to GRAPH_BASE's origin only: a nextLink or deltaLink elsewhere is never followed.
  if (!isGraphLink(config, pathOrUrl)) {
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
        // Graph answers API calls, never redirects: one followed would carry the bearer token wherever it points.
        redirect: 'manual',
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
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel()
      throw new AppError(
        'graph_unavailable',
        `Microsoft Graph answered a redirect (${response.status}); refusing to follow it`,
      )
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
      const askedMs = retryAfterMs(response.headers.get('retry-after'))
      const budget = call.budget
      const fits = askedMs <= maxWait && (budget === undefined || askedMs <= budget.leftMs)
      if (attempt < retries && fits) {
        if (budget) budget.waitedMs += askedMs
        await (budget?.sleep ?? realSleep)(askedMs)
        continue
      }
      const retryIn = Math.max(1, seconds(askedMs))
      const why =
        attempt >= retries
          ? `still throttling (${response.status}) after ${retries} retries`
          : budget !== undefined && askedMs > budget.leftMs
            ? `throttling (${response.status}) and asks to wait ${retryIn} s, longer than ${budget.what} may still wait (${Math.floor(budget.leftMs / 1000)} s left of ${seconds(budget.limitMs)} s)`
            : `throttling (${response.status}) and asks to wait ${retryIn} s, longer than one call may wait (${seconds(maxWait)} s)`
      throw new AppError(
        'graph_throttled',
        `Microsoft Graph is ${why}; nothing was changed. Retry in ${retryIn} s or later.`,
        {
          headers: { 'Retry-After': String(retryIn) },
        },
      )
    }
    if (response.status === 410 || (response.status < 500 && RESYNC_CODES.has(graphCode))) {
      throw new GraphResyncRequired(response.status, graphCode)
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
