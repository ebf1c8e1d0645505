/**
 * After a verified sign-in: authorize against the SSO lists (DESIGN 3.5) and
 * hand off to the phone system (3.6), or offer a choice when the user is on
 * several phone systems here.
 */
import type { Context } from 'hono'
import { deleteCookie } from 'hono/cookie'
import type { AppEnv } from '../app-env'
import { type Candidate, findCandidates } from '../authz/lookup'
import { randomToken, seal, sha256 } from '../crypto'
import { AppError } from '../errors'
import { FLOW_TTL_SECONDS, storeChoices } from '../flows/store'
import { signAssertion } from '../handoff/assertion'
import { logoOrigins, type Site } from '../hosts/resolve'
import { newNonce, renderPage } from '../http/html'
import { originFor } from '../http/origin'
import type { Identity } from '../oidc/entra'
import { ChooserPage } from '../pages/chooser'
import { HandoffPage } from '../pages/handoff'
import { noteAttempt } from './audit'

/** With hono's `prefix: 'host'` the cookie is `__Host-sso_flow`: Secure, Path=/, no Domain. */
export const FLOW_COOKIE = 'sso_flow'

export interface SealedChoices {
  identity: Identity
  phoneSystemIds: string[]
}

export const choicesAudience = (flowId: string) => `flow-choices:${flowId}`

export function clearFlowCookie(c: Context<AppEnv>) {
  deleteCookie(c, FLOW_COOKIE, { prefix: 'host', path: '/', secure: true, httpOnly: true, sameSite: 'Lax' })
}

function accountLabel(identity: Identity): string {
  return identity.upn ?? identity.email ?? identity.name ?? identity.oid
}

export async function authorizeAndHandOff(
  c: Context<AppEnv>,
  site: Site,
  identity: Identity,
  flowId: string,
): Promise<Response> {
  noteAttempt(c, { tid: identity.tid, oid: identity.oid })
  const candidates = await findCandidates(c.env.DB, site, identity)
  if (candidates.length === 0) {
    throw new AppError('not_listed', `No SSO record for ${identity.tid}/${identity.oid} on ${site.hostname}`, {
      detail: `Signed in as ${accountLabel(identity)}`,
      retryHref: `${originFor(site.hostname, new URL(c.req.url))}/`,
    })
  }
  if (candidates.length === 1) return handOff(c, site, identity, candidates[0]!)

  const token = randomToken(32)
  const sealed: SealedChoices = { identity, phoneSystemIds: candidates.map((cand) => cand.phoneSystem.id) }
  await storeChoices(
    c.env.DB,
    flowId,
    await seal({ ...sealed }, c.var.config.flowKey, choicesAudience(flowId), FLOW_TTL_SECONDS),
    await sha256(token),
  )
  noteAttempt(c, { result: 'pending', reason: 'chooser' })
  const nonce = newNonce()
  return renderPage(
    c,
    200,
    <ChooserPage
      nonce={nonce}
      branding={site.branding}
      account={accountLabel(identity)}
      token={token}
      phoneSystems={candidates.map((cand) => ({ id: cand.phoneSystem.id, name: cand.phoneSystem.name }))}
    />,
    // same-origin (not no-referrer) so that the chooser's POST carries a real Origin header.
    { nonce, imageOrigins: logoOrigins(site.branding) },
    { 'Referrer-Policy': 'same-origin' },
  )
}

/** Signs the assertion and renders the auto-submitting form to the phone system's handoff URL. */
export async function handOff(
  c: Context<AppEnv>,
  site: Site,
  identity: Identity,
  candidate: Candidate,
): Promise<Response> {
  const { config } = c.var
  const assertion = await signAssertion(config, {
    issuer: originFor(config.primaryHost, new URL(c.req.url)),
    phoneSystemId: candidate.phoneSystem.id,
    record: candidate.record,
    identity,
  })
  clearFlowCookie(c)
  noteAttempt(c, {
    result: 'success',
    reason: 'handoff',
    phoneSystemId: candidate.phoneSystem.id,
    orgId: candidate.phoneSystem.orgId,
  })
  const nonce = newNonce()
  return renderPage(
    c,
    200,
    <HandoffPage
      nonce={nonce}
      branding={site.branding}
      phoneSystemName={candidate.phoneSystem.name}
      handoffUrl={candidate.phoneSystem.handoffUrl}
      assertion={assertion}
    />,
    {
      nonce,
      script: true,
      formAction: [new URL(candidate.phoneSystem.handoffUrl).origin],
      imageOrigins: logoOrigins(site.branding),
    },
  )
}
