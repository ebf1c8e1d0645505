/**
 * SCIM's reads and the guards of its writes use an index, whatever the size of the phone
 * system's lists (EXPLAIN QUERY PLAN on the statements store.ts runs), and the sign-in
 * Worker, which every host reaches, holds no SCIM route.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import signInWorker from '../../src/sign-in-worker'
import { PRIMARY } from '../fixtures'
import { scim, scimJson, seedScimTenant } from './helpers'

async function plan(sql: string): Promise<string> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...Array.from({ length: (sql.match(/\?\d/g) ?? []).length }, () => 'x'))
    .all<{ detail: string }>()
  return results.map((r) => r.detail).join(' | ')
}

describe('SCIM query plans', () => {
  it.each([
    [
      'a user by userName',
      'SELECT * FROM scim_users WHERE phone_system_id = ?1 AND user_name_key = ?2',
      /scim_users_ps_user_name_uq/,
    ],
    [
      'a user by externalId',
      'SELECT * FROM scim_users WHERE phone_system_id = ?1 AND external_id = ?2',
      /scim_users_ps_external_idx/,
    ],
    [
      'a page of users',
      'SELECT * FROM scim_users WHERE phone_system_id = ?1 ORDER BY created_at, id LIMIT 100',
      /scim_users_ps_created_idx/,
    ],
    [
      'a group by displayName',
      'SELECT * FROM scim_groups WHERE phone_system_id = ?1 AND display_name = ?2 COLLATE NOCASE',
      /scim_groups_ps_name_idx/,
    ],
    ['a token by its hash', 'SELECT * FROM scim_tokens WHERE secret_hash = ?1', /scim_tokens_secret_hash_uq/],
    [
      'the list size guard',
      'SELECT COUNT(*) FROM sso_users WHERE phone_system_id = ?1',
      /USING (COVERING )?INDEX sso_users_ps/,
    ],
  ])('%s uses an index', async (_name, sql, index) => {
    const detail = await plan(sql)
    expect(detail).toMatch(index)
    expect(detail).not.toMatch(/SCAN scim_|SCAN sso_users(?! USING)/)
  })
})

describe('the sign-in Worker', () => {
  it('answers 404 to SCIM, even with a valid token', async () => {
    const tenant = await seedScimTenant()
    await scimJson(await scim(tenant, 'GET', '/Users'), 200)
    const ctx = createExecutionContext()
    const res = await signInWorker.fetch(
      new Request(`https://${PRIMARY}/scim/v2/phone-systems/${tenant.phoneSystemId}/Users`, {
        headers: { authorization: `Bearer ${tenant.token}` },
      }),
      env as never,
      ctx,
    )
    await waitOnExecutionContext(ctx)
    expect(res.status).toBe(404)
    expect(await res.text()).not.toContain('ListResponse')
  })

  it("reads a filter with '+' for spaces, as a form-encoded query is sent", async () => {
    const tenant = await seedScimTenant()
    const res = await scim(tenant, 'GET', '/Users?filter=userName+eq+%22nobody%40contoso.example%22')
    expect((await scimJson(res, 200)).totalResults).toBe(0)
  })
})
