/**
 * (finding, medium) What a phone system's SCIM may store was bounded only by the list's
 * 50,000 ACTIVE users: a hostile tenant's provisioning (its Entra admin holds the Secret
 * token) could POST inactive users without end (64 KiB each), groups without end, and
 * group memberships without end (1,000 a request), filling the one D1 every customer of
 * the gateway shares. Fixed in scim/store.ts: SCIM_LIMITS (users active or not, groups,
 * memberships) checked inside each write's batch; over them a write answers 403 in SCIM's
 * shape and leaves nothing behind.
 *
 * (finding, low) A page of groups read all its members at once: 100 groups of a phone
 * system holding up to a million memberships, in one Worker's memory. Fixed in
 * scim/store.ts: at most MAX_MEMBERS_PER_ANSWER member ids per answer, 400 tooMany beyond
 * (Entra asks for groups without members; one group as big as the list still fits).
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { MAX_MEMBERS_PER_ANSWER, SCIM_LIMITS } from '../../src/scim/store'
import { dbAll } from '../fixtures'
import { entraUser, expectScimError, PATCH_OP, scim, scimJson, seedScimTenant } from '../scim/helpers'

/** `n` inactive SCIM users of a phone system straight into D1, as a provisioning that went on and on would leave. */
async function seedUsers(phoneSystemId: string, n: number, tag: string) {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
     INSERT INTO scim_users (id, phone_system_id, user_name, user_name_key, active, resource, created_at, updated_at)
     SELECT 'usr_' || ?2 || i, ?1, ?2 || i || '@contoso.example', ?2 || i || '@contoso.example', 0, '{}', 0, 0 FROM n`,
  )
    .bind(phoneSystemId, tag, n)
    .run()
}

async function count(table: string, phoneSystemId: string): Promise<number> {
  const [row] = await dbAll<{ n: number }>(
    `SELECT COUNT(*) AS n FROM ${table} WHERE phone_system_id = ?`,
    phoneSystemId,
  )
  return row!.n
}

describe('review 8: SCIM storage is bounded per phone system', () => {
  it('users, active or not: one over the cap answers 403 and writes nothing', async () => {
    const tenant = await seedScimTenant()
    await seedUsers(tenant.phoneSystemId, SCIM_LIMITS.users, 'parked')
    const big = { ...entraUser('one.more@contoso.example', { active: false }), title: 'x'.repeat(60 * 1024) }
    await expectScimError(await scim(tenant, 'POST', '/Users', big), 403)
    expect(await count('scim_users', tenant.phoneSystemId)).toBe(SCIM_LIMITS.users)
    // Deleting one makes room again.
    expect((await scim(tenant, 'DELETE', '/Users/usr_parked1')).status).toBe(204)
    await scimJson(await scim(tenant, 'POST', '/Users', big), 201)
    await env.DB.prepare('DELETE FROM scim_users WHERE phone_system_id = ?').bind(tenant.phoneSystemId).run()
  })

  it('groups: one over the cap answers 403 and writes nothing', async () => {
    const tenant = await seedScimTenant()
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
       INSERT INTO scim_groups (id, phone_system_id, display_name, created_at, updated_at)
       SELECT 'grp_many' || i || ?1, ?1, 'G' || i, 0, 0 FROM n`,
    )
      .bind(tenant.phoneSystemId, SCIM_LIMITS.groups)
      .run()
    await expectScimError(await scim(tenant, 'POST', '/Groups', { displayName: 'One more' }), 403)
    expect(await count('scim_groups', tenant.phoneSystemId)).toBe(SCIM_LIMITS.groups)
    await env.DB.prepare('DELETE FROM scim_groups WHERE phone_system_id = ?').bind(tenant.phoneSystemId).run()
  })

  it('memberships: an add past the cap answers 403 and adds nobody (in a PATCH and in a POST)', async () => {
    const tenant = await seedScimTenant()
    const perGroup = 50_000
    const groups = SCIM_LIMITS.memberships / perGroup
    await seedUsers(tenant.phoneSystemId, perGroup + 1, 'member')
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
       INSERT INTO scim_groups (id, phone_system_id, display_name, created_at, updated_at)
       SELECT 'grp_full' || i || ?1, ?1, 'Full ' || i, 0, 0 FROM n`,
    )
      .bind(tenant.phoneSystemId, groups)
      .run()
    await env.DB.prepare(
      `INSERT INTO scim_group_members (group_id, user_id)
       SELECT g.id, u.id FROM scim_groups g JOIN scim_users u ON u.phone_system_id = g.phone_system_id
       WHERE g.phone_system_id = ?1 AND u.id != ?2`,
    )
      .bind(tenant.phoneSystemId, `usr_member${perGroup + 1}`)
      .run()
    const last = { value: `usr_member${perGroup + 1}` }
    const spare = await scimJson(await scim(tenant, 'POST', '/Groups', { displayName: 'Spare' }), 201)
    await expectScimError(
      await scim(tenant, 'PATCH', `/Groups/${spare.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Add', path: 'members', value: [last] }],
      }),
      403,
    )
    await expectScimError(await scim(tenant, 'POST', '/Groups', { displayName: 'Another', members: [last] }), 403)
    expect(await dbAll('SELECT group_id FROM scim_group_members WHERE user_id = ?', last.value)).toEqual([])
    expect(await dbAll("SELECT id FROM scim_groups WHERE display_name = 'Another'")).toEqual([])
    await env.DB.prepare('DELETE FROM scim_groups WHERE phone_system_id = ?').bind(tenant.phoneSystemId).run()
    await env.DB.prepare('DELETE FROM scim_users WHERE phone_system_id = ?').bind(tenant.phoneSystemId).run()
  }, 60_000)
})

describe('review 8: a group answer reads a bounded number of members', () => {
  it('a page of groups holding more members than one answer carries: 400 tooMany, and the same without members answers', async () => {
    const tenant = await seedScimTenant()
    const perGroup = 50_000
    await seedUsers(tenant.phoneSystemId, perGroup, 'big')
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
       INSERT INTO scim_groups (id, phone_system_id, display_name, created_at, updated_at)
       SELECT 'grp_big' || i || ?1, ?1, 'Big ' || i, i, i FROM n`,
    )
      .bind(tenant.phoneSystemId)
      .run()
    await env.DB.prepare(
      `INSERT INTO scim_group_members (group_id, user_id)
       SELECT g.id, u.id FROM scim_groups g JOIN scim_users u ON u.phone_system_id = g.phone_system_id
       WHERE g.phone_system_id = ?1`,
    )
      .bind(tenant.phoneSystemId)
      .run()
    expect(MAX_MEMBERS_PER_ANSWER).toBeLessThan(5 * perGroup)
    await expectScimError(await scim(tenant, 'GET', '/Groups'), 400, 'tooMany')
    const without = await scimJson(await scim(tenant, 'GET', '/Groups?excludedAttributes=members'), 200)
    expect(without.totalResults).toBe(5)
    // One group as big as the whole list still comes whole.
    const one = await scimJson(await scim(tenant, 'GET', `/Groups/grp_big1${tenant.phoneSystemId}`), 200)
    expect(one.members).toHaveLength(perGroup)
    await env.DB.prepare('DELETE FROM scim_groups WHERE phone_system_id = ?').bind(tenant.phoneSystemId).run()
    await env.DB.prepare('DELETE FROM scim_users WHERE phone_system_id = ?').bind(tenant.phoneSystemId).run()
  }, 60_000)
})
