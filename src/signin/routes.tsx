/**
 * The sign-in routes (DESIGN 3.3, 3.4, 4): `/sso/login` starts a flow,
 * `/sso/callback` takes Entra's answer once, `/sso/complete` finishes a
 * centrally called-back flow on the host it started on. Thin: the protocol
 * is in `oidc/`, the flow store in `flows/`.
 */
import { type Context, Hono } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import * as oauth from 'oauth4webapi'
import type { AppEnv } from '../app-env'
import { findCandidates } from '../authz/lookup'
import { randomToken, seal, sha256, unseal } from '../crypto'
import { AppError } from '../errors'
import {
  COMPLETION_TTL_SECONDS,
  completeFlow,
  consumeFlowByState,
  createFlow,
  FLOW_TTL_SECONDS,
  markCompleted,
  storeCompletion,
  takeChoice,
} from '../flows/store'
import { resolveHost, type Site } from '../hosts/resolve'
import { originFor } from '../http/origin'
import { clientForOrg } from '../oidc/clients'
import { authorizationUrl, discover, type Identity, redeemCode } from '../oidc/entra'
import { entraErrorCode, entraErrorDetail } from '../oidc/entra-errors'
import { authorityTenant, MULTI_TENANT } from '../oidc/tenant'
import { auditSignIn, noteAttempt } from './audit'
import { authorizeAndHandOff, choicesAudience, FLOW_COOKIE, handOff, type SealedChoices } from './finish'
import { isTenantServed, tenantsOfSite } from './reach'
import { callbackRoute } from './redirect'

export const signIn = new Hono<AppEnv>()

/** The flow this browser started, bound to the host (by the JWE audience) and to the organization. */
interface FlowCookie {
  fid: string
  org: string | null
}
interface FlowSecrets {
  verifier: string
  nonce: string
}

const cookieAudience = (hostname: string) => `flow-cookie:${hostname}`
const secretsAudience = (flowId: string) => `flow-secrets:${flowId}`
const resultAudience = (flowId: string) => `flow-result:${flowId}`

/** Answers that carry sign-in state must never be cached or leak a Referer. */
const NO_STORE = { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' }

function redirect(c: Context<AppEnv>, location: string, status: 302 | 303) {
  return c.body(null, status, { ...NO_STORE, Location: location })
}

function flowInvalid(why: string, retryHref?: string): AppError {
  return new AppError('flow_invalid', `Sign-in flow refused: ${why}`, retryHref ? { retryHref } : {})
}

async function readFlowCookie(c: Context<AppEnv>, hostname: string): Promise<FlowCookie | null> {
  const value = getCookie(c, FLOW_COOKIE, 'host')
  if (!value || value.length > 4096) return null
  const payload = await unseal<FlowCookie>(value, c.var.config.flowKey, cookieAudience(hostname))
  const org = c.var.site.kind === 'tenant' ? c.var.site.org.id : null
  // A cookie from before the host changed hands (or any other organization) is no cookie at all.
  return payload && typeof payload.fid === 'string' && payload.org === org ? payload : null
}

/**
 * GET /sso/login: a new flow (PKCE S256, state, nonce), its secrets in D1
 * and its id in an encrypted `__Host-` cookie bound to this host, then 302 to
 * the discovered authorization endpoint. No query parameter is read: nothing
 * in the request chooses where the user ends up.
 */
signIn.get('/sso/login', async (c) => {
  const { config, site } = c.var
  const requestUrl = new URL(c.req.url)
  const client = await clientForOrg(c.env.DB, config, site.kind === 'tenant' ? site.org.id : null)
  const tenants = await tenantsOfSite(c.env.DB, site, client)
  if (site.kind === 'tenant' && tenants.length === 0) {
    throw new AppError('no_phone_systems', `No phone system reachable from ${site.hostname}`)
  }
  const tenant = site.kind === 'primary' ? MULTI_TENANT : authorityTenant(tenants)
  const as = await discover(config, tenant)
  const route = callbackRoute(site, config.primaryHost, requestUrl)

  const now = Date.now()
  const flowId = randomToken(32)
  const state = randomToken(32)
  const nonce = randomToken(32)
  const verifier = oauth.generateRandomCodeVerifier()
  await createFlow(c.env.DB, {
    id: flowId,
    stateHash: await sha256(state),
    hostname: site.hostname,
    orgId: site.kind === 'tenant' ? site.org.id : null,
    clientOrgId: client.orgId,
    redirectUri: route.redirectUri,
    tenant,
    secrets: await seal(
      { verifier, nonce } satisfies FlowSecrets,
      config.flowKey,
      secretsAudience(flowId),
      FLOW_TTL_SECONDS,
    ),
    createdAt: now,
    expiresAt: now + FLOW_TTL_SECONDS * 1000,
  })
  // Replaces any earlier flow cookie of this host: only the newest sign-in can finish.
  const orgId = site.kind === 'tenant' ? site.org.id : null
  setCookie(
    c,
    FLOW_COOKIE,
    await seal(
      { fid: flowId, org: orgId } satisfies FlowCookie,
      config.flowKey,
      cookieAudience(site.hostname),
      FLOW_TTL_SECONDS,
    ),
    {
      prefix: 'host',
      path: '/',
      secure: true,
      httpOnly: true,
      sameSite: 'Lax',
      maxAge: FLOW_TTL_SECONDS,
    },
  )
  const target = authorizationUrl(client, as, {
    redirectUri: route.redirectUri,
    state,
    nonce,
    codeChallenge: await oauth.calculatePKCECodeChallenge(verifier),
  })
  return redirect(c, target.href, 302)
})

/**
 * GET /sso/callback: Entra's answer. The state finds its flow and is used up
 * at once (a replay, with or without the old cookies, finds nothing). On the
 * host the flow started on, the flow cookie must name the same flow; on the
 * primary host for another host's flow, the result goes back to that host
 * with a one-time code, which `/sso/complete` binds to the browser.
 */
signIn.get('/sso/callback', auditSignIn('callback'), async (c) => {
  const { config } = c.var
  const d1 = c.env.DB
  const url = new URL(c.req.url)
  const here = c.var.site.hostname
  const state = url.searchParams.get('state')
  if (!state || state.length > 512) throw flowInvalid('no state')

  const now = Date.now()
  const flow = await consumeFlowByState(d1, await sha256(state), now)
  if (!flow) throw flowInvalid('unknown, expired or used state')
  noteAttempt(c, { hostname: flow.hostname, orgId: flow.orgId })
  const retryHref = `${originFor(flow.hostname, url)}/`
  const callbackTarget = new URL(flow.redirectUri)
  if (callbackTarget.hostname !== here || callbackTarget.pathname !== url.pathname) {
    throw flowInvalid('callback on the wrong host', retryHref)
  }
  const finishesHere = flow.hostname === here
  if (finishesHere) {
    const cookie = await readFlowCookie(c, here)
    if (!cookie || cookie.fid !== flow.id) throw flowInvalid('flow cookie missing or for another flow', retryHref)
  }

  const error = url.searchParams.get('error')
  if (error !== null) {
    const description = url.searchParams.get('error_description')
    throw new AppError(entraErrorCode(error, description), `Entra answered ${error.slice(0, 64)}`, {
      detail: entraErrorDetail(error, description),
      retryHref,
    })
  }

  const secrets = await unseal<FlowSecrets>(flow.secrets, config.flowKey, secretsAudience(flow.id))
  if (!secrets) throw flowInvalid('flow secrets unreadable', retryHref)
  const client = await clientForOrg(d1, config, flow.clientOrgId)
  let identity: Identity
  try {
    identity = await redeemCode(config, client, {
      tenant: flow.tenant,
      callbackUrl: url,
      redirectUri: flow.redirectUri,
      codeVerifier: secrets.verifier,
      nonce: secrets.nonce,
    })
  } catch (err) {
    if (err instanceof AppError) throw withRetry(err, retryHref)
    throw err
  }

  noteAttempt(c, { tid: identity.tid, oid: identity.oid })
  const origin: Site | null = finishesHere ? c.var.site : await resolveHost(d1, config, flow.hostname)
  if (!origin || (origin.kind === 'tenant' && origin.status !== 'active'))
    throw flowInvalid('origin host gone', retryHref)
  if (!(await isTenantServed(d1, origin, identity.tid, client))) {
    throw new AppError('tenant_not_allowed', `Tenant ${identity.tid} not served on ${flow.hostname}`, { retryHref })
  }

  if (finishesHere) {
    await markCompleted(d1, flow.id, now)
    return authorizeAndHandOff(c, origin, identity, flow.id)
  }
  const code = randomToken(32)
  await storeCompletion(
    d1,
    flow.id,
    await seal({ ...identity }, config.flowKey, resultAudience(flow.id), COMPLETION_TTL_SECONDS),
    await sha256(code),
    now + COMPLETION_TTL_SECONDS * 1000,
  )
  noteAttempt(c, { result: 'pending', reason: 'central_callback' })
  return redirect(c, `${originFor(flow.hostname, url)}/sso/complete?code=${encodeURIComponent(code)}`, 303)
})

/**
 * GET /sso/complete: the end of a central callback, on the host the login
 * started on. The one-time code must belong to the flow named in this host's
 * cookie, so a result can be finished only in the browser that started it.
 */
signIn.get('/sso/complete', auditSignIn('complete'), async (c) => {
  const { config, site } = c.var
  const url = new URL(c.req.url)
  const retryHref = `${originFor(site.hostname, url)}/`
  const code = url.searchParams.get('code')
  const cookie = await readFlowCookie(c, site.hostname)
  if (!code || code.length > 512 || !cookie) throw flowInvalid('no code or no flow cookie', retryHref)
  const flow = await completeFlow(c.env.DB, cookie.fid, site.hostname, await sha256(code), Date.now())
  if (!flow?.result) throw flowInvalid('code unknown, expired, used or for another flow', retryHref)
  const identity = await unseal<Identity>(flow.result, config.flowKey, resultAudience(flow.id))
  if (!identity) throw flowInvalid('result unreadable', retryHref)
  return authorizeAndHandOff(c, site, identity, flow.id)
})

/**
 * POST /sso/choose: the chooser's answer. Cross-site posts are refused
 * (Origin / Sec-Fetch-Site; the SameSite=Lax cookie would not come along
 * anyway); the one-time token must belong to the flow in this browser's
 * cookie; the phone system must be one the user was offered, and still be
 * one they are listed on.
 */
signIn.post('/sso/choose', auditSignIn('choose'), async (c) => {
  const { config, site } = c.var
  const url = new URL(c.req.url)
  const retryHref = `${originFor(site.hostname, url)}/`
  // A real Origin must be ours ("null" is what a no-referrer page sends); Sec-Fetch-Site must say same-origin.
  const origin = c.req.header('origin')
  const fetchSite = c.req.header('sec-fetch-site')
  if (
    (origin !== undefined && origin !== 'null' && origin !== url.origin) ||
    (fetchSite !== undefined && fetchSite !== 'same-origin')
  ) {
    throw new AppError('choice_invalid', 'Cross-site choice refused', { retryHref })
  }
  const type = c.req.header('content-type') ?? ''
  if (!type.startsWith('application/x-www-form-urlencoded') || Number(c.req.header('content-length') ?? 0) > 4096) {
    throw new AppError('choice_invalid', 'Choice is not a small form post', { retryHref })
  }
  const form = new URLSearchParams(await c.req.text())
  const token = form.get('token')
  const phoneSystemId = form.get('phoneSystem')
  const cookie = await readFlowCookie(c, site.hostname)
  if (!token || !phoneSystemId || !cookie)
    throw flowInvalid('choice without token, phone system or flow cookie', retryHref)

  const flow = await takeChoice(c.env.DB, cookie.fid, site.hostname, await sha256(token), Date.now())
  if (!flow?.choices) throw flowInvalid('choice token unknown, used or for another flow', retryHref)
  const sealed = await unseal<SealedChoices>(flow.choices, config.flowKey, choicesAudience(flow.id))
  if (!sealed) throw flowInvalid('choices unreadable', retryHref)
  noteAttempt(c, { tid: sealed.identity.tid, oid: sealed.identity.oid })
  if (!sealed.phoneSystemIds.includes(phoneSystemId)) {
    throw new AppError('choice_invalid', 'Chosen phone system was not offered', { retryHref })
  }
  // The list may have changed since the chooser was shown: decide on what D1 says now.
  const candidate = (await findCandidates(c.env.DB, site, sealed.identity)).find(
    (cand) => cand.phoneSystem.id === phoneSystemId,
  )
  if (!candidate) {
    throw new AppError('not_listed', 'No longer listed on the chosen phone system', { retryHref })
  }
  return handOff(c, site, sealed.identity, candidate)
})

function withRetry(error: AppError, retryHref: string): AppError {
  if (error.retryHref) return error
  return new AppError(error.code, error.message, {
    cause: error.cause,
    field: error.field,
    headers: error.headers,
    detail: error.detail,
    retryHref,
  })
}
