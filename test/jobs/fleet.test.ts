/**
 * Scheduled sync at fleet scale (src/sync/fleet-queue.ts), in workerd with a
 * real D1 and the Graph stand-in: the cron plans and sends one message per due
 * phone system to SYNC_JOBS; the consumer (delivered here as the queue would,
 * five messages an invocation) syncs them. A fleet of a few hundred phone
 * systems over several tenants, one of them throttled by Graph: every due
 * phone system is synced once, the throttled tenant backs off and is synced
 * once Graph answers again, the others on time; D1 queries and Graph requests
 * per invocation stay far inside the limits; a phone system deleted while
 * queued, a duplicate delivery and a malformed message change nothing.
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
import { APP_WIDE, FLEET, INVOCATION_LIMITS } from '../../src/sync/fleet'
import { planDueSyncs, SYNC_RESERVE, type SyncJob } from '../../src/sync/fleet-queue'
import {
  apiJson,
  capturingQueue,
  consent,
  createCustomer,
  createPartner,
  dbAll,
  directory,
  dirUser,
  graphControl,
  newTenantId,
  recordingD1,
  runCron,
  SYNC_QUEUE,
} from '../fixtures'

afterEach(async () => {
  vi.restoreAllMocks()
  // The app-wide backoff would slow every other test's cron.
  await env.DB.prepare('DELETE FROM graph_tenant_backoff WHERE tenant_id = ?').bind(APP_WIDE.tenantId).run()
})

/** `count` phone systems in each of `tenants` new tenants (consented, two users assigned), all due now. */
async function fleetOf(tenants: number, count: number) {
  const partner = await createPartner()
  const customer = await createCustomer(partner.id)
  const fleet: Array<{ tid: string; ids: string[] }> = []
  for (let t = 0; t < tenants; t++) {
    const tid = newTenantId()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1), dirUser(2)] })
    const ids: string[] = []
    // One at a time: phone systems created together in one tenant conflict on its connection (409, retry).
    for (let i = 0; i < count; i++) {
      const ps = await apiJson(
        'POST',
        `/orgs/${customer.id}/phone-systems`,
        {
          name: `PBX ${t}-${i}`,
          webClientUrl: 'https://pbx.example/',
          handoffUrl: 'https://pbx.example/h',
          entraTenantId: tid,
        },
        201,
      )
      ids.push(ps.id as string)
    }
    fleet.push({ tid, ids })
  }
  const all = fleet.flatMap((f) => f.ids)
  // Due a little apart (oldest first matters), all before now.
  await env.DB.prepare(
    'UPDATE phone_systems SET next_sync_at = ?1 - (SELECT count(*) FROM json_each(?2) AS j WHERE j.value < phone_systems.id) WHERE id IN (SELECT value FROM json_each(?2))',
  )
    .bind(Date.now() - 60_000, JSON.stringify(all))
    .run()
  return { fleet, all, customer }
}

/** The cron's scheduled handler with SYNC_JOBS captured and D1 recorded: what it sent and prepared. */
async function cronCaptured() {
  const queue = capturingQueue()
  const statements: string[] = []
  const ctx = createExecutionContext()
  await worker.scheduled(
    { cron: '*/5 * * * *', scheduledTime: Date.now(), noRetry() {} } as ScheduledController,
    { ...env, DB: recordingD1(statements), SYNC_JOBS: queue.binding } as never,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  return { ...queue, statements, jobs: queue.sent as SyncJob[] }
}

/** Graph requests each tenant has received so far (the stand-in counts them). */
async function graphRequests(tids: string[]): Promise<number> {
  let total = 0
  for (const tid of tids) total += (await graphControl(`tenants/${tid}`, {})).requests
  return total
}

/** One consumer invocation, as the queue delivers it: what it acked and retried, its D1 statements and Graph requests. */
async function invoke(bodies: unknown[], tids: string[], ids = bodies.map(() => crypto.randomUUID())) {
  const statements: string[] = []
  const before = await graphRequests(tids)
  const batch = createMessageBatch(
    SYNC_QUEUE,
    bodies.map((body, i) => ({ id: ids[i]!, timestamp: new Date(), attempts: 1, body })),
  )
  const ctx = createExecutionContext()
  await worker.queue(batch, { ...env, DB: recordingD1(statements) } as never)
  await waitOnExecutionContext(ctx)
  const result = await getQueueResult(batch, ctx)
  return { result, d1: statements.length, graph: (await graphRequests(tids)) - before }
}

const syncAudits = (id: string) =>
  dbAll("SELECT actor FROM audit_log WHERE target_id = ? AND action = 'sso_list.sync'", id)

describe('the sync planner and its queue', () => {
  it('240 phone systems over 6 tenants, one throttled: each sent once, the others synced in invocations inside the limits, the throttled tenant backed off, then synced', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const { fleet, all } = await fleetOf(6, 40)
    const throttled = fleet[5]!
    const healthy = fleet.slice(0, 5)
    await graphControl(`tenants/${throttled.tid}`, { throttleFor: { seconds: 3600, retryAfter: 120 } })

    const planned = Date.now()
    const cron = await cronCaptured()
    // One cron run, one invocation: far inside 1,000 D1 queries (every job's), sendBatch calls of at most 100.
    expect(cron.statements.length).toBeLessThan(100)
    expect(cron.sendBatches.every((n) => n <= FLEET.sendBatchMax)).toBe(true)
    const mine = cron.jobs.filter((job) => all.includes(job.phoneSystemId))
    expect(mine.map((job) => job.phoneSystemId).sort()).toEqual([...all].sort())
    // Each leased: the next run does not send them again while they wait in the queue.
    const leases = await dbAll<any>(
      'SELECT DISTINCT next_sync_at FROM phone_systems WHERE id IN (SELECT value FROM json_each(?))',
      JSON.stringify(all),
    )
    expect(leases).toHaveLength(1)
    expect(leases[0].next_sync_at).toBeGreaterThanOrEqual(planned + FLEET.leaseMs)
    expect(mine.every((job) => job.dueBy === leases[0].next_sync_at)).toBe(true)
    const again = await cronCaptured()
    expect(again.jobs.filter((job) => all.includes(job.phoneSystemId))).toEqual([])

    // The queue delivers them five at a time.
    const tids = fleet.map((f) => f.tid)
    let throttledRequests = 0
    for (let i = 0; i < mine.length; i += FLEET.batchSize) {
      const part = mine.slice(i, i + FLEET.batchSize)
      const before = (await graphControl(`tenants/${throttled.tid}`, {})).requests
      const { result, d1, graph } = await invoke(part, tids)
      throttledRequests += (await graphControl(`tenants/${throttled.tid}`, {})).requests - before
      expect(result.explicitAcks).toHaveLength(part.length)
      expect(result.retryMessages).toEqual([])
      // What the consumer reserves per sync, for the batch: far inside the invocation's 1,000.
      expect(d1).toBeLessThanOrEqual(part.length * SYNC_RESERVE.d1Queries)
      expect(d1).toBeLessThan(INVOCATION_LIMITS.d1Queries / 4)
      expect(graph).toBeLessThan(INVOCATION_LIMITS.subrequests / 10)
    }

    // The healthy tenants' phone systems: each synced once, by the schedule, its list in D1.
    for (const { ids } of healthy) {
      const rows = await dbAll<any>(
        'SELECT id, last_sync_status, next_sync_at FROM phone_systems WHERE id IN (SELECT value FROM json_each(?))',
        JSON.stringify(ids),
      )
      expect(rows.every((row) => row.last_sync_status === 'success')).toBe(true)
      expect(rows.every((row) => row.next_sync_at > planned + 6 * 60 * 60 * 1000 - 60_000)).toBe(true)
    }
    for (const id of healthy.flatMap((f) => f.ids).slice(0, 40)) {
      expect(await syncAudits(id)).toEqual([{ actor: 'system' }])
      expect(await dbAll('SELECT count(*) AS n FROM sso_users WHERE phone_system_id = ?', id)).toEqual([{ n: 2 }])
    }

    // The throttled tenant: one sync tried (one request, answered 429), the rest deferred to the backoff's end.
    expect(throttledRequests).toBe(1)
    const [backoff] = await dbAll<any>('SELECT * FROM graph_tenant_backoff WHERE tenant_id = ?', throttled.tid)
    expect(backoff.strikes).toBe(1)
    // At least Retry-After (2 minutes), and the first strike's 5 minutes, up to 25% more.
    expect(backoff.until - backoff.throttled_at).toBeGreaterThanOrEqual(5 * 60 * 1000)
    expect(backoff.until - backoff.throttled_at).toBeLessThanOrEqual(5 * 60 * 1000 * 1.25)
    const states = await dbAll<any>(
      'SELECT last_sync_status, next_sync_at, count(*) AS n FROM phone_systems WHERE id IN (SELECT value FROM json_each(?)) GROUP BY 1, 2',
      JSON.stringify(throttled.ids),
    )
    const failed = states.filter((s) => s.last_sync_status === 'failed')
    expect(failed).toHaveLength(1)
    expect(failed[0].n).toBe(1)
    expect(states.filter((s) => s.last_sync_status === null)).toEqual([
      { last_sync_status: null, next_sync_at: backoff.until, n: 39 },
    ])
    // While the backoff lasts, the planner sends none of them, even due.
    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ? WHERE id IN (SELECT value FROM json_each(?))')
      .bind(Date.now() - 1, JSON.stringify(throttled.ids))
      .run()
    expect((await cronCaptured()).jobs.filter((job) => throttled.ids.includes(job.phoneSystemId))).toEqual([])

    // Graph answers again and the backoff has run out: the next run syncs them, and the backoff is forgotten.
    await graphControl(`tenants/${throttled.tid}`, { throttleFor: { seconds: 0 } })
    await env.DB.prepare('UPDATE graph_tenant_backoff SET until = ? WHERE tenant_id = ?')
      .bind(Date.now() - 1, throttled.tid)
      .run()
    await runCron()
    const after = await dbAll<any>(
      'SELECT last_sync_status, count(*) AS n FROM phone_systems WHERE id IN (SELECT value FROM json_each(?)) GROUP BY 1',
      JSON.stringify(throttled.ids),
    )
    expect(after).toEqual([{ last_sync_status: 'success', n: 40 }])
    expect(await dbAll('SELECT * FROM graph_tenant_backoff WHERE tenant_id = ?', throttled.tid)).toEqual([])
  }, 120_000)

  it('a phone system deleted while queued is skipped; a duplicate delivery syncs nothing twice', async () => {
    const { fleet, all } = await fleetOf(1, 2)
    const [kept, deleted] = all as [string, string]
    const cron = await cronCaptured()
    const jobs = cron.jobs.filter((job) => all.includes(job.phoneSystemId))
    expect(jobs).toHaveLength(2)
    await apiJson('DELETE', `/phone-systems/${deleted}`, undefined, 204)

    const first = await invoke(jobs, [fleet[0]!.tid])
    expect(first.result.explicitAcks).toHaveLength(2)
    expect(first.result.retryMessages).toEqual([])
    // The same messages again (at-least-once delivery), and the kept one's twice in one batch.
    const second = await invoke([...jobs, jobs.find((job) => job.phoneSystemId === kept)], [fleet[0]!.tid])
    expect(second.result.explicitAcks).toHaveLength(3)
    expect(second.graph).toBe(0)
    expect(await syncAudits(kept)).toEqual([{ actor: 'system' }])
    expect(await syncAudits(deleted)).toEqual([])
    expect(await dbAll('SELECT id FROM phone_systems WHERE id = ?', deleted)).toEqual([])
  })

  it('a malformed message is acked and logged, and never holds back the job beside it', async () => {
    const { fleet, all } = await fleetOf(1, 1)
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const [job] = (await cronCaptured()).jobs.filter((j) => all.includes(j.phoneSystemId))
    const { result } = await invoke(
      ['nonsense', null, { phoneSystemId: all[0] }, { phoneSystemId: 'x'.repeat(500), dueBy: 1 }, job],
      [fleet[0]!.tid],
      ['m0', 'm1', 'm2', 'm3', 'm4'],
    )
    expect(result.explicitAcks.sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    expect(await syncAudits(all[0]!)).toEqual([{ actor: 'system' }])
    const logged = errors.mock.calls.map(([line]) => JSON.parse(String(line)))
    expect(logged.filter((line) => line.message === 'sync job malformed; dropped')).toHaveLength(4)
  })

  it('the queue refusing the messages: their phone systems are due again at once, not after the lease', async () => {
    const { all } = await fleetOf(1, 3)
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const refusing = {
      sendBatch: async () => {
        throw new Error('Queue sendBatch failed: Too Many Requests')
      },
    } as unknown as Queue
    const now = Date.now()
    const report = await planDueSyncs(env.DB, refusing, getConfig(env), now)
    expect(report.unsent).toBeGreaterThanOrEqual(3)
    const rows = await dbAll<any>(
      'SELECT next_sync_at FROM phone_systems WHERE id IN (SELECT value FROM json_each(?))',
      JSON.stringify(all),
    )
    expect(rows.every((row) => row.next_sync_at === now)).toBe(true)
  })

  it(`Graph throttling ${APP_WIDE.tenants} tenants at once reads as the app throttled: the next runs send half; an invocation starts no sync it could not finish inside its limits`, async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const { fleet } = await fleetOf(APP_WIDE.tenants, 1)
    for (const { tid } of fleet) await graphControl(`tenants/${tid}`, { throttleFor: { seconds: 60, retryAfter: 120 } })
    const jobs = (await cronCaptured()).jobs.filter((job) => fleet.some((f) => f.ids.includes(job.phoneSystemId)))
    expect(jobs).toHaveLength(APP_WIDE.tenants)
    // A failed pull may have spent a whole pull's requests: after three, another would not fit in the
    // invocation's 1,000 subrequests, so the rest are retried, to a later invocation.
    const ids = jobs.map((_, i) => `j${i}`)
    const { result } = await invoke(jobs, [], ids)
    expect(result.explicitAcks.sort()).toEqual(['j0', 'j1', 'j2'])
    expect(result.retryMessages).toEqual([{ msgId: 'j3' }, { msgId: 'j4' }])
    for (const job of jobs.slice(3)) await invoke([job], [])
    const [app] = await dbAll<any>(
      'SELECT strikes, until FROM graph_tenant_backoff WHERE tenant_id = ?',
      APP_WIDE.tenantId,
    )
    expect(app.strikes).toBe(1)
    expect(app.until).toBeGreaterThan(Date.now())
    expect(errors.mock.calls.map(([line]) => JSON.parse(String(line)).message)).toContain(
      'Graph throttles the app across tenants: the sync planner slows down',
    )
    const report = await planDueSyncs(env.DB, capturingQueue().binding, getConfig(env), Date.now())
    expect(report.limit).toBe(FLEET.perRun / 2)
    for (const { tid } of fleet) await graphControl(`tenants/${tid}`, { throttleFor: { seconds: 0 } })
  })
})

describe("the planner's queries", () => {
  it('walk indexes: the due phone systems through phone_systems_sync_due_idx, backoffs by tenant id', async () => {
    const plan = async (sql: string, ...params: unknown[]) =>
      (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...params)
          .all<{ detail: string }>()
      ).results.map((row) => row.detail)
    const pick = await plan(
      `SELECT id FROM phone_systems
       WHERE next_sync_at <= ?1 AND tenant_status != 'unverified'
         AND entra_tenant_id NOT IN (SELECT tenant_id FROM graph_tenant_backoff WHERE until > ?1)
       ORDER BY next_sync_at LIMIT ?2`,
      Date.now(),
      600,
    )
    expect(pick.some((d) => d.includes('USING INDEX phone_systems_sync_due_idx (next_sync_at<?)'))).toBe(true)
    expect(pick.some((d) => /SCAN phone_systems(?! USING)/.test(d))).toBe(false)
    expect(pick.some((d) => /USE TEMP B-TREE FOR ORDER BY/.test(d))).toBe(false)
    const backoff = await plan('SELECT strikes, until FROM graph_tenant_backoff WHERE tenant_id = ?', APP_WIDE.tenantId)
    expect(backoff.some((d) => d.includes('USING INDEX sqlite_autoindex_graph_tenant_backoff_1 (tenant_id=?)'))).toBe(
      true,
    )
  })
})
