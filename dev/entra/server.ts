/**
 * A local stand-in for Microsoft Entra ID (v2.0 endpoints), speaking its wire
 * format: per-tenant discovery (with the `{tenantid}` issuer template on
 * `organizations` and `common`), JWKS with rotation, an account picker at the
 * authorize endpoint, a token endpoint with client_secret_post/basic, PKCE
 * S256, single-use short-lived codes and RS256 ID tokens with Entra's claims.
 *
 * Errors look like Entra's: redirects with `error` and an `AADSTS…` in
 * `error_description`, JSON bodies with `error_codes`, and Entra's own error
 * page (no redirect) for an unknown app or an unregistered redirect_uri.
 *
 * Misbehaviour on command, for tests: the picker's POST carries an `outcome`
 * (an authorize error, or a token-time fault kept with the code), and
 * `/__control/tenants/{tenant}` sets how discovery and JWKS misbehave for one
 * tenant, so tests using different tenants never disturb each other.
 *
 * @see https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc
 * @see https://learn.microsoft.com/entra/identity-platform/reference-error-codes
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type http from 'node:http'
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from 'jose'
import { escapeHtml, LocalServer, readBody, sendJson, sleep } from '../http.ts'

export interface EntraUser {
  oid: string
  tid: string
  upn: string
  email?: string
  name: string
  /** Directory role template ids the user holds: emitted as `wids` in ID tokens (groupMembershipClaims). */
  wids?: string[]
}

/** Role template ids of Entra's built-in roles that may grant tenant-wide admin consent. */
export const ADMIN_ROLE_IDS = {
  globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  privilegedRoleAdministrator: 'e8611ab8-c189-46e8-94e1-60213ab1f814',
  applicationAdministrator: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
  cloudApplicationAdministrator: '158c047a-c907-4556-b7ef-446551a6b5f7',
} as const

/** A role that may not consent for the tenant (User Administrator), for tests of refusal. */
export const USER_ADMINISTRATOR_ROLE_ID = 'fe930be7-5e62-47db-91af-98c3a49a38b1'

export interface EntraApp {
  clientId: string
  secret: string
  redirectUris: string[]
  /** Secret past its expiry date: the token endpoint answers AADSTS7000222. */
  secretExpired?: boolean
  /** When the secret expires, as Graph lists it (`passwordCredentials[].endDateTime`); default two years on. */
  secretExpiresAt?: string
  /** Further secrets Graph lists for the app (not accepted by the token endpoint). */
  otherSecrets?: Array<{ displayName: string; hint: string; endDateTime: string }>
  /**
   * Application permissions (Graph app roles) admin-consented per tenant:
   * tenant id -> roles. A tenant with an empty list has the app installed
   * (a service principal, e.g. after a user's sign-in) but nothing consented:
   * like Entra, the token endpoint still issues app-only tokens there, with
   * no `roles`. A tenant without an entry has no service principal: the token
   * endpoint answers 401 invalid_client, AADSTS7000229.
   */
  grants?: Record<string, string[]>
  /**
   * The application permissions the app registration requires: what an
   * administrator's consent at `/{tenant}/v2.0/adminconsent` grants
   * (default: what the gateway's Sync reads).
   */
  requiredRoles?: string[]
}

const DEFAULT_REQUIRED_ROLES = ['Application.Read.All', 'User.Read.All', 'GroupMember.Read.All']

export const GRAPH_AUDIENCE = 'https://graph.microsoft.com'

export interface EntraStandInOptions {
  apps?: EntraApp[]
  users?: EntraUser[]
  port?: number
  /** Address the server listens on; 127.0.0.1 by default. */
  host?: string
  /** Public base URL if it differs from http://host:port (it never should here). */
  publicBase?: string
}

/** Faults the picker can ask for. Authorize-time ones redirect with an error; the others spoil the token exchange. */
export const AUTHORIZE_OUTCOMES = {
  access_denied: ['access_denied', 65004, 'User declined to consent to access the app.'],
  consent_required: [
    'consent_required',
    65001,
    'The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource.',
  ],
  admin_consent_required: [
    'consent_required',
    90094,
    'Admin consent is required for the permissions requested by this application.',
  ],
  other_tenant: [
    'access_denied',
    50020,
    'User account from identity provider does not exist in tenant and cannot access the application in that tenant.',
  ],
  app_not_in_tenant: [
    'unauthorized_client',
    700016,
    'Application was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant.',
  ],
  not_assigned: [
    'access_denied',
    50105,
    "Your administrator has configured the application to block users unless they are specifically granted ('assigned') access to the application.",
  ],
  conditional_access: [
    'access_denied',
    53003,
    'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.',
  ],
  login_required: ['login_required', 50058, 'A silent sign-in request was sent but no user is signed in.'],
} as const

export const TOKEN_OUTCOMES = [
  'ok',
  'iss_wrong',
  'iss_missing',
  'aud_wrong',
  'aud_missing',
  'sub_missing',
  'iat_missing',
  'nonce_wrong',
  'nonce_missing',
  'expired',
  'not_yet_valid',
  'bad_signature',
  'alg_none',
  'hs256',
  'unknown_kid',
  'no_kid',
  'rotate_keys',
  'tid_mismatch',
  // Each of these changes exactly one thing, so each check is reachable on its own:
  // only the tid (the issuer stays the user's tenant's), only the iat (20 minutes old, still unexpired).
  'tid_only',
  'iat_old',
  'secret_expired',
  'server_error',
  'unavailable',
  'slow',
  'no_id_token',
  'code_redeemed',
  'verifier_mismatch',
  'secret_invalid',
  // Outage drills: the token endpoint accepts the connection and never answers (until the client gives up),
  // resets it, or sends its headers and then stalls in the middle of the body.
  'hang',
  'hang_up',
  'stall',
] as const

export type TokenOutcome = (typeof TOKEN_OUTCOMES)[number]
export type AuthorizeOutcome = keyof typeof AUTHORIZE_OUTCOMES

export interface TenantBehaviour {
  /** How discovery answers for this tenant segment. */
  discovery?:
    | 'ok'
    | 'issuer_mismatch'
    | 'invalid_json'
    | 'missing_endpoints'
    | 'server_error'
    | 'slow'
    | 'hang_up'
    | OutageBehaviour
  /** How the JWKS endpoint answers. */
  jwks?: 'ok' | 'server_error' | 'invalid_json' | 'slow' | 'hang_up' | OutageBehaviour
}

/**
 * How an endpoint misbehaves in an outage drill: `hang` accepts the request
 * and never answers (the connection stays open until the client gives up);
 * `stall` sends 200 and its headers, then part of the body, and never the
 * rest (a proxy or a node dying mid-answer).
 */
export type OutageBehaviour = 'hang' | 'stall'

/** Holds `res` open without answering (or, after `partial`, without finishing) until the client goes away. */
export async function holdOpen(res: http.ServerResponse, partial?: string): Promise<void> {
  if (partial !== undefined) {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
    res.write(partial)
  }
  await new Promise<void>((resolve) => {
    res.on('close', () => resolve())
    res.socket?.on('close', () => resolve())
  })
}

interface SigningKey {
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
}

interface IssuedCode {
  clientId: string
  redirectUri: string
  codeChallenge: string
  nonce: string
  user: EntraUser
  tenantSegment: string
  outcome: TokenOutcome
  expiresAt: number
  used: boolean
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const MULTI_TENANT = new Set(['organizations', 'common'])
const CODE_LIFETIME_MS = 120_000
const SLOW_MS = 15_000

function b64url(buf: Buffer | Uint8Array): string {
  return Buffer.from(buf).toString('base64url')
}

export class EntraStandIn extends LocalServer {
  readonly apps = new Map<string, EntraApp>()
  readonly users: EntraUser[] = []
  readonly tenantBehaviour = new Map<string, TenantBehaviour>()
  /** Requests seen, for tests that count fetches (discovery, JWKS). */
  readonly hits = new Map<string, number>()
  private readonly keysets = new Map<string, SigningKey[]>()
  private readonly pendingKeysets = new Map<string, Promise<SigningKey[]>>()
  private readonly codes = new Map<string, IssuedCode>()
  protected readonly serverName = 'entra stand-in'

  constructor(options: EntraStandInOptions = {}) {
    super()
    for (const app of options.apps ?? []) this.apps.set(app.clientId, { ...app, redirectUris: [...app.redirectUris] })
    this.users.push(...(options.users ?? []))
  }

  async listen(port = 0, host = '127.0.0.1', publicBase?: string): Promise<string> {
    return this.serve(port, host, (p) => publicBase ?? `http://${host}:${p}`)
  }

  private count(what: string): void {
    this.hits.set(what, (this.hits.get(what) ?? 0) + 1)
  }

  private async keyset(segment: string): Promise<SigningKey[]> {
    const keys = this.keysets.get(segment)
    if (keys) return keys
    // One key set per tenant, as Entra has: concurrent first requests (a JWKS fetch beside a token's signing)
    // wait for the same new key, rather than each making one and the last overwriting the others.
    let pending = this.pendingKeysets.get(segment)
    if (!pending) {
      pending = this.newKey().then((key) => {
        const created = [key]
        this.keysets.set(segment, created)
        this.pendingKeysets.delete(segment)
        return created
      })
      this.pendingKeysets.set(segment, pending)
    }
    return pending
  }

  private async newKey(): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
    const kid = b64url(randomBytes(12))
    const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', kty: 'RSA' }
    return { kid, privateKey, publicJwk }
  }

  /** Publishes a new current key for `segment`, keeping the old ones (Entra's rollover). */
  async rotate(segment: string): Promise<SigningKey> {
    const keys = await this.keyset(segment)
    const key = await this.newKey()
    keys.unshift(key)
    return key
  }

  issuerFor(tid: string): string {
    return `${this.base}/${tid}/v2.0`
  }

  // ------------------------------------------------------------------ HTTP

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base)
    const parts = url.pathname.split('/').filter(Boolean)

    if (parts[0] === '__control') return this.control(req, res, parts.slice(1))

    const segment = parts[0] ?? ''
    const rest = parts.slice(1).join('/')
    if (!GUID.test(segment) && !MULTI_TENANT.has(segment)) {
      return sendJson(
        res,
        400,
        this.errorBody(
          'invalid_tenant',
          90002,
          `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
        ),
      )
    }

    if (req.method === 'GET' && rest === 'v2.0/.well-known/openid-configuration') return this.discovery(res, segment)
    if (req.method === 'GET' && rest === 'discovery/v2.0/keys') return this.jwks(res, segment)
    if (rest === 'oauth2/v2.0/authorize' && req.method === 'GET')
      return this.authorizePage(res, segment, url.searchParams)
    if (rest === 'v2.0/adminconsent' && req.method === 'GET')
      return this.adminConsentPage(res, segment, url.searchParams)
    if (rest === 'v2.0/adminconsent' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req))
      return this.adminConsentAnswer(res, segment, url.searchParams, form)
    }
    if (rest === 'oauth2/v2.0/authorize' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req))
      return this.authorizeSelect(res, segment, url.searchParams, form)
    }
    if (rest === 'oauth2/v2.0/token' && req.method === 'POST') return this.token(req, res, segment, await readBody(req))
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found')
  }

  private async discovery(res: http.ServerResponse, segment: string): Promise<void> {
    this.count(`discovery:${segment}`)
    const behaviour = this.tenantBehaviour.get(segment)?.discovery ?? 'ok'
    if (behaviour === 'server_error') return sendJson(res, 500, { error: 'server_error' })
    if (behaviour === 'hang_up') {
      res.socket?.destroy()
      return
    }
    if (behaviour === 'hang') return holdOpen(res)
    if (behaviour === 'stall') return holdOpen(res, '{"token_endpoint": "')
    if (behaviour === 'slow') await sleep(SLOW_MS)
    if (behaviour === 'invalid_json') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"issuer": "not json')
      return
    }
    const issuer = MULTI_TENANT.has(segment) ? `${this.base}/{tenantid}/v2.0` : this.issuerFor(segment)
    const doc: Record<string, unknown> = {
      token_endpoint: `${this.base}/${segment}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${this.base}/${segment}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: behaviour === 'issuer_mismatch' ? `${this.base}/00000000-0000-0000-0000-00000000dead/v2.0` : issuer,
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${this.base}/${segment}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${this.base}/${segment}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${this.base}/${segment}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub',
        'iss',
        'cloud_instance_name',
        'cloud_instance_host_name',
        'cloud_graph_host_name',
        'msgraph_host',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      kerberos_endpoint: `${this.base}/${segment}/kerberos`,
      tenant_region_scope: null,
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    }
    if (behaviour === 'missing_endpoints') {
      delete doc.authorization_endpoint
      delete doc.token_endpoint
    }
    return sendJson(res, 200, doc)
  }

  private async jwks(res: http.ServerResponse, segment: string): Promise<void> {
    this.count(`jwks:${segment}`)
    const behaviour = this.tenantBehaviour.get(segment)?.jwks ?? 'ok'
    if (behaviour === 'server_error') return sendJson(res, 500, { error: 'server_error' })
    if (behaviour === 'hang_up') {
      res.socket?.destroy()
      return
    }
    if (behaviour === 'hang') return holdOpen(res)
    if (behaviour === 'stall') return holdOpen(res, '{"keys": [{"kty": "RSA", ')
    if (behaviour === 'slow') await sleep(SLOW_MS)
    if (behaviour === 'invalid_json') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"keys": [')
      return
    }
    const keys = await this.keyset(segment)
    return sendJson(res, 200, {
      keys: keys.map((k) => ({ ...k.publicJwk, x5t: k.kid, issuer: this.issuerFor(segment) })),
    })
  }

  /** Entra's own error page: shown when it cannot trust the redirect_uri, so nothing goes back to the app. */
  private errorPage(res: http.ServerResponse, code: number, message: string): void {
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
    res.end(`<!doctype html><html lang="en"><head><title>Sign in to your account</title></head><body>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p id="error">AADSTS${code}: ${escapeHtml(message)}</p></body></html>`)
  }

  /** Checks shared by the picker page and its POST; answers the error itself and returns null when the request is bad. */
  private checkAuthorize(res: http.ServerResponse, params: URLSearchParams): EntraApp | null {
    const app = this.appAndRedirectUri(res, params)
    if (!app) return null
    const problems: Array<[string, number, string]> = []
    if (params.get('response_type') !== 'code')
      problems.push(['unsupported_response_type', 700054, "response_type 'code' is required."])
    if (!/\bopenid\b/.test(params.get('scope') ?? ''))
      problems.push([
        'invalid_scope',
        70011,
        "The provided value for the input parameter 'scope' is not valid: openid is required.",
      ])
    if (
      params.get('code_challenge_method') !== 'S256' ||
      !/^[A-Za-z0-9_-]{43}$/.test(params.get('code_challenge') ?? '')
    ) {
      problems.push([
        'invalid_request',
        501491,
        'Invalid size of Code_Challenge parameter, or code_challenge_method is not S256.',
      ])
    }
    if (!params.get('state'))
      problems.push(['invalid_request', 900144, "The request body must contain the following parameter: 'state'."])
    if (!params.get('nonce'))
      problems.push(['invalid_request', 900144, "The request body must contain the following parameter: 'nonce'."])
    const mode = params.get('response_mode')
    if (mode !== null && mode !== 'query')
      problems.push(['invalid_request', 90014, 'This stand-in only answers response_mode=query.'])
    const problem = problems[0]
    if (problem) {
      this.redirectWithError(res, params.get('redirect_uri')!, params.get('state'), problem[0], problem[1], problem[2])
      return null
    }
    return app
  }

  private redirectWithError(
    res: http.ServerResponse,
    redirectUri: string,
    state: string | null,
    error: string,
    code: number,
    text: string,
  ): void {
    const target = new URL(redirectUri)
    target.searchParams.set('error', error)
    target.searchParams.set(
      'error_description',
      `AADSTS${code}: ${text} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
    )
    target.searchParams.set('error_uri', `${this.base}/error?code=${code}`)
    if (state !== null) target.searchParams.set('state', state)
    res.writeHead(302, { location: target.href })
    res.end()
  }

  /**
   * The admin consent endpoint: Entra signs the user in (here: picks them),
   * then an administrator grants the app's required application permissions
   * for the whole tenant. The answer is an unsigned redirect: `admin_consent`,
   * `tenant`, `state` and `scope` on success; for anyone who is not an
   * administrator, what the "request approval" path sends back to the app
   * (`access_denied`, AADSTS65004).
   *
   * @see https://learn.microsoft.com/entra/identity-platform/v2-admin-consent
   */
  private adminConsentPage(res: http.ServerResponse, segment: string, params: URLSearchParams): void {
    this.count(`adminconsent:${segment}`)
    if (!this.checkConsentRequest(res, segment, params)) return
    const users = this.usersFor(segment)
    const rows = users
      .map(
        (u) => `<li><form method="post"><input type="hidden" name="user" value="${escapeHtml(u.oid)}">
<button type="submit" data-upn="${escapeHtml(u.upn)}"><strong>${escapeHtml(u.name)}</strong><br><span>${escapeHtml(u.upn)}</span></button></form></li>`,
      )
      .join('\n')
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Permissions requested</title></head>
<body><main><p>Microsoft Entra ID (local stand-in) · tenant ${escapeHtml(segment)}</p>
<h1>Permissions requested: accept for your organization</h1>
<p>${escapeHtml(params.get('client_id') ?? '')} asks for ${escapeHtml((this.apps.get(params.get('client_id') ?? '')?.requiredRoles ?? DEFAULT_REQUIRED_ROLES).join(', '))}.</p>
${users.length ? `<ul>${rows}</ul>` : '<p>No test accounts in this tenant.</p>'}
<form method="post"><input type="hidden" name="outcome" value="cancel"><button type="submit" id="cancel">Cancel</button></form>
</main></body></html>`)
  }

  private checkConsentRequest(res: http.ServerResponse, segment: string, params: URLSearchParams): EntraApp | null {
    if (!GUID.test(segment)) {
      this.errorPage(res, 90033, 'Use a tenant-specific endpoint to grant admin consent.')
      return null
    }
    return this.appAndRedirectUri(res, params)
  }

  /** The app a browser request names, if its redirect URI is registered; else Entra's own error page (no redirect). */
  private appAndRedirectUri(res: http.ServerResponse, params: URLSearchParams): EntraApp | null {
    const clientId = params.get('client_id') ?? ''
    const app = this.apps.get(clientId)
    if (!app) {
      this.errorPage(res, 700016, `Application with identifier '${clientId}' was not found in the directory.`)
      return null
    }
    const redirectUri = params.get('redirect_uri') ?? ''
    if (!app.redirectUris.includes(redirectUri)) {
      this.errorPage(
        res,
        50011,
        `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'.`,
      )
      return null
    }
    return app
  }

  private adminConsentAnswer(
    res: http.ServerResponse,
    segment: string,
    params: URLSearchParams,
    form: URLSearchParams,
  ): void {
    const app = this.checkConsentRequest(res, segment, params)
    if (!app) return
    const redirectUri = params.get('redirect_uri')!
    const state = params.get('state')
    if (form.get('outcome') === 'cancel') {
      this.redirectWithError(
        res,
        redirectUri,
        state,
        'access_denied',
        65004,
        'User declined to consent to access the app.',
      )
      return
    }
    const user = this.usersFor(segment).find((u) => u.oid === form.get('user'))
    if (!user) {
      res.writeHead(400, { 'content-type': 'text/plain' })
      res.end('unknown user for this tenant')
      return
    }
    const admin = (user.wids ?? []).some((id) => (Object.values(ADMIN_ROLE_IDS) as string[]).includes(id))
    if (!admin) {
      this.redirectWithError(
        res,
        redirectUri,
        state,
        'access_denied',
        65004,
        'User declined to consent to access the app.',
      )
      return
    }
    app.grants = { ...app.grants, [segment]: app.requiredRoles ?? DEFAULT_REQUIRED_ROLES }
    this.count(`consent:${segment}`)
    const target = new URL(redirectUri)
    target.searchParams.set('admin_consent', 'True')
    target.searchParams.set('tenant', segment)
    if (state !== null) target.searchParams.set('state', state)
    target.searchParams.set('scope', params.get('scope') ?? `${GRAPH_AUDIENCE}/.default`)
    res.writeHead(302, { location: target.href })
    res.end()
  }

  private usersFor(segment: string): EntraUser[] {
    return MULTI_TENANT.has(segment) ? this.users : this.users.filter((u) => u.tid === segment)
  }

  private authorizePage(res: http.ServerResponse, segment: string, params: URLSearchParams): void {
    this.count(`authorize:${segment}`)
    if (!this.checkAuthorize(res, params)) return
    const users = this.usersFor(segment)
    const rows = users
      .map(
        (u) => `<li><form method="post"><input type="hidden" name="user" value="${escapeHtml(u.oid)}">
<button type="submit" data-upn="${escapeHtml(u.upn)}"><strong>${escapeHtml(u.name)}</strong><br><span>${escapeHtml(u.upn)}</span></button></form></li>`,
      )
      .join('\n')
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;background:#f2f2f2;display:flex;justify-content:center;padding:3rem 1rem}
main{background:#fff;max-width:26rem;width:100%;padding:2rem;box-shadow:0 2px 6px rgba(0,0,0,.2)}
ul{list-style:none;padding:0}li{margin:.5rem 0}button{width:100%;text-align:left;padding:.75rem;border:1px solid #ccc;background:#fff;cursor:pointer;font:inherit}
button:hover,button:focus-visible{background:#e6f0fb;outline:2px solid #0067b8}.note{color:#555;font-size:.85rem}</style></head>
<body><main><p class="note">Microsoft Entra ID (local stand-in) · tenant ${escapeHtml(segment)}</p>
<h1>Pick an account</h1>
${users.length ? `<ul>${rows}</ul>` : '<p>No test accounts in this tenant.</p>'}
<form method="post"><input type="hidden" name="outcome" value="access_denied"><button type="submit" id="cancel">Cancel</button></form>
</main></body></html>`)
  }

  private authorizeSelect(
    res: http.ServerResponse,
    segment: string,
    params: URLSearchParams,
    form: URLSearchParams,
  ): void {
    if (!this.checkAuthorize(res, params)) return
    const redirectUri = params.get('redirect_uri')!
    const state = params.get('state')
    const outcome = form.get('outcome') ?? 'ok'
    if (outcome in AUTHORIZE_OUTCOMES) {
      const [error, code, text] = AUTHORIZE_OUTCOMES[outcome as AuthorizeOutcome]
      this.redirectWithError(res, redirectUri, state, error, code, text)
      return
    }
    if (!(TOKEN_OUTCOMES as readonly string[]).includes(outcome)) {
      res.writeHead(400, { 'content-type': 'text/plain' })
      res.end(`unknown outcome ${outcome}`)
      return
    }
    const user = this.usersFor(segment).find((u) => u.oid === form.get('user'))
    if (!user) {
      res.writeHead(400, { 'content-type': 'text/plain' })
      res.end('unknown user for this tenant')
      return
    }
    const code = b64url(randomBytes(32))
    this.codes.set(code, {
      clientId: params.get('client_id')!,
      redirectUri,
      codeChallenge: params.get('code_challenge')!,
      nonce: params.get('nonce')!,
      user,
      tenantSegment: segment,
      outcome: outcome as TokenOutcome,
      expiresAt: Date.now() + CODE_LIFETIME_MS,
      used: false,
    })
    const target = new URL(redirectUri)
    target.searchParams.set('code', code)
    if (state !== null) target.searchParams.set('state', state)
    target.searchParams.set('session_state', randomUUID())
    res.writeHead(302, { location: target.href })
    res.end()
  }

  private errorBody(error: string, code: number, text: string): Record<string, unknown> {
    const traceId = randomUUID()
    const correlationId = randomUUID()
    const timestamp = new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z')
    return {
      error,
      error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${this.base}/error?code=${code}`,
    }
  }

  private async token(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    segment: string,
    body: string,
  ): Promise<void> {
    this.count(`token:${segment}`)
    const form = new URLSearchParams(body)
    let clientId = form.get('client_id')
    let secret = form.get('client_secret')
    const authorization = req.headers.authorization
    if (authorization?.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      clientId = decodeURIComponent(decoded.slice(0, colon))
      secret = decodeURIComponent(decoded.slice(colon + 1))
    }
    const code = form.get('code') ?? ''
    const issued = this.codes.get(code)
    const outcome = issued?.outcome ?? 'ok'

    if (outcome === 'slow') await sleep(SLOW_MS)
    if (outcome === 'hang') return holdOpen(res)
    if (outcome === 'stall') return holdOpen(res, '{"token_type": "Bearer", "id_token": "')
    if (outcome === 'hang_up') {
      res.socket?.destroy()
      return
    }
    if (outcome === 'server_error') {
      res.writeHead(500, { 'content-type': 'text/html' })
      res.end('<html><body>Internal Server Error</body></html>')
      return
    }
    if (outcome === 'unavailable')
      return sendJson(
        res,
        503,
        this.errorBody('temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.'),
      )

    const app = clientId ? this.apps.get(clientId) : undefined
    if (!app)
      return sendJson(
        res,
        400,
        this.errorBody(
          'unauthorized_client',
          700016,
          `Application with identifier '${clientId}' was not found in the directory.`,
        ),
      )
    if (app.secretExpired || outcome === 'secret_expired') {
      return sendJson(
        res,
        401,
        this.errorBody(
          'invalid_client',
          7000222,
          `The provided client secret keys for app '${app.clientId}' are expired.`,
        ),
      )
    }
    if (secret !== app.secret || outcome === 'secret_invalid') {
      return sendJson(
        res,
        401,
        this.errorBody(
          'invalid_client',
          7000215,
          'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
        ),
      )
    }
    if (form.get('grant_type') === 'client_credentials') return this.clientCredentials(res, segment, app, form)
    if (form.get('grant_type') !== 'authorization_code')
      return sendJson(
        res,
        400,
        this.errorBody('unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'),
      )
    if (!issued || issued.clientId !== app.clientId || issued.tenantSegment !== segment) {
      return sendJson(
        res,
        400,
        this.errorBody('invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.'),
      )
    }
    if (issued.used || outcome === 'code_redeemed')
      return sendJson(
        res,
        400,
        this.errorBody(
          'invalid_grant',
          54005,
          'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
        ),
      )
    issued.used = true
    if (issued.expiresAt < Date.now())
      return sendJson(
        res,
        400,
        this.errorBody(
          'invalid_grant',
          70008,
          'The provided authorization code or refresh token has expired due to inactivity.',
        ),
      )
    if (form.get('redirect_uri') !== issued.redirectUri) {
      return sendJson(
        res,
        400,
        this.errorBody(
          'invalid_grant',
          50148,
          'The redirect_uri does not match the one used in the authorization request.',
        ),
      )
    }
    const verifier = form.get('code_verifier') ?? ''
    if (
      b64url(createHash('sha256').update(verifier).digest()) !== issued.codeChallenge ||
      outcome === 'verifier_mismatch'
    ) {
      return sendJson(
        res,
        400,
        this.errorBody(
          'invalid_grant',
          501481,
          'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
        ),
      )
    }

    const idToken = await this.idToken(issued, app)
    const tokenResponse: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: 'openid profile email',
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: b64url(randomBytes(48)),
    }
    if (outcome !== 'no_id_token') tokenResponse.id_token = idToken
    return sendJson(res, 200, tokenResponse)
  }

  /** App-only tokens for Microsoft Graph, carrying the roles the tenant consented to. */
  private async clientCredentials(
    res: http.ServerResponse,
    segment: string,
    app: EntraApp,
    form: URLSearchParams,
  ): Promise<void> {
    if (!GUID.test(segment)) {
      return sendJson(
        res,
        400,
        this.errorBody('invalid_request', 90033, 'Use a tenant-specific endpoint for the client credentials flow.'),
      )
    }
    if (form.get('scope') !== `${GRAPH_AUDIENCE}/.default`) {
      return sendJson(
        res,
        400,
        this.errorBody(
          'invalid_scope',
          1002012,
          `The provided value for scope ${form.get('scope')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`,
        ),
      )
    }
    const roles = app.grants?.[segment]
    if (!roles) {
      // What Entra answers a multi-tenant app that nobody installed in the tenant (no service principal).
      return sendJson(
        res,
        401,
        this.errorBody(
          'invalid_client',
          7000229,
          `The client application ${app.clientId} is missing service principal in the tenant ${segment}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119`,
        ),
      )
    }
    const key = (await this.keyset(segment))[0]!
    const now = Math.floor(Date.now() / 1000)
    const accessToken = await new SignJWT({
      tid: segment,
      appid: app.clientId,
      roles,
      idtyp: 'app',
      oid: createHash('sha256').update(`${app.clientId}:${segment}`).digest('hex').slice(0, 32),
    })
      .setProtectedHeader({ typ: 'JWT', alg: 'RS256', kid: key.kid })
      .setIssuer(`https://sts.windows.net/${segment}/`)
      .setAudience(GRAPH_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 3599)
      .sign(key.privateKey)
    this.count(`client_credentials:${segment}`)
    return sendJson(res, 200, {
      token_type: 'Bearer',
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: accessToken,
    })
  }

  /** For the Graph stand-in in the same process: the claims of a valid app-only token, or null. */
  async verifyGraphToken(token: string): Promise<{ tid: string; appid: string; roles: string[] } | null> {
    try {
      const [headerPart] = token.split('.')
      const header = JSON.parse(Buffer.from(headerPart ?? '', 'base64url').toString('utf8')) as { kid?: string }
      for (const [segment, keys] of this.keysets) {
        const key = keys.find((k) => k.kid === header.kid)
        if (!key) continue
        const { payload } = await jwtVerify(token, await importJWK(key.publicJwk, 'RS256'), {
          audience: GRAPH_AUDIENCE,
          issuer: `https://sts.windows.net/${segment}/`,
        })
        return { tid: String(payload.tid), appid: String(payload.appid), roles: (payload.roles as string[]) ?? [] }
      }
      return null
    } catch {
      return null
    }
  }

  private async idToken(issued: IssuedCode, app: EntraApp): Promise<string> {
    const { user, outcome } = issued
    const now = Math.floor(Date.now() / 1000)
    const tid = outcome === 'tid_mismatch' ? '00000000-0000-4000-8000-0000000000ff' : user.tid
    const claims: Record<string, unknown> = {
      aud: app.clientId,
      iss: this.issuerFor(tid),
      iat: now,
      nbf: now,
      exp: now + 3600,
      aio: b64url(randomBytes(24)),
      email: user.email,
      name: user.name,
      nonce: issued.nonce,
      oid: user.oid,
      preferred_username: user.upn,
      rh: b64url(randomBytes(16)),
      sub: b64url(createHash('sha256').update(`${user.oid}:${app.clientId}`).digest()),
      tid,
      uti: b64url(randomBytes(16)),
      ver: '2.0',
      ...(user.wids ? { wids: user.wids } : {}),
    }
    switch (outcome) {
      case 'iss_wrong':
        claims.iss = 'https://evil.example/v2.0'
        break
      case 'iss_missing':
        delete claims.iss
        break
      case 'aud_wrong':
        claims.aud = '99999999-9999-4999-8999-999999999999'
        break
      case 'aud_missing':
        delete claims.aud
        break
      case 'sub_missing':
        delete claims.sub
        break
      case 'iat_missing':
        delete claims.iat
        break
      case 'nonce_wrong':
        claims.nonce = b64url(randomBytes(16))
        break
      case 'nonce_missing':
        delete claims.nonce
        break
      case 'expired':
        claims.iat = now - 7200
        claims.nbf = now - 7200
        claims.exp = now - 3600
        break
      case 'tid_only':
        claims.tid = '00000000-0000-4000-8000-0000000000ff'
        break
      case 'iat_old':
        claims.iat = now - 20 * 60
        claims.nbf = now - 20 * 60
        break
      case 'not_yet_valid':
        claims.nbf = now + 3600
        claims.iat = now + 3600
        claims.exp = now + 7200
        break
    }
    if (claims.email === undefined) delete claims.email

    if (outcome === 'alg_none') {
      return `${b64url(Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'none' })))}.${b64url(Buffer.from(JSON.stringify(claims)))}.`
    }
    if (outcome === 'hs256') {
      return new SignJWT(claims)
        .setProtectedHeader({ typ: 'JWT', alg: 'HS256' })
        .sign(new TextEncoder().encode(app.secret))
    }
    let key: SigningKey
    if (outcome === 'unknown_kid') key = await this.newKey()
    else if (outcome === 'rotate_keys') key = await this.rotate(issued.tenantSegment)
    else key = (await this.keyset(issued.tenantSegment))[0]!
    const header = outcome === 'no_kid' ? { typ: 'JWT', alg: 'RS256' } : { typ: 'JWT', alg: 'RS256', kid: key.kid }
    const jwt = await new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey)
    if (outcome === 'bad_signature') {
      const [h, p, s] = jwt.split('.')
      const sig = Buffer.from(s!, 'base64url')
      sig[0] = sig[0]! ^ 0xff
      return `${h}.${p}.${b64url(sig)}`
    }
    return jwt
  }

  // ------------------------------------------------------------------ control

  private async control(req: http.IncomingMessage, res: http.ServerResponse, parts: string[]): Promise<void> {
    const body = req.method === 'POST' ? JSON.parse((await readBody(req)) || '{}') : {}
    if (parts[0] === 'apps' && parts[2] === 'redirect-uris' && req.method === 'POST' && Array.isArray(body.set)) {
      const app = this.apps.get(parts[1] ?? '')
      if (!app) return sendJson(res, 404, { error: 'no such app' })
      app.redirectUris = [...body.set]
      return sendJson(res, 200, { redirectUris: app.redirectUris })
    }
    if (parts[0] === 'users' && req.method === 'POST') {
      const users = (Array.isArray(body) ? body : [body]) as EntraUser[]
      this.users.push(...users)
      return sendJson(res, 201, { users: users.length })
    }
    if (parts[0] === 'apps' && parts.length === 1 && req.method === 'POST') {
      const app = body as EntraApp
      this.apps.set(app.clientId, { ...app, redirectUris: [...app.redirectUris] })
      return sendJson(res, 201, { clientId: app.clientId })
    }
    if (parts[0] === 'apps' && parts[2] === 'redirect-uris' && req.method === 'POST') {
      const app = this.apps.get(parts[1] ?? '')
      if (!app) return sendJson(res, 404, { error: 'no such app' })
      for (const uri of body.add ?? []) if (!app.redirectUris.includes(uri)) app.redirectUris.push(uri)
      app.redirectUris = app.redirectUris.filter((uri) => !(body.remove ?? []).includes(uri))
      return sendJson(res, 200, { redirectUris: app.redirectUris })
    }
    if (parts[0] === 'apps' && parts[2] === 'grants' && req.method === 'POST') {
      const app = this.apps.get(parts[1] ?? '')
      if (!app) return sendJson(res, 404, { error: 'no such app' })
      app.grants = { ...app.grants, [body.tenantId]: body.roles }
      return sendJson(res, 200, { grants: app.grants })
    }
    if (parts[0] === 'apps' && parts.length === 2 && req.method === 'GET') {
      const app = this.apps.get(parts[1] ?? '')
      return app
        ? sendJson(res, 200, { clientId: app.clientId, redirectUris: app.redirectUris, grants: app.grants ?? {} })
        : sendJson(res, 404, { error: 'no such app' })
    }
    if (parts[0] === 'tenants' && parts.length === 2 && req.method === 'POST') {
      this.tenantBehaviour.set(parts[1], body as TenantBehaviour)
      return sendJson(res, 200, body)
    }
    if (parts[0] === 'tenants' && parts[1] && parts[2] === 'rotate' && req.method === 'POST') {
      const key = await this.rotate(parts[1])
      return sendJson(res, 200, { kid: key.kid })
    }
    if (parts[0] === 'hits' && req.method === 'GET') return sendJson(res, 200, Object.fromEntries(this.hits))
    return sendJson(res, 404, { error: 'unknown control route' })
  }
}

export async function startEntraStandIn(options: EntraStandInOptions = {}): Promise<EntraStandIn> {
  const standIn = new EntraStandIn(options)
  await standIn.listen(options.port ?? 0, options.host ?? '127.0.0.1', options.publicBase)
  return standIn
}
