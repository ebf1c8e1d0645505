/**
 * Authorization end to end: Entra stand-in, D1 lists, the handoff or the
 * refusal a user sees.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { apiJson, createCustomer, createPartner, dbAll, PRIMARY, uniqueLabel, ZONE } from '../helpers'
import {
  addEntraUser,
  assertionFrom,
  HANDOFF_FIELD,
  newTenantId,
  seedSignInTenant,
  signIn,
  withCookie,
} from '../signin/helpers'

async function phoneSystem(orgId: string, name: string, tenantId: string) {
  return apiJson(
    'POST',
    `/orgs/${orgId}/phone-systems`,
    {
      name,
      webClientUrl: `https://${name.toLowerCase()}.pbx.example/`,
      handoffUrl: `https://${name.toLowerCase()}.pbx.example/sso`,
      entraTenantId: tenantId,
    },
    201,
  )
}

async function put(psId: string, users: unknown[]) {
  return apiJson('PUT', `/phone-systems/${psId}/sso-users`, { users })
}

async function recordId(psId: string) {
  const [row] = await dbAll<{ id: string }>('SELECT id FROM sso_users WHERE phone_system_id = ?', psId)
  return row!.id
}

describe('who passes', () => {
  it.each([
    ['listed by oid', (u: any) => ({ oid: u.oid, displayName: 'From List', extension: '301' })],
    [
      'listed by UPN only (no oid yet)',
      (u: any) => ({ upn: u.upn.toUpperCase(), displayName: 'From List', extension: '301' }),
    ],
    ['listed by email only (no oid yet)', (u: any) => ({ email: u.email, displayName: 'From List', extension: '301' })],
  ])("%s: handed off with the list's name and extension", async (_name, entry) => {
    const tenant = await seedSignInTenant({ listed: false })
    await put(tenant.phoneSystemId, [entry(tenant.user)])
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.res.status).toBe(200)
    const { claims, action } = assertionFrom(result.html)
    expect(action).toBe('https://pbx.example/sso')
    expect(claims).toMatchObject({
      aud: tenant.phoneSystemId,
      sub: await recordId(tenant.phoneSystemId),
      name: 'From List',
      ext: '301',
      tid: tenant.tenantId,
      oid: tenant.user.oid,
    })
  })

  it.each([
    ['nOAuth: the list has the email with another oid', (u: any) => ({ oid: crypto.randomUUID(), email: u.email })],
    [
      'nOAuth: the list has the UPN with another oid (a reused UPN)',
      (u: any) => ({ oid: crypto.randomUUID(), upn: u.upn }),
    ],
    ['nobody like them on the list', () => ({ upn: 'someone.else@contoso.example' })],
  ])('%s: 403 "not set up for SSO here"', async (_name, entry) => {
    const tenant = await seedSignInTenant({ listed: false })
    await put(tenant.phoneSystemId, [entry(tenant.user)])
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.res.status).toBe(403)
    expect(result.html).toContain('Your account is not set up for SSO here')
    expect(result.html).toContain('add you to the phone system&#39;s Microsoft 365 integration and then press Sync')
    expect(result.html).toContain(`Signed in as ${tenant.user.upn}`)
    expect(result.html).not.toContain(HANDOFF_FIELD)
  })

  it("a UPN listed in another tenant's phone system does not let a same-UPN user of this tenant in", async () => {
    const tenant = await seedSignInTenant({ listed: false })
    const otherTenant = newTenantId()
    const other = await phoneSystem(tenant.orgId, 'Other', otherTenant)
    await put(other.id, [{ upn: tenant.user.upn }])
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.res.status).toBe(403)
    expect(result.html).toContain('Your account is not set up for SSO here')
  })

  it('a user removed by a later PUT of the list cannot sign in any more', async () => {
    const tenant = await seedSignInTenant()
    expect((await signIn(tenant.hostname, tenant.user)).res.status).toBe(200)
    await put(tenant.phoneSystemId, [{ upn: 'someone.else@contoso.example' }])
    const after = await signIn(tenant.hostname, tenant.user)
    expect(after.res.status).toBe(403)
    expect(after.html).toContain('Your account is not set up for SSO here')
  })

  it("a user of tenant A is refused on tenant B's host, even when listed on A's phone system elsewhere", async () => {
    const a = await seedSignInTenant()
    const b = await seedSignInTenant()
    // A second tenant on B's host puts it on the organizations authority, where A's users can pick themselves.
    await phoneSystem(b.orgId, 'Branch', newTenantId())
    const result = await signIn(b.hostname, a.user)
    expect(result.res.status).toBe(403)
    expect(result.html).toContain('This account cannot sign in here')
    expect(result.html).not.toContain(HANDOFF_FIELD)
  })

  it("a partner's host reaches its flat customers' phone systems, not its nested customers'", async () => {
    const partner = await createPartner()
    const host = `${uniqueLabel('partner')}.${ZONE}`
    await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname: host }, 201)
    const tid = newTenantId()
    const flat = await createCustomer(partner.id, { structure: 'flat' })
    const nested = await createCustomer(partner.id, { structure: 'nested' })
    const flatPs = await phoneSystem(flat.id, 'Flat', tid)
    const nestedPs = await phoneSystem(nested.id, 'Nested', tid)
    const flatUser = await addEntraUser(tid, 'Flat User')
    const nestedUser = await addEntraUser(tid, 'Nested User')
    await put(flatPs.id, [{ oid: flatUser.oid }])
    await put(nestedPs.id, [{ oid: nestedUser.oid }])

    const ok = await signIn(host, flatUser)
    expect(ok.res.status).toBe(200)
    expect(assertionFrom(ok.html).claims.aud).toBe(flatPs.id)
    const refused = await signIn(host, nestedUser)
    expect(refused.res.status).toBe(403)
  })

  it("the primary host reaches every organization's phone systems", async () => {
    const tenant = await seedSignInTenant()
    const result = await signIn(PRIMARY, tenant.user)
    expect(result.res.status).toBe(200)
    expect(assertionFrom(result.html).claims.aud).toBe(tenant.phoneSystemId)
  })
})

describe('the chooser', () => {
  async function onTwo() {
    const tenant = await seedSignInTenant()
    const second = await phoneSystem(tenant.orgId, 'Support', tenant.tenantId)
    await put(second.id, [{ oid: tenant.user.oid, extension: '900' }])
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.res.status).toBe(200)
    expect(result.html).toContain('Choose a phone system')
    const token = /name="token" value="([^"]+)"/.exec(result.html)![1]!
    return { tenant, second, result, token }
  }

  function choose(
    hostname: string,
    cookie: string | null,
    body: Record<string, string>,
    headers: Record<string, string> = {},
  ) {
    const init = withCookie(cookie)
    return SELF.fetch(`https://${hostname}/sso/choose`, {
      ...init,
      method: 'POST',
      headers: {
        ...(init.headers as Record<string, string>),
        'content-type': 'application/x-www-form-urlencoded',
        origin: `https://${hostname}`,
        ...headers,
      },
      body: new URLSearchParams(body),
    })
  }

  it('lists both phone systems and hands off to the chosen one', async () => {
    const { tenant, second, result, token } = await onTwo()
    expect(result.html).toContain('>HQ<')
    expect(result.html).toContain('>Support<')
    expect(result.html).not.toContain(HANDOFF_FIELD)
    expect(result.res.headers.get('referrer-policy')).toBe('same-origin')
    const [attempt] = await dbAll<any>(
      "SELECT result, reason FROM sign_in_attempts WHERE hostname = ? AND step = 'complete'",
      tenant.hostname,
    )
    expect(attempt).toEqual({ result: 'pending', reason: 'chooser' })

    const chosen = await choose(tenant.hostname, result.cookie, { token, phoneSystem: second.id })
    const html = await chosen.text()
    expect(chosen.status).toBe(200)
    const { claims, action } = assertionFrom(html)
    expect(action).toBe('https://support.pbx.example/sso')
    expect(claims).toMatchObject({ aud: second.id, ext: '900', oid: tenant.user.oid })
  })

  it('a choice cannot name a phone system the user is not on', async () => {
    const { tenant, result, token } = await onTwo()
    const foreign = await seedSignInTenant()
    const res = await choose(tenant.hostname, result.cookie, { token, phoneSystem: foreign.phoneSystemId })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('That choice is not available')
  })

  it.each([
    ['from another site (Origin)', { origin: 'https://evil.example' }],
    ['from another site (Sec-Fetch-Site)', { 'sec-fetch-site': 'cross-site' }],
  ])('a choice posted %s is refused (CSRF)', async (_name, headers) => {
    const { tenant, result, token } = await onTwo()
    const res = await choose(tenant.hostname, result.cookie, { token, phoneSystem: tenant.phoneSystemId }, headers)
    expect(res.status).toBe(403)
    expect(await res.text()).not.toContain(HANDOFF_FIELD)
  })

  it('a choice from a no-referrer page (Origin: null) but same-origin by Sec-Fetch-Site is accepted', async () => {
    const { tenant, result, token } = await onTwo()
    const res = await choose(
      tenant.hostname,
      result.cookie,
      { token, phoneSystem: tenant.phoneSystemId },
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
    )
    expect(res.status).toBe(200)
    expect(await res.text()).toContain(HANDOFF_FIELD)
  })

  it('a choice without the flow cookie, with a wrong token, or replayed is refused', async () => {
    const { tenant, result, token } = await onTwo()
    expect((await choose(tenant.hostname, null, { token, phoneSystem: tenant.phoneSystemId })).status).toBe(400)
    expect(
      (await choose(tenant.hostname, result.cookie, { token: 'forged', phoneSystem: tenant.phoneSystemId })).status,
    ).toBe(400)
    expect((await choose(tenant.hostname, result.cookie, { token, phoneSystem: tenant.phoneSystemId })).status).toBe(
      200,
    )
    expect((await choose(tenant.hostname, result.cookie, { token, phoneSystem: tenant.phoneSystemId })).status).toBe(
      400,
    )
  })

  it('a user removed from the list while the chooser was open is refused', async () => {
    const { tenant, second, result, token } = await onTwo()
    await put(second.id, [])
    const res = await choose(tenant.hostname, result.cookie, { token, phoneSystem: second.id })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('Your account is not set up for SSO here')
  })
})

describe('the sign-in audit', () => {
  it('records every step with result, reason, host, organization, phone system, tid, oid and correlation id; never a code or state', async () => {
    const tenant = await seedSignInTenant()
    const ok = await signIn(tenant.hostname, tenant.user)
    const refused = await signIn(tenant.hostname, tenant.user, 'bad_signature')
    expect(refused.res.status).toBe(502)
    const rows = await dbAll<any>('SELECT * FROM sign_in_attempts WHERE hostname = ? ORDER BY id', tenant.hostname)
    expect(rows.map((r) => [r.step, r.result, r.reason])).toEqual([
      ['callback', 'pending', 'central_callback'],
      ['complete', 'success', 'handoff'],
      ['callback', 'failure', 'id_token_invalid'],
    ])
    expect(rows[1]).toMatchObject({
      org_id: tenant.orgId,
      phone_system_id: tenant.phoneSystemId,
      tid: tenant.tenantId,
      oid: tenant.user.oid,
    })
    for (const row of rows) expect(row.correlation_id).toMatch(/^[0-9a-f-]{36}$/)
    const everything = JSON.stringify(rows)
    for (const secret of [
      ok.callbackUrl.searchParams.get('code')!,
      ok.callbackUrl.searchParams.get('state')!,
      ok.cookie,
    ]) {
      expect(everything).not.toContain(secret)
    }
  })
})
