/**
 * (finding, high) A SCIM token outlived its phone system's tenant. The token is the
 * Secret token of ONE Entra tenant's enterprise app; when the phone system is pointed at
 * another tenant the gateway empties the list and what SCIM pushed ("a new tenant starts
 * over"), yet the old tenant's token kept working: its holder (the old customer's Entra
 * admin, or anyone who read its provisioning settings) pushed users that landed on the
 * list with the NEW tenant's tid, so they passed sign-in's tid binding, and could read,
 * disable or delete what the new tenant's provisioning pushed. Fixed in scim/tokens.ts:
 * D1 keeps the token's hash bound to the phone system and the tenant it was created for,
 * so under another tenant it is nobody's (401).
 *
 * The rest pins defences that hold: a revoked token, a deleted phone system's token, and
 * a token presented on another phone system's path, every one 401 with nothing written.
 */
import { describe, expect, it } from 'vitest'
import { api, apiJson, dbAll, newTenantId } from '../fixtures'
import { entraUser, expectScimError, scim, scimJson, seedScimTenant } from '../scim/helpers'

const listRows = (phoneSystemId: string) =>
  dbAll<{ upn: string; tid: string }>(
    'SELECT upn, tid FROM sso_users WHERE phone_system_id = ? ORDER BY upn',
    phoneSystemId,
  )

describe('review 8: a SCIM token is bound to the tenant it was created for', () => {
  it("after the phone system moves to another tenant, the old tenant's token is refused (401) and writes nothing", async () => {
    const tenant = await seedScimTenant()
    await scimJson(await scim(tenant, 'POST', '/Users', entraUser('old@tenant-a.example')), 201)
    expect(await listRows(tenant.phoneSystemId)).toEqual([{ upn: 'old@tenant-a.example', tid: tenant.tenantId }])

    // The partner points the phone system at another customer's tenant: the list starts over.
    const newTenant = newTenantId()
    await apiJson('PATCH', `/phone-systems/${tenant.phoneSystemId}`, { entraTenantId: newTenant })
    expect(await listRows(tenant.phoneSystemId)).toEqual([])

    // The old tenant's provisioning (still holding its Secret token) tries to put a user of the NEW tenant on it.
    await expectScimError(await scim(tenant, 'POST', '/Users', entraUser('ceo@tenant-b.example')), 401)
    await expectScimError(await scim(tenant, 'GET', '/Users'), 401)
    expect(await listRows(tenant.phoneSystemId)).toEqual([])
    // And the partner sees it so: the tenant change revoked every token the phone system had.
    const listed = await apiJson('GET', `/phone-systems/${tenant.phoneSystemId}/scim-tokens`)
    expect(listed.scimTokens.length).toBeGreaterThan(0)
    expect(listed.scimTokens.every((t: { revokedAt: string | null }) => t.revokedAt !== null)).toBe(true)
    expect(await dbAll('SELECT id FROM scim_users WHERE phone_system_id = ?', tenant.phoneSystemId)).toEqual([])

    // A token created for the new tenant works, and pushes with its tid.
    const fresh = await apiJson('POST', `/phone-systems/${tenant.phoneSystemId}/scim-tokens`, {}, 201)
    const pushed = await scimJson(
      await scim(
        { phoneSystemId: tenant.phoneSystemId, token: fresh.token },
        'POST',
        '/Users',
        entraUser('b@tenant-b.example'),
      ),
      201,
    )
    expect(await listRows(tenant.phoneSystemId)).toEqual([{ upn: 'b@tenant-b.example', tid: newTenant }])
    // And the old one still cannot touch what the new tenant pushed.
    await expectScimError(await scim(tenant, 'DELETE', `/Users/${pushed.id}`), 401)
    expect(await listRows(tenant.phoneSystemId)).toHaveLength(1)
  })

  it('a revoked token: 401 for reads and writes, nothing written', async () => {
    const tenant = await seedScimTenant()
    await apiJson('DELETE', `/phone-systems/${tenant.phoneSystemId}/scim-tokens/${tenant.tokenId}`, undefined, 204)
    await expectScimError(await scim(tenant, 'POST', '/Users', entraUser('late@contoso.example')), 401)
    await expectScimError(await scim(tenant, 'GET', '/ServiceProviderConfig'), 401)
    expect(await dbAll('SELECT id FROM scim_users WHERE phone_system_id = ?', tenant.phoneSystemId)).toEqual([])
  })

  it("a deleted phone system's token is gone with it: 401, and no row of it is left", async () => {
    const tenant = await seedScimTenant()
    await scimJson(await scim(tenant, 'POST', '/Users', entraUser('gone@contoso.example')), 201)
    expect((await api('DELETE', `/phone-systems/${tenant.phoneSystemId}`)).status).toBe(204)
    await expectScimError(await scim(tenant, 'GET', '/Users'), 401)
    for (const table of ['scim_tokens', 'scim_users', 'sso_users']) {
      expect(await dbAll(`SELECT id FROM ${table} WHERE phone_system_id = ?`, tenant.phoneSystemId)).toEqual([])
    }
  })

  it("a token presented on another phone system's path (same org, same tenant) is nobody's there: 401", async () => {
    const a = await seedScimTenant()
    const b = await apiJson(
      'POST',
      `/orgs/${a.orgId}/phone-systems`,
      {
        name: 'Branch',
        webClientUrl: 'https://pbx.example/wc2',
        handoffUrl: 'https://pbx.example/sso2',
        entraTenantId: a.tenantId,
      },
      201,
    )
    await apiJson('POST', `/phone-systems/${b.id}/scim-tokens`, {}, 201)
    await expectScimError(
      await scim({ phoneSystemId: b.id, token: a.token }, 'POST', '/Users', entraUser('x@contoso.example')),
      401,
    )
    expect(await dbAll('SELECT id FROM scim_users WHERE phone_system_id = ?', b.id)).toEqual([])
  })

  it('a phone system holds at most 5 active tokens, even when creations race: the rest 409, nothing stored', async () => {
    const tenant = await seedScimTenant()
    const path = `/phone-systems/${tenant.phoneSystemId}/scim-tokens`
    const answers = await Promise.all(Array.from({ length: 8 }, () => api('POST', path, {})))
    const statuses = answers.map((res) => res.status)
    const active = await dbAll<{ id: string }>(
      'SELECT id FROM scim_tokens WHERE phone_system_id = ? AND revoked_at IS NULL',
      tenant.phoneSystemId,
    )
    expect(active).toHaveLength(5)
    expect(statuses.filter((s) => s === 201).length + 1).toBe(5) // the seeded token is one of the five
    expect(statuses.filter((s) => s === 409)).toHaveLength(8 - 4)
    const refused = await answers.find((res) => res.status === 409)!.json<{ error: { code: string } }>()
    expect(refused.error.code).toBe('too_many_scim_tokens')
    // Revoking one makes room for one.
    expect((await api('DELETE', `${path}/${active[0]!.id}`)).status).toBe(204)
    expect((await api('POST', path, {})).status).toBe(201)
    expect((await api('POST', path, {})).status).toBe(409)
  })
})
