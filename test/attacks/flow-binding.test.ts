/**
 * Review of the reshape, as a user of tenant A trying to get into a phone
 * system they should not reach, and as an attacker moving completion codes
 * and chooser tokens between browsers and hosts. The tenant check of a
 * central sign-in now runs on the host's /sso/complete (not on the primary
 * host's /sso/callback); these tests pin that nothing gets past it.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import {
  addEntraUser,
  apiJson,
  entraControl,
  HANDOFF_FIELD,
  newTenantId,
  PRIMARY,
  phoneSystemNamed,
  pickAccount,
  putList,
  seedSignInTenant,
  signIn,
  startLogin,
  uniqueLabel,
  withCookie,
  ZONE,
} from '../fixtures'

async function refused(res: Response, status?: number) {
  const html = await res.text()
  if (status !== undefined) expect(res.status, html.slice(0, 400)).toBe(status)
  else expect(res.status).toBeGreaterThanOrEqual(400)
  expect(html).not.toContain(HANDOFF_FIELD)
  return html
}

/** Runs a central flow to the callback's 303; returns the browser's cookie and the completion URL. */
async function upToComplete(hostname: string, user: Parameters<typeof pickAccount>[1]) {
  const { cookie, authorizeUrl } = await startLogin(hostname)
  const callbackUrl = await pickAccount(authorizeUrl, user)
  expect(callbackUrl.hostname).toBe(PRIMARY)
  const central = await SELF.fetch(callbackUrl, withCookie(null))
  expect(central.status, await central.clone().text()).toBe(303)
  const completeUrl = new URL(central.headers.get('location')!)
  expect(completeUrl.hostname).toBe(hostname)
  return { cookie, completeUrl, callbackUrl }
}

const SECRET = 'review-portal-secret'

async function portalApp() {
  const clientId = crypto.randomUUID()
  await entraControl('apps', { clientId, secret: SECRET, redirectUris: [`https://${PRIMARY}/sso/callback`] })
  return clientId
}

describe('review: the tenant check of a central sign-in, now on /sso/complete', () => {
  it("a tenant outside the portal's allowedTenantIds is refused at /sso/complete, even when listed", async () => {
    // The portal reaches three tenants and allows two of them: the authority is `organizations`,
    // so a user of the third tenant can get an ID token from the portal's app.
    const tenant = await seedSignInTenant()
    const allowedToo = newTenantId()
    const forbidden = newTenantId()
    await phoneSystemNamed(tenant.orgId, 'Branch', allowedToo)
    const forbiddenPs = await phoneSystemNamed(tenant.orgId, 'Forbidden', forbidden)
    const intruder = await addEntraUser(forbidden, 'Ivan Intruder')
    await putList(forbiddenPs.id, [{ oid: intruder.oid }])
    const clientId = await portalApp()
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId,
      clientSecret: SECRET,
      homeTenantId: tenant.tenantId,
      allowedTenantIds: [tenant.tenantId, allowedToo],
    })
    const { authorizeUrl } = await startLogin(tenant.hostname)
    expect(authorizeUrl.pathname).toContain('/organizations/')
    const result = await signIn(tenant.hostname, intruder)
    expect(result.central?.status).toBe(303)
    expect(result.res.status).toBe(403)
    expect(result.html).not.toContain(HANDOFF_FIELD)
    expect(result.html).toContain('This account cannot sign in here')
  })

  it('a tenant dropped from allowedTenantIds between the callback and /sso/complete is refused', async () => {
    const tenant = await seedSignInTenant()
    const second = newTenantId()
    const secondPs = await phoneSystemNamed(tenant.orgId, 'Second', second)
    const user = await addEntraUser(second)
    await putList(secondPs.id, [{ oid: user.oid }])
    const clientId = await portalApp()
    const integration = { clientId, clientSecret: SECRET, homeTenantId: tenant.tenantId }
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      ...integration,
      allowedTenantIds: [tenant.tenantId, second],
    })
    const { cookie, completeUrl } = await upToComplete(tenant.hostname, user)
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      ...integration,
      allowedTenantIds: [tenant.tenantId, newTenantId()],
    })
    await refused(await SELF.fetch(completeUrl, withCookie(cookie)), 403)
  })

  it("tenant A's user, refused on B's host, cannot carry the completion to A's host (where A is served)", async () => {
    const a = await seedSignInTenant()
    const b = await seedSignInTenant()
    // A second tenant puts B's host on the organizations authority, so A's user gets a token there.
    await phoneSystemNamed(b.orgId, 'Branch', newTenantId())
    const flow = await upToComplete(b.hostname, a.user)
    const onA = new URL(flow.completeUrl)
    onA.hostname = a.hostname
    const aCookie = (await startLogin(a.hostname)).cookie
    await refused(await SELF.fetch(onA, withCookie(aCookie)), 400)
    await refused(await SELF.fetch(onA, withCookie(flow.cookie)), 400)
    // On B itself: refused by the tenant check.
    await refused(await SELF.fetch(flow.completeUrl, withCookie(flow.cookie)), 403)
    // And the code is used up.
    await refused(await SELF.fetch(flow.completeUrl, withCookie(flow.cookie)), 400)
  })
})

describe('review: completion codes and chooser tokens stay in their browser and on their host', () => {
  async function twoHostsOfOneOrg() {
    const tenant = await seedSignInTenant()
    const second = `${uniqueLabel('acme2')}.${ZONE}`
    await apiJson('POST', `/orgs/${tenant.orgId}/hostnames`, { hostname: second }, 201)
    return { tenant, second }
  }

  it('a completion code cannot be finished on another host of the same organization', async () => {
    const { tenant, second } = await twoHostsOfOneOrg()
    const flow = await upToComplete(tenant.hostname, tenant.user)
    const elsewhere = new URL(flow.completeUrl)
    elsewhere.hostname = second
    const secondCookie = (await startLogin(second)).cookie
    await refused(await SELF.fetch(elsewhere, withCookie(secondCookie)), 400)
    await refused(await SELF.fetch(elsewhere, withCookie(flow.cookie)), 400)
    expect((await SELF.fetch(flow.completeUrl, withCookie(flow.cookie))).status).toBe(200)
  })

  async function chooserOn(hostname: string, tenant: Awaited<ReturnType<typeof seedSignInTenant>>) {
    const result = await signIn(hostname, tenant.user)
    expect(result.html).toContain('Choose a phone system')
    const token = /name="token" value="([^"]+)"/.exec(result.html)![1]!
    return { cookie: result.cookie, token }
  }

  function choose(hostname: string, cookie: string | null, body: Record<string, string>) {
    const init = withCookie(cookie)
    return SELF.fetch(`https://${hostname}/sso/choose`, {
      ...init,
      method: 'POST',
      headers: {
        ...(init.headers as Record<string, string>),
        'content-type': 'application/x-www-form-urlencoded',
        origin: `https://${hostname}`,
        'sec-fetch-site': 'same-origin',
      },
      body: new URLSearchParams(body).toString(),
    })
  }

  it("a chooser token works only with its own flow's cookie on its own host", async () => {
    const { tenant, second } = await twoHostsOfOneOrg()
    const support = await phoneSystemNamed(tenant.orgId, 'Support', tenant.tenantId)
    await putList(support.id, [{ oid: tenant.user.oid }])
    const victim = await chooserOn(tenant.hostname, tenant)
    const attacker = await chooserOn(tenant.hostname, tenant)
    // The attacker's token in the victim's browser (and the other way round): refused.
    await refused(await choose(tenant.hostname, victim.cookie, { token: attacker.token, phoneSystem: support.id }), 400)
    // The victim's token on the organization's other host, with that host's own flow cookie: refused.
    const secondCookie = (await startLogin(second)).cookie
    await refused(await choose(second, secondCookie, { token: victim.token, phoneSystem: support.id }), 400)
    // With the first host's cookie sent to the second host: refused.
    await refused(await choose(second, victim.cookie, { token: victim.token, phoneSystem: support.id }), 400)
    // The victim's own choice still works, once.
    expect(
      (await choose(tenant.hostname, victim.cookie, { token: victim.token, phoneSystem: support.id })).status,
    ).toBe(200)
    await refused(await choose(tenant.hostname, victim.cookie, { token: victim.token, phoneSystem: support.id }), 400)
  })

  it('a chooser token cannot be re-armed by replaying the completion code', async () => {
    const tenant = await seedSignInTenant()
    const support = await phoneSystemNamed(tenant.orgId, 'Support', tenant.tenantId)
    await putList(support.id, [{ oid: tenant.user.oid }])
    const flow = await upToComplete(tenant.hostname, tenant.user)
    const first = await SELF.fetch(flow.completeUrl, withCookie(flow.cookie))
    expect(await first.text()).toContain('Choose a phone system')
    await refused(await SELF.fetch(flow.completeUrl, withCookie(flow.cookie)), 400)
  })

  it("a direct host's callback cannot be finished through the central path (no completion code is ever minted)", async () => {
    const tenant = await seedSignInTenant({ callbackMode: 'direct' })
    const { cookie, authorizeUrl } = await startLogin(tenant.hostname)
    const callback = await pickAccount(authorizeUrl, tenant.user)
    expect(callback.hostname).toBe(tenant.hostname)
    // Sent to the primary host instead: refused, and nothing is handed back.
    const onPrimary = new URL(callback)
    onPrimary.hostname = PRIMARY
    const res = await SELF.fetch(onPrimary, withCookie(null))
    expect(res.status).toBe(400)
    expect(res.headers.get('location')).toBeNull()
    // That attempt used nothing up (it never reached D1): the real callback, in the browser that
    // started the sign-in, still finishes, once.
    const real = await SELF.fetch(callback, withCookie(cookie))
    expect(real.status).toBe(200)
    expect(await real.text()).toContain(HANDOFF_FIELD)
    await refused(await SELF.fetch(callback, withCookie(cookie)), 400)
  })
})
