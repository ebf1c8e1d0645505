/**
 * Review 8, incremental sync against a hostile customer tenant's Graph and a partner with D1-adjacent
 * reach: a delta link sealed for one phone system, copied onto another's row (same tenant, same app), is
 * not followed there: the sync pulls in full; and Graph answering 410 to everything (a "resync" storm) is
 * Graph failing: a 502 `graph_unavailable` with the list and the links left as they were, never an
 * internal error (500 at the button, an unexpected retry in the queue).
 */
import { env } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TEST_CLIENT_ID } from '../bindings'
import {
  api,
  apiJson,
  consent,
  createCustomer,
  createPartner,
  dbAll,
  dirUser,
  graphControl,
  newTenantId,
} from '../fixtures'

afterEach(() => vi.restoreAllMocks())

async function tenantWithTwo() {
  const tid = newTenantId()
  await consent(tid)
  const groupId = crypto.randomUUID()
  const users = [dirUser(1), dirUser(2), dirUser(3)]
  await graphControl(`tenants/${tid}`, {
    users,
    groups: [{ id: groupId, displayName: 'Phone users', members: users.map((u) => u.id) }],
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
  const create = (name: string) =>
    apiJson(
      'POST',
      `/orgs/${customer.id}/phone-systems`,
      { name, webClientUrl: 'https://pbx.example/', handoffUrl: 'https://pbx.example/h', entraTenantId: tid },
      201,
    )
  const a = await create('A')
  const b = await create('B')
  return { tid, a, b, users }
}

const sync = (id: string) => apiJson('POST', `/phone-systems/${id}/sync`)
const stateOf = async (id: string) =>
  (await dbAll<any>('SELECT links, links_at, list_version FROM sync_delta_state WHERE phone_system_id = ?', id))[0]
const listOf = (id: string) => dbAll('SELECT oid, upn FROM sso_users WHERE phone_system_id = ? ORDER BY oid', id)

describe('review 8: sealed delta links', () => {
  it("a link copied onto another phone system's row does not open there: that sync pulls in full", async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const { a, b } = await tenantWithTwo()
    await sync(a.id)
    await sync(b.id)
    expect(await sync(b.id)).toMatchObject({ mode: 'delta' })
    const fromA = await stateOf(a.id)
    await env.DB.prepare('UPDATE sync_delta_state SET links = ? WHERE phone_system_id = ?')
      .bind(fromA.links, b.id)
      .run()
    expect(await sync(b.id)).toMatchObject({ mode: 'full', fullReason: 'first' })
    expect(warn.mock.calls.map(([line]) => JSON.parse(String(line)).message)).toContain(
      'stored delta links could not be opened; the sync pulls in full',
    )
    // B took links of its own, sealed for it: its next sync is incremental again.
    expect((await stateOf(b.id)).links).not.toBe(fromA.links)
    expect(await sync(b.id)).toMatchObject({ mode: 'delta' })
  })
})

describe('review 8: a storm of 410s', () => {
  it('Graph answering 410 to every request: 502 graph_unavailable, list and links unchanged', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const { tid, a } = await tenantWithTwo()
    await sync(a.id)
    const listBefore = await listOf(a.id)
    const stateBefore = await stateOf(a.id)
    await graphControl('faults', { about: tid, faults: Array.from({ length: 40 }, () => 'gone') })
    for (let round = 0; round < 2; round++) {
      const res = await api('POST', `/phone-systems/${a.id}/sync`)
      const body = await res.json<any>()
      expect(res.status).toBe(502)
      expect(body.error?.code ?? body.code).toBe('graph_unavailable')
    }
    await graphControl('faults', { about: tid, faults: [] })
    const [row] = await dbAll<any>('SELECT last_sync_status, last_sync_error FROM phone_systems WHERE id = ?', a.id)
    expect(row.last_sync_status).toBe('failed')
    expect(row.last_sync_error).not.toContain('Internal error')
    expect(await listOf(a.id)).toEqual(listBefore)
    expect(await stateOf(a.id)).toEqual(stateBefore)
    // Graph answering again: the stored links still serve (nothing moved them past unapplied changes).
    expect(await sync(a.id)).toMatchObject({ mode: 'delta' })
  })
})
