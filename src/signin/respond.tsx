/**
 * Rendering the authorization decision (ARCHITECTURE §3.5, 3.6): the 403 pages,
 * the chooser, or the handoff page that posts the signed assertion to the
 * phone system. The decision itself is `authz/decide.ts`.
 */
import type { Context } from 'hono'
import type { Candidate } from '../authz/candidates'
import { authorize } from '../authz/decide'
import { AppError } from '../errors'
import { signAssertion } from '../handoff/assertion'
import type { AppEnv } from '../http/context'
import { newNonce } from '../http/headers'
import { readDb } from '../http/read-session'
import { renderPage } from '../http/render'
import type { EntraClient } from '../oidc/clients'
import { accountLabel, type Identity } from '../oidc/identity'
import { ChooserPage } from '../pages/chooser'
import { HandoffPage } from '../pages/handoff'
import { logoOrigins } from '../tenancy/branding'
import type { Site } from '../tenancy/site'
import { noteAttempt } from './attempts'
import { clearFlowCookie, offerChoices } from './flow'
import type { Flow } from './flow-store'

/** Authorizes a verified identity on the site the flow belongs to, and answers accordingly. */
export async function respondToSignIn(
  c: Context<AppEnv>,
  site: Site,
  client: EntraClient,
  identity: Identity,
  flow: Pick<Flow, 'id'>,
): Promise<Response> {
  noteAttempt(c, { tid: identity.tid, oid: identity.oid, account: identity.upn })
  const decision = await authorize(readDb(c), c.var.config, site, client, identity)
  switch (decision.kind) {
    case 'tenant_not_allowed':
      throw new AppError('tenant_not_allowed', `Tenant ${identity.tid} not served on ${site.hostname}`)
    case 'not_listed':
      throw new AppError('not_listed', `No SSO record for ${identity.tid}/${identity.oid} on ${site.hostname}`, {
        detail: `Signed in as ${accountLabel(identity)}`,
      })
    case 'handoff':
      return handOff(c, site, identity, decision.candidate)
    case 'choose': {
      const phoneSystemIds = decision.candidates.map((candidate) => candidate.phoneSystem.id)
      const token = await offerChoices(c, flow, { identity, phoneSystemIds })
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
          phoneSystems={decision.candidates.map(({ phoneSystem }) => ({ id: phoneSystem.id, name: phoneSystem.name }))}
        />,
        // same-origin (not no-referrer) so that the chooser's POST carries a real Origin header.
        { nonce, imageOrigins: logoOrigins(site.branding) },
        { 'Referrer-Policy': 'same-origin' },
      )
    }
  }
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
    issuer: config.origin(config.primaryHost),
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
