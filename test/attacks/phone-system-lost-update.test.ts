import { describe, expect, it } from 'vitest'
import type { Principal } from '../../src/access/principal'
import { updatePhoneSystem } from '../../src/phone-systems/service'
import {
  addEntraUser,
  api,
  apiJson,
  dbAll,
  expectJson,
  HANDOFF_FIELD,
  newTenantId,
  PRIMARY,
  partnerWithKey,
  signIn,
  slowD1,
} from '../fixtures'

async function partnerPrincipal(partnerId: string): Promise<Principal> {
  const [row] = await dbAll<any>('SELECT id FROM api_keys WHERE org_id = ? ORDER BY created_at DESC LIMIT 1', partnerId)
  return { kind: 'partner', actor: `key:${row.id}`, keyId: row.id, orgId: partnerId }
}

describe('review2: a rename in flight writes back a stale tenant status (lost update)', () => {
  it('ops release a tenant while a partner renames its phone system: the phone system stays unverified', async () => {
    const { partner, key } = await partnerWithKey('Released')
    const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key })
    const customer = await expectJson(await as('POST', '/orgs', { name: 'C', kind: 'customer' }), 201)
    const tid = newTenantId()
    const ps = await expectJson(
      await as('POST', `/orgs/${customer.id}/phone-systems`, {
        name: 'Phones',
        webClientUrl: 'https://pbx.partner.example/',
        handoffUrl: 'https://pbx.partner.example/sso',
        entraTenantId: tid,
      }),
      201,
    )
    await apiJson('PATCH', `/phone-systems/${ps.id}`, { entraTenantId: tid }) // ops vouch
    expect((await apiJson('GET', `/phone-systems/${ps.id}`)).tenantStatus).toBe('trusted')

    const slow = slowD1()
    const rename = updatePhoneSystem(
      slow.d1,
      await partnerPrincipal(partner.id),
      ps.id,
      { name: 'Phones (renamed)' },
      Date.now(),
    )
    await slow.atBatch
    await apiJson('POST', `/tenants/${tid}/release`)
    expect((await apiJson('GET', `/phone-systems/${ps.id}`)).tenantStatus).toBe('unverified')
    slow.open()
    await rename

    expect(await dbAll('SELECT tid FROM tenant_claims WHERE tid = ?', tid)).toEqual([])
    expect((await apiJson('GET', `/phone-systems/${ps.id}`)).tenantStatus).toBe('unverified')
  })

  it('two tenant changes in flight: the one that read a stale tenant is refused with 409 and writes nothing', async () => {
    const { partner, key } = await partnerWithKey('Racer')
    const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key })
    const customer = await expectJson(await as('POST', '/orgs', { name: 'C', kind: 'customer' }), 201)
    const ps = await expectJson(
      await as('POST', `/orgs/${customer.id}/phone-systems`, {
        name: 'Phones',
        webClientUrl: 'https://pbx.partner.example/',
        handoffUrl: 'https://pbx.partner.example/sso',
        entraTenantId: newTenantId(),
      }),
      201,
    )
    const slow = slowD1()
    const staleChange = updatePhoneSystem(
      slow.d1,
      await partnerPrincipal(partner.id),
      ps.id,
      { entraTenantId: newTenantId(), name: 'Stale' },
      Date.now(),
    )
    await slow.atBatch
    const winner = newTenantId()
    await expectJson(await as('PATCH', `/phone-systems/${ps.id}`, { entraTenantId: winner }))
    slow.open()
    await expect(staleChange).rejects.toMatchObject({ code: 'conflict' })
    expect(await apiJson('GET', `/phone-systems/${ps.id}`)).toMatchObject({ name: 'Phones', entraTenantId: winner })
  })

  /**
   * The race, then the victim tenant proven for its real partner (ops vouch here), whose phone
   * system lists `realList` (the victim, or somebody else).
   */
  async function stage(listVictimOnRealPhoneSystem: boolean) {
    const attacker = await partnerWithKey('Attacker')
    const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key: attacker.key })
    const customer = await expectJson(await as('POST', '/orgs', { name: 'Lookalike', kind: 'customer' }), 201)
    const ownTid = newTenantId()
    const ps = await expectJson(
      await as('POST', `/orgs/${customer.id}/phone-systems`, {
        name: 'Phones',
        webClientUrl: 'https://attacker.example/',
        handoffUrl: 'https://attacker.example/sso',
        entraTenantId: ownTid,
      }),
      201,
    )
    // The attacker's own tenant, legitimately proven (ops vouch stands in for its administrator's connect).
    await apiJson('PATCH', `/phone-systems/${ps.id}`, { entraTenantId: ownTid })

    // A tenant the attacker does not own, not connected anywhere yet (tenant ids are public).
    const victimTid = newTenantId()
    const victim = await addEntraUser(victimTid, 'Victor Victim')

    const slow = slowD1()
    const rename = updatePhoneSystem(
      slow.d1,
      await partnerPrincipal(attacker.partner.id),
      ps.id,
      { name: 'Phones, renamed' },
      Date.now(),
    )
    await slow.atBatch // read: ownTid, trusted, list version v
    const flipped = await expectJson(await as('PATCH', `/phone-systems/${ps.id}`, { entraTenantId: victimTid }))
    expect(flipped.tenantStatus).toBe('unverified')
    // An unverified phone system's list may be PUT: the records get the victim tenant's tid.
    await expectJson(await as('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: victim.upn }] }))
    slow.open()
    // Before the fix the rename wrote back ownTid, trusted and the old list version, keeping the
    // victim's records. Now it writes only the name.
    await rename
    expect(await apiJson('GET', `/phone-systems/${ps.id}`)).toMatchObject({
      name: 'Phones, renamed',
      entraTenantId: victimTid,
      tenantStatus: 'unverified',
    })

    // Later the victim's real partner gets the tenant proven.
    const real = await partnerWithKey('Real')
    const realCustomer = await apiJson(
      'POST',
      '/orgs',
      { name: 'Victim Co', kind: 'customer', parentId: real.partner.id },
      201,
    )
    const realPs = await apiJson(
      'POST',
      `/orgs/${realCustomer.id}/phone-systems`,
      {
        name: 'Real',
        webClientUrl: 'https://pbx.real.example/',
        handoffUrl: 'https://pbx.real.example/sso',
        entraTenantId: victimTid,
      },
      201,
    )
    expect(realPs.tenantStatus).toBe('trusted')
    const someoneElse = await addEntraUser(victimTid, 'Someone Else')
    await apiJson('PUT', `/phone-systems/${realPs.id}/sso-users`, {
      users: [{ oid: listVictimOnRealPhoneSystem ? victim.oid : someoneElse.oid }],
    })
    return { ps, victim }
  }

  it("a victim tenant's users are never offered an attacker's phone system on the primary host (chooser)", async () => {
    const { ps, victim } = await stage(true)
    // Invariant: a record's tenant is its phone system's tenant.
    expect
      .soft(
        await dbAll(
          'SELECT u.tid FROM sso_users u JOIN phone_systems p ON p.id = u.phone_system_id WHERE p.id = ? AND u.tid != p.entra_tenant_id',
          ps.id,
        ),
      )
      .toEqual([])
    const result = await signIn(PRIMARY, victim)
    // While the hole exists: a chooser offering the attacker's phone system (its id) next to the real one.
    expect(result.html).not.toContain(ps.id)
    expect(result.html).not.toContain('Choose a phone system')
    expect(result.html).toContain(HANDOFF_FIELD)
    expect(result.html).toContain('action="https://pbx.real.example/sso"')
  })

  it("a victim tenant's user listed nowhere else is not handed to the attacker's handoff URL", async () => {
    const { victim } = await stage(false)
    const result = await signIn(PRIMARY, victim)
    // While the hole exists: 200, an auto-posting form to https://attacker.example/sso with a signed
    // assertion naming the victim's tid and oid.
    expect(result.html).not.toContain('attacker.example')
    expect(result.res.status).toBe(403)
  })
})
