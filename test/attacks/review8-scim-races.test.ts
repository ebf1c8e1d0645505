/**
 * Review 8: SCIM requests racing each other, and the SSO list kept in step with what
 * SCIM holds when a write is refused. These defences hold (D1's unique indexes and the
 * guards inside each write's batch); the tests pin them.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { MAX_SSO_USERS } from '../../src/sso/list'
import { dbAll } from '../fixtures'
import { entraUser, expectScimError, PATCH_OP, scim, scimJson, seedScimTenant } from '../scim/helpers'

const rows = (table: string, phoneSystemId: string) =>
  dbAll<{ id: string }>(`SELECT id FROM ${table} WHERE phone_system_id = ? ORDER BY id`, phoneSystemId)

describe('review 8: SCIM under concurrency', () => {
  it('two POSTs of the same userName (in different case) at once: one 201, one 409 uniqueness, one row each', async () => {
    const tenant = await seedScimTenant()
    const results = await Promise.all([
      scim(tenant, 'POST', '/Users', entraUser('twin@contoso.example', { email: 'twin1@contoso.example' })),
      scim(tenant, 'POST', '/Users', entraUser('TWIN@contoso.example', { email: 'twin2@contoso.example' })),
    ])
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([201, 409])
    await expectScimError(results.find((r) => r.status === 409)!, 409, 'uniqueness')
    const users = await rows('scim_users', tenant.phoneSystemId)
    expect(users).toHaveLength(1)
    expect(await rows('sso_users', tenant.phoneSystemId)).toEqual(users)
  })

  it("six new active users racing for the list's last two places: exactly two get in", async () => {
    const tenant = await seedScimTenant()
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
       INSERT INTO sso_users (id, phone_system_id, tid, upn, sort_key, created_at, updated_at)
       SELECT 'usr_near' || i || ?1, ?1, ?2, 'near' || i || '@contoso.example', 'near' || i, 0, 0 FROM n`,
    )
      .bind(tenant.phoneSystemId, tenant.tenantId, MAX_SSO_USERS - 2)
      .run()
    const results = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((i) => scim(tenant, 'POST', '/Users', entraUser(`racer${i}@contoso.example`))),
    )
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 403, 403, 403, 403])
    for (const r of results) await r.body?.cancel()
    const [count] = await dbAll<{ n: number }>(
      'SELECT COUNT(*) AS n FROM sso_users WHERE phone_system_id = ?',
      tenant.phoneSystemId,
    )
    expect(count!.n).toBe(MAX_SSO_USERS)
    expect(await rows('scim_users', tenant.phoneSystemId)).toHaveLength(2)
    await env.DB.prepare('DELETE FROM sso_users WHERE phone_system_id = ?').bind(tenant.phoneSystemId).run()
  })
})

describe('review 8: the SSO list stays in step with SCIM', () => {
  it("a PATCH taking another user's email, or userName: 409, and neither SCIM nor the list changes", async () => {
    const tenant = await seedScimTenant()
    const ann = await scimJson(await scim(tenant, 'POST', '/Users', entraUser('ann@contoso.example')), 201)
    const bob = await scimJson(await scim(tenant, 'POST', '/Users', entraUser('bob@contoso.example')), 201)
    const snapshot = () =>
      dbAll(
        `SELECT s.id, s.user_name, s.email, s.version, u.upn, u.email AS list_email
         FROM scim_users s LEFT JOIN sso_users u ON u.id = s.id WHERE s.phone_system_id = ? ORDER BY s.id`,
        tenant.phoneSystemId,
      )
    const before = await snapshot()
    await expectScimError(
      await scim(tenant, 'PATCH', `/Users/${bob.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'ANN@contoso.example' }],
      }),
      409,
      'uniqueness',
    )
    await expectScimError(
      await scim(tenant, 'PATCH', `/Users/${bob.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'userName', value: 'Ann@Contoso.example' }],
      }),
      409,
      'uniqueness',
    )
    expect(await snapshot()).toEqual(before)
    expect(ann.id).not.toBe(bob.id)
  })

  it('re-enabling a user whose email an active user took meanwhile: 409, it stays disabled and off the list', async () => {
    const tenant = await seedScimTenant()
    const parked = await scimJson(
      await scim(tenant, 'POST', '/Users', entraUser('parked@contoso.example', { email: 'shared@contoso.example' })),
      201,
    )
    await scimJson(
      await scim(tenant, 'PATCH', `/Users/${parked.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
      }),
      200,
    )
    await scimJson(
      await scim(tenant, 'POST', '/Users', entraUser('taker@contoso.example', { email: 'shared@contoso.example' })),
      201,
    )
    await expectScimError(
      await scim(tenant, 'PATCH', `/Users/${parked.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'active', value: true }],
      }),
      409,
      'uniqueness',
    )
    expect(await dbAll('SELECT active FROM scim_users WHERE id = ?', parked.id)).toEqual([{ active: 0 }])
    expect(await dbAll('SELECT id FROM sso_users WHERE id = ?', parked.id)).toEqual([])
  })
})
