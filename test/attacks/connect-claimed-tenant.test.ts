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
  CONNECT_COOKIE,
  cookieFrom,
  createCustomer,
  entraControl,
  expectJson,
  newTenantId,
  partnerWithKey,
  ROLES,
  submitConnect,
} from '../fixtures'

describe('review2: connect link for a tenant another partner has proven', () => {
  it('is refused before the administrator is sent to sign-in and admin consent', async () => {
    const tid = newTenantId()
    const _admin = await addEntraUser(tid, 'Grace Admin', [ROLES.globalAdministrator])

    // The hostile partner: a portal with its own Entra app, a phone system naming the tenant
    // (unverified; named before anybody proved it), and a connect link.
    const hostile = await partnerWithKey('Hostile')
    const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key: hostile.key })
    const portal = await expectJson(await as('POST', '/orgs', { name: 'Portal', kind: 'customer' }), 201)
    const appId = crypto.randomUUID()
    const secret = `hostile-${crypto.randomUUID()}`
    await entraControl('apps', {
      clientId: appId,
      secret,
      redirectUris: ['https://login.localhost/sso/callback', 'https://login.localhost/connect/callback'],
    })
    await expectJson(
      await as('PUT', `/orgs/${portal.id}/microsoft-integration`, {
        clientId: appId,
        clientSecret: secret,
        homeTenantId: newTenantId(),
      }),
    )
    const ps = await expectJson(
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
    const link = await expectJson(await as('POST', `/phone-systems/${ps.id}/connect`), 201)
    const start = await submitConnect(link.connectUrl)
    // Before the fix: a 302 to Entra, the administrator signed in and consented, and only then a 409.
    expect(start.status).toBe(409)
    expect(await start.text()).not.toContain(env.ENTRA_AUTHORITY!)
    expect(cookieFrom(start, CONNECT_COOKIE)).toBeNull()
    // Nothing was granted to the hostile partner's app in a tenant another partner owns.
    const app = await (await fetch(`${env.ENTRA_AUTHORITY}/__control/apps/${appId}`)).json<any>()
    expect(app.grants[tid], 'hostile app consented in a tenant another partner owns').toBeUndefined()
    expect((await apiJson('GET', `/phone-systems/${ps.id}`)).tenantStatus).toBe('unverified')
  })

  it('GET /connect/{token} of such a link does not show the connect page', async () => {
    const tid = newTenantId()
    const hostile = await partnerWithKey('Hostile')
    const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key: hostile.key })
    const customer = await expectJson(await as('POST', '/orgs', { name: 'C', kind: 'customer' }), 201)
    const ps = await expectJson(
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
    const link = await expectJson(await as('POST', `/phone-systems/${ps.id}/connect`), 201)
    const page = await SELF.fetch(link.connectUrl)
    const html = await page.text()
    expect(page.status, html.slice(0, 200)).not.toBe(200)
    expect(html).not.toContain('Connect Microsoft 365</button>')
  })
})
