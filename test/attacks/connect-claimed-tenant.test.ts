/**
 * Review 2, finding: a connect link keeps working for a tenant that another
 * partner's subtree has meanwhile proven. GET and POST /connect/{token} never
 * look at tenant_claims, so the gateway sends the tenant's administrator
 * through sign-in AND Entra's admin consent for the link's portal app, and
 * only refuses (409 tenant_claimed) after Entra has granted it. When the
 * hostile partner's portal has its own Entra app, that app now holds
 * tenant-wide Graph application permissions (User.Read.All,
 * GroupMember.Read.All, Application.Read.All) in a tenant that is not the
 * partner's, and the partner holds the secret: it reads the directory
 * outside the gateway. The provider's connect page lent it its name.
 *
 * Safe behaviour asserted: the link is refused before anything is sent to
 * Entra, and the hostile app receives no grant in that tenant.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import {
  addEntraUser,
  api,
  apiJson,
  createCustomer,
  entraControl,
  newTenantId,
  partnerWithKey,
  pickAccount,
  ROLES,
} from '../fixtures'

const CONNECT_COOKIE = '__Host-sso_connect'

async function ok(res: Response, status = 200): Promise<any> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  return text ? JSON.parse(text) : undefined
}

function cookieOf(res: Response): string | null {
  for (const header of res.headers.getSetCookie()) {
    const [pair] = header.split(';')
    if (pair!.startsWith(`${CONNECT_COOKIE}=`)) return pair!.slice(CONNECT_COOKIE.length + 1)
  }
  return null
}

describe('review2: connect link for a tenant another partner has proven', () => {
  it('is refused before the administrator is sent to sign-in and admin consent', async () => {
    const tid = newTenantId()
    const admin = await addEntraUser(tid, 'Grace Admin', [ROLES.globalAdministrator])

    // The hostile partner: a portal with its own Entra app, a phone system naming the tenant
    // (unverified; named before anybody proved it), and a connect link.
    const hostile = await partnerWithKey('Hostile')
    const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key: hostile.key })
    const portal = await ok(await as('POST', '/orgs', { name: 'Portal', kind: 'customer' }), 201)
    const appId = crypto.randomUUID()
    const secret = `hostile-${crypto.randomUUID()}`
    await entraControl('apps', {
      clientId: appId,
      secret,
      redirectUris: ['https://login.localhost/sso/callback', 'https://login.localhost/connect/callback'],
    })
    await ok(
      await as('PUT', `/orgs/${portal.id}/microsoft-integration`, {
        clientId: appId,
        clientSecret: secret,
        homeTenantId: newTenantId(),
      }),
    )
    const ps = await ok(
      await as('POST', `/orgs/${portal.id}/phone-systems`, {
        name: 'Phones',
        webClientUrl: 'https://hostile.example/',
        handoffUrl: 'https://hostile.example/sso',
        entraTenantId: tid,
      }),
      201,
    )

    // The tenant's real partner gets it proven (ops vouch here; a connect would do the same).
    const real = await partnerWithKey('Real')
    const realCustomer = await createCustomer(real.partner.id)
    const realPs = await apiJson(
      'POST',
      `/orgs/${realCustomer.id}/phone-systems`,
      { name: 'Real', webClientUrl: 'https://r.example/', handoffUrl: 'https://r.example/sso', entraTenantId: tid },
      201,
    )
    expect(realPs.tenantStatus).toBe('trusted')

    // Now the hostile partner asks for a link and sends it to the tenant's administrator.
    const link = await ok(await as('POST', `/phone-systems/${ps.id}/connect`), 201)
    const url = new URL(link.connectUrl)
    const start = await SELF.fetch(link.connectUrl, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        origin: url.origin,
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: '',
    })
    const startText = await start.text()
    expect.soft(start.status, 'the link should be refused, not sent to Entra').not.toBe(302)

    if (start.status === 302) {
      // What happens while the hole exists: the administrator signs in, then consents at Entra.
      const cookie = cookieOf(start)!
      const callback = await pickAccount(new URL(start.headers.get('location')!), admin)
      const afterSignIn = await SELF.fetch(callback, {
        redirect: 'manual',
        headers: { cookie: `${CONNECT_COOKIE}=${cookie}` },
      })
      expect(afterSignIn.status, await afterSignIn.clone().text()).toBe(302)
      const consentUrl = new URL(afterSignIn.headers.get('location')!)
      expect(consentUrl.searchParams.get('client_id')).toBe(appId)
      expect((await fetch(consentUrl)).status).toBe(200)
      const answer = await fetch(consentUrl, {
        method: 'POST',
        body: new URLSearchParams({ user: admin.oid }),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        redirect: 'manual',
      })
      const final = await SELF.fetch(new URL(answer.headers.get('location')!), {
        redirect: 'manual',
        headers: { cookie: `${CONNECT_COOKIE}=${cookie}` },
      })
      // The gateway refuses only now…
      expect(final.status).toBe(409)
    } else {
      expect(startText).not.toContain(env.ENTRA_AUTHORITY!)
    }
    // …after Entra granted the hostile partner's app Graph application permissions in the tenant.
    const app = await (await fetch(`${env.ENTRA_AUTHORITY}/__control/apps/${appId}`)).json<any>()
    expect(app.grants[tid], 'hostile app consented in a tenant another partner owns').toBeUndefined()
    expect((await apiJson('GET', `/phone-systems/${ps.id}`)).tenantStatus).toBe('unverified')
  })

  it('GET /connect/{token} of such a link does not show the connect page', async () => {
    const tid = newTenantId()
    const hostile = await partnerWithKey('Hostile')
    const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key: hostile.key })
    const customer = await ok(await as('POST', '/orgs', { name: 'C', kind: 'customer' }), 201)
    const ps = await ok(
      await as('POST', `/orgs/${customer.id}/phone-systems`, {
        name: 'Phones',
        webClientUrl: 'https://hostile.example/',
        handoffUrl: 'https://hostile.example/sso',
        entraTenantId: tid,
      }),
      201,
    )
    const real = await partnerWithKey('Real')
    const realCustomer = await createCustomer(real.partner.id)
    await apiJson(
      'POST',
      `/orgs/${realCustomer.id}/phone-systems`,
      { name: 'Real', webClientUrl: 'https://r.example/', handoffUrl: 'https://r.example/sso', entraTenantId: tid },
      201,
    )
    const link = await ok(await as('POST', `/phone-systems/${ps.id}/connect`), 201)
    const page = await SELF.fetch(link.connectUrl)
    const html = await page.text()
    expect(page.status, html.slice(0, 200)).not.toBe(200)
    expect(html).not.toContain('Connect Microsoft 365</button>')
  })
})
