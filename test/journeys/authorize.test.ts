import { describe, expect, it } from 'vitest'
import {
  addEntraUser,
  apiJson,
  assertionFrom,
  createCustomer,
  createPartner,
  dbAll,
  HANDOFF_FIELD,
  newTenantId,
  PRIMARY,
  phoneSystemNamed,
  putList,
  seedSignInTenant,
  signIn,
  uniqueLabel,
  ZONE,
} from '../fixtures'

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
    await putList(tenant.phoneSystemId, [entry(tenant.user)])
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

  it('a user matched by two records of one phone system (oid, and a UPN-only twin) goes straight there, by the oid record', async () => {
    const tenant = await seedSignInTenant({ listed: false })
    await putList(tenant.phoneSystemId, [
      { upn: tenant.user.upn, displayName: 'By UPN', extension: '202' },
      { oid: tenant.user.oid, displayName: 'By oid', extension: '201' },
    ])
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.res.status).toBe(200)
    expect(result.html).not.toContain('Choose a phone system')
    const { claims } = assertionFrom(result.html)
    const [byOid] = await dbAll<{ id: string }>(
      'SELECT id FROM sso_users WHERE phone_system_id = ? AND oid IS NOT NULL',
      tenant.phoneSystemId,
    )
    expect(claims).toMatchObject({ aud: tenant.phoneSystemId, sub: byOid!.id, name: 'By oid', ext: '201' })
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
    await putList(tenant.phoneSystemId, [entry(tenant.user)])
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
    const other = await phoneSystemNamed(tenant.orgId, 'Other', otherTenant)
    await putList(other.id, [{ upn: tenant.user.upn }])
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.res.status).toBe(403)
    expect(result.html).toContain('Your account is not set up for SSO here')
  })

  it('a user removed by a later PUT of the list cannot sign in any more', async () => {
    const tenant = await seedSignInTenant()
    expect((await signIn(tenant.hostname, tenant.user)).res.status).toBe(200)
    await putList(tenant.phoneSystemId, [{ upn: 'someone.else@contoso.example' }])
    const after = await signIn(tenant.hostname, tenant.user)
    expect(after.res.status).toBe(403)
    expect(after.html).toContain('Your account is not set up for SSO here')
  })

  it("a user of tenant A is refused on tenant B's host, even when listed on A's phone system elsewhere", async () => {
    const a = await seedSignInTenant()
    const b = await seedSignInTenant()
    // A second tenant on B's host puts it on the organizations authority, where A's users can pick themselves.
    await phoneSystemNamed(b.orgId, 'Branch', newTenantId())
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
    const flatPs = await phoneSystemNamed(flat.id, 'Flat', tid)
    const nestedPs = await phoneSystemNamed(nested.id, 'Nested', tid)
    const flatUser = await addEntraUser(tid, 'Flat User')
    const nestedUser = await addEntraUser(tid, 'Nested User')
    await putList(flatPs.id, [{ oid: flatUser.oid }])
    await putList(nestedPs.id, [{ oid: nestedUser.oid }])

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
