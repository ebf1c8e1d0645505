/**
 * Fault drill: the Cloudflare API is down while a partner attaches or checks
 * a custom domain, and while the schedule refreshes hostnames. Down means: a
 * 5xx (JSON or the edge's HTML 504), the connection refused or reset, or no
 * answer at all (the gateway's Cloudflare timeout is 10 s, src/config.ts).
 * The partner gets a 502 JSON error that says to retry and nothing is stored
 * half-way; the scheduled run still does its other jobs.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { TEST_ADMIN_KEY } from '../bindings'
import {
  apiJson,
  consent,
  createCustomer,
  createPartner,
  dbAll,
  directory,
  dirUser,
  PRIMARY,
  runCron,
  seedSignInTenant,
  uniqueLabel,
} from '../fixtures'
import { cloudflareControl, REFUSED_BASE } from './helpers'

const cloudflareEnv = { ...env, CUSTOM_HOSTNAMES: 'cloudflare' }
const refusedEnv = { ...cloudflareEnv, CLOUDFLARE_API_BASE: REFUSED_BASE }
/** The gateway's Cloudflare timeout (not configurable: src/config.ts parseCloudflare) and a generous margin. */
const CLOUDFLARE_TIMEOUT_MS = 10_000
const MARGIN_MS = 3000

function call(method: string, path: string, body?: unknown, bindings: Cloudflare.Env = cloudflareEnv) {
  return app.request(
    `https://${PRIMARY}/api/v1${path}`,
    {
      method,
      headers: {
        authorization: `Bearer ${TEST_ADMIN_KEY}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
    bindings,
  )
}

const customName = () => `${uniqueLabel('phones')}.acme-corp.example`

async function hostnameRow(hostname: string) {
  return dbAll<any>('SELECT * FROM hostnames WHERE hostname = ?', hostname)
}

async function auditOf(hostname: string) {
  return dbAll<any>('SELECT action FROM audit_log WHERE target_id = ? ORDER BY id', hostname)
}

/** The partner's answer: a 502 JSON error with a code saying which failure, and a message saying to retry. */
async function expect502(res: Response, codes: string[]) {
  const text = await res.text()
  expect(res.status, text).toBe(502)
  expect(res.headers.get('content-type')).toContain('application/json')
  const { error } = JSON.parse(text)
  expect(codes).toContain(error.code)
  expect(error.message).toMatch(/nothing was changed/i)
  expect(error.message).toMatch(/retry/i)
  expect(text).not.toContain(REFUSED_BASE)
  return error
}

describe('Cloudflare down while a custom domain is attached', () => {
  it.each([
    ['the connection refused', null, refusedEnv, ['cloudflare_unavailable']],
    ['the connection reset', 'hang_up', cloudflareEnv, ['cloudflare_unavailable']],
    ["the edge's HTML 504", 'gateway_timeout', cloudflareEnv, ['cloudflare_unavailable']],
  ] as const)('%s: 502, nothing stored here or there, and the retry works', async (_name, fault, bindings, codes) => {
    const partner = await createPartner()
    const hostname = customName()
    if (fault) await cloudflareControl('faults', { hostname, faults: [fault] })
    await expect502(await call('POST', `/orgs/${partner.id}/hostnames`, { hostname }, bindings), [...codes])
    expect(await hostnameRow(hostname)).toEqual([])
    expect(await auditOf(hostname)).toEqual([])
    expect(await cloudflareControl('records', { hostname })).toEqual([])
    // Cloudflare is back: the partner retries, as told.
    expect((await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })).status).toBe(201)
  })

  it('Cloudflare created the hostname but its answer was lost (connection reset): the retry attaches it, nothing is left orphaned', async () => {
    const partner = await createPartner()
    const hostname = customName()
    await cloudflareControl('faults', { hostname, faults: ['created_then_hang_up'] })
    await expect502(await call('POST', `/orgs/${partner.id}/hostnames`, { hostname }), ['cloudflare_unavailable'])
    expect(await hostnameRow(hostname)).toEqual([])
    // The partner retries, as told: the hostname Cloudflare did create must not lock them out.
    const retry = await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
    const text = await retry.text()
    expect(retry.status, text).toBe(201)
    const atCloudflare = await cloudflareControl('records', { hostname })
    expect(atCloudflare).toHaveLength(1)
    expect((await hostnameRow(hostname))[0]?.cloudflare_id).toBe(atCloudflare[0]?.id)
  })
})

describe('Two partners attach the same custom domain at the same moment', () => {
  it('one gets it, the other a 409; Cloudflare keeps exactly the hostname D1 points at', async () => {
    const [first, second] = [await createPartner(), await createPartner()]
    const hostname = customName()
    const answers = await Promise.all(
      [first, second].map((partner) => call('POST', `/orgs/${partner.id}/hostnames`, { hostname })),
    )
    expect(answers.map((res) => res.status).sort()).toEqual([201, 409])
    const atCloudflare = await cloudflareControl('records', { hostname })
    expect(atCloudflare).toHaveLength(1)
    const rows = await hostnameRow(hostname)
    expect(rows).toHaveLength(1)
    expect(rows[0]?.cloudflare_id).toBe(atCloudflare[0]?.id)
  })
})

describe('Cloudflare down while a custom domain is checked (POST /hostnames/{h}/check)', () => {
  async function pendingHostname() {
    const partner = await createPartner()
    const hostname = customName()
    expect((await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })).status).toBe(201)
    // The partner has published the records: a check that reached Cloudflare would activate it.
    await cloudflareControl('publish', { hostname })
    return hostname
  }

  it.each([
    ['a 5xx', 'server_error', cloudflareEnv, ['cloudflare_unavailable']],
    ['the connection refused', null, refusedEnv, ['cloudflare_unavailable']],
    ['the connection reset', 'hang_up', cloudflareEnv, ['cloudflare_unavailable']],
  ] as const)(
    '%s: 502, the stored hostname unchanged, and the retry activates it',
    async (_name, fault, bindings, codes) => {
      const hostname = await pendingHostname()
      const before = await hostnameRow(hostname)
      const audit = await auditOf(hostname)
      if (fault) await cloudflareControl('faults', { hostname, faults: [fault] })
      await expect502(await call('POST', `/hostnames/${hostname}/check`, undefined, bindings), [...codes])
      expect(await hostnameRow(hostname)).toEqual(before)
      expect(await auditOf(hostname)).toEqual(audit)
      const retry = await call('POST', `/hostnames/${hostname}/check`)
      expect(retry.status).toBe(200)
      expect(await retry.json()).toMatchObject({ status: 'active' })
    },
  )
})

describe('Cloudflare does not answer at all (the gateway gives up after its 10 s timeout)', () => {
  it('attach and check, at the same time: 502 cloudflare_timeout within the timeout, nothing stored, and the retries work', async () => {
    const partner = await createPartner()
    const attached = customName()
    const checked = customName()
    expect((await call('POST', `/orgs/${partner.id}/hostnames`, { hostname: checked })).status).toBe(201)
    await cloudflareControl('publish', { hostname: checked })
    const checkedBefore = await hostnameRow(checked)
    await cloudflareControl('faults', { hostname: attached, faults: ['hang'] })
    await cloudflareControl('faults', { hostname: checked, faults: ['hang'] })

    const timedCall = async (method: string, path: string, body?: unknown) => {
      const started = Date.now()
      const res = await call(method, path, body)
      return { res, ms: Date.now() - started }
    }
    const [attach, check] = await Promise.all([
      timedCall('POST', `/orgs/${partner.id}/hostnames`, { hostname: attached }),
      timedCall('POST', `/hostnames/${checked}/check`),
    ])
    for (const { res, ms } of [attach, check]) {
      await expect502(res, ['cloudflare_timeout'])
      expect(ms).toBeLessThan(CLOUDFLARE_TIMEOUT_MS + MARGIN_MS)
    }
    expect(await hostnameRow(attached)).toEqual([])
    expect(await hostnameRow(checked)).toEqual(checkedBefore)
    expect((await call('POST', `/orgs/${partner.id}/hostnames`, { hostname: attached })).status).toBe(201)
    expect(await (await call('POST', `/hostnames/${checked}/check`)).json()).toMatchObject({ status: 'active' })
  }, 30_000)
})

describe('Cloudflare down during the scheduled run', () => {
  /** Everything the other jobs have to do: an expired sign-in flow left in D1 from before flow objects, a phone system due for Sync. */
  async function otherWork() {
    const tenant = await seedSignInTenant({ listed: false })
    const expired = Date.now() - 2 * 3600_000
    await env.DB.prepare(
      `INSERT INTO sso_flows (id, hostname, redirect_uri, tenant, created_at, expires_at, consumed_at)
       VALUES (?, ?, ?, 'organizations', ?, ?, ?)`,
    )
      .bind(
        crypto.randomUUID(),
        tenant.hostname,
        `https://${PRIMARY}/sso/callback`,
        expired - 600_000,
        expired,
        expired,
      )
      .run()

    const tid = crypto.randomUUID()
    await consent(tid)
    const users = [dirUser(1), dirUser(2)]
    await directory(tid, { direct: users })
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const ps = await apiJson(
      'POST',
      `/orgs/${customer.id}/phone-systems`,
      { name: 'HQ', webClientUrl: 'https://pbx.example/', handoffUrl: 'https://pbx.example/h', entraTenantId: tid },
      201,
    )
    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = 1 WHERE id = ?').bind(ps.id).run()
    return { flowHost: tenant.hostname, phoneSystemId: ps.id as string, users }
  }

  async function expectOtherWorkDone(work: Awaited<ReturnType<typeof otherWork>>) {
    expect(await dbAll('SELECT id FROM sso_flows WHERE hostname = ?', work.flowHost)).toEqual([])
    const [ps] = await dbAll<any>(
      'SELECT last_sync_status, next_sync_at FROM phone_systems WHERE id = ?',
      work.phoneSystemId,
    )
    expect(ps.last_sync_status).toBe('success')
    expect(ps.next_sync_at).toBeGreaterThan(Date.now())
    const listed = await dbAll<any>('SELECT oid FROM sso_users WHERE phone_system_id = ?', work.phoneSystemId)
    expect(listed.map((u) => u.oid).sort()).toEqual(work.users.map((u) => u.id).sort())
  }

  /** Two custom hostnames due for a refresh first in line, both published: a refresh that reaches Cloudflare activates them. */
  async function dueHostnames() {
    const partner = await createPartner()
    const names = [customName(), customName()]
    for (const hostname of names) {
      expect((await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })).status).toBe(201)
      await cloudflareControl('publish', { hostname })
    }
    await env.DB.prepare('UPDATE hostnames SET next_check_at = ? WHERE hostname = ?').bind(1, names[0]).run()
    await env.DB.prepare('UPDATE hostnames SET next_check_at = ? WHERE hostname = ?').bind(2, names[1]).run()
    return names as [string, string]
  }

  it('a 5xx for one hostname: that hostname is left as it was (retried next run), the next one is refreshed, and the other jobs run', async () => {
    const work = await otherWork()
    const [failing, healthy] = await dueHostnames()
    const before = await hostnameRow(failing)
    await cloudflareControl('faults', { hostname: failing, faults: ['server_error'] })
    await runCron(cloudflareEnv)
    expect(await hostnameRow(failing)).toEqual(before)
    expect((await hostnameRow(healthy))[0]).toMatchObject({ status: 'active', check_count: 1 })
    await expectOtherWorkDone(work)
  })

  it('the connection refused for the whole run: no hostname changes, and the other jobs still run', async () => {
    const work = await otherWork()
    const names = await dueHostnames()
    const before = await Promise.all(names.map(hostnameRow))
    await runCron(refusedEnv)
    expect(await Promise.all(names.map(hostnameRow))).toEqual(before)
    await expectOtherWorkDone(work)
    // Cloudflare is back: the next run refreshes them.
    await runCron(cloudflareEnv)
    for (const hostname of names) expect((await hostnameRow(hostname))[0]).toMatchObject({ status: 'active' })
  })
})

void SELF
