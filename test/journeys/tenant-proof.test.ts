/**
 * Tenant proof (the trust model between partners): a partner key can name
 * an Entra tenant, but nothing is read from it and nobody of it is signed in
 * until an administrator of that tenant connects it through a one-time link
 * (their sign-in with an administrator role, then Entra's admin consent,
 * believed only once an app-only token is issued). Driven end to end
 * against the Entra, Graph and Microsoft 365 stand-ins.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import {
  addEntraUser,
  answerConsent,
  api,
  apiJson,
  CONNECT_COOKIE,
  consent,
  createCustomer,
  dbAll,
  directory,
  dirUser,
  entraControl,
  expectJson,
  HANDOFF_FIELD,
  newTenantId,
  PRIMARY,
  partnerWithKey,
  pickAccount,
  pressConnect,
  ROLES,
  runCron,
  signIn,
  type TestUser,
  uniqueLabel,
  withCookie,
  ZONE,
} from '../fixtures'

function asPartner(key: string) {
  return (method: string, path: string, body?: unknown) => api(method, path, body, { key })
}

/** A partner with a customer, a login host, and a phone system the partner created (so: unverified) in a fresh tenant. */
async function partnerPhoneSystem(tid = newTenantId()) {
  const { partner, key } = await partnerWithKey()
  const as = asPartner(key)
  const customer = await expectJson(await as('POST', '/orgs', { name: 'Customer', kind: 'customer' }), 201)
  const hostname = `${uniqueLabel('cust')}.${ZONE}`
  await expectJson(await as('POST', `/orgs/${customer.id}/hostnames`, { hostname }), 201)
  const ps = await expectJson(
    await as('POST', `/orgs/${customer.id}/phone-systems`, {
      name: 'Phones',
      webClientUrl: 'https://pbx.partner.example/',
      handoffUrl: 'https://pbx.partner.example/sso',
      entraTenantId: tid,
    }),
    201,
  )
  return { partner, key, as, customer, hostname, ps, tid }
}

/** Opens the link as a browser would and presses "Connect Microsoft 365": the Entra authorize URL and the cookie. */
async function openAndPress(connectUrl: string) {
  const page = await SELF.fetch(connectUrl)
  expect(page.status).toBe(200)
  // Its form's answer redirects to Entra: the CSP must let the form go there, and nowhere else.
  expect(page.headers.get('content-security-policy')).toContain(
    `form-action 'self' ${new URL(env.ENTRA_AUTHORITY!).origin};`,
  )
  const html = await page.text()
  expect(html).toContain('Connect Microsoft 365')
  return { ...(await pressConnect(connectUrl)), html }
}

/** The whole connect: sign-in as `signer`, then consent as `consenter` (default: the same person). */
async function connect(connectUrl: string, signer: TestUser, consenter: TestUser | null = signer) {
  const { authorizeUrl, cookie } = await openAndPress(connectUrl)
  const callback = await pickAccount(authorizeUrl, signer)
  expect(callback.pathname).toBe('/connect/callback')
  const afterSignIn = await SELF.fetch(callback, withCookie(cookie, CONNECT_COOKIE))
  if (afterSignIn.status !== 302) return { res: afterSignIn, html: await afterSignIn.text(), cookie }
  const consentUrl = new URL(afterSignIn.headers.get('location')!)
  expect(consentUrl.pathname).toMatch(/\/v2\.0\/adminconsent$/)
  const answer = await answerConsent(consentUrl, consenter)
  const res = await SELF.fetch(answer, withCookie(cookie, CONNECT_COOKIE))
  return { res, html: await res.text(), cookie, consentUrl, answer }
}

async function linkFor(as: (m: string, p: string, b?: unknown) => Promise<Response>, psId: string) {
  return expectJson(await as('POST', `/phone-systems/${psId}/connect`), 201)
}

async function statusOf(psId: string): Promise<string> {
  return (await apiJson('GET', `/phone-systems/${psId}`)).tenantStatus
}

describe('a phone system a partner names a tenant for is unverified, and serves nobody', () => {
  it('starts unverified; Sync answers 409 tenant_not_connected and reads nothing from Graph', async () => {
    const { as, ps, tid } = await partnerPhoneSystem()
    expect(ps.tenantStatus).toBe('unverified')
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    const before = (await entraControl('hits', undefined, 'GET'))[`client_credentials:${tid}`] ?? 0
    const res = await as('POST', `/phone-systems/${ps.id}/sync`)
    const body = await expectJson(res, 409)
    expect(body.error.code).toBe('tenant_not_connected')
    expect(body.error.message).toContain('connect link')
    expect((await entraControl('hits', undefined, 'GET'))[`client_credentials:${tid}`] ?? 0).toBe(before)
    expect(await dbAll('SELECT count(*) AS n FROM sso_users WHERE phone_system_id = ?', ps.id)).toEqual([{ n: 0 }])
  })

  it('is skipped by the scheduled sync', async () => {
    const { ps, tid } = await partnerPhoneSystem()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ? WHERE id = ?')
      .bind(Date.now() - 1, ps.id)
      .run()
    await runCron()
    expect(await dbAll('SELECT last_sync_at FROM phone_systems WHERE id = ?', ps.id)).toEqual([{ last_sync_at: null }])
  })

  it('its list may be PUT, but its users are offered it on no host: the host says Microsoft 365 is not connected', async () => {
    const { as, ps, tid, hostname } = await partnerPhoneSystem()
    const user = await addEntraUser(tid, 'Listed User')
    await expectJson(
      await as('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ oid: user.oid, upn: user.upn }] }),
      200,
    )

    const login = await SELF.fetch(`https://${hostname}/sso/login`, { redirect: 'manual' })
    expect(login.status).toBe(503)
    expect(await login.text()).toContain('Microsoft 365 is not connected yet')

    const primary = await signIn(PRIMARY, user)
    expect(primary.res.status).toBe(403)
    expect(primary.html).not.toContain(HANDOFF_FIELD)
  })
})

describe('hole 1: a partner can no longer claim another customer’s tenant', () => {
  it('a tenant proven in one partner’s subtree cannot be named from another’s (409 tenant_claimed), at create or change', async () => {
    const victim = await partnerPhoneSystem()
    await apiJson('PATCH', `/phone-systems/${victim.ps.id}`, { entraTenantId: victim.tid }) // ops vouch: trusted
    expect(await statusOf(victim.ps.id)).toBe('trusted')

    const attacker = await partnerWithKey('Attacker')
    const as = asPartner(attacker.key)
    const customer = await expectJson(await as('POST', '/orgs', { name: 'Decoy', kind: 'customer' }), 201)
    const create = await as('POST', `/orgs/${customer.id}/phone-systems`, {
      name: 'Lookalike',
      webClientUrl: 'https://attacker.example/',
      handoffUrl: 'https://attacker.example/sso',
      entraTenantId: victim.tid,
    })
    expect((await expectJson(create, 409)).error.code).toBe('tenant_claimed')

    const own = await expectJson(
      await as('POST', `/orgs/${customer.id}/phone-systems`, {
        name: 'Own',
        webClientUrl: 'https://attacker.example/',
        handoffUrl: 'https://attacker.example/sso',
        entraTenantId: newTenantId(),
      }),
      201,
    )
    const change = await as('PATCH', `/phone-systems/${own.id}`, { entraTenantId: victim.tid })
    expect((await expectJson(change, 409)).error.code).toBe('tenant_claimed')
    expect((await apiJson('GET', `/phone-systems/${own.id}`)).entraTenantId).not.toBe(victim.tid)
  })

  it("on the primary host a user is never offered (nor handed to) another partner's unverified phone system naming their tenant", async () => {
    const tid = newTenantId()
    // The attacker names the tenant first (unverified), then the real partner's customer connects it.
    const attacker = await partnerPhoneSystem(tid)
    const real = await partnerWithKey('Real partner')
    const realCustomer = await createCustomer(real.partner.id)
    const realPs = await apiJson(
      'POST',
      `/orgs/${realCustomer.id}/phone-systems`,
      {
        name: 'Real',
        webClientUrl: 'https://pbx.real.example/',
        handoffUrl: 'https://pbx.real.example/sso',
        entraTenantId: tid,
      },
      201,
    )
    expect(realPs.tenantStatus).toBe('trusted')
    const victim = await addEntraUser(tid, 'Victim')
    await expectJson(
      await attacker.as('PUT', `/phone-systems/${attacker.ps.id}/sso-users`, { users: [{ upn: victim.upn }] }),
      200,
    )
    await apiJson('PUT', `/phone-systems/${realPs.id}/sso-users`, { users: [{ oid: victim.oid }] })

    const result = await signIn(PRIMARY, victim)
    expect(result.res.status).toBe(200)
    expect(result.html).not.toContain('Choose a phone system')
    expect(result.html).toContain('action="https://pbx.real.example/sso"')
    expect(result.html).not.toContain('attacker')
    expect(await statusOf(attacker.ps.id)).toBe('unverified')
  })

  it('ops release a tenant: every phone system naming it is unverified again, and another subtree may name it (a partner key may not release)', async () => {
    const first = await partnerPhoneSystem()
    await apiJson('PATCH', `/phone-systems/${first.ps.id}`, { entraTenantId: first.tid })
    expect((await expectJson(await first.as('POST', `/tenants/${first.tid}/release`), 403)).error.code).toBe(
      'forbidden',
    )
    const released = await apiJson('POST', `/tenants/${first.tid}/release`)
    expect(released).toMatchObject({ tid: first.tid, partnerId: first.partner.id, status: 'trusted' })
    expect(await statusOf(first.ps.id)).toBe('unverified')
    const audit = await dbAll<any>(
      "SELECT actor, summary FROM audit_log WHERE action = 'tenant.release' AND target_id = ?",
      first.tid,
    )
    expect(audit).toHaveLength(1)
    expect(audit[0].actor).toBe('ops')
    const second = await partnerPhoneSystem(first.tid)
    expect(second.ps.tenantStatus).toBe('unverified')
    expect((await expectJson(await first.as('POST', `/tenants/${newTenantId()}/release`), 403)).error.code).toBe(
      'forbidden',
    )
    expect((await api('POST', `/tenants/${newTenantId()}/release`)).status).toBe(404)
  })
})

describe('connecting Microsoft 365 with a one-time link', () => {
  it('an administrator signs in, consents, and the tenant is verified for the partner’s subtree; Sync then works', async () => {
    const { as, ps, tid, partner } = await partnerPhoneSystem()
    const admin = await addEntraUser(tid, 'Grace Admin', [ROLES.globalAdministrator])
    const link = await linkFor(as, ps.id)
    expect(link.connectUrl).toMatch(new RegExp(`^https://${PRIMARY}/connect/[A-Za-z0-9_-]{43}$`))
    expect(Date.parse(link.expiresAt) - Date.now()).toBeLessThanOrEqual(7 * 24 * 3600_000)
    expect(
      await dbAll(
        'SELECT count(*) AS n FROM connect_links WHERE token_hash LIKE ?',
        `%${link.connectUrl.split('/').pop()}%`,
      ),
    ).toEqual([{ n: 0 }])

    const { res, html } = await connect(link.connectUrl, admin)
    expect(res.status, html).toBe(200)
    expect(html).toContain('Connected')
    expect(res.headers.getSetCookie().some((c) => c.startsWith(`${CONNECT_COOKIE}=;`))).toBe(true)
    expect(await statusOf(ps.id)).toBe('verified')
    const [claim] = await dbAll<any>('SELECT partner_id, status, proof FROM tenant_claims WHERE tid = ?', tid)
    expect(claim).toMatchObject({ partner_id: partner.id, status: 'verified' })
    expect(JSON.parse(claim.proof).administrator).toMatchObject({
      oid: admin.oid,
      upn: admin.upn,
      role: 'Global Administrator',
    })
    const [audit] = await dbAll<any>(
      "SELECT summary FROM audit_log WHERE action = 'tenant.connect' AND target_id = ?",
      tid,
    )
    expect(JSON.parse(audit.summary).administrator.oid).toBe(admin.oid)

    await directory(tid, { direct: [dirUser(1), dirUser(2)] })
    expect(await expectJson(await as('POST', `/phone-systems/${ps.id}/sync`), 200)).toMatchObject({ added: 2 })
  })

  it('the connect page says who asks, for which phone system and tenant, which permissions, and until when', async () => {
    const { as, ps, tid } = await partnerPhoneSystem()
    const link = await linkFor(as, ps.id)
    const { html } = await openAndPress(link.connectUrl)
    const text = html.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ')
    expect(text).toContain(`connect it to the phone system Phones`)
    expect(text).toContain(`(tenant ${tid})`)
    for (const permission of ['Application.Read.All', 'GroupMember.Read.All', 'User.Read.All']) {
      expect(text).toContain(permission)
    }
    expect(text).toContain('This request comes from Customer through Phone System&#39;s sign-in service')
    const until = new Date(Date.parse(link.expiresAt))
    const day = until.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })
    expect(text).toContain(`It works once, until ${day}, `)
    expect(text).toMatch(/until [^.]+ \d{2}:\d{2} UTC\./)
  })

  it('a user who is not an administrator gets a 403 page, nothing changes, and the link still works for the administrator', async () => {
    const { as, ps, tid } = await partnerPhoneSystem()
    const clerk = await addEntraUser(tid, 'Carl Clerk', [ROLES.userAdministrator])
    const admin = await addEntraUser(tid, 'Cloud Admin', [ROLES.cloudApplicationAdministrator])
    const link = await linkFor(as, ps.id)
    const refused = await connect(link.connectUrl, clerk)
    expect(refused.res.status).toBe(403)
    expect(refused.html).toContain('An administrator must open this link')
    expect(refused.html).toContain(link.connectUrl)
    expect(await statusOf(ps.id)).toBe('unverified')
    expect(await dbAll('SELECT count(*) AS n FROM tenant_claims WHERE tid = ?', tid)).toEqual([{ n: 0 }])
    expect((await connect(link.connectUrl, admin)).res.status).toBe(200)
    expect(await statusOf(ps.id)).toBe('verified')
  })

  it('an administrator who cancels the consent connects nothing, and may try again', async () => {
    const { as, ps, tid } = await partnerPhoneSystem()
    const admin = await addEntraUser(tid, 'Grace Admin', [ROLES.globalAdministrator])
    const link = await linkFor(as, ps.id)
    const declined = await connect(link.connectUrl, admin, null)
    expect(declined.res.status).toBe(403)
    expect(declined.html).toContain('Nothing was connected')
    expect(await statusOf(ps.id)).toBe('unverified')
    expect((await connect(link.connectUrl, admin)).res.status).toBe(200)
  })

  it('refuses a consent answer typed by hand: admin_consent=True without consent is confirmed by no app-only token', async () => {
    const { as, ps, tid } = await partnerPhoneSystem()
    const admin = await addEntraUser(tid, 'Grace Admin', [ROLES.globalAdministrator])
    const link = await linkFor(as, ps.id)
    const { authorizeUrl, cookie } = await openAndPress(link.connectUrl)
    const afterSignIn = await SELF.fetch(await pickAccount(authorizeUrl, admin), withCookie(cookie, CONNECT_COOKIE))
    expect(afterSignIn.status).toBe(302)
    const consentUrl = new URL(afterSignIn.headers.get('location')!)
    // Never visit Entra: forge its unsigned answer.
    const forged = new URL(consentUrl.searchParams.get('redirect_uri')!)
    forged.searchParams.set('admin_consent', 'True')
    forged.searchParams.set('tenant', tid)
    forged.searchParams.set('state', consentUrl.searchParams.get('state')!)
    const res = await SELF.fetch(forged, withCookie(cookie, CONNECT_COOKIE))
    expect(res.status).toBe(502)
    expect(await res.text()).toContain('The connection could not be confirmed')
    expect(await statusOf(ps.id)).toBe('unverified')
    expect(await dbAll('SELECT used_at FROM connect_links WHERE phone_system_id = ?', ps.id)).toEqual([
      { used_at: null },
    ])
  })

  it('refuses a forged consent answer even where the app is installed without consent (a token, but without the roles)', async () => {
    const { as, ps, tid } = await partnerPhoneSystem()
    const admin = await addEntraUser(tid, 'Grace Admin', [ROLES.globalAdministrator])
    // The service principal exists (say, from a user's sign-in), nothing is consented: Entra still issues tokens.
    await consent(tid, [])
    const link = await linkFor(as, ps.id)
    const { authorizeUrl, cookie } = await openAndPress(link.connectUrl)
    const afterSignIn = await SELF.fetch(await pickAccount(authorizeUrl, admin), withCookie(cookie, CONNECT_COOKIE))
    const consentUrl = new URL(afterSignIn.headers.get('location')!)
    const forged = new URL(consentUrl.searchParams.get('redirect_uri')!)
    forged.searchParams.set('admin_consent', 'True')
    forged.searchParams.set('tenant', tid)
    forged.searchParams.set('state', consentUrl.searchParams.get('state')!)
    const res = await SELF.fetch(forged, withCookie(cookie, CONNECT_COOKIE))
    expect(res.status).toBe(502)
    const html = await res.text()
    expect(html).toContain('The connection could not be confirmed')
    expect(html).toContain('Not granted: Application.Read.All, GroupMember.Read.All, User.Read.All')
    expect(await statusOf(ps.id)).toBe('unverified')
  })

  it('a consent answer for another tenant is refused', async () => {
    const { as, ps, tid } = await partnerPhoneSystem()
    const admin = await addEntraUser(tid, 'Grace Admin', [ROLES.globalAdministrator])
    const link = await linkFor(as, ps.id)
    const { authorizeUrl, cookie } = await openAndPress(link.connectUrl)
    const afterSignIn = await SELF.fetch(await pickAccount(authorizeUrl, admin), withCookie(cookie, CONNECT_COOKIE))
    const consentUrl = new URL(afterSignIn.headers.get('location')!)
    const answer = await answerConsent(consentUrl, admin)
    answer.searchParams.set('tenant', newTenantId())
    expect((await SELF.fetch(answer, withCookie(cookie, CONNECT_COOKIE))).status).toBe(403)
    expect(await statusOf(ps.id)).toBe('unverified')
  })

  it('a link is one-time: used, expired or replaced, it shows a page that says so and changes nothing', async () => {
    const { as, ps, tid } = await partnerPhoneSystem()
    const admin = await addEntraUser(tid, 'Grace Admin', [ROLES.globalAdministrator])
    const replaced = await linkFor(as, ps.id)
    const link = await linkFor(as, ps.id)
    const gone = await SELF.fetch(replaced.connectUrl)
    expect(gone.status).toBe(404)
    expect(await gone.text()).toContain('This connect link is no longer valid')

    expect((await connect(link.connectUrl, admin)).res.status).toBe(200)
    const used = await SELF.fetch(link.connectUrl)
    expect(used.status).toBe(404)

    const other = await partnerPhoneSystem()
    const expiring = await linkFor(other.as, other.ps.id)
    await env.DB.prepare('UPDATE connect_links SET expires_at = ? WHERE phone_system_id = ?')
      .bind(Date.now() - 1, other.ps.id)
      .run()
    expect((await SELF.fetch(expiring.connectUrl)).status).toBe(404)
  })

  it('the connect callback is bound to the browser that opened the link, and its states work once', async () => {
    const { as, ps, tid } = await partnerPhoneSystem()
    const admin = await addEntraUser(tid, 'Grace Admin', [ROLES.globalAdministrator])
    const link = await linkFor(as, ps.id)
    const { authorizeUrl, cookie } = await openAndPress(link.connectUrl)
    const callback = await pickAccount(authorizeUrl, admin)
    const sessions = () => dbAll('SELECT id, phase, state_hash FROM connect_sessions ORDER BY id')
    const before = await sessions()
    // Another browser (no cookie, or another session's cookie) is refused, and nothing is written or used up.
    expect((await SELF.fetch(callback, withCookie(null, CONNECT_COOKIE))).status).toBe(400)
    const elsewhere = await partnerPhoneSystem()
    const other = await openAndPress((await linkFor(elsewhere.as, elsewhere.ps.id)).connectUrl)
    const afterOther = await sessions()
    expect((await SELF.fetch(callback, withCookie(other.cookie, CONNECT_COOKIE))).status).toBe(400)
    expect(await sessions()).toEqual(afterOther)
    expect(afterOther.length).toBe(before.length + 1)
    // The browser that opened the link goes on to consent; its state then works no more.
    expect((await SELF.fetch(callback, withCookie(cookie, CONNECT_COOKIE))).status).toBe(302)
    expect((await SELF.fetch(callback, withCookie(cookie, CONNECT_COOKIE))).status).toBe(400)
    expect(await statusOf(ps.id)).toBe('unverified')
  })

  it('connect pages exist on the primary host only', async () => {
    const { as, ps, hostname } = await partnerPhoneSystem()
    const link = await linkFor(as, ps.id)
    const token = link.connectUrl.split('/').pop()
    expect((await SELF.fetch(`https://${hostname}/connect/${token}`)).status).toBe(404)
  })
})
