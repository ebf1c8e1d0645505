/**
 * Review 8, fleet scheduling against a hostile partner: a partner whose portal signs in with its own
 * Entra app holds that app's secret, so it can spend the app's Graph quota at will and make Graph throttle
 * it in a handful of its customers' tenants. That must back those tenants off, never read as the
 * provider's app throttled across tenants (which halves every partner's scheduled syncs).
 * Queue messages that are malformed or forged, and phone systems deleted while queued, change nothing.
 */
import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { getConfig } from '../../src/config'
import worker from '../../src/index'
import { APP_WIDE, FLEET } from '../../src/sync/fleet'
import { planDueSyncs, type SyncJob } from '../../src/sync/fleet-queue'
import {
  apiJson,
  capturingQueue,
  consent,
  createCustomer,
  createPartner,
  dbAll,
  directory,
  dirUser,
  entraControl,
  graphControl,
  newTenantId,
  SYNC_QUEUE,
} from '../fixtures'

afterEach(async () => {
  vi.restoreAllMocks()
  await env.DB.prepare('DELETE FROM graph_tenant_backoff WHERE tenant_id = ?').bind(APP_WIDE.tenantId).run()
})

async function invoke(bodies: unknown[]) {
  const batch = createMessageBatch(
    SYNC_QUEUE,
    bodies.map((body) => ({ id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body })),
  )
  const ctx = createExecutionContext()
  await worker.queue(batch, env as never)
  await waitOnExecutionContext(ctx)
  return getQueueResult(batch, ctx)
}

const lastSync = async (id: string) =>
  (await dbAll<any>('SELECT last_sync_status, last_sync_error FROM phone_systems WHERE id = ?', id))[0]

describe('review 8: one partner throttled by Graph does not slow the fleet', () => {
  it(`its own app throttled in ${APP_WIDE.tenants} tenants backs those tenants off, and no app-wide backoff`, async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const partner = await createPartner()
    const clientId = crypto.randomUUID()
    const secret = 'the-partners-own-app-secret'
    await entraControl('apps', { clientId, secret, redirectUris: ['https://login.localhost/sso/callback'] })
    // The customer's portal signs in with an app the partner registered (its API key may set it up).
    const customer = await createCustomer(partner.id)
    await apiJson('PUT', `/orgs/${customer.id}/microsoft-integration`, {
      clientId,
      clientSecret: secret,
      homeTenantId: newTenantId(),
    })
    const tids: string[] = []
    const ids: string[] = []
    for (let t = 0; t < APP_WIDE.tenants; t++) {
      const tid = newTenantId()
      // Only the partner's app is consented there: a sync that succeeds proves it is the app used.
      await consent(tid, undefined, clientId)
      await directory(tid, { direct: [dirUser(1)], clientId })
      const ps = await apiJson(
        'POST',
        `/orgs/${customer.id}/phone-systems`,
        {
          name: `PBX ${t}`,
          webClientUrl: 'https://pbx.example/',
          handoffUrl: 'https://pbx.example/h',
          entraTenantId: tid,
        },
        201,
      )
      tids.push(tid)
      ids.push(ps.id)
    }
    const dueBy = Date.now() + FLEET.leaseMs
    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ?1 WHERE id IN (SELECT value FROM json_each(?2))')
      .bind(Date.now() - 1000, JSON.stringify(ids))
      .run()
    // The partner's app works in the first tenant (the precondition), then is throttled in all of them.
    await invoke([{ phoneSystemId: ids[0]!, dueBy } satisfies SyncJob])
    expect(await lastSync(ids[0]!)).toEqual({ last_sync_status: 'success', last_sync_error: null })
    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ?1 WHERE id = ?2')
      .bind(Date.now() - 1000, ids[0])
      .run()
    for (const tid of tids) await graphControl(`tenants/${tid}`, { throttleFor: { seconds: 60, retryAfter: 120 } })
    for (const id of ids) await invoke([{ phoneSystemId: id, dueBy } satisfies SyncJob])

    const rows = await dbAll<any>(
      'SELECT tenant_id, until FROM graph_tenant_backoff WHERE tenant_id IN (SELECT value FROM json_each(?))',
      JSON.stringify(tids),
    )
    // Each tenant is backed off on its own...
    expect(rows).toHaveLength(APP_WIDE.tenants)
    for (const row of rows) expect(row.until).toBeGreaterThan(Date.now())
    // ...and the provider's app is not: every other partner's scheduled syncs go on at full pace.
    expect(await dbAll('SELECT * FROM graph_tenant_backoff WHERE tenant_id = ?', APP_WIDE.tenantId)).toEqual([])
    const report = await planDueSyncs(env.DB, capturingQueue().binding, getConfig(env), Date.now())
    expect(report.limit).toBe(FLEET.perRun)
    for (const tid of tids) await graphControl(`tenants/${tid}`, { throttleFor: { seconds: 0 } })
  })

  it('forged or malformed messages sync nothing: unknown ids, a phone system not due, wrong shapes', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    vi.spyOn(console, 'info').mockImplementation(() => {})
    vi.spyOn(console, 'log').mockImplementation(() => {})
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const tid = newTenantId()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    const ps = await apiJson(
      'POST',
      `/orgs/${customer.id}/phone-systems`,
      { name: 'HQ', webClientUrl: 'https://pbx.example/', handoffUrl: 'https://pbx.example/h', entraTenantId: tid },
      201,
    )
    // Not due for an hour: a message with an old lease (a replay of last week's) must not sync it now.
    const later = Date.now() + 60 * 60 * 1000
    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ? WHERE id = ?').bind(later, ps.id).run()
    const before = (await graphControl(`tenants/${tid}`, {})).requests
    const result = await invoke([
      { phoneSystemId: ps.id, dueBy: Date.now() - 1000 },
      { phoneSystemId: 'ps_does_not_exist', dueBy: Date.now() },
      { phoneSystemId: ps.id, dueBy: '9999999999999' },
      { phoneSystemId: ps.id.repeat(10), dueBy: Date.now() },
      { phoneSystemId: [ps.id], dueBy: Date.now() },
      'phoneSystemId',
      null,
    ])
    expect(result.retryMessages).toEqual([])
    expect(result.explicitAcks).toHaveLength(7)
    expect((await graphControl(`tenants/${tid}`, {})).requests).toBe(before)
    expect(await lastSync(ps.id)).toMatchObject({ last_sync_status: null })
    expect(await dbAll<any>('SELECT next_sync_at FROM phone_systems WHERE id = ?', ps.id)).toEqual([
      { next_sync_at: later },
    ])
  })
})
