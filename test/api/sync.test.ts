/**
 * POST /phone-systems/{id}/sync against the Microsoft Graph stand-in: what
 * ends up in D1, what the partner is told, and that a failed pull leaves the
 * list exactly as it was.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { getConfig } from '../../src/config'
import { pullSsoList, SYNC_THROTTLE_BUDGET_MS } from '../../src/sync/pull'
import { ThrottleBudget } from '../../src/upstream/graph'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../bindings'
import {
  addEntraUser,
  api,
  apiJson,
  consent,
  createCustomer,
  createPartner,
  dbAll,
  directory,
  dirUser,
  entraControl,
  expectJson,
  graphControl,
  HANDOFF_FIELD,
  newTenantId,
  runCron,
  seedSignInTenant,
  signIn,
} from '../fixtures'

async function listOf(phoneSystemId: string) {
  return dbAll<any>(
    'SELECT oid, upn, email, display_name, extension FROM sso_users WHERE phone_system_id = ? ORDER BY sort_key, id',
    phoneSystemId,
  )
}

/** A phone system in `tid`, under a new partner unless given one (a tenant belongs to one partner's subtree). */
async function phoneSystemIn(tid: string, existingPartner?: { id: string }) {
  const partner = existingPartner ?? (await createPartner())
  const customer = await createCustomer(partner.id)
  const ps = await apiJson(
    'POST',
    `/orgs/${customer.id}/phone-systems`,
    { name: 'HQ', webClientUrl: 'https://pbx.example/', handoffUrl: 'https://pbx.example/h', entraTenantId: tid },
    201,
  )
  return { partner, customer, ps }
}

describe('POST /api/v1/phone-systems/{id}/sync', () => {
  it('pulls users assigned directly and through groups, leaves disabled accounts out, and answers the counts', async () => {
    const tid = newTenantId()
    await consent(tid)
    const direct = [dirUser(1), dirUser(2)]
    const grouped = [dirUser(3), dirUser(4), dirUser(5, undefined, false)]
    await directory(tid, { direct, grouped, others: [dirUser(6)] })
    const { ps } = await phoneSystemIn(tid)

    const res = await api('POST', `/phone-systems/${ps.id}/sync`)
    expect(res.status).toBe(200)
    const outcome = await res.json<any>()
    expect(outcome).toMatchObject({
      added: 4,
      removed: 0,
      updated: 0,
      unchanged: 0,
      total: 4,
      source: 'app_assignments',
      disabledSkipped: 1,
    })
    const stored = await listOf(ps.id)
    expect(stored.map((u) => u.oid).sort()).toEqual([...direct, ...grouped.slice(0, 2)].map((u) => u.id).sort())
    expect(stored.every((u) => u.upn === u.upn.toLowerCase())).toBe(true)

    const after = await apiJson('GET', `/phone-systems/${ps.id}`)
    expect(after.sync).toMatchObject({
      lastSyncStatus: 'success',
      lastSyncError: null,
      lastSyncCounts: { added: 4, total: 4 },
    })
    expect(new Date(after.sync.nextSyncAt).getTime()).toBeGreaterThan(Date.now())
  })

  it('pages through large groups ($top 999, @odata.nextLink) and a second sync changes nothing', async () => {
    const tid = newTenantId()
    await consent(tid)
    const grouped = Array.from({ length: 2500 }, (_, i) => dirUser(i))
    await directory(tid, { grouped })
    const { ps } = await phoneSystemIn(tid)
    const first = await apiJson('POST', `/phone-systems/${ps.id}/sync`)
    expect(first).toMatchObject({ added: 2500, total: 2500 })
    expect(first.graphPages).toBeGreaterThanOrEqual(4) // assignments + 3 pages of members
    const second = await apiJson('POST', `/phone-systems/${ps.id}/sync`)
    expect(second).toMatchObject({ added: 0, removed: 0, updated: 0, unchanged: 2500 })
  })

  it('waits out throttling (429 with Retry-After) and succeeds', async () => {
    const tid = newTenantId()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    await graphControl(`tenants/${tid}`, { throttle: 2 })
    const { ps } = await phoneSystemIn(tid)
    const outcome = await apiJson('POST', `/phone-systems/${ps.id}/sync`)
    expect(outcome).toMatchObject({ added: 1 })
  })

  it.each([
    ['GroupMember.Read.All', ['Application.Read.All', 'User.Read.All']],
    ['Application.Read.All', ['User.Read.All', 'GroupMember.Read.All']],
  ])('a missing %s permission: 502 naming it and the re-consent step; list untouched', async (permission, roles) => {
    const tid = newTenantId()
    await consent(tid, roles)
    await directory(tid, { grouped: [dirUser(1)] })
    const { ps } = await phoneSystemIn(tid)
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, {
      users: [{ upn: 'kept@contoso.example', extension: '100' }],
    })
    const before = await listOf(ps.id)

    const res = await api('POST', `/phone-systems/${ps.id}/sync`)
    expect(res.status).toBe(502)
    const { error } = await res.json<any>()
    expect(error.code).toBe('graph_permission')
    expect(error.message).toContain(permission)
    expect(error.message).toContain('Reprovision Account')
    expect(await listOf(ps.id)).toEqual(before)
    const after = await apiJson('GET', `/phone-systems/${ps.id}`)
    expect(after.sync).toMatchObject({ lastSyncStatus: 'failed', lastSyncError: expect.stringContaining(permission) })
  })

  it('an app not consented in the tenant at all: 502 saying the integration must be re-consented', async () => {
    const tid = newTenantId()
    await directory(tid, { direct: [dirUser(1)] })
    const { ps } = await phoneSystemIn(tid)
    const res = await api('POST', `/phone-systems/${ps.id}/sync`)
    expect(res.status).toBe(502)
    const { error } = await res.json<any>()
    expect(error).toMatchObject({
      code: 'graph_permission',
      message: expect.stringContaining(`not consented in tenant ${tid}`),
    })
  })

  it('an app not installed in the tenant (no service principal): 502 saying to add a user to the integration', async () => {
    const tid = newTenantId()
    await consent(tid)
    const { ps } = await phoneSystemIn(tid)
    const res = await api('POST', `/phone-systems/${ps.id}/sync`)
    expect(res.status).toBe(502)
    const { error } = await res.json<any>()
    expect(error.code).toBe('sync_app_not_installed')
    expect(error.message).toContain('add a user to it')
  })

  it('a failure on the last page leaves the list exactly as it was, in D1, and records the failure', async () => {
    const tid = newTenantId()
    await consent(tid)
    const grouped = Array.from({ length: 2100 }, (_, i) => dirUser(i))
    await directory(tid, { grouped })
    const { ps } = await phoneSystemIn(tid)
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, {
      users: [{ upn: 'before@contoso.example', displayName: 'Before', extension: '1' }],
    })
    const before = await listOf(ps.id)
    const [versionBefore] = await dbAll<any>('SELECT sso_list_version FROM phone_systems WHERE id = ?', ps.id)
    await graphControl(`tenants/${tid}`, { failOnPage: 3 })

    const res = await api('POST', `/phone-systems/${ps.id}/sync`)
    expect(res.status).toBe(502)
    expect(await listOf(ps.id)).toEqual(before)
    expect(await dbAll('SELECT sso_list_version FROM phone_systems WHERE id = ?', ps.id)).toEqual([versionBefore])
    const [row] = await dbAll<any>(
      'SELECT last_sync_status, last_sync_error, last_sync_at FROM phone_systems WHERE id = ?',
      ps.id,
    )
    expect(row).toMatchObject({
      last_sync_status: 'failed',
      last_sync_error: expect.stringContaining('Microsoft Graph answered 500'),
    })
    expect(row.last_sync_at).toBeGreaterThan(0)
    expect(await dbAll("SELECT * FROM audit_log WHERE target_id = ? AND action = 'sso_list.sync'", ps.id)).toEqual([])
  })

  it('keeps the extensions set on the list: Microsoft 365 does not know them', async () => {
    const tid = newTenantId()
    await consent(tid)
    const ann = dirUser(1)
    await directory(tid, { direct: [ann] })
    const { ps } = await phoneSystemIn(tid)
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ oid: ann.id, extension: '4711' }] })
    const outcome = await apiJson('POST', `/phone-systems/${ps.id}/sync`)
    expect(outcome).toMatchObject({ updated: 1, added: 0, removed: 0 })
    expect(await listOf(ps.id)).toEqual([
      {
        oid: ann.id,
        upn: ann.userPrincipalName.toLowerCase(),
        email: ann.mail,
        display_name: ann.displayName,
        extension: '4711',
      },
    ])
  })

  it("reads one group's members when the phone system is set to a group", async () => {
    const tid = newTenantId()
    await consent(tid)
    const grouped = [dirUser(1), dirUser(2)]
    const { groupId } = await directory(tid, { direct: [dirUser(3)], grouped })
    const { ps } = await phoneSystemIn(tid)
    const bad = await api('PATCH', `/phone-systems/${ps.id}`, { syncSource: 'group' })
    expect(bad.status).toBe(400)
    expect((await bad.json<any>()).error.field).toBe('syncGroupId')
    await apiJson('PATCH', `/phone-systems/${ps.id}`, { syncSource: 'group', syncGroupId: groupId.toUpperCase() })
    const outcome = await apiJson('POST', `/phone-systems/${ps.id}/sync`)
    expect(outcome).toMatchObject({ source: 'group', total: 2 })
    expect((await listOf(ps.id)).map((u) => u.oid).sort()).toEqual(grouped.map((u) => u.id).sort())
  })

  it("syncs a flat customer's phone system with its partner's own app", async () => {
    const tid = newTenantId()
    const partner = await createPartner()
    const flat = await createCustomer(partner.id, { structure: 'flat' })
    const clientId = crypto.randomUUID()
    await entraControl('apps', { clientId, secret: 'partner-app-secret', redirectUris: [] })
    await consent(tid, undefined, clientId)
    await apiJson('PUT', `/orgs/${partner.id}/microsoft-integration`, {
      clientId,
      clientSecret: 'partner-app-secret',
      homeTenantId: newTenantId(),
    })
    await directory(tid, { direct: [dirUser(1)], clientId })
    const ps = await apiJson(
      'POST',
      `/orgs/${flat.id}/phone-systems`,
      { name: 'Flat', webClientUrl: 'https://f.example/', handoffUrl: 'https://f.example/h', entraTenantId: tid },
      201,
    )
    expect(await apiJson('POST', `/phone-systems/${ps.id}/sync`)).toMatchObject({ added: 1 })
  })
})

describe('the effect on sign-in', () => {
  it('a user removed in Microsoft 365 cannot sign in after the next Sync', async () => {
    const tenant = await seedSignInTenant({ listed: false })
    await consent(tenant.tenantId)
    const colleague = await addEntraUser(tenant.tenantId, 'Colleague')
    const asDir = (u: { oid: string; upn: string; email?: string; name: string }) => ({
      id: u.oid,
      userPrincipalName: u.upn,
      mail: u.email ?? null,
      displayName: u.name,
      accountEnabled: true,
    })
    await directory(tenant.tenantId, { grouped: [asDir(tenant.user), asDir(colleague)] })
    expect(await apiJson('POST', `/phone-systems/${tenant.phoneSystemId}/sync`)).toMatchObject({ added: 2 })
    expect((await signIn(tenant.hostname, tenant.user)).html).toContain(HANDOFF_FIELD)

    await graphControl(`tenants/${tenant.tenantId}`, { removeUsers: [tenant.user.oid] })
    expect(await apiJson('POST', `/phone-systems/${tenant.phoneSystemId}/sync`)).toMatchObject({
      removed: 1,
      unchanged: 1,
    })
    const refused = await signIn(tenant.hostname, tenant.user)
    expect(refused.res.status).toBe(403)
    expect(refused.html).toContain('Your account is not set up for SSO here')
    expect((await signIn(tenant.hostname, colleague)).html).toContain(HANDOFF_FIELD)
  })

  it('a user disabled in Microsoft 365 cannot sign in after the next Sync', async () => {
    const tenant = await seedSignInTenant({ listed: false })
    await consent(tenant.tenantId)
    await directory(tenant.tenantId, {
      direct: [
        {
          id: tenant.user.oid,
          userPrincipalName: tenant.user.upn,
          mail: null,
          displayName: tenant.user.name,
          accountEnabled: true,
        },
      ],
    })
    await apiJson('POST', `/phone-systems/${tenant.phoneSystemId}/sync`)
    await graphControl(`tenants/${tenant.tenantId}`, { disableUsers: [tenant.user.oid] })
    expect(await apiJson('POST', `/phone-systems/${tenant.phoneSystemId}/sync`)).toMatchObject({ removed: 1, total: 0 })
    expect((await signIn(tenant.hostname, tenant.user)).res.status).toBe(403)
  })
})

describe('the schedule', () => {
  it('syncs phone systems that are due (after their first Sync), never the others, and schedules the next with jitter', async () => {
    const tid = newTenantId()
    await consent(tid)
    const ann = dirUser(1)
    await directory(tid, { direct: [ann] })
    const { ps, partner } = await phoneSystemIn(tid)
    const { ps: manual } = await phoneSystemIn(tid, partner)
    await apiJson('PUT', `/phone-systems/${manual.id}/sso-users`, { users: [{ upn: 'manual@contoso.example' }] })

    await apiJson('POST', `/phone-systems/${ps.id}/sync`)
    await graphControl(`tenants/${tid}`, { users: [dirUser(2)] })
    const newcomer = dirUser(3)
    await graphControl(`tenants/${tid}`, {
      users: [newcomer],
      servicePrincipals: [
        {
          appId: env.ENTRA_CLIENT_ID!,
          assignments: [ann, newcomer].map((u) => ({ principalId: u.id, principalType: 'User' })),
        },
      ],
    })

    await runCron()
    expect((await listOf(ps.id)).length).toBe(1) // not due yet

    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ? WHERE id = ?')
      .bind(Date.now() - 1, ps.id)
      .run()
    await runCron()
    expect((await listOf(ps.id)).map((u) => u.oid).sort()).toEqual([ann.id, newcomer.id].sort())
    const [row] = await dbAll<any>('SELECT next_sync_at, last_sync_status FROM phone_systems WHERE id = ?', ps.id)
    const sixHours = 6 * 60 * 60 * 1000
    expect(row.last_sync_status).toBe('success')
    expect(row.next_sync_at - Date.now()).toBeGreaterThan(sixHours - 60_000)
    expect(row.next_sync_at - Date.now()).toBeLessThanOrEqual(sixHours * 1.2)
    expect(
      await dbAll("SELECT actor FROM audit_log WHERE target_id = ? AND action = 'sso_list.sync' ORDER BY id", ps.id),
    ).toEqual([{ actor: 'ops' }, { actor: 'system' }])

    // The manually maintained list was never synced, so the schedule leaves it alone.
    expect((await listOf(manual.id)).map((u) => u.upn)).toEqual(['manual@contoso.example'])
  })
})

// ---------------------------------------------------------------- ARCHITECTURE §8: limits, concurrency, throttling

async function phoneSystemRow(id: string) {
  const [row] = await dbAll<any>(
    'SELECT sso_list_version, last_sync_at, last_sync_status, last_sync_error, next_sync_at FROM phone_systems WHERE id = ?',
    id,
  )
  return row
}

async function claimsOf(id: string) {
  return dbAll<any>('SELECT run_id, started_at FROM sync_runs WHERE phone_system_id = ?', id)
}

/** Waits until a sync of `id` is under way (its claim is in D1). */
async function untilClaimed(id: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await claimsOf(id)).length > 0) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`no sync of ${id} started`)
}

/** Makes a phone system due on the schedule now. */
async function makeDue(id: string, ago = 1): Promise<void> {
  await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ? WHERE id = ?')
    .bind(Date.now() - ago, id)
    .run()
}

describe('limits and concurrency (ARCHITECTURE §8)', () => {
  it('a list over 50,000 users is refused while paging: 422 naming the cap and the count so far, the list unchanged, the failure recorded', async () => {
    const tid = newTenantId()
    await consent(tid)
    const groupId = crypto.randomUUID()
    await graphControl(`tenants/${tid}`, {
      bulkGroup: { id: groupId, count: 60_000 },
      servicePrincipals: [{ appId: TEST_CLIENT_ID, assignments: [{ principalId: groupId, principalType: 'Group' }] }],
    })
    const { ps } = await phoneSystemIn(tid)
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: 'kept@contoso.example' }] })
    const before = await listOf(ps.id)
    const rowBefore = await phoneSystemRow(ps.id)

    const res = await api('POST', `/phone-systems/${ps.id}/sync`)
    const { error } = await expectJson(res, 422)
    expect(error.code).toBe('sync_too_large')
    // 51 pages of 999 members: the first count past the cap.
    expect(error.message).toContain('more than 50,000 users')
    expect(error.message).toContain('after counting 50,949')
    expect(await listOf(ps.id)).toEqual(before)
    const row = await phoneSystemRow(ps.id)
    expect(row).toMatchObject({
      sso_list_version: rowBefore.sso_list_version,
      last_sync_status: 'failed',
      last_sync_error: error.message,
    })
    // It stopped paging there: the service principal, its assignments, the delta links taken before the members
    // (users, and the assigned group) and 51 of the 61 pages of members.
    expect((await graphControl(`tenants/${tid}`, {})).requests).toBe(2 + 2 + 51)
    expect(await claimsOf(ps.id)).toEqual([])
  }, 60_000)

  it('Graph answering 429 to every call for a minute: the sync gives up at once, within its budget; list unchanged, status recorded', async () => {
    const tid = newTenantId()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    const { ps } = await phoneSystemIn(tid)
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: 'kept@contoso.example' }] })
    const before = await listOf(ps.id)
    await graphControl(`tenants/${tid}`, { throttleFor: { seconds: 60 } })

    const res = await api('POST', `/phone-systems/${ps.id}/sync`)
    const { error } = await expectJson(res, 503)
    expect(error.code).toBe('graph_throttled')
    expect(error.message).toMatch(/asks to wait (59|60) s, longer than the sync may still wait \(30 s left of 30 s\)/)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(30)
    // Waiting 30 s would only have earned another 429: one call, no retry.
    expect((await graphControl(`tenants/${tid}`, {})).requests).toBe(1)
    expect(await listOf(ps.id)).toEqual(before)
    expect(await phoneSystemRow(ps.id)).toMatchObject({ last_sync_status: 'failed', last_sync_error: error.message })
    expect(await claimsOf(ps.id)).toEqual([])
  })

  it('short Retry-Afters are honoured until they add up to the budget, then the pull gives up', async () => {
    const tid = newTenantId()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    await graphControl(`tenants/${tid}`, { throttleFor: { seconds: 60, retryAfter: 7 } })
    const waits: number[] = []
    const budget = new ThrottleBudget('the sync', SYNC_THROTTLE_BUDGET_MS, async (ms) => {
      waits.push(ms)
    })
    const client = {
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      orgId: null,
      homeTenantId: null,
      allowedTenantIds: null,
    }
    const pull = pullSsoList(
      getConfig(env as never),
      client,
      tid,
      { kind: 'app_assignments', groupId: null },
      { throttle: budget },
    )
    await expect(pull).rejects.toMatchObject({
      code: 'graph_throttled',
      message: expect.stringContaining('asks to wait 7 s, longer than the sync may still wait (2 s left of 30 s)'),
    })
    expect(waits).toEqual([7000, 7000, 7000, 7000])
    expect((await graphControl(`tenants/${tid}`, {})).requests).toBe(5)
  })

  it('a scheduled run marks the phone system in progress and moves its next sync an hour on before pulling; a second sync meanwhile answers 409 and writes nothing', async () => {
    const tid = newTenantId()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    const { ps } = await phoneSystemIn(tid)
    await apiJson('POST', `/phone-systems/${ps.id}/sync`)
    await graphControl(`tenants/${tid}`, { users: [dirUser(2)] })
    await makeDue(ps.id)
    await graphControl(`tenants/${tid}`, { holdMs: 1000 })

    const cron = runCron()
    try {
      await untilClaimed(ps.id)
      const during = await phoneSystemRow(ps.id)
      expect(during.next_sync_at).toBeGreaterThan(Date.now() + 59 * 60 * 1000)

      const second = await api('POST', `/phone-systems/${ps.id}/sync`)
      const { error } = await expectJson(second, 409)
      expect(error).toMatchObject({ code: 'sync_in_progress', message: expect.stringContaining('already under way') })
      expect(await phoneSystemRow(ps.id)).toEqual(during)
    } finally {
      await graphControl(`tenants/${tid}`, { release: true })
      await cron
    }
    // The run that held the claim finished, and its success stands: the refused sync recorded no failure over it.
    expect(await phoneSystemRow(ps.id)).toMatchObject({ last_sync_status: 'success', last_sync_error: null })
    expect(await claimsOf(ps.id)).toEqual([])
    expect(
      await dbAll("SELECT actor FROM audit_log WHERE target_id = ? AND action = 'sso_list.sync' ORDER BY id", ps.id),
    ).toEqual([{ actor: 'ops' }, { actor: 'system' }])
  })

  it('a sync whose claim was taken over (it outlived it) writes nothing: 409, the list and status as the new holder left them', async () => {
    const tid = newTenantId()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    const { ps } = await phoneSystemIn(tid)
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: 'kept@contoso.example' }] })
    const before = await listOf(ps.id)
    const rowBefore = await phoneSystemRow(ps.id)
    await graphControl(`tenants/${tid}`, { holdMs: 1000 })

    const first = api('POST', `/phone-systems/${ps.id}/sync`)
    try {
      await untilClaimed(ps.id)
      await env.DB.prepare("UPDATE sync_runs SET run_id = 'another-run', started_at = ? WHERE phone_system_id = ?")
        .bind(Date.now(), ps.id)
        .run()
    } finally {
      await graphControl(`tenants/${tid}`, { release: true })
    }
    const { error } = await expectJson(await first, 409)
    expect(error.code).toBe('conflict')
    expect(await listOf(ps.id)).toEqual(before)
    expect(await phoneSystemRow(ps.id)).toEqual(rowBefore)
    expect((await claimsOf(ps.id)).map((c) => c.run_id)).toEqual(['another-run'])
  })

  it('the schedule skips a phone system whose sync is under way and syncs the others; a crashed run’s claim expires', async () => {
    const tid = newTenantId()
    await consent(tid)
    const ann = dirUser(1)
    await directory(tid, { direct: [ann] })
    const { ps: busy, partner } = await phoneSystemIn(tid)
    const { ps: other } = await phoneSystemIn(tid, partner)
    await apiJson('POST', `/phone-systems/${busy.id}/sync`)
    await apiJson('POST', `/phone-systems/${other.id}/sync`)
    const newcomer = dirUser(2)
    await graphControl(`tenants/${tid}`, {
      users: [newcomer],
      servicePrincipals: [
        {
          appId: TEST_CLIENT_ID,
          assignments: [ann, newcomer].map((u) => ({ principalId: u.id, principalType: 'User' })),
        },
      ],
    })
    // The busy one is first in line, and a run (crashed, or still going) holds it.
    await makeDue(busy.id, 2)
    await makeDue(other.id, 1)
    const startedAt = Date.now()
    await env.DB.prepare("INSERT INTO sync_runs (phone_system_id, run_id, started_at) VALUES (?, 'crashed-run', ?)")
      .bind(busy.id, startedAt)
      .run()
    const busyBefore = await phoneSystemRow(busy.id)

    await runCron()
    expect((await listOf(other.id)).map((u) => u.oid).sort()).toEqual([ann.id, newcomer.id].sort())
    expect((await listOf(busy.id)).map((u) => u.oid)).toEqual([ann.id])
    // Nothing recorded over the run that holds it; the planner only leased it (its next sync an hour on).
    const { next_sync_at: leased, ...busyAfter } = await phoneSystemRow(busy.id)
    const { next_sync_at: _, ...busyBeforeRest } = busyBefore
    expect(busyAfter).toEqual(busyBeforeRest)
    expect(leased).toBeGreaterThan(startedAt + 59 * 60 * 1000)
    expect(await claimsOf(busy.id)).toEqual([{ run_id: 'crashed-run', started_at: startedAt }])

    // 15 minutes on, the claim is a crashed run's; once the lease has run out, the next run takes it over and syncs.
    await env.DB.prepare('UPDATE sync_runs SET started_at = ? WHERE phone_system_id = ?')
      .bind(Date.now() - 15 * 60 * 1000 - 1, busy.id)
      .run()
    await makeDue(busy.id)
    await runCron()
    expect((await listOf(busy.id)).map((u) => u.oid).sort()).toEqual([ann.id, newcomer.id].sort())
    expect(await phoneSystemRow(busy.id)).toMatchObject({ last_sync_status: 'success' })
    expect(await claimsOf(busy.id)).toEqual([])
  })
})
