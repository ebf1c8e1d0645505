/**
 * The Entra ID relying party: discovery (cached per tenant), the
 * authorization request, and the code exchange with every ID-token check.
 * oauth4webapi does the protocol and the claim checks; jose verifies the
 * signature against the tenant's JWKS, which oauth4webapi leaves to the caller
 * (OIDC Core allows skipping it for TLS-delivered tokens; we never do).
 * Errors from both libraries stop here and leave as our `AppError`s.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 */
import {
  createRemoteJWKSet,
  decodeJwt,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose'
import * as oauth from 'oauth4webapi'
import type { Config } from '../config'
import { AppError } from '../errors'
import { isGuid } from '../lib/ids'
import type { EntraClient } from './clients'
import { entraErrorCode, entraErrorDetail } from './entra-errors'
import { type Identity, identityFromClaims } from './identity'
import { discoveryIssuer, expectedTokenIssuer, MULTI_TENANT } from './tenant'

/** How long a fetched discovery document is trusted. */
const DISCOVERY_TTL_MS = 60 * 60 * 1000
/** A failed discovery is not retried for this long, so an outage is not multiplied by every login. */
const DISCOVERY_FAILURE_TTL_MS = 5 * 1000
/** Bounded clock skew for exp/nbf/iat, both in oauth4webapi and jose. */
export const CLOCK_SKEW_SECONDS = 60
/** An ID token older than this is refused even if unexpired: it was issued for another sign-in. */
export const MAX_ID_TOKEN_AGE = '10m'
/** At most one JWKS refetch per JWKS (per tenant) in this window when a kid is unknown (ARCHITECTURE §5). */
export const JWKS_REFETCH_COOLDOWN_MS = 30_000
const ALGORITHMS = ['RS256']

/** Exported by oauth4webapi's build but not by its types. */
const EXPECTED_ISSUER = (oauth as unknown as { _expectedIssuer: symbol })._expectedIssuer

type Cached = { as: oauth.AuthorizationServer; expiresAt: number } | { error: AppError; expiresAt: number }
const discoveryCache = new Map<string, Cached>()
const jwksCache = new Map<string, JWTVerifyGetKey>()

function requestOptions(config: Config) {
  return {
    signal: AbortSignal.timeout(config.entra.timeoutMs),
    [oauth.allowInsecureRequests]: config.entra.insecureLoopback,
  }
}

function rpClient(client: Pick<EntraClient, 'clientId'>): oauth.Client {
  return { client_id: client.clientId, [oauth.clockTolerance]: CLOCK_SKEW_SECONDS }
}

function cacheKey(config: Config, tenant: string): string {
  return `${config.entra.authority}|${tenant}`
}

/** Forget cached discovery documents and JWKS (tests). */
export function resetEntraCaches(): void {
  discoveryCache.clear()
  jwksCache.clear()
}

/**
 * The discovery document of `tenant` (a GUID or `organizations`), fetched
 * from `{authority}/{tenant}/v2.0/.well-known/openid-configuration` and
 * cached per tenant. Its issuer must be exactly what Entra publishes for
 * that tenant; endpoints are only ever taken from it.
 */
export async function discover(config: Config, tenant: string, now = Date.now()): Promise<oauth.AuthorizationServer> {
  if (tenant !== MULTI_TENANT && !isGuid(tenant)) throw new TypeError(`not a tenant: ${tenant}`)
  const key = cacheKey(config, tenant)
  const cached = discoveryCache.get(key)
  if (cached && cached.expiresAt > now) {
    if ('error' in cached) throw cached.error
    return cached.as
  }
  try {
    const issuerIdentifier = new URL(`${config.entra.authority}/${tenant}/v2.0`)
    const response = await oauth.discoveryRequest(issuerIdentifier, requestOptions(config))
    const as = await oauth.processDiscoveryResponse(new URL(discoveryIssuer(config.entra.authority, tenant)), response)
    if (!as.authorization_endpoint || !as.token_endpoint || !as.jwks_uri) {
      throw new AppError('entra_unavailable', 'The discovery document lacks an endpoint', {
        detail: 'Microsoft published an incomplete sign-in configuration',
      })
    }
    if (!isGuid(tenant)) {
      if (typeof EXPECTED_ISSUER !== 'symbol')
        throw new Error('oauth4webapi no longer exports _expectedIssuer')
        // `organizations` publishes the issuer as a template: each token must carry its own tenant's issuer.
        // oauth4webapi's extension point for exactly this (also used by Auth.js); jose re-checks the issuer below.
      ;(as as unknown as Record<symbol, unknown>)[EXPECTED_ISSUER] = (result: { claims: JWTPayload }) =>
        expectedTokenIssuer(config.entra.authority, tenant, result.claims.tid)
    }
    discoveryCache.set(key, { as, expiresAt: now + DISCOVERY_TTL_MS })
    return as
  } catch (error) {
    const appError = toUpstreamError(error, 'discovery')
    discoveryCache.set(key, { error: appError, expiresAt: now + DISCOVERY_FAILURE_TTL_MS })
    throw appError
  }
}

export interface AuthorizationRequest {
  redirectUri: string
  state: string
  nonce: string
  codeChallenge: string
}

/** The URL the browser is sent to: the discovered authorization endpoint with our parameters and nothing from the request. */
export function authorizationUrl(
  client: EntraClient,
  as: oauth.AuthorizationServer,
  request: AuthorizationRequest,
): URL {
  const url = new URL(as.authorization_endpoint!)
  url.searchParams.set('client_id', client.clientId)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('redirect_uri', request.redirectUri)
  url.searchParams.set('response_mode', 'query')
  url.searchParams.set('scope', 'openid profile email')
  url.searchParams.set('state', request.state)
  url.searchParams.set('nonce', request.nonce)
  url.searchParams.set('code_challenge', request.codeChallenge)
  url.searchParams.set('code_challenge_method', 'S256')
  return url
}

function jwksFor(config: Config, as: oauth.AuthorizationServer): JWTVerifyGetKey {
  const uri = as.jwks_uri!
  let jwks = jwksCache.get(uri)
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(uri), {
      cooldownDuration: JWKS_REFETCH_COOLDOWN_MS,
      cacheMaxAge: 60 * 60 * 1000,
      timeoutDuration: config.entra.timeoutMs,
    })
    jwksCache.set(uri, jwks)
  }
  return jwks
}

export interface CodeExchange {
  tenant: string
  /** The callback URL as received (its query holds code, state, iss). */
  callbackUrl: URL
  redirectUri: string
  codeVerifier: string
  nonce: string
}

/**
 * Redeems the code (PKCE verifier, client secret) and validates the ID token
 * in two layers, each tested on its own: oauth4webapi (`checkTokenResponse`)
 * checks iss, aud, exp/iat/nbf with bounded skew, sub, nonce and the
 * algorithm; `verifyIdToken` then verifies the RS256 signature against the
 * tenant's JWKS (refetched at most once per 30 s when the kid is unknown),
 * checks the claims again, and that the token's tenant is the authority's.
 */
export async function redeemCode(config: Config, client: EntraClient, exchange: CodeExchange): Promise<Identity> {
  const as = await discover(config, exchange.tenant)
  const rp = rpClient(client)
  let response: Response
  try {
    // State was checked by looking up its hash, once (signin/flow.ts); the iss parameter (RFC 9207) is checked here when present.
    const params = oauth.validateAuthResponse(as, rp, exchange.callbackUrl, oauth.skipStateCheck)
    response = await oauth.authorizationCodeGrantRequest(
      as,
      rp,
      oauth.ClientSecretPost(client.clientSecret),
      params,
      exchange.redirectUri,
      exchange.codeVerifier,
      requestOptions(config),
    )
  } catch (error) {
    throw toUpstreamError(error, 'token')
  }
  const idToken = await checkTokenResponse(as, client, response, exchange.nonce)
  return verifyIdToken(idToken, jwksFor(config, as), {
    authority: config.entra.authority,
    tenant: exchange.tenant,
    clientId: client.clientId,
  })
}

/**
 * The first layer, oauth4webapi's: the token endpoint's answer and the ID
 * token's claims (iss against the tenant or, on `organizations`, the
 * template with the token's own tid; aud; exp, iat, nbf with 60 s skew; sub;
 * nonce; alg RS256). It does not check the signature: `verifyIdToken` does.
 */
export async function checkTokenResponse(
  as: oauth.AuthorizationServer,
  client: Pick<EntraClient, 'clientId'>,
  response: Response,
  nonce: string,
): Promise<string> {
  try {
    const result = await oauth.processAuthorizationCodeResponse(as, rpClient(client), response, {
      expectedNonce: nonce,
      requireIdToken: true,
    })
    return result.id_token!
  } catch (error) {
    throw toUpstreamError(error, 'token')
  }
}

export interface IdTokenExpectations {
  authority: string
  /** The authority tenant the sign-in went to: a GUID, or `organizations`. */
  tenant: string
  clientId: string
}

/**
 * The second layer, jose's and ours: the signature against `keys` (RS256
 * only), iss, aud, exp/nbf with bounded skew and an iat at most 10 minutes
 * old, then the identity (tid and oid GUIDs) and, on a tenant authority, a
 * tid that is that tenant.
 */
export async function verifyIdToken(
  idToken: string,
  keys: JWTVerifyGetKey,
  expected: IdTokenExpectations,
): Promise<Identity> {
  // The tid, unverified, only picks the issuer the verified token must then carry.
  let tidHint: unknown
  try {
    tidHint = decodeJwt(idToken).tid
  } catch {
    tidHint = undefined
  }
  let claims: JWTPayload
  try {
    ;({ payload: claims } = await jwtVerify(idToken, keys, {
      algorithms: ALGORITHMS,
      issuer: expectedTokenIssuer(expected.authority, expected.tenant, tidHint),
      audience: expected.clientId,
      clockTolerance: CLOCK_SKEW_SECONDS,
      maxTokenAge: MAX_ID_TOKEN_AGE,
      requiredClaims: ['iss', 'aud', 'exp', 'iat', 'sub', 'tid', 'oid'],
    }))
  } catch (error) {
    throw toUpstreamError(error, 'jwks')
  }
  const identity = identityFromClaims(claims)
  if (!identity) {
    throw new AppError('id_token_invalid', 'ID token without a usable tid, oid or sub', {
      detail: 'The sign-in answer named no organization or user',
    })
  }
  if (isGuid(expected.tenant) && identity.tid !== expected.tenant) {
    throw new AppError('id_token_invalid', 'ID token from another tenant', {
      detail: 'The sign-in answer came from another organization',
    })
  }
  return identity
}

/**
 * Whether the request timed out: the abort itself, or a body that stopped
 * arriving (the library wraps that read's abort as a parse error, its `cause`).
 */
function isTimeout(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true
  }
  return false
}

/**
 * Library and network failures as our errors: Entra's own error answers by
 * AADSTS code; timeouts 504; unreachable, 5xx and malformed answers 502;
 * anything wrong with the ID token `id_token_invalid`.
 */
export function toUpstreamError(error: unknown, step: 'discovery' | 'token' | 'jwks'): AppError {
  if (error instanceof AppError) return error
  const cause = { cause: error }
  if (error instanceof joseErrors.JWKSTimeout || isTimeout(error)) {
    return new AppError('entra_timeout', `Entra ${step} timed out`, {
      ...cause,
      detail: 'Microsoft did not answer in time',
    })
  }
  if (error instanceof oauth.ResponseBodyError) {
    if (error.status >= 500) {
      return new AppError('entra_unavailable', `Entra ${step} answered ${error.status}`, {
        ...cause,
        detail: `Microsoft answered ${error.status}`,
      })
    }
    const description = typeof error.error_description === 'string' ? error.error_description : null
    return new AppError(entraErrorCode(error.error, description), `Entra ${step} error ${error.error}`, {
      ...cause,
      detail: entraErrorDetail(error.error, description),
    })
  }
  if (error instanceof oauth.AuthorizationResponseError) {
    const description = error.error_description ?? null
    return new AppError(entraErrorCode(error.error, description), `Entra authorization error ${error.error}`, {
      ...cause,
      detail: entraErrorDetail(error.error, description),
    })
  }
  if (error instanceof oauth.OperationProcessingError) {
    const response = (error.cause as { status?: unknown } | undefined) ?? undefined
    const status = response && typeof response === 'object' && 'status' in response ? Number(response.status) : NaN
    if (
      step === 'discovery' ||
      (Number.isFinite(status) && status >= 500) ||
      error.code === oauth.RESPONSE_IS_NOT_JSON ||
      error.code === oauth.RESPONSE_IS_NOT_CONFORM
    ) {
      return new AppError('entra_unavailable', `Entra ${step} answered something unusable: ${error.message}`, {
        ...cause,
        detail:
          step === 'discovery'
            ? 'Microsoft published an invalid sign-in configuration'
            : 'Microsoft answered something unexpected',
      })
    }
    return new AppError('id_token_invalid', `ID token refused: ${error.message}`, {
      ...cause,
      detail: 'The sign-in answer could not be verified',
    })
  }
  if (
    error instanceof joseErrors.JWKSInvalid ||
    (error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC' && step === 'jwks')
  ) {
    return new AppError('entra_unavailable', 'Entra JWKS unusable', {
      ...cause,
      detail: 'Microsoft published unusable signing keys',
    })
  }
  if (error instanceof joseErrors.JOSEError) {
    return new AppError('id_token_invalid', `ID token refused: ${error.code}`, {
      ...cause,
      detail: 'The sign-in answer could not be verified',
    })
  }
  if (error instanceof TypeError) {
    return new AppError('entra_unavailable', `Entra ${step} unreachable: ${error.message}`, {
      ...cause,
      detail: 'Microsoft could not be reached',
    })
  }
  return new AppError('entra_unavailable', `Entra ${step} failed`, {
    ...cause,
    detail: 'Microsoft could not be reached',
  })
}
