/**
 * Review 9, DESIGN §8 "Sync refuses more than 50,000 users while pulling", in delta mode: a
 * list near the cap whose next incremental sync would take it past 50,000 is refused (422
 * sync_too_large), the list and the stored delta links as they were. Only the full pull's
 * refusal was pinned (api/sync.test.ts).
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { MAX_SSO_USERS } from '../../src/sso/list'
import { TEST_CLIENT_ID } from '../bindings'
import {
  api,
  apiJson,
  consent,
  createCustomer,
  createPartner,
  dbAll,
  dirUser,
  expectJson,
  graphControl,
  newTenantId,
} from '../fixtures'

const count = async (id: string) =>
  (await dbAll<{ n: number }>('SELECT COUNT(*) AS n FROM sso_users WHERE phone_system_id = ?', id))[0]!.n

describe('review 9: the 50,000-user cap holds in delta mode', () => {
  it('a delta that would take the list past 50,000: 422 sync_too_large, list and links unchanged', async () => {
    const tid = newTenantId()
    await consent(tid)
    const groupId = crypto.randomUUID()
    const first = [dirUser(1), dirUser(2)]
    const newcomers = Array.from({ length: 5 }, (_, i) => dirUser(100 + i))
    await graphControl(`tenants/${tid}`, {
      users: [...first, ...newcomers],
      groups: [{ id: groupId, displayName: 'Phone users', members: first.map((u) => u.id) }],
      servicePrincipals: [
        {
          appId: TEST_CLIENT_ID,
          id: crypto.randomUUID(),
          assignments: [{ principalId: groupId, principalType: 'Group' }],
        },
      ],
    })
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const ps = await apiJson(
      'POST',
      `/orgs/${customer.id}/phone-systems`,
      { name: 'HQ', webClientUrl: 'https://pbx.example/', handoffUrl: 'https://pbx.example/h', entraTenantId: tid },
      201,
    )
    expect(await apiJson('POST', `/phone-systems/${ps.id}/sync`)).toMatchObject({ mode: 'full', total: 2 })
    // The list grows to 3 short of the cap (rows of this tenant, with no oid of the directory).
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
       INSERT INTO sso_users (id, phone_system_id, tid, upn, sort_key, created_at, updated_at)
       SELECT 'usr_cap' || i || ?1, ?1, ?2, 'cap' || i || '@contoso.example', 'cap' || i, 0, 0 FROM n`,
    )
      .bind(ps.id, tid, MAX_SSO_USERS - 5)
      .run()
    expect(await count(ps.id)).toBe(MAX_SSO_USERS - 3)
    // A repeat still reads in delta mode (nothing changed): the stored state is the one a delta uses.
    expect(await apiJson('POST', `/phone-systems/${ps.id}/sync`)).toMatchObject({ mode: 'delta' })
    const links = await dbAll('SELECT * FROM sync_delta_state WHERE phone_system_id = ?', ps.id)

    // Five join the group: the list would hold 50,002.
    await graphControl(`tenants/${tid}`, { addMembers: [{ groupId, ids: newcomers.map((u) => u.id) }] })
    const res = await api('POST', `/phone-systems/${ps.id}/sync`)
    const body = await expectJson(res, 422)
    expect(body.error.code).toBe('sync_too_large')
    expect(await count(ps.id)).toBe(MAX_SSO_USERS - 3)
    expect(await dbAll('SELECT * FROM sync_delta_state WHERE phone_system_id = ?', ps.id)).toEqual(links)
    await env.DB.prepare('DELETE FROM sso_users WHERE phone_system_id = ?').bind(ps.id).run()
  }, 60_000)
})
