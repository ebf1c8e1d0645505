/**
 * Connecting a phone system's Microsoft 365 tenant (ARCHITECTURE §6), on the
 * primary host only: `GET /connect/{token}` shows what will happen,
 * `POST /connect/{token}` starts the administrator's sign-in,
 * `/connect/callback` takes the sign-in, then the admin consent. Thin: the
 * link is `links.ts`, the legs `session.ts`, the proof `prove.ts`.
 */
import { Hono } from 'hono'
import type { Config } from '../config'
import { AppError } from '../errors'
import type { AppEnv } from '../http/context'
import { NO_STORE_REDIRECT, newNonce } from '../http/headers'
import { renderPage } from '../http/render'
import { sameOriginForms } from '../http/same-origin'
import { readableUtc } from '../lib/time'
import { clientForOrg } from '../oidc/clients'
import { authorizationUrl, discover, redeemCode } from '../oidc/entra'
import { entraErrorCode, entraErrorDetail } from '../oidc/entra-errors'
import { accountLabel } from '../oidc/identity'
import { ConnectedPage, ConnectPage } from '../pages/connect'
import { singleParameters } from '../signin/flow'
import { SYNC_PERMISSIONS } from '../sync/pull'
import { brandingOf, logoOrigins } from '../tenancy/branding'
import { GRAPH_SCOPE } from '../upstream/graph'
import { connectUrl, linkById, type OpenLink, openLink } from './links'
import { administratorRole, proveTenant } from './prove'
import { askForConsent, clearConnectCookie, startConnect, takeConnectState } from './session'

export const connectRoutes = new Hono<AppEnv>()

/** Where Entra sends the administrator back, both legs: one more redirect URI on the portal's app. */
export function connectCallbackUri(config: Config): string {
  return `${config.origin(config.primaryHost)}/connect/callback`
}

/**
 * Entra's admin consent endpoint for `tenant`. Discovery does not publish
 * it, so this one URL is built from the authority (ARCHITECTURE §6).
 *
 * @see https://learn.microsoft.com/entra/identity-platform/v2-admin-consent
 */
export function adminConsentUrl(config: Config, tenant: string, clientId: string, state: string): URL {
  const url = new URL(`${config.entra.authority}/${tenant}/v2.0/adminconsent`)
  url.searchParams.set('client_id', clientId)
  url.searchParams.set('scope', GRAPH_SCOPE)
  url.searchParams.set('redirect_uri', connectCallbackUri(config))
  url.searchParams.set('state', state)
  return url
}

connectRoutes.use('/connect/*', async (c, next) => {
  // Links name the primary host; elsewhere connecting does not exist.
  if (c.var.site.kind !== 'primary') throw new AppError('page_not_found', 'Not found')
  await next()
})

/** Pages of a link carry the portal's look, as its login pages do. */
function brandAs(
  c: { var: AppEnv['Variables']; set: (key: 'site', value: AppEnv['Variables']['site']) => void },
  opened: OpenLink,
) {
  c.set('site', { kind: 'primary', hostname: c.var.site.hostname, branding: brandingOf(opened.portal) })
}

connectRoutes.get('/connect/callback', async (c) => {
  const { config } = c.var
  const d1 = c.env.DB
  const url = new URL(c.req.url)
  const now = Date.now()
  const taken = await takeConnectState(c, singleParameters(url), now)
  c.set('retryHref', connectUrl(config, taken.secrets.token))
  const opened = await linkById(d1, taken.linkId, now)
  brandAs(c, opened)
  const { phoneSystem, portal } = opened
  const error = url.searchParams.get('error')
  const description = url.searchParams.get('error_description')

  if (taken.leg === 'signin') {
    if (error !== null) {
      throw new AppError(entraErrorCode(error, description), `Entra answered ${error.slice(0, 64)}`, {
        detail: entraErrorDetail(error, description),
      })
    }
    const client = await clientForOrg(d1, config, portal.id)
    const admin = await redeemCode(config, client, {
      tenant: phoneSystem.entraTenantId,
      callbackUrl: url,
      redirectUri: connectCallbackUri(config),
      codeVerifier: taken.secrets.verifier,
      nonce: taken.secrets.nonce,
    })
    const role = administratorRole(admin)
    if (!role) {
      throw new AppError('connect_not_admin', `${admin.tid}/${admin.oid} holds no administrator role`, {
        detail: `Signed in as ${accountLabel(admin)}`,
      })
    }
    const state = await askForConsent(c, taken.sessionId, admin, role, taken.secrets.token)
    const target = adminConsentUrl(config, phoneSystem.entraTenantId, client.clientId, state)
    return c.body(null, 302, { ...NO_STORE_REDIRECT, Location: target.href })
  }

  if (error !== null) {
    throw new AppError('connect_declined', `Admin consent answered ${error.slice(0, 64)}`, {
      detail: entraErrorDetail(error, description),
    })
  }
  const { admin, role } = taken.secrets
  await proveTenant(
    d1,
    config,
    opened,
    { ...admin, role },
    { adminConsent: url.searchParams.get('admin_consent'), tenant: url.searchParams.get('tenant') },
    now,
  )
  clearConnectCookie(c)
  const nonce = newNonce()
  const branding = brandingOf(portal)
  return renderPage(
    c,
    200,
    <ConnectedPage
      nonce={nonce}
      branding={branding}
      phoneSystemName={phoneSystem.name}
      administrator={accountLabel(admin)}
    />,
    { nonce, imageOrigins: logoOrigins(branding) },
  )
})

connectRoutes.get('/connect/:token', async (c) => {
  const opened = await openLink(c.env.DB, c.req.param('token'), Date.now())
  brandAs(c, opened)
  const branding = brandingOf(opened.portal)
  const nonce = newNonce()
  return renderPage(
    c,
    200,
    <ConnectPage
      nonce={nonce}
      branding={branding}
      providerName={c.var.config.providerDisplayName}
      portalName={branding.displayName}
      phoneSystemName={opened.phoneSystem.name}
      tenantId={opened.phoneSystem.entraTenantId}
      permissions={SYNC_PERMISSIONS}
      expiresAt={readableUtc(opened.link.expiresAt)}
    />,
    // The form's POST answers with a redirect to Entra, which form-action must allow too;
    // same-origin referrers, so the POST carries a real Origin header.
    {
      nonce,
      imageOrigins: logoOrigins(branding),
      formAction: ["'self'", new URL(c.var.config.entra.authority).origin],
    },
    { 'Referrer-Policy': 'same-origin' },
  )
})

connectRoutes.post('/connect/:token', sameOriginForms('forbidden', 'Cross-site connect refused'), async (c) => {
  const { config } = c.var
  const token = c.req.param('token')
  const opened = await openLink(c.env.DB, token, Date.now())
  brandAs(c, opened)
  c.set('retryHref', connectUrl(config, token))
  const client = await clientForOrg(c.env.DB, config, opened.portal.id)
  const tenant = opened.phoneSystem.entraTenantId
  const as = await discover(config, tenant)
  const request = await startConnect(c, opened.link.id, token)
  const target = authorizationUrl(client, as, { redirectUri: connectCallbackUri(config), ...request })
  return c.body(null, 302, { ...NO_STORE_REDIRECT, Location: target.href })
})
