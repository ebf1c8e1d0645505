/**
 * Incremental sync against the Graph stand-in's change tracking
 * (`users/delta`, `groups/delta`): the first sync pulls in full and takes
 * delta links, a repeat reads only what changed (four requests when nothing
 * did), each kind of change lands after one delta sync, and every reason to
 * pull in full again (a group newly assigned, an expired link, a list edited
 * by hand, links near their seven days) does so by itself. What D1 holds
 * afterwards is the proof; a failed delta sync moves neither the list nor
 * the stored links.
 */
import { env } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TEST_CLIENT_ID } from '../bindings'
import {
  addEntraUser,
  api,
  apiJson,
  consent,
  createCustomer,
  createPartner,
  createPhoneSystem,
  dbAll,
  directory,
  dirUser,
  graphControl,
  HANDOFF_FIELD,
  newTenantId,
  seedSignInTenant,
  signIn,
} from '../fixtures'

type DirUser = ReturnType<typeof dirUser>

async function listOf(phoneSystemId: string) {
  return dbAll<{ oid: string; upn: string | null; email: string | null; display_name: string | null }>(
    'SELECT oid, upn, email, display_name FROM sso_users WHERE phone_system_id = ? ORDER BY oid',
    phoneSystemId,
  )
}

const oidsOf = async (phoneSystemId: string) => (await listOf(phoneSystemId)).map((u) => u.oid).sort()
const ids = (users: DirUser[]) => users.map((u) => u.id).sort()

async function stateOf(phoneSystemId: string) {
  const [row] = await dbAll<any>('SELECT * FROM sync_delta_state WHERE phone_system_id = ?', phoneSystemId)
  return row
}

async function requestsIn(tid: string): Promise<number> {
  return (await graphControl(`tenants/${tid}`, {})).requests
}

/** A tenant with `direct` users and one group of `grouped` members assigned to the app, and a phone system on it. */
async function tenantWith(options: { direct?: DirUser[]; grouped?: DirUser[]; others?: DirUser[] }) {
  const tid = newTenantId()
  await consent(tid)
  const { groupId } = await directory(tid, options)
  const customer = await createCustomer((await createPartner()).id)
  const ps = await createPhoneSystem(customer.id, tid, 'HQ')
  return { tid, groupId, ps }
}

const sync = (id: string) => apiJson('POST', `/phone-systems/${id}/sync`)

describe('incremental sync', () => {
  it('the first sync pulls in full and takes links; a repeat with no change makes at most 5 Graph requests and changes nothing', async () => {
    const grouped = Array.from({ length: 1200 }, (_, i) => dirUser(i))
    const { tid, ps } = await tenantWith({ direct: [dirUser(5000)], grouped })
    const first = await sync(ps.id)
    expect(first).toMatchObject({ mode: 'full', fullReason: 'first', added: 1201, total: 1201 })
    const state = await stateOf(ps.id)
    expect(state).toMatchObject({ scope: expect.stringContaining('app_assignments') })
    expect(await dbAll('SELECT COUNT(*) AS n FROM sync_delta_members WHERE phone_system_id = ?', ps.id)).toEqual([
      { n: 1201 },
    ])
    const listBefore = await listOf(ps.id)

    const before = await requestsIn(tid)
    const repeat = await sync(ps.id)
    const made = (await requestsIn(tid)) - before
    expect(repeat).toMatchObject({ mode: 'delta', fullReason: null, added: 0, removed: 0, updated: 0, unchanged: 1201 })
    expect(made).toBeLessThanOrEqual(5)
    expect(repeat.graphRequests).toBe(made)
    expect(await listOf(ps.id)).toEqual(listBefore)
  })

  it('renames, disables, deletions, removals from the group and additions to it each land after one delta sync', async () => {
    const [renamed, disabled, deleted, leaving, directAndGrouped, stays] = Array.from({ length: 6 }, (_, i) =>
      dirUser(i),
    )
    const newcomer = dirUser(10)
    const { tid, groupId, ps } = await tenantWith({
      direct: [directAndGrouped!],
      grouped: [renamed!, disabled!, deleted!, leaving!, directAndGrouped!, stays!],
      others: [newcomer],
    })
    await sync(ps.id)
    await graphControl(`tenants/${tid}`, {
      updateUsers: [{ id: renamed!.id, displayName: 'Renamed Person', userPrincipalName: 'Renamed@Contoso.example' }],
      disableUsers: [disabled!.id],
      removeUsers: [deleted!.id],
      removeMembers: [{ groupId, ids: [leaving!.id, directAndGrouped!.id] }],
      addMembers: [{ groupId, ids: [newcomer.id] }],
    })
    const outcome = await sync(ps.id)
    expect(outcome).toMatchObject({ mode: 'delta', added: 1, removed: 3, updated: 1, total: 4 })
    const list = await listOf(ps.id)
    expect(list.map((u) => u.oid).sort()).toEqual(ids([renamed!, directAndGrouped!, stays!, newcomer]))
    expect(list.find((u) => u.oid === renamed!.id)).toMatchObject({
      upn: 'renamed@contoso.example',
      display_name: 'Renamed Person',
    })
    expect(list.find((u) => u.oid === newcomer.id)).toMatchObject({ upn: newcomer.userPrincipalName.toLowerCase() })

    // Enabled again: back on the list at the next delta sync, with no full pull.
    await graphControl(`tenants/${tid}`, { enableUsers: [disabled!.id] })
    expect(await sync(ps.id)).toMatchObject({ mode: 'delta', added: 1, removed: 0, total: 5 })
    expect(await oidsOf(ps.id)).toContain(disabled!.id)

    // The delta sync's list is the list a full pull makes of the same directory.
    await env.DB.prepare('DELETE FROM sync_delta_state WHERE phone_system_id = ?').bind(ps.id).run()
    expect(await sync(ps.id)).toMatchObject({ mode: 'full', added: 0, removed: 0, updated: 0, unchanged: 5 })
  })

  it('a member of a nested group is not granted, before or after it changes: a group assignment grants its direct members only', async () => {
    const direct = dirUser(1)
    const inner = [dirUser(2)]
    const { tid, groupId, ps } = await tenantWith({ grouped: [direct], others: inner })
    const innerGroup = crypto.randomUUID()
    await graphControl(`tenants/${tid}`, {
      groups: [{ id: innerGroup, displayName: 'Nested', members: ids(inner) }],
      addMembers: [{ groupId, ids: [innerGroup] }],
    })
    expect(await sync(ps.id)).toMatchObject({ total: 1 })
    const latecomer = dirUser(3)
    await graphControl(`tenants/${tid}`, {
      users: [latecomer],
      addMembers: [{ groupId: innerGroup, ids: [latecomer.id] }],
    })
    expect(await sync(ps.id)).toMatchObject({ mode: 'delta', added: 0, total: 1 })
    expect(await oidsOf(ps.id)).toEqual([direct.id])
  })

  it('a group newly assigned to the app makes the sync pull in full, its members included', async () => {
    const { tid, groupId, ps } = await tenantWith({ grouped: [dirUser(1)] })
    await sync(ps.id)
    const second = crypto.randomUUID()
    const member = dirUser(2)
    await graphControl(`tenants/${tid}`, {
      users: [member],
      groups: [{ id: second, displayName: 'Second', members: [member.id] }],
      servicePrincipals: [
        {
          appId: TEST_CLIENT_ID,
          assignments: [
            { principalId: groupId, principalType: 'Group' },
            { principalId: second, principalType: 'Group' },
          ],
        },
      ],
    })
    expect(await sync(ps.id)).toMatchObject({ mode: 'full', fullReason: 'groups_changed', added: 1, total: 2 })
    expect(await sync(ps.id)).toMatchObject({ mode: 'delta', added: 0, total: 2 })
  })

  it.each([
    [410, 'syncStateNotFound'],
    [400, 'syncStateNotFound'],
    [410, 'resyncRequired'],
  ])(
    'Graph answering %s %s to a stored link: the sync pulls in full by itself and the list is right',
    async (status, code) => {
      const [a, b] = [dirUser(1), dirUser(2)]
      const { tid, ps } = await tenantWith({ grouped: [a!, b!] })
      await sync(ps.id)
      await graphControl(`tenants/${tid}`, {
        expireDeltaLinks: { status, code },
        updateUsers: [{ id: a!.id, displayName: 'Renamed while expired' }],
        removeUsers: [b!.id],
      })
      expect(await sync(ps.id)).toMatchObject({ mode: 'full', fullReason: 'resync_required', updated: 1, removed: 1 })
      expect(await listOf(ps.id)).toEqual([
        expect.objectContaining({ oid: a!.id, display_name: 'Renamed while expired' }),
      ])
      // The new links work.
      expect(await sync(ps.id)).toMatchObject({ mode: 'delta', total: 1 })
    },
  )

  it('links older than their seven days are not even tried: a full pull takes new ones', async () => {
    const { tid, ps } = await tenantWith({ grouped: [dirUser(1)] })
    await sync(ps.id)
    await env.DB.prepare('UPDATE sync_delta_state SET links_at = ? WHERE phone_system_id = ?')
      .bind(Date.now() - 7 * 24 * 60 * 60 * 1000, ps.id)
      .run()
    const before = await requestsIn(tid)
    expect(await sync(ps.id)).toMatchObject({ mode: 'full', fullReason: 'links_expired' })
    expect(await requestsIn(tid)).toBeGreaterThan(before)
    expect((await stateOf(ps.id)).links_at).toBeGreaterThan(Date.now() - 60_000)
  })

  it('a list replaced by hand since the last sync is pulled in full again, not patched', async () => {
    const { ps } = await tenantWith({ grouped: [dirUser(1)] })
    await sync(ps.id)
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: 'manual@contoso.example' }] })
    expect(await sync(ps.id)).toMatchObject({ mode: 'full', fullReason: 'list_changed', added: 1, removed: 1 })
  })

  it('switching the phone system to one group pulls in full', async () => {
    const grouped = [dirUser(1), dirUser(2)]
    const { groupId, ps } = await tenantWith({ direct: [dirUser(3)], grouped })
    await sync(ps.id)
    await apiJson('PATCH', `/phone-systems/${ps.id}`, { syncSource: 'group', syncGroupId: groupId })
    expect(await sync(ps.id)).toMatchObject({ mode: 'full', fullReason: 'source_changed', removed: 1, total: 2 })
    expect(await sync(ps.id)).toMatchObject({ mode: 'delta', source: 'group', total: 2, graphRequests: 2 })
  })

  it('a delta sync that fails after reading changes leaves the list AND the stored links as they were; the next one applies the change', async () => {
    const [a, b] = [dirUser(1), dirUser(2)]
    const { tid, ps } = await tenantWith({ grouped: [a!, b!] })
    await sync(ps.id)
    await graphControl(`tenants/${tid}`, { updateUsers: [{ id: a!.id, displayName: 'Renamed' }] })
    // The groups' changes are read, then Graph fails on the users' changes.
    await graphControl(`tenants/${tid}`, { failOnPath: '/v1.0/users/delta' })
    const list = await listOf(ps.id)
    const state = await stateOf(ps.id)
    const members = await dbAll('SELECT * FROM sync_delta_members WHERE phone_system_id = ? ORDER BY user_id', ps.id)

    const res = await api('POST', `/phone-systems/${ps.id}/sync`)
    expect(res.status).toBe(502)
    expect(await listOf(ps.id)).toEqual(list)
    expect(await stateOf(ps.id)).toEqual(state)
    expect(await dbAll('SELECT * FROM sync_delta_members WHERE phone_system_id = ? ORDER BY user_id', ps.id)).toEqual(
      members,
    )

    expect(await sync(ps.id)).toMatchObject({ mode: 'delta', updated: 1 })
    expect((await listOf(ps.id)).find((u) => u.oid === a!.id)?.display_name).toBe('Renamed')
  })

  it('changes replayed (a link followed twice) are applied twice harmlessly', async () => {
    const [a, b] = [dirUser(1), dirUser(2)]
    const { tid, groupId, ps } = await tenantWith({ grouped: [a!, b!] })
    await sync(ps.id)
    const old = await stateOf(ps.id)
    await graphControl(`tenants/${tid}`, {
      updateUsers: [{ id: a!.id, displayName: 'Once' }],
      removeMembers: [{ groupId, ids: [b!.id] }],
    })
    expect(await sync(ps.id)).toMatchObject({ mode: 'delta', updated: 1, removed: 1 })
    const after = await listOf(ps.id)
    // The old links again (as if the write of their successors had been lost): the same changes come back.
    await env.DB.prepare('UPDATE sync_delta_state SET links = ?, links_at = ? WHERE phone_system_id = ?')
      .bind(old.links, old.links_at, ps.id)
      .run()
    expect(await sync(ps.id)).toMatchObject({ mode: 'delta', added: 0, removed: 0, updated: 0, total: 1 })
    expect(await listOf(ps.id)).toEqual(after)
  })

  it('new members whose accounts did not change come by id, 15 a request; more than that is worth pull in full', async () => {
    // Users that exist before the links are taken: users/delta does not name them when they join the group.
    const few = Array.from({ length: 20 }, (_, i) => dirUser(100 + i))
    const many = Array.from({ length: 200 }, (_, i) => dirUser(200 + i))
    const { tid, groupId, ps } = await tenantWith({ grouped: [dirUser(1)], others: [...few, ...many] })
    await sync(ps.id)
    await graphControl(`tenants/${tid}`, { addMembers: [{ groupId, ids: ids(few) }] })
    // Assignments (2), groups/delta, users/delta, and the 20 newcomers by id (2).
    expect(await sync(ps.id)).toMatchObject({ mode: 'delta', added: 20, total: 21, graphRequests: 6 })
    await graphControl(`tenants/${tid}`, { addMembers: [{ groupId, ids: ids(many) }] })
    expect(await sync(ps.id)).toMatchObject({ mode: 'full', fullReason: 'many_new_users', added: 200, total: 221 })
  })

  it('new users created in the tenant and added to the group come with their changes, no lookup by id', async () => {
    const { tid, groupId, ps } = await tenantWith({ grouped: [dirUser(1)] })
    await sync(ps.id)
    const newcomers = Array.from({ length: 200 }, (_, i) => dirUser(100 + i))
    await graphControl(`tenants/${tid}`, { users: newcomers, addMembers: [{ groupId, ids: ids(newcomers) }] })
    // Assignments (2), groups/delta, users/delta (200 changed users: one page).
    expect(await sync(ps.id)).toMatchObject({ mode: 'delta', added: 200, total: 201, graphRequests: 4 })
  })

  it('a day of more changes than a full read costs (over 100 pages of them) pulls in full, within the request cap', async () => {
    const tid = newTenantId()
    await consent(tid)
    const groupId = crypto.randomUUID()
    await graphControl(`tenants/${tid}`, {
      bulkGroup: { id: groupId, count: 20_100 },
      servicePrincipals: [{ appId: TEST_CLIENT_ID, assignments: [{ principalId: groupId, principalType: 'Group' }] }],
    })
    const customer = await createCustomer((await createPartner()).id)
    const ps = await createPhoneSystem(customer.id, tid, 'Big')
    await sync(ps.id)
    await graphControl(`tenants/${tid}`, { renameAllUsers: ' (renamed)' })
    const outcome = await sync(ps.id)
    expect(outcome).toMatchObject({ mode: 'full', fullReason: 'many_changes', updated: 20_100 })
    // Four requests, 100 pages of changes given up on, then the full read: assignments, links, 21 pages of members.
    expect(outcome.graphRequests).toBeLessThanOrEqual(300)
    const [row] = await dbAll<any>(
      "SELECT COUNT(*) AS n FROM sso_users WHERE phone_system_id = ? AND display_name LIKE '% (renamed)'",
      ps.id,
    )
    expect(row.n).toBe(20_100)
  }, 120_000)

  it('deleting the phone system deletes its links, memberships and disabled marks', async () => {
    const { ps } = await tenantWith({ grouped: [dirUser(1), dirUser(2, undefined, false)] })
    await sync(ps.id)
    expect(await dbAll('SELECT COUNT(*) AS n FROM sync_delta_disabled WHERE phone_system_id = ?', ps.id)).toEqual([
      { n: 1 },
    ])
    const res = await api('DELETE', `/phone-systems/${ps.id}`)
    expect(res.status).toBe(204)
    for (const table of ['sync_delta_state', 'sync_delta_members', 'sync_delta_disabled'])
      expect(await dbAll(`SELECT * FROM ${table} WHERE phone_system_id = ?`, ps.id)).toEqual([])
  })

  it('a rename onto an address another listed user holds leaves the address with its holder', async () => {
    const [a, b] = [dirUser(1), dirUser(2)]
    const { tid, ps } = await tenantWith({ grouped: [a!, b!] })
    await sync(ps.id)
    await graphControl(`tenants/${tid}`, { updateUsers: [{ id: b!.id, mail: a!.mail }] })
    expect(await sync(ps.id)).toMatchObject({ mode: 'delta', updated: 1 })
    const list = await listOf(ps.id)
    expect(list.find((u) => u.oid === a!.id)?.email).toBe(a!.mail)
    expect(list.find((u) => u.oid === b!.id)?.email).toBeNull()
  })
})

describe('the stored links', () => {
  const lines: string[] = []
  afterEach(() => {
    vi.restoreAllMocks()
    lines.length = 0
  })

  it('are sealed in D1 and never in an API answer or a log line', async () => {
    for (const method of ['log', 'warn', 'error', 'info', 'debug'] as const)
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(' '))
      })
    const { tid, ps } = await tenantWith({ grouped: [dirUser(1)] })
    const answers = [JSON.stringify(await sync(ps.id))]
    await graphControl(`tenants/${tid}`, { expireDeltaLinks: true })
    answers.push(JSON.stringify(await sync(ps.id)))
    answers.push(JSON.stringify(await sync(ps.id)))
    answers.push(JSON.stringify(await apiJson('GET', `/phone-systems/${ps.id}`)))
    answers.push(JSON.stringify(await dbAll('SELECT summary FROM audit_log WHERE target_id = ?', ps.id)))
    const state = await stateOf(ps.id)
    expect(state.links).toMatch(/^v1\./)
    for (const text of [...answers, ...lines, state.links]) {
      expect(text).not.toContain('deltatoken')
      expect(text).not.toContain('/delta?')
    }
  })
})

describe('the effect on sign-in', () => {
  it('a user disabled in Microsoft 365 is refused at the next sign-in after a delta sync; enabled again, signs in', async () => {
    const tenant = await seedSignInTenant({ listed: false })
    await consent(tenant.tenantId)
    const colleague = await addEntraUser(tenant.tenantId, 'Colleague')
    const asDir = (u: { oid: string; upn: string; name: string }) => ({
      id: u.oid,
      userPrincipalName: u.upn,
      mail: null,
      displayName: u.name,
      accountEnabled: true,
    })
    const groupId = crypto.randomUUID()
    await graphControl(`tenants/${tenant.tenantId}`, {
      users: [asDir(tenant.user), asDir(colleague)],
      groups: [{ id: groupId, displayName: 'Phone users', members: [tenant.user.oid, colleague.oid] }],
      servicePrincipals: [{ appId: TEST_CLIENT_ID, assignments: [{ principalId: groupId, principalType: 'Group' }] }],
    })
    await sync(tenant.phoneSystemId)
    expect((await signIn(tenant.hostname, tenant.user)).html).toContain(HANDOFF_FIELD)

    await graphControl(`tenants/${tenant.tenantId}`, { disableUsers: [tenant.user.oid] })
    expect(await sync(tenant.phoneSystemId)).toMatchObject({ mode: 'delta', removed: 1 })
    expect((await signIn(tenant.hostname, tenant.user)).res.status).toBe(403)
    expect((await signIn(tenant.hostname, colleague)).html).toContain(HANDOFF_FIELD)

    await graphControl(`tenants/${tenant.tenantId}`, { enableUsers: [tenant.user.oid] })
    expect(await sync(tenant.phoneSystemId)).toMatchObject({ mode: 'delta', added: 1 })
    expect((await signIn(tenant.hostname, tenant.user)).html).toContain(HANDOFF_FIELD)
  })
})
