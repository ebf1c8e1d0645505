/**
 * The sign-in flow, owned here (ARCHITECTURE §3.3, 3.4, 4): its `__Host-` cookie,
 * its store, and every transition a route may make. A route never touches
 * the cookie or the store directly, so "single use" and "bound to this host
 * and this browser" are decided in one place:
 *
 * start (`/sso/login`) -> take the callback (`/sso/callback`, once per
 * state) -> finish there, or hand the result back to the flow's own host
 * (central) -> take the completion (`/sso/complete`, once, in the browser
 * whose cookie names the flow) -> offer choices -> take a choice
 * (`/sso/choose`, once).
 *
 * Nothing anonymous reaches D1 or a flow object (ARCHITECTURE §8): the flow
 * starts sealed in the `state` sent to Entra (encrypted and authenticated
 * under FLOW_KEY, so its PKCE verifier and nonce stay secret), and the
 * completion code and chooser token are sealed too. A value that does not
 * open is refused before any lookup; the first write is the callback's
 * single-use record of a genuine state, in the flow's own Durable Object
 * (`flow-object.ts`), and an attempt is stored in the audit only once its
 * state, code or token has been used up by it (a replay is only logged).
 */
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import * as oauth from 'oauth4webapi'
import { AppError } from '../errors'
import type { AppEnv } from '../http/context'
import { startAgainOn } from '../http/render'
import { randomToken, seal, sha256, unseal } from '../lib/crypto'
import { type Identity, signedIn } from '../oidc/identity'
import type { Site } from '../tenancy/site'
import { noteAttempt } from './attempts'
import {
  type Choices,
  COMPLETION_TTL_SECONDS,
  durableFlowStore,
  FLOW_TTL_SECONDS,
  type Flow,
  type FlowStore,
  type StartedFlow,
} from './flow-store'

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
  return durableFlowStore(c.env.SIGNIN_FLOWS, c.var.config.flowKey)
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

export function clearFlowCookie(c: FlowContext): void {
  deleteCookie(c, FLOW_COOKIE, { prefix: 'host', ...COOKIE_OPTIONS })
}

export interface FlowStart {
  clientOrgId: string | null
  redirectUri: string
  tenant: string
  purpose?: 'console'
}

/** The longest sealed value a request may carry (a state, a completion code, a chooser token, a cookie). */
const MAX_SEALED_LENGTH = 2048

const sealedAudience = {
  state: 'flow-state',
  completion: (hostname: string) => `flow-completion:${hostname}`,
  choice: (hostname: string) => `flow-choice:${hostname}`,
}

/** What a sealed state carries: the whole started flow, short-keyed to keep the authorization URL short. */
interface SealedState {
  f: string
  h: string
  o: string | null
  c: string | null
  r: string
  t: string
  v: string
  n: string
  s: number
  /** Present (`c`) only for a console sign-in. */
  p?: 'c'
}

/** A one-time code or chooser token: the flow it belongs to, and randomness of its own. */
interface SealedOneTime {
  f: string
  x: string
}

/**
 * A central callback's completion code: the flow it belongs to and the verified identity itself, so the
 * callback stores nothing for `/sso/complete` (its flow object makes it single-use).
 */
interface SealedCompletion {
  f: string
  i: Identity
}

/**
 * The longest completion code: the identity's text claims are at most 256 UTF-16 units each
 * (`oidc/identity.ts`), which sealed comes to about 3.5 KB at worst; a URL this long is well within what
 * browsers and Cloudflare carry.
 */
const MAX_COMPLETION_LENGTH = 8192

function isSealedState(value: Partial<SealedState>): value is SealedState {
  return (
    typeof value.f === 'string' &&
    typeof value.h === 'string' &&
    (value.o === null || typeof value.o === 'string') &&
    (value.c === null || typeof value.c === 'string') &&
    typeof value.r === 'string' &&
    typeof value.t === 'string' &&
    typeof value.v === 'string' &&
    typeof value.n === 'string' &&
    typeof value.s === 'number' &&
    (value.p === undefined || value.p === 'c')
  )
}

/**
 * A new flow on this host (PKCE S256, state, nonce), sealed into the state
 * itself, and its id in an encrypted cookie that replaces any earlier one:
 * only the newest sign-in of a browser can finish. Writes nothing to D1.
 * Returns what the authorization request carries.
 */
export async function startFlow(
  c: FlowContext,
  start: FlowStart,
): Promise<{ state: string; nonce: string; codeChallenge: string }> {
  const { config, site } = c.var
  const now = Date.now()
  const flow: StartedFlow = {
    id: randomToken(32),
    hostname: site.hostname,
    orgId: orgOf(site),
    ...start,
    secrets: { verifier: oauth.generateRandomCodeVerifier(), nonce: randomToken(32) },
    createdAt: now,
    expiresAt: now + FLOW_TTL_SECONDS * 1000,
  }
  const sealed: SealedState = {
    f: flow.id,
    h: flow.hostname,
    o: flow.orgId,
    c: flow.clientOrgId,
    r: flow.redirectUri,
    t: flow.tenant,
    v: flow.secrets.verifier,
    n: flow.secrets.nonce,
    s: flow.createdAt,
    ...(flow.purpose === 'console' ? { p: 'c' as const } : {}),
  }
  const state = await seal({ ...sealed }, config.flowKey, sealedAudience.state, FLOW_TTL_SECONDS)
  const cookie = await sealFlowCookie(flow.id, site, config.flowKey)
  setCookie(c, FLOW_COOKIE, cookie, { prefix: 'host', ...COOKIE_OPTIONS, maxAge: FLOW_TTL_SECONDS })
  return {
    state,
    nonce: flow.secrets.nonce,
    codeChallenge: await oauth.calculatePKCECodeChallenge(flow.secrets.verifier),
  }
}

/** The started flow a genuine, unexpired state carries; null for anything else. */
export async function flowFromState(state: string, flowKey: Uint8Array): Promise<StartedFlow | null> {
  if (state.length > MAX_SEALED_LENGTH) return null
  const payload = await unseal<Partial<SealedState>>(state, flowKey, sealedAudience.state)
  if (!payload || !isSealedState(payload) || payload.exp === undefined) return null
  return {
    id: payload.f,
    hostname: payload.h,
    orgId: payload.o,
    clientOrgId: payload.c,
    redirectUri: payload.r,
    tenant: payload.t,
    secrets: { verifier: payload.v, nonce: payload.n },
    createdAt: payload.s,
    expiresAt: payload.exp * 1000,
    ...(payload.p === 'c' ? { purpose: 'console' as const } : {}),
  }
}

/** A one-time value for `flowId`, readable only on `audience` (its host), for `ttlSeconds`. */
function sealOneTime(c: FlowContext, flowId: string, audience: string, ttlSeconds: number): Promise<string> {
  return seal({ f: flowId, x: randomToken(16) } satisfies SealedOneTime, c.var.config.flowKey, audience, ttlSeconds)
}

/** The flow id a genuine one-time value names, if it opens for `audience`. */
async function flowOfOneTime(c: FlowContext, value: string, audience: string): Promise<string | null> {
  if (value.length > MAX_SEALED_LENGTH) return null
  const payload = await unseal<Partial<SealedOneTime>>(value, c.var.config.flowKey, audience)
  return payload && typeof payload.f === 'string' && typeof payload.x === 'string' ? payload.f : null
}

/**
 * The flow a one-time value (completion code, chooser token) belongs to:
 * refused before any query unless it is genuine, sealed for this host
 * (`audience`), and names the flow in this browser's cookie.
 */
async function ownFlowOf(c: FlowContext, value: string | null, audience: string, what: string): Promise<string> {
  const flowId = await cookieFlowId(c)
  if (!value || !flowId) throw flowInvalid(`no ${what} or no flow cookie`)
  if ((await flowOfOneTime(c, value, audience)) !== flowId)
    throw flowInvalid(`${what} forged, expired or for another flow`)
  return flowId
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
 * The callback's state must open, name this very callback URL, and (on the
 * flow's own host) match the browser's cookie; only then is it used up, once
 * (a replay, with or without the old cookies, is refused). From here on,
 * errors offer "Start again" on the flow's own host.
 */
export async function takeCallback(
  c: FlowContext,
  url: URL,
  now: number,
): Promise<{ flow: StartedFlow; finishesHere: boolean }> {
  const state = singleParameters(url)
  if (!state) throw flowInvalid('no state')
  const flow = await flowFromState(state, c.var.config.flowKey)
  if (!flow) throw flowInvalid('state forged, tampered with or expired')
  // Logged against the flow's host; stored in the audit only once the state is used up below
  // (a replay, or a genuine state sent to another host, is only logged).
  noteAttempt(c, flowFacts(c, flow))
  startAgainOn(c, flow.hostname)
  const callbackTarget = new URL(flow.redirectUri)
  const here = c.var.site.hostname
  if (callbackTarget.hostname !== here || callbackTarget.pathname !== url.pathname) {
    throw flowInvalid('callback on the wrong host')
  }
  const finishesHere = flow.hostname === here
  if (finishesHere) await requireOwnFlow(c, flow)
  if (!(await store(c).consume(flow, finishesHere, now))) throw flowInvalid('state already used')
  noteAttempt(c, { authentic: true })
  return { flow, finishesHere }
}

/** What the sign-in audit and metrics learn from a genuine flow: its host, when it began, how it calls back. */
function flowFacts(c: FlowContext, flow: Flow) {
  const callbackHost = new URL(flow.redirectUri).hostname
  const callbackMode =
    callbackHost !== flow.hostname ? 'central' : flow.hostname === c.var.config.primaryHost ? 'primary' : 'direct'
  return { hostname: flow.hostname, orgId: flow.orgId, startedAt: flow.createdAt, callbackMode } as const
}

/** On the host the flow started on, the browser's cookie must name this very flow. */
async function requireOwnFlow(c: FlowContext, flow: Flow): Promise<void> {
  if ((await cookieFlowId(c)) !== flow.id) throw flowInvalid('flow cookie missing or for another flow')
}

/** A flow that finished on its own callback (direct mode, the primary host). */
/**
 * The central callback hands the verified identity back to the flow's own
 * host: the URL of `/sso/complete` there, with a one-time code.
 */
export async function handBack(c: FlowContext, flow: Flow, identity: Identity): Promise<string> {
  const code = await seal(
    { f: flow.id, i: signedIn(identity) } satisfies SealedCompletion,
    c.var.config.flowKey,
    sealedAudience.completion(flow.hostname),
    COMPLETION_TTL_SECONDS,
  )
  return `${c.var.config.origin(flow.hostname)}/sso/complete?code=${encodeURIComponent(code)}`
}

/**
 * `/sso/complete`: the one-time code must belong to the flow named in this
 * host's cookie, so a result can be finished only in the browser that
 * started it.
 */
export async function takeCompletion(c: FlowContext, code: string | null): Promise<{ flow: Flow; identity: Identity }> {
  const hostname = c.var.site.hostname
  const flowId = await cookieFlowId(c)
  if (!code || !flowId) throw flowInvalid('no code or no flow cookie')
  const sealed =
    code.length > MAX_COMPLETION_LENGTH
      ? null
      : await unseal<Partial<SealedCompletion>>(code, c.var.config.flowKey, sealedAudience.completion(hostname))
  if (sealed?.f !== flowId || !isSealedIdentity(sealed.i)) throw flowInvalid('code forged, expired or for another flow')
  const flow = await store(c).complete(flowId, hostname, Date.now())
  if (!flow) throw flowInvalid('code used or expired')
  noteAttempt(c, { ...flowFacts(c, flow), authentic: true })
  return { flow, identity: signedIn(sealed.i) }
}

/** What `handBack` sealed (the seal is authenticated under FLOW_KEY: this only guards against a change of shape). */
function isSealedIdentity(value: unknown): value is Identity {
  if (typeof value !== 'object' || value === null) return false
  const { tid, oid, sub } = value as Partial<Identity>
  return typeof tid === 'string' && typeof oid === 'string' && typeof sub === 'string'
}

/** Offers the chooser: the choices sealed with the flow, and the one-time token its form carries. */
export async function offerChoices(c: FlowContext, flow: Pick<Flow, 'id'>, choices: Choices): Promise<string> {
  const token = await sealOneTime(c, flow.id, sealedAudience.choice(c.var.site.hostname), FLOW_TTL_SECONDS)
  await store(c).putChoices(flow.id, choices, await sha256(token))
  return token
}

/** `/sso/choose`: the chooser's token, once, for the flow in this browser's cookie on this host. */
export async function takeChoice(c: FlowContext, token: string | null): Promise<{ flow: Flow; choices: Choices }> {
  const hostname = c.var.site.hostname
  const flowId = await ownFlowOf(c, token, sealedAudience.choice(hostname), 'choice token')
  const taken = await store(c).takeChoice(flowId, hostname, await sha256(token!), Date.now())
  if (!taken) throw flowInvalid('choice token used, or the flow expired')
  noteAttempt(c, { ...flowFacts(c, taken.flow), authentic: true })
  return taken
}
