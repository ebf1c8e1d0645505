/**
 * The sign-in flow, owned here (DESIGN 3.3, 3.4, 4): its `__Host-` cookie,
 * its store, and every transition a route may make. A route never touches
 * the cookie or the store directly, so "single use" and "bound to this host
 * and this browser" are decided in one place:
 *
 * start (`/sso/login`) -> take the callback (`/sso/callback`, once per
 * state) -> finish there, or hand the result back to the flow's own host
 * (central) -> take the completion (`/sso/complete`, once, in the browser
 * whose cookie names the flow) -> offer choices -> take a choice
 * (`/sso/choose`, once).
 */
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import * as oauth from 'oauth4webapi'
import { AppError } from '../errors'
import type { AppEnv } from '../http/context'
import { randomToken, seal, sha256, unseal } from '../lib/crypto'
import type { Identity } from '../oidc/identity'
import type { Site } from '../tenancy/site'
import { type Choices, d1FlowStore, FLOW_TTL_SECONDS, type Flow, type FlowStore } from './flow-store'

type FlowContext = Context<AppEnv>

/** With hono's `prefix: 'host'` the cookie is `__Host-sso_flow`: Secure, Path=/, no Domain. */
const FLOW_COOKIE = 'sso_flow'
const COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' } as const

/** The flow this browser started, bound to the host (by the JWE audience) and to the organization. */
interface FlowCookie {
  fid: string
  org: string | null
}

const cookieAudience = (hostname: string) => `flow-cookie:${hostname}`

export function flowInvalid(why: string): AppError {
  return new AppError('flow_invalid', `Sign-in flow refused: ${why}`)
}

function store(c: FlowContext): FlowStore {
  return d1FlowStore(c.env.DB, c.var.config.flowKey)
}

function orgOf(site: Site): string | null {
  return site.kind === 'tenant' ? site.org.id : null
}

/** A flow cookie's value, sealed for `site`: only that host, and its organization now, can read it back. */
export function sealFlowCookie(flowId: string, site: Site, flowKey: Uint8Array): Promise<string> {
  return seal(
    { fid: flowId, org: orgOf(site) } satisfies FlowCookie,
    flowKey,
    cookieAudience(site.hostname),
    FLOW_TTL_SECONDS,
  )
}

/** The flow id in a cookie value, if it is genuine, unexpired, for this host and its current organization. */
export async function flowIdFromCookie(
  value: string | undefined,
  site: Site,
  flowKey: Uint8Array,
): Promise<string | null> {
  if (!value || value.length > 4096) return null
  const payload = await unseal<FlowCookie>(value, flowKey, cookieAudience(site.hostname))
  // A cookie from before the host changed hands (or any other organization) is no cookie at all.
  return payload && typeof payload.fid === 'string' && payload.org === orgOf(site) ? payload.fid : null
}

function cookieFlowId(c: FlowContext): Promise<string | null> {
  return flowIdFromCookie(getCookie(c, FLOW_COOKIE, 'host'), c.var.site, c.var.config.flowKey)
}

/** From here on, an error page's "Start again" leads to the login page of `hostname`. */
export function startAgainOn(c: FlowContext, hostname: string): void {
  c.set('retryHref', `${c.var.config.origin(hostname)}/`)
}

export function clearFlowCookie(c: FlowContext): void {
  deleteCookie(c, FLOW_COOKIE, { prefix: 'host', ...COOKIE_OPTIONS })
}

export interface FlowStart {
  clientOrgId: string | null
  redirectUri: string
  tenant: string
}

/**
 * A new flow on this host (PKCE S256, state, nonce), its secrets stored and
 * its id in an encrypted cookie that replaces any earlier one: only the
 * newest sign-in of a browser can finish. Returns what the authorization
 * request carries.
 */
export async function startFlow(
  c: FlowContext,
  start: FlowStart,
): Promise<{ state: string; nonce: string; codeChallenge: string }> {
  const { config, site } = c.var
  const now = Date.now()
  const flow: Flow = {
    id: randomToken(32),
    stateHash: '',
    hostname: site.hostname,
    orgId: orgOf(site),
    ...start,
    secrets: { verifier: oauth.generateRandomCodeVerifier(), nonce: randomToken(32) },
    createdAt: now,
    expiresAt: now + FLOW_TTL_SECONDS * 1000,
  }
  const state = randomToken(32)
  flow.stateHash = await sha256(state)
  await store(c).create(flow)
  const cookie = await sealFlowCookie(flow.id, site, config.flowKey)
  setCookie(c, FLOW_COOKIE, cookie, { prefix: 'host', ...COOKIE_OPTIONS, maxAge: FLOW_TTL_SECONDS })
  return {
    state,
    nonce: flow.secrets.nonce,
    codeChallenge: await oauth.calculatePKCECodeChallenge(flow.secrets.verifier),
  }
}

/** Parameters a callback carries at most once; a repeated one is a forged answer, refused before anything is used. */
const ONCE = ['state', 'code', 'iss', 'error', 'error_description', 'admin_consent', 'tenant'] as const

/** The callback's `state`, after checking that no answer parameter comes twice. */
export function singleParameters(url: URL): string | null {
  for (const name of ONCE) {
    if (url.searchParams.getAll(name).length > 1) throw flowInvalid(`parameter "${name}" repeated`)
  }
  return url.searchParams.get('state')
}

/**
 * The callback's state finds its flow and is used up at once (a replay,
 * with or without the old cookies, finds nothing). From here on, errors
 * offer "Start again" on the flow's own host.
 */
export async function takeCallback(c: FlowContext, state: string | null, now: number): Promise<Flow> {
  if (!state || state.length > 512) throw flowInvalid('no state')
  const flow = await store(c).takeByState(await sha256(state), now)
  if (!flow) throw flowInvalid('unknown, expired or used state')
  startAgainOn(c, flow.hostname)
  return flow
}

/** On the host the flow started on, the browser's cookie must name this very flow. */
export async function requireOwnFlow(c: FlowContext, flow: Flow): Promise<void> {
  if ((await cookieFlowId(c)) !== flow.id) throw flowInvalid('flow cookie missing or for another flow')
}

/** A flow that finished on its own callback (direct mode, the primary host). */
export async function finishFlow(c: FlowContext, flow: Flow, now: number): Promise<void> {
  await store(c).markCompleted(flow.id, now)
}

/**
 * The central callback hands the verified identity back to the flow's own
 * host: the URL of `/sso/complete` there, with a one-time code.
 */
export async function handBack(c: FlowContext, flow: Flow, identity: Identity, now: number): Promise<string> {
  const code = randomToken(32)
  await store(c).putCompletion(flow, identity, await sha256(code), now)
  return `${c.var.config.origin(flow.hostname)}/sso/complete?code=${encodeURIComponent(code)}`
}

/**
 * `/sso/complete`: the one-time code must belong to the flow named in this
 * host's cookie, so a result can be finished only in the browser that
 * started it.
 */
export async function takeCompletion(c: FlowContext, code: string | null): Promise<{ flow: Flow; identity: Identity }> {
  const flowId = await cookieFlowId(c)
  if (!code || code.length > 512 || !flowId) throw flowInvalid('no code or no flow cookie')
  const taken = await store(c).takeCompletion(flowId, c.var.site.hostname, await sha256(code), Date.now())
  if (!taken) throw flowInvalid('code unknown, expired, used or for another flow')
  return taken
}

/** Offers the chooser: the choices sealed with the flow, and the one-time token its form carries. */
export async function offerChoices(c: FlowContext, flow: Pick<Flow, 'id'>, choices: Choices): Promise<string> {
  const token = randomToken(32)
  await store(c).putChoices(flow.id, choices, await sha256(token))
  return token
}

/** `/sso/choose`: the chooser's token, once, for the flow in this browser's cookie on this host. */
export async function takeChoice(c: FlowContext, token: string | null): Promise<{ flow: Flow; choices: Choices }> {
  const flowId = await cookieFlowId(c)
  if (!token || !flowId) throw flowInvalid('choice without token or flow cookie')
  const taken = await store(c).takeChoice(flowId, c.var.site.hostname, await sha256(token), Date.now())
  if (!taken) throw flowInvalid('choice token unknown, used or for another flow')
  return taken
}
