/**
 * What ops read: one JSON line per request that never carries a code, state,
 * token or cookie, and the Analytics Engine data points of sign-ins, syncs
 * and hostname status changes in the layout docs/OPERATIONS.md queries.
 */
import { env, SELF } from 'cloudflare:test'
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest'
import { dataPoint, LAYOUT } from '../../src/observe/metrics'
import { failingD1 } from '../faults/helpers'
import {
  api,
  apiJson,
  consent,
  createCustomer,
  createPartner,
  directory,
  dirUser,
  expectJson,
  newTenantId,
  pickAccount,
  seedSignInTenant,
  signIn,
  startLogin,
  uniqueLabel,
  withCookie,
  ZONE,
} from '../fixtures'

type Line = Record<string, unknown>

let lines: Line[]
let points: MockInstance
const spies: MockInstance[] = []

beforeEach(() => {
  lines = []
  for (const method of ['log', 'warn', 'error'] as const) {
    spies.push(
      vi.spyOn(console, method).mockImplementation((line: unknown) => {
        try {
          lines.push(JSON.parse(String(line)) as Line)
        } catch {
          lines.push({ unparsed: String(line) })
        }
      }),
    )
  }
  points = vi.spyOn(env.METRICS!, 'writeDataPoint')
  spies.push(points)
})
afterEach(() => {
  for (const spy of spies.splice(0)) spy.mockRestore()
})

const requestLines = () => lines.filter((line) => line.message === 'request')
const written = () => points.mock.calls.map(([point]) => point as AnalyticsEngineDataPoint)
const ofEvent = (event: string) => written().filter((point) => point.blobs?.[0] === event)

/** A data point's blobs and doubles by the names of its event's layout. */
function named(point: AnalyticsEngineDataPoint): Record<string, unknown> {
  const event = point.blobs![0] as keyof typeof LAYOUT
  const layout = LAYOUT[event]
  return {
    event,
    ...Object.fromEntries(layout.blobs.map((name, i) => [name, point.blobs![i + 1]])),
    ...Object.fromEntries(layout.doubles.map((name, i) => [name, point.doubles![i]])),
  }
}

describe('the request log', () => {
  it('one line per request, with the correlation id the answer carries, the route pattern and the outcome', async () => {
    const res = await SELF.fetch(`https://login.localhost/sso/webclient`)
    expect(res.status).toBe(200)
    const [line, ...more] = requestLines()
    expect(more).toEqual([])
    expect(line).toMatchObject({
      level: 'info',
      method: 'GET',
      host: 'login.localhost',
      route: '/sso/webclient',
      status: 200,
      outcome: 'ok',
      correlationId: res.headers.get('x-correlation-id'),
    })
    expect(line!.durationMs).toEqual(expect.any(Number))
  })

  it('a login page answered from memory has its correlation id but no line of its own (Workers Logs records the invocation)', async () => {
    const first = await SELF.fetch('https://login.localhost/')
    expect(first.status).toBe(200)
    lines.length = 0
    const res = await SELF.fetch('https://login.localhost/')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(requestLines()).toEqual([])
    // The same page on a host not yet known, or refused, is logged as ever.
    const unknown = await SELF.fetch(`https://${uniqueLabel()}.nobody.example/`)
    expect(unknown.status).toBe(404)
    expect(requestLines()).toEqual([expect.objectContaining({ status: 404, outcome: 'host_not_found' })])
  })

  it('a failed request logs the error code it ended with, and its error page shows the same reference', async () => {
    const res = await SELF.fetch('https://nobody-here.example/sso/login')
    expect(res.status).toBe(404)
    expect(requestLines()).toEqual([
      expect.objectContaining({ status: 404, outcome: 'host_not_found', host: 'nobody-here.example' }),
    ])
    const unauthenticated = await api('GET', '/orgs', undefined, { key: 'not-a-key-but-long-enough-0123456789abcdef' })
    expect(unauthenticated.status).toBe(401)
    const apiLine = requestLines().at(-1)!
    expect(apiLine).toMatchObject({ status: 401, outcome: 'unauthorized' })
    expect(JSON.stringify(apiLine)).not.toContain('not-a-key')

    // D1 down: the 503 page's reference is the request's correlation id, so a user's screenshot finds the line.
    const { app } = await import('../../src/index')
    const down = failingD1(env.DB, { failAt: 1, mode: 'outage' })
    const page = await app.request(`https://${uniqueLabel()}.${ZONE}/`, {}, { ...env, DB: down.d1 })
    expect(page.status).toBe(503)
    const reference = page.headers.get('x-correlation-id')!
    expect(await page.text()).toContain(reference)
    expect(requestLines().at(-1)).toMatchObject({
      level: 'error',
      status: 503,
      outcome: 'database_unavailable',
      correlationId: reference,
    })
  })

  it('never logs a code, state, token or cookie: only the route pattern, never the path or query as sent', async () => {
    const tenant = await seedSignInTenant()
    lines.length = 0
    const { cookie, authorizeUrl } = await startLogin(tenant.hostname)
    const callback = await pickAccount(authorizeUrl, tenant.user)
    const code = callback.searchParams.get('code')!
    const state = callback.searchParams.get('state')!
    const central = await SELF.fetch(callback, withCookie(null))
    expect(central.status).toBe(303)
    const complete = new URL(central.headers.get('location')!)
    const done = await SELF.fetch(complete, withCookie(cookie))
    expect(done.status).toBe(200)
    // A hostile query too: whatever a visitor puts in the URL stays out of the log.
    await SELF.fetch(`https://${tenant.hostname}/sso/complete?code=attacker-secret-value&x=<script>`)

    const all = JSON.stringify(lines)
    for (const secret of [
      code,
      state,
      cookie,
      complete.searchParams.get('code')!,
      'attacker-secret-value',
      '<script>',
    ]) {
      expect(all).not.toContain(secret)
    }
    expect(requestLines().map((line) => line.route)).toEqual([
      '/sso/login',
      '/sso/callback',
      '/sso/complete',
      '/sso/complete',
    ])
    // One line per request: a sign-in step's audit facts ride on its request's line, not on a line of their own.
    expect(lines).toHaveLength(4)
    expect(requestLines().map((line) => line.signIn)).toEqual([
      undefined,
      expect.objectContaining({ step: 'callback', stored: true, result: 'pending', reason: 'central_callback' }),
      expect.objectContaining({ step: 'complete', stored: true, result: 'success', reason: 'handoff' }),
      expect.objectContaining({ step: 'complete', stored: false, result: 'failure', reason: 'flow_invalid' }),
    ])
  })
})

describe('Analytics Engine data points', () => {
  it('the layout: blob1 names the event, the index is the organization', () => {
    const point = dataPoint(
      'sync',
      {
        result: 'success',
        reason: 'ok',
        orgId: 'org-1',
        phoneSystemId: 'ps-1',
        trigger: 'api',
        durationMs: 12,
        added: 1,
        removed: 2,
        updated: 3,
        unchanged: 4,
        total: 8,
        graphRequests: 5,
      },
      'org-1',
    )
    expect(point).toEqual({
      indexes: ['org-1'],
      blobs: ['sync', 'success', 'ok', 'org-1', 'ps-1', 'api'],
      doubles: [12, 1, 2, 3, 4, 8, 5],
    })
  })

  it('a central sign-in: the callback is pending, the completion succeeds with the whole duration, both in central mode', async () => {
    const tenant = await seedSignInTenant()
    const { res } = await signIn(tenant.hostname, tenant.user)
    expect(res.status).toBe(200)
    const signIns = ofEvent('sign_in').map(named)
    expect(signIns).toEqual([
      expect.objectContaining({
        result: 'pending',
        reason: 'central_callback',
        step: 'callback',
        callbackMode: 'central',
        orgId: tenant.orgId,
        hostname: tenant.hostname,
      }),
      expect.objectContaining({
        result: 'success',
        reason: 'handoff',
        step: 'complete',
        callbackMode: 'central',
        orgId: tenant.orgId,
      }),
    ])
    expect(ofEvent('sign_in')[1]!.indexes).toEqual([tenant.orgId])
    expect(signIns[1]!.sinceStartMs).toEqual(expect.any(Number))
    // No user name, object id or tenant id in a data point.
    const everything = JSON.stringify(written())
    for (const personal of [tenant.user.upn, tenant.user.oid, tenant.tenantId])
      expect(everything).not.toContain(personal)
  })

  it('a refused sign-in (not on the list, direct mode) counts as a failure with its reason', async () => {
    const tenant = await seedSignInTenant({ callbackMode: 'direct', listed: false })
    const { res } = await signIn(tenant.hostname, tenant.user)
    expect(res.status).toBe(403)
    expect(ofEvent('sign_in').map(named)).toEqual([
      expect.objectContaining({ result: 'failure', reason: 'not_listed', step: 'callback', callbackMode: 'direct' }),
    ])
  })

  it('a forged state is counted as a failure of an unknown flow, with no organization', async () => {
    const res = await SELF.fetch('https://login.localhost/sso/callback?code=x&state=forged')
    expect(res.status).toBe(400)
    expect(ofEvent('sign_in').map(named)).toEqual([
      expect.objectContaining({ result: 'failure', reason: 'flow_invalid', callbackMode: 'unknown', orgId: '' }),
    ])
  })

  it('a sync: its counts and Graph requests; a refused one: its error code', async () => {
    const tid = newTenantId()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1), dirUser(2)] })
    const customer = await createCustomer((await createPartner()).id)
    const ps = await apiJson(
      'POST',
      `/orgs/${customer.id}/phone-systems`,
      { name: 'HQ', webClientUrl: 'https://pbx.example/wc', handoffUrl: 'https://pbx.example/sso', entraTenantId: tid },
      201,
    )
    await env.DB.prepare("UPDATE phone_systems SET tenant_status = 'trusted' WHERE id = ?").bind(ps.id).run()
    const result = await expectJson(await api('POST', `/phone-systems/${ps.id}/sync`))
    expect(ofEvent('sync').map(named)).toEqual([
      expect.objectContaining({
        result: 'success',
        reason: 'ok',
        orgId: customer.id,
        phoneSystemId: ps.id,
        trigger: 'api',
        added: 2,
        total: 2,
        graphRequests: result.graphRequests,
      }),
    ])

    const unconsented = newTenantId()
    await consent(unconsented, ['User.Read.All'])
    const refused = await apiJson(
      'POST',
      `/orgs/${customer.id}/phone-systems`,
      {
        name: 'Branch',
        webClientUrl: 'https://pbx.example/wc',
        handoffUrl: 'https://pbx.example/sso',
        entraTenantId: unconsented,
      },
      201,
    )
    await env.DB.prepare("UPDATE phone_systems SET tenant_status = 'trusted' WHERE id = ?").bind(refused.id).run()
    expect((await api('POST', `/phone-systems/${refused.id}/sync`)).status).toBe(502)
    expect(ofEvent('sync').map(named)[1]).toMatchObject({
      result: 'failure',
      reason: 'graph_permission',
      phoneSystemId: refused.id,
      added: 0,
    })
  })

  it('a hostname attached, then detached: one status change each', async () => {
    const partner = await createPartner()
    const hostname = `${uniqueLabel('h')}.${ZONE}`
    await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname }, 201)
    await apiJson('DELETE', `/hostnames/${hostname}`, undefined, 204)
    expect(ofEvent('hostname_status').map(named)).toEqual([
      { event: 'hostname_status', from: 'none', to: 'active', orgId: partner.id, hostname },
      { event: 'hostname_status', from: 'active', to: 'detached', orgId: partner.id, hostname },
    ])
  })

  it('a request without a METRICS binding still answers (the point is skipped)', async () => {
    const { app } = await import('../../src/index')
    const { METRICS: _, ...withoutMetrics } = env
    const res = await app.request('https://login.localhost/sso/callback?code=x&state=forged', {}, withoutMetrics)
    expect(res.status).toBe(400)
  })
})
