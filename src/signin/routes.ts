/**
 * The sign-in routes (ARCHITECTURE §3, 4): the login page, `/sso/login` starts a
 * flow, `/sso/callback` takes Entra's answer once, `/sso/complete` finishes a
 * centrally called-back flow on the host it started on, `/sso/choose` takes
 * the chooser's answer. Thin: the protocol is `oidc/`, the flow `flow.ts`,
 * the decision `authz/`, the answer `respond.tsx`.
 */
import type { Context } from 'hono'
import { Hono } from 'hono/tiny'
import { authorize, tenantsServed } from '../authz/decide'
import { AppError } from '../errors'
import { resolveHost } from '../hosts/resolve'
import { readBodyText } from '../http/body'
import type { AppEnv } from '../http/context'
import { NO_STORE_REDIRECT } from '../http/headers'
import { readDb } from '../http/read-session'
import { startAgainOn } from '../http/render'
import { sameOriginForms } from '../http/same-origin'
import { signInClient } from '../oidc/clients'
import { authorizationUrl, discover, redeemCode } from '../oidc/entra'
import { entraErrorCode, entraErrorDetail } from '../oidc/entra-errors'
import type { Identity } from '../oidc/identity'
import { authorityTenant, MULTI_TENANT } from '../oidc/tenant'
import { auditSignIn, noteAttempt } from './attempts'
import { callbackRoute } from './callback-uri'
import { flowInvalid, handBack, startFlow, takeCallback, takeChoice, takeCompletion } from './flow'
import { showLogin } from './login-page'
import { handOff, respondToSignIn } from './respond'

export interface SignInHooks {
  /**
   * What a console flow (a staff sign-in started at `/admin/login`) ends in: the console's session. Passed in by
   * `index.ts`, so that sign-in does not depend on the console that depends on it.
   */
  consoleSignedIn: (c: Context<AppEnv>, identity: Identity) => Promise<Response>
}

export function signInRoutes(hooks: SignInHooks): Hono<AppEnv> {
  const signIn = new Hono<AppEnv>()

  signIn.get('/', showLogin)
  signIn.get('/sso/webclient', showLogin)

  /**
   * GET /sso/login: a new flow, then 302 to the discovered authorization
   * endpoint. No query parameter is read: nothing in the request chooses where
   * the user ends up.
   */
  signIn.get('/sso/login', async (c) => {
    const { config, site } = c.var
    const reads = readDb(c)
    const client = await signInClient(reads, config, site.kind === 'tenant' ? site.org.id : null)
    const tenants = await tenantsServed(reads, config, site, client)
    const tenant = tenants === null ? MULTI_TENANT : authorityTenant(tenants)
    const as = await discover(config, tenant)
    const { redirectUri } = callbackRoute(config, site)
    const request = await startFlow(c, { clientOrgId: client.orgId, redirectUri, tenant })
    const target = authorizationUrl(client, as, { redirectUri, ...request })
    return c.body(null, 302, { ...NO_STORE_REDIRECT, Location: target.href })
  })

  /**
   * GET /sso/callback: Entra's answer, on the host the flow's redirect URI
   * names. On the flow's own host the cookie must name the same flow and the
   * sign-in finishes here; on the primary host for another host's flow, the
   * verified identity goes back to that host behind a one-time code.
   */
  signIn.get('/sso/callback', auditSignIn('callback'), async (c) => {
    const { config } = c.var
    const url = new URL(c.req.url)
    const now = Date.now()
    const { flow, finishesHere } = await takeCallback(c, url, now)

    const error = url.searchParams.get('error')
    if (error !== null) {
      const description = url.searchParams.get('error_description')
      throw new AppError(entraErrorCode(error, description), `Entra answered ${error.slice(0, 64)}`, {
        detail: entraErrorDetail(error, description),
      })
    }

    const client = await signInClient(readDb(c), config, flow.clientOrgId)
    const identity = await redeemCode(config, client, {
      tenant: flow.tenant,
      callbackUrl: url,
      redirectUri: flow.redirectUri,
      codeVerifier: flow.secrets.verifier,
      nonce: flow.secrets.nonce,
    })
    noteAttempt(c, { tid: identity.tid, oid: identity.oid, account: identity.upn })

    if (finishesHere) {
      // A staff sign-in to the console (started at /admin/login, primary host only) ends in a console session.
      if (flow.purpose === 'console') return hooks.consoleSignedIn(c, identity)
      return respondToSignIn(c, c.var.site, client, identity, flow)
    }
    // The flow's host must still be serving: a host detached or suspended mid-flow gets no result.
    const origin = await resolveHost(readDb(c), config, flow.hostname)
    if (!origin || (origin.kind === 'tenant' && origin.status !== 'active')) throw flowInvalid('origin host gone')
    const location = await handBack(c, flow, identity)
    noteAttempt(c, { result: 'pending', reason: 'central_callback' })
    return c.body(null, 303, { ...NO_STORE_REDIRECT, Location: location })
  })

  /** GET /sso/complete: the end of a central callback, in the browser that started it, on its host. */
  signIn.get('/sso/complete', auditSignIn('complete'), async (c) => {
    startAgainOn(c, c.var.site.hostname)
    const { flow, identity } = await takeCompletion(c, new URL(c.req.url).searchParams.get('code'))
    const client = await signInClient(readDb(c), c.var.config, flow.clientOrgId)
    return respondToSignIn(c, c.var.site, client, identity, flow)
  })

  /**
   * POST /sso/choose: the chooser's answer. Cross-site posts are refused (the
   * SameSite=Lax cookie would not come along anyway); the one-time token must
   * belong to the flow in this browser's cookie; the phone system must be one
   * the user was offered, and still be one they are listed on.
   */
  signIn.post(
    '/sso/choose',
    auditSignIn('choose'),
    async (c, next) => {
      startAgainOn(c, c.var.site.hostname)
      await next()
    },
    sameOriginForms('choice_invalid', 'Cross-site choice refused'),
    async (c) => {
      const { site } = c.var
      // Exactly a form post: csrf() above checks only the media types a browser may send cross-site without asking.
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
      if (type !== 'application/x-www-form-urlencoded')
        throw new AppError('choice_invalid', 'Choice is not a form post')
      const form = new URLSearchParams(await readBodyText(c, 'form'))
      const phoneSystemId = form.get('phoneSystem')
      if (!phoneSystemId) throw flowInvalid('choice without a phone system')
      const { flow, choices } = await takeChoice(c, form.get('token'))
      const { identity } = choices
      noteAttempt(c, { tid: identity.tid, oid: identity.oid, account: identity.upn })
      if (!choices.phoneSystemIds.includes(phoneSystemId)) {
        throw new AppError('choice_invalid', 'Chosen phone system was not offered')
      }
      // The list may have changed since the chooser was shown: decide on what D1 says now.
      const client = await signInClient(readDb(c), c.var.config, flow.clientOrgId)
      const decision = await authorize(readDb(c), c.var.config, site, client, identity)
      const candidates =
        decision.kind === 'handoff' ? [decision.candidate] : decision.kind === 'choose' ? decision.candidates : []
      const candidate = candidates.find((cand) => cand.phoneSystem.id === phoneSystemId)
      if (!candidate) throw new AppError('not_listed', 'No longer listed on the chosen phone system')
      return handOff(c, site, identity, candidate)
    },
  )
  return signIn
}
