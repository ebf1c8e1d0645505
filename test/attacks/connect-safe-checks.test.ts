/**
 * Review 2: attacks on tenant proof that turned out SAFE (these pass). Kept
 * as regression tests: a hostile partner, an anonymous visitor, a
 * non-administrator.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { TEST_ADMIN_KEY, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_FLOW_KEY } from '../bindings'
import {
  addEntraUser,
  answerConsent,
  api,
  apiJson,
  CONNECT_COOKIE,
  consent,
  cookieFrom,
  entraControl,
  expectJson,
  newTenantId,
  PRIMARY,
  partnerWithKey,
  pickAccount,
  pressConnect,
  ROLES,
  withCookie,
} from '../fixtures'

async function partnerPhoneSystem(tid = newTenantId()) {
  const { partner, key } = await partnerWithKey()
  const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key })
  const customer = await expectJson(await as('POST', '/orgs', { name: 'Customer', kind: 'customer' }), 201)
  const ps = await expectJson(
    await as('POST', `/orgs/${customer.id}/phone-systems`, {
      name: 'Phones',
      webClientUrl: 'https://pbx.partner.example/',
      handoffUrl: 'https://pbx.partner.example/sso',
      entraTenantId: tid,
    }),
    201,
  )
  return { partner, key, as, customer, ps, tid }
}

async function statusOf(psId: string): Promise<string> {
  return (await apiJson('GET', `/phone-systems/${psId}`)).tenantStatus
}

function noLeak(text: string) {
  for (const secret of [TEST_ADMIN_KEY, TEST_CLIENT_SECRET, TEST_FLOW_KEY, 'at async', 'node_modules']) {
    expect(text).not.toContain(secret)
  }
}

describe('review2 (safe): a hostile partner', () => {
  it("cannot ask for a connect link of another partner's phone system (same 404 as a missing one)", async () => {
    const victim = await partnerPhoneSystem()
    const attacker = await partnerWithKey('Attacker')
    const res = await api('POST', `/phone-systems/${victim.ps.id}/connect`, undefined, { key: attacker.key })
    expect((await expectJson(res, 404)).error.code).toBe('not_found')
    const missing = await api('POST', '/phone-systems/ps_doesnotexist000000/connect', undefined, { key: attacker.key })
    expect(missing.status).toBe(404)
  })

  it('cannot dodge tenant_claimed with an upper-case GUID', async () => {
    const victim = await partnerPhoneSystem()
    await apiJson('PATCH', `/phone-systems/${victim.ps.id}`, { entraTenantId: victim.tid })
    const attacker = await partnerPhoneSystem()
    const res = await attacker.as('PATCH', `/phone-systems/${attacker.ps.id}`, {
      entraTenantId: victim.tid.toUpperCase(),
    })
    expect((await expectJson(res, 409)).error.code).toBe('tenant_claimed')
  })

  it('cannot flip the phone system to a consented victim tenant between sign-in and consent (its own admin signed in)', async () => {
    const own = await partnerPhoneSystem()
    const ownAdmin = await addEntraUser(own.tid, 'Own Admin', [ROLES.globalAdministrator])
    const victimTid = newTenantId()
    await consent(victimTid) // the provider's app already works in the victim tenant
    const link = await expectJson(await own.as('POST', `/phone-systems/${own.ps.id}/connect`), 201)
    const { authorizeUrl, cookie } = await pressConnect(link.connectUrl)
    const afterSignIn = await SELF.fetch(await pickAccount(authorizeUrl, ownAdmin), withCookie(cookie, CONNECT_COOKIE))
    expect(afterSignIn.status).toBe(302)
    await expectJson(await own.as('PATCH', `/phone-systems/${own.ps.id}`, { entraTenantId: victimTid }))
    const consentUrl = new URL(afterSignIn.headers.get('location')!)
    const answer = await answerConsent(consentUrl, ownAdmin)
    answer.searchParams.set('tenant', victimTid) // forged to match
    const res = await SELF.fetch(answer, withCookie(cookie, CONNECT_COOKIE))
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    expect(await statusOf(own.ps.id)).toBe('unverified')
    expect(await apiJson('GET', `/phone-systems/${own.ps.id}`)).toMatchObject({ entraTenantId: victimTid })
  })

  it('cannot flip the phone system between the connect POST and the sign-in callback', async () => {
    const own = await partnerPhoneSystem()
    const ownAdmin = await addEntraUser(own.tid, 'Own Admin', [ROLES.globalAdministrator])
    const victimTid = newTenantId()
    await consent(victimTid)
    const link = await expectJson(await own.as('POST', `/phone-systems/${own.ps.id}/connect`), 201)
    const { authorizeUrl, cookie } = await pressConnect(link.connectUrl)
    const callback = await pickAccount(authorizeUrl, ownAdmin)
    await expectJson(await own.as('PATCH', `/phone-systems/${own.ps.id}`, { entraTenantId: victimTid }))
    const res = await SELF.fetch(callback, withCookie(cookie, CONNECT_COOKIE))
    expect(res.status).not.toBe(302)
    expect(res.status).toBeLessThan(600)
    expect(await statusOf(own.ps.id)).toBe('unverified')
  })

  it('its own connect cookie does not finish a session started in another browser', async () => {
    const victim = await partnerPhoneSystem()
    const admin = await addEntraUser(victim.tid, 'Grace Admin', [ROLES.globalAdministrator])
    const victimLink = await expectJson(await victim.as('POST', `/phone-systems/${victim.ps.id}/connect`), 201)
    const attacker = await partnerPhoneSystem()
    const attackerLink = await expectJson(await attacker.as('POST', `/phone-systems/${attacker.ps.id}/connect`), 201)
    const theirs = await pressConnect(attackerLink.connectUrl)
    const mine = await pressConnect(victimLink.connectUrl)
    const callback = await pickAccount(mine.authorizeUrl, admin)
    expect((await SELF.fetch(callback, withCookie(theirs.cookie, CONNECT_COOKIE))).status).toBe(400)
    expect(await statusOf(victim.ps.id)).toBe('unverified')
    expect(await statusOf(attacker.ps.id)).toBe('unverified')
  })

  it('a portal integration cannot name the provider app or another portal app in another spelling', async () => {
    const a = await partnerWithKey('A')
    const b = await partnerWithKey('B')
    const clientId = crypto.randomUUID()
    await entraControl('apps', { clientId, secret: 's', redirectUris: [] })
    await expectJson(
      await api(
        'PUT',
        `/orgs/${a.partner.id}/microsoft-integration`,
        { clientId, clientSecret: 's', homeTenantId: newTenantId() },
        { key: a.key },
      ),
    )
    for (const id of [TEST_CLIENT_ID.toUpperCase(), clientId.toUpperCase()]) {
      const res = await api(
        'PUT',
        `/orgs/${b.partner.id}/microsoft-integration`,
        { clientId: id, clientSecret: 'guess', homeTenantId: newTenantId() },
        { key: b.key },
      )
      expect((await expectJson(res, 409)).error.code).toBe('client_id_in_use')
    }
  })

  it("a verified tenant does not make another partner's earlier phone systems naming it usable", async () => {
    const tid = newTenantId()
    const early = await partnerPhoneSystem(tid)
    const real = await partnerPhoneSystem(tid)
    const admin = await addEntraUser(tid, 'Grace Admin', [ROLES.globalAdministrator])
    const link = await expectJson(await real.as('POST', `/phone-systems/${real.ps.id}/connect`), 201)
    const { authorizeUrl, cookie } = await pressConnect(link.connectUrl)
    const afterSignIn = await SELF.fetch(await pickAccount(authorizeUrl, admin), withCookie(cookie, CONNECT_COOKIE))
    const answer = await answerConsent(new URL(afterSignIn.headers.get('location')!), admin)
    expect((await SELF.fetch(answer, withCookie(cookie, CONNECT_COOKIE))).status).toBe(200)
    expect(await statusOf(real.ps.id)).toBe('verified')
    expect(await statusOf(early.ps.id)).toBe('unverified')
    // renaming, re-naming the same tenant, or a round trip through another tenant changes nothing
    await expectJson(await early.as('PATCH', `/phone-systems/${early.ps.id}`, { name: 'x', entraTenantId: tid }))
    expect(await statusOf(early.ps.id)).toBe('unverified')
    await expectJson(await early.as('PATCH', `/phone-systems/${early.ps.id}`, { entraTenantId: newTenantId() }))
    expect(
      (await expectJson(await early.as('PATCH', `/phone-systems/${early.ps.id}`, { entraTenantId: tid }), 409)).error
        .code,
    ).toBe('tenant_claimed')
    const sync = await early.as('POST', `/phone-systems/${early.ps.id}/sync`)
    expect(sync.status).toBe(409)
  })
})

describe('review2 (safe): an anonymous visitor', () => {
  it.each([
    ['a malformed escape', '/connect/%E0%A4%A'],
    ['an encoded traversal', '/connect/..%2f..%2fapi%2fv1%2forgs'],
    ['a well-formed unknown token', `/connect/${'A'.repeat(43)}`],
    ['a 5000-character token', `/connect/${'A'.repeat(5000)}`],
    ['a bare callback', '/connect/callback'],
    ['a repeated state', '/connect/callback?state=a&state=b'],
    ['a 600-character state', `/connect/callback?state=${'x'.repeat(600)}`],
    ['a lone surrogate state', '/connect/callback?state=%ED%A0%80&code=x'],
    ['a hostile error', '/connect/callback?error=%00%ff&error_description=AADSTS99999999999999999999&state=x'],
    ['a forged consent answer', '/connect/callback?admin_consent=True&tenant=x&state=y'],
    ['an empty token', '/connect/'],
  ])('GET with %s answers below 500, redirects nowhere, leaks nothing', async (_name, path) => {
    const res = await SELF.fetch(`https://${PRIMARY}${path}`, {
      redirect: 'manual',
      headers: { cookie: `${CONNECT_COOKIE}=a.b.c.d.e; ${CONNECT_COOKIE}=${'x'.repeat(5000)}` },
    })
    const text = await res.text()
    expect(res.status, text.slice(0, 300)).toBeLessThan(500)
    expect(res.headers.get('location')).toBeNull()
    noLeak(text)
  })

  it('an unknown token looks exactly like a used or replaced one (no enumeration)', async () => {
    const { as, ps } = await partnerPhoneSystem()
    const replaced = await expectJson(await as('POST', `/phone-systems/${ps.id}/connect`), 201)
    await expectJson(await as('POST', `/phone-systems/${ps.id}/connect`), 201)
    const a = await SELF.fetch(replaced.connectUrl)
    const b = await SELF.fetch(`https://${PRIMARY}/connect/${'B'.repeat(43)}`)
    expect(a.status).toBe(404)
    expect(b.status).toBe(404)
    const strip = (t: string) =>
      t
        .replace(/nonce="[^"]+"/g, '')
        .replace(/nonce-[A-Za-z0-9_-]+/g, '')
        .replace(/Reference: <code>[0-9a-f-]+<\/code>/, '')
    const ta = strip(await a.text())
    const tb = strip(await b.text())
    expect(ta).toBe(tb)
  })

  it.each([
    ['no Origin and no Sec-Fetch-Site, no content type', {}],
    ['a cross-site form post', { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }],
    ['Sec-Fetch-Site cross-site, text/plain', { 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' }],
    ['a sibling subdomain', { origin: 'https://evil.localhost', 'content-type': 'multipart/form-data; boundary=x' }],
  ])('the connect POST refuses CSRF: %s', async (_name, headers) => {
    const { as, ps } = await partnerPhoneSystem()
    const link = await expectJson(await as('POST', `/phone-systems/${ps.id}/connect`), 201)
    const res = await SELF.fetch(link.connectUrl, { method: 'POST', redirect: 'manual', headers, body: '' })
    expect(res.status).toBe(403)
    expect(cookieFrom(res, CONNECT_COOKIE)).toBeNull()
  })

  it('the connect POST only ever redirects to the Entra authority, whatever the request carries', async () => {
    const { as, ps } = await partnerPhoneSystem()
    const link = await expectJson(await as('POST', `/phone-systems/${ps.id}/connect`), 201)
    const url = new URL(link.connectUrl)
    const res = await SELF.fetch(`${link.connectUrl}?redirect_uri=https://evil.example/&next=//evil.example`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        origin: url.origin,
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/x-www-form-urlencoded',
        'x-forwarded-host': 'evil.example',
      },
      body: 'redirect_uri=https%3A%2F%2Fevil.example%2F',
    })
    expect(res.status).toBe(302)
    const location = new URL(res.headers.get('location')!)
    expect(location.origin).toBe(new URL(env.ENTRA_AUTHORITY!).origin)
    expect(location.searchParams.get('redirect_uri')).toBe(`https://${PRIMARY}/connect/callback`)
  })
})

describe('review2 (safe): a user of the tenant who is not an administrator', () => {
  it('cannot connect, nor finish the consent leg by forging the answer', async () => {
    const { as, ps, tid } = await partnerPhoneSystem()
    await consent(tid) // even where the app already works in the tenant
    const clerk = await addEntraUser(tid, 'Carl Clerk', [ROLES.userAdministrator])
    const link = await expectJson(await as('POST', `/phone-systems/${ps.id}/connect`), 201)
    const { authorizeUrl, cookie } = await pressConnect(link.connectUrl)
    const callback = await pickAccount(authorizeUrl, clerk)
    const refused = await SELF.fetch(callback, withCookie(cookie, CONNECT_COOKIE))
    expect(refused.status).toBe(403)
    // The sign-in state is used up: forging a consent answer with it finds nothing.
    const forged = new URL(`https://${PRIMARY}/connect/callback`)
    forged.searchParams.set('admin_consent', 'True')
    forged.searchParams.set('tenant', tid)
    forged.searchParams.set('state', callback.searchParams.get('state')!)
    expect((await SELF.fetch(forged, withCookie(cookie, CONNECT_COOKIE))).status).toBe(400)
    expect(await statusOf(ps.id)).toBe('unverified')
  })
})
