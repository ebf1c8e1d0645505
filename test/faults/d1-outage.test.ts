/**
 * Fault drill: D1 fails in the middle of a request. For each request below,
 * the drill first lets D1 fail on call 1, then 2, … (every prepare, first,
 * all, run, raw, batch and exec the request makes) until the request makes
 * fewer calls than that, and checks what the user, partner or ops engineer
 * would see each time:
 *
 * - the answer is a 503 (a page for browsers, JSON for the API) that says to
 *   try again, with a reference, and nothing of D1's message or a stack;
 * - nothing is half-written: the tables the request touches hold exactly
 *   the state before the request or the state after it;
 * - trying again (or starting the sign-in again) works.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { forgetCachedReads } from '../../src/lib/ttl-cache'
import { TEST_ADMIN_KEY } from '../bindings'
import {
  apiJson,
  auditSettled,
  consent,
  createCustomer,
  createPartner,
  dbAll,
  directory,
  dirUser,
  HANDOFF_FIELD,
  newTenantId,
  PRIMARY,
  pickAccount,
  seedSignInTenant,
  signIn,
  startLogin,
  withCookie,
} from '../fixtures'
import { flowsOf as flowRecordsOf } from '../flows'
import { type FailingD1, Findings, failingD1, retryJsonProblems, retryPageProblems } from './helpers'

/** The request made with a D1 binding that fails on call `failAt`. */
async function withFailingD1(
  failAt: number,
  request: (bindings: Cloudflare.Env) => Response | Promise<Response>,
  mode: 'once' | 'outage' = 'once',
  message?: string,
): Promise<{ res: Response; f: FailingD1 }> {
  const f = failingD1(env.DB, { failAt, mode, ...(message ? { message } : {}) })
  const res = await request({ ...env, DB: f.d1 })
  return { res, f }
}

/** A safety stop: a request that makes more D1 calls than this is a finding of its own. */
const MAX_CALLS = 60

/** Which call failed, for the findings. */
function failedCall(n: number, f: FailingD1): string {
  const call = f.calls[n - 1]
  return `D1 call ${n} (${call?.kind} ${call?.sql?.replace(/\s+/g, ' ').slice(0, 70)})`
}

function admin(path: string, method: string, body?: unknown) {
  return (bindings: Cloudflare.Env) =>
    app.request(
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

// ---------------------------------------------------------------- the sign-in

/** The flows of a host, in their objects: what a sign-in leaves behind (secrets are sealed; their presence is what counts). */
async function flowsOf(hostname: string) {
  const present = (value: unknown) => (value === null ? 0 : 1)
  return (await flowRecordsOf(hostname)).map((record) => ({
    id: record.flow.id,
    consumed: present(record.consumedAt),
    completed: present(record.completedAt),
  }))
}

/** The flows a request added (a flow is first written by its callback: /sso/login writes nothing). */
async function newFlows(hostname: string, before: Array<{ id: string }>) {
  const known = new Set(before.map((row) => row.id))
  return (await flowsOf(hostname)).filter((row) => !known.has(row.id)).map(({ id: _, ...row }) => row)
}

describe('D1 fails during the sign-in callback and completion', () => {
  it('GET /sso/callback (central, on the primary host): a 503 page to try again at every failing call; the flow is never left half-done', async () => {
    const tenant = await seedSignInTenant()
    const findings = new Findings()
    let swept = 0
    for (let n = 1; n <= MAX_CALLS; n++) {
      const { authorizeUrl } = await startLogin(tenant.hostname)
      const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
      expect(callbackUrl.hostname).toBe(PRIMARY)
      const before = await flowsOf(tenant.hostname)
      // A cold isolate: every read the callback may make (client, origin host) goes to D1 and can fail.
      forgetCachedReads()
      const { res, f } = await withFailingD1(n, (b) => app.request(callbackUrl.href, withCookie(null), b))
      const added = await newFlows(tenant.hostname, before)
      if (!f.fired()) {
        // Every call succeeded: the normal answer, a 303 to the flow's own host, and the flow's one record.
        expect(res.status).toBe(303)
        expect(added).toEqual([{ consumed: 1, completed: 0 }])
        // The flow itself never goes through D1 (its object holds it): what is left to fail is the audit and cache misses.
        expect(f.calls.filter((call) => /sso_flows/.test(call.sql ?? ''))).toEqual([])
        swept = n - 1
        break
      }
      const where = failedCall(n, f)
      if (res.status === 303) {
        // Only the sign-in audit row failed: the answer stands (the audit write is best effort and logged).
        findings.add(where, /sign_in_attempts/.test(f.calls[n - 1]?.sql ?? '') ? [] : ['answered 303 anyway'])
        continue
      }
      const { problems, html } = await retryPageProblems(res)
      // The way back: "Start again" on the host the sign-in began on.
      if (!html.includes(`href="https://${tenant.hostname}/"`)) problems.push('no "Start again" link to the login page')
      // Never in between: a failed callback leaves at most its used-up state, no completion code anyone could redeem.
      if (added.length > 1) problems.push(`added ${added.length} flows`)
      if (res.headers.get('location')?.includes('/sso/complete')) problems.push('handed out a completion code')
      findings.add(where, problems)
    }
    expect(swept).toBeGreaterThan(0)
    findings.expectNone()
    // The sign-in audit says what happened (not "internal"): its rows go through the queue, not the failing D1.
    await auditSettled()
    const reasons = await dbAll<{ reason: string }>(
      "SELECT DISTINCT reason FROM sign_in_attempts WHERE hostname = ? AND result = 'failure'",
      tenant.hostname,
    )
    expect(reasons.filter(({ reason }) => reason !== 'database_unavailable')).toEqual([])
    // Starting again works once D1 answers.
    const again = await signIn(tenant.hostname, tenant.user)
    expect(again.res.status).toBe(200)
    expect(again.html).toContain(HANDOFF_FIELD)
  }, 120_000)

  it('GET /sso/complete: a 503 page to try again at every failing call, never a half-finished handoff', async () => {
    const tenant = await seedSignInTenant()
    const findings = new Findings()
    let swept = 0
    for (let n = 1; n <= MAX_CALLS; n++) {
      const { cookie, authorizeUrl } = await startLogin(tenant.hostname)
      const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
      const central = await SELF.fetch(callbackUrl, withCookie(null))
      expect(central.status).toBe(303)
      const completeUrl = central.headers.get('location')!
      // A cold isolate: host, client, reach and the SSO list all come from D1, and each can fail.
      forgetCachedReads()
      const { res, f } = await withFailingD1(n, (b) => app.request(completeUrl, withCookie(cookie), b))
      if (!f.fired()) {
        expect(res.status).toBe(200)
        expect(await res.text()).toContain(HANDOFF_FIELD)
        swept = n - 1
        break
      }
      const where = failedCall(n, f)
      if (res.status === 200) {
        findings.add(where, /sign_in_attempts/.test(f.calls[n - 1]?.sql ?? '') ? [] : ['answered 200 anyway'])
        continue
      }
      const { problems, html } = await retryPageProblems(res)
      if (html.includes(HANDOFF_FIELD)) problems.push('handed off anyway')
      if (!html.includes(`href="https://${tenant.hostname}/"`)) problems.push('no "Start again" link to the login page')
      findings.add(where, problems)
    }
    expect(swept).toBeGreaterThan(2)
    findings.expectNone()
    const again = await signIn(tenant.hostname, tenant.user)
    expect(again.html).toContain(HANDOFF_FIELD)
  }, 120_000)
})

// ---------------------------------------------------------------- PUT …/sso-users

const ORIGINAL = [
  { oid: '11111111-1111-4111-8111-111111111111', upn: 'ann@contoso.example', displayName: 'Ann', extension: '101' },
  { oid: '22222222-2222-4222-8222-222222222222', upn: 'bob@contoso.example', displayName: 'Bob', extension: '102' },
  { upn: 'carl@contoso.example', email: 'carl@contoso.example', displayName: 'Carl', extension: '103' },
]
const REPLACEMENT = [
  { oid: '11111111-1111-4111-8111-111111111111', upn: 'ann@contoso.example', displayName: 'Ann A.', extension: '201' },
  { upn: 'carl@contoso.example', email: 'carl@contoso.example', displayName: 'Carl', extension: '103' },
  { oid: '33333333-3333-4333-8333-333333333333', upn: 'dora@contoso.example', displayName: 'Dora', extension: '104' },
]

/** The SSO list as a partner sees it (ids kept: they are the assertion's `sub`), its version and its audit rows. */
async function listState(phoneSystemId: string): Promise<string> {
  const users = await dbAll(
    'SELECT id, oid, upn, email, display_name, extension FROM sso_users WHERE phone_system_id = ? ORDER BY upn',
    phoneSystemId,
  )
  const [ps] = await dbAll<any>(
    'SELECT sso_list_version, last_sync_status FROM phone_systems WHERE id = ?',
    phoneSystemId,
  )
  const audit = await dbAll('SELECT action, summary FROM audit_log WHERE target_id = ? ORDER BY id', phoneSystemId)
  return JSON.stringify({ users, ps, audit })
}

/** Like listState, without record ids and JSON summaries' volatile parts: comparable across phone systems. */
async function listShape(phoneSystemId: string): Promise<string> {
  const users = await dbAll(
    'SELECT oid, upn, email, display_name, extension FROM sso_users WHERE phone_system_id = ? ORDER BY upn',
    phoneSystemId,
  )
  const [ps] = await dbAll<any>('SELECT sso_list_version FROM phone_systems WHERE id = ?', phoneSystemId)
  const audit = await dbAll('SELECT action FROM audit_log WHERE target_id = ? ORDER BY id', phoneSystemId)
  return JSON.stringify({ users, ps, audit })
}

async function phoneSystemWithList() {
  const partner = await createPartner()
  const customer = await createCustomer(partner.id)
  const ps = await apiJson(
    'POST',
    `/orgs/${customer.id}/phone-systems`,
    {
      name: 'HQ',
      webClientUrl: 'https://pbx.example/wc',
      handoffUrl: 'https://pbx.example/sso',
      entraTenantId: newTenantId(),
    },
    201,
  )
  await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: ORIGINAL })
  return ps
}

describe('D1 fails during PUT /api/v1/phone-systems/{id}/sso-users', () => {
  it.each(['once', 'outage'] as const)(
    'D1 failing (%s) at every call: a 503 JSON error saying to retry, the list exactly before or after, and the retry works',
    async (mode) => {
      // The state a successful replace leaves, from a phone system of its own.
      const reference = await phoneSystemWithList()
      const beforeShape = await listShape(reference.id)
      await apiJson('PUT', `/phone-systems/${reference.id}/sso-users`, { users: REPLACEMENT })
      const afterShape = await listShape(reference.id)
      expect(afterShape).not.toEqual(beforeShape)

      const findings = new Findings()
      let swept = 0
      for (let n = 1; n <= MAX_CALLS; n++) {
        const ps = await phoneSystemWithList()
        const before = await listState(ps.id)
        const { res, f } = await withFailingD1(
          n,
          admin(`/phone-systems/${ps.id}/sso-users`, 'PUT', { users: REPLACEMENT }),
          mode,
        )
        const shape = await listShape(ps.id)
        if (!f.fired()) {
          expect(res.status).toBe(200)
          expect(shape).toEqual(afterShape)
          swept = n - 1
          break
        }
        const problems = await retryJsonProblems(res)
        // Never in between.
        if (shape !== beforeShape && shape !== afterShape) problems.push(`half-written: ${shape}`)
        if (shape === beforeShape && (await listState(ps.id)) !== before) problems.push('changed something')
        // The partner retries, as told: it works and leaves the after state.
        const retry = await admin(`/phone-systems/${ps.id}/sso-users`, 'PUT', { users: REPLACEMENT })(env)
        if (retry.status !== 200) problems.push(`the retry answered ${retry.status}`)
        else if ((await listShape(ps.id)) !== afterShape) problems.push('the retry left another state')
        findings.add(failedCall(n, f), problems)
      }
      expect(swept).toBeGreaterThan(1)
      findings.expectNone()
    },
    120_000,
  )
})

// ---------------------------------------------------------------- Sync

/** The same directory users in every tenant, so lists of different phone systems compare. */
const DIRECTORY_USERS = [dirUser(1, 'drill'), dirUser(2, 'drill'), dirUser(3, 'drill')]

async function syncedPhoneSystem() {
  const tid = newTenantId()
  await consent(tid)
  const users = DIRECTORY_USERS
  await directory(tid, { direct: users })
  const partner = await createPartner()
  const customer = await createCustomer(partner.id)
  const ps = await apiJson(
    'POST',
    `/orgs/${customer.id}/phone-systems`,
    { name: 'HQ', webClientUrl: 'https://pbx.example/', handoffUrl: 'https://pbx.example/h', entraTenantId: tid },
    201,
  )
  // A list maintained by hand first, so a sync changes it.
  await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, {
    users: [
      { oid: users[0]!.id, extension: '4711' },
      { upn: 'gone@contoso.example', extension: '999' },
    ],
  })
  return ps
}

async function syncStatus(phoneSystemId: string) {
  const [row] = await dbAll<any>(
    'SELECT last_sync_status, last_sync_error FROM phone_systems WHERE id = ?',
    phoneSystemId,
  )
  return row as { last_sync_status: string | null; last_sync_error: string | null }
}

describe('D1 fails during a Sync (POST /api/v1/phone-systems/{id}/sync)', () => {
  it('at every call: a 503 JSON error saying to retry, the list exactly before or after the sync, the status telling the truth', async () => {
    const reference = await syncedPhoneSystem()
    const beforeShape = await listShape(reference.id)
    expect((await admin(`/phone-systems/${reference.id}/sync`, 'POST')(env)).status).toBe(200)
    const afterShape = await listShape(reference.id)
    expect(afterShape).not.toEqual(beforeShape)

    const findings = new Findings()
    let swept = 0
    for (let n = 1; n <= MAX_CALLS; n++) {
      const ps = await syncedPhoneSystem()
      const { res, f } = await withFailingD1(n, admin(`/phone-systems/${ps.id}/sync`, 'POST'))
      const shape = await listShape(ps.id)
      const status = await syncStatus(ps.id)
      if (!f.fired()) {
        expect(res.status).toBe(200)
        expect(shape).toEqual(afterShape)
        expect(status.last_sync_status).toBe('success')
        swept = n - 1
        break
      }
      const problems = await retryJsonProblems(res)
      if (shape !== beforeShape && shape !== afterShape) problems.push(`half-written: ${shape}`)
      // The recorded status matches what happened to the list.
      if (shape === afterShape && status.last_sync_status !== 'success') {
        problems.push(`list synced but lastSyncStatus ${status.last_sync_status}`)
      }
      if (shape === beforeShape && status.last_sync_status === 'success') {
        problems.push('list unchanged but lastSyncStatus success')
      }
      // The partner retries, as told: the list ends as a sync leaves it (a repeat sync adds its own audit row).
      const retry = await admin(`/phone-systems/${ps.id}/sync`, 'POST')(env)
      if (retry.status !== 200) problems.push(`the retry answered ${retry.status}`)
      else if (JSON.parse(await listShape(ps.id)).users.length !== JSON.parse(afterShape).users.length) {
        problems.push('the retry left another list')
      } else if (
        JSON.stringify(JSON.parse(await listShape(ps.id)).users) !== JSON.stringify(JSON.parse(afterShape).users)
      ) {
        problems.push('the retry left another list')
      }
      findings.add(failedCall(n, f), problems)
    }
    expect(swept).toBeGreaterThan(2)
    findings.expectNone()
  }, 120_000)
})

// ---------------------------------------------------------------- which D1 errors are an outage

describe('Which D1 errors say "try again"', () => {
  /** D1's own messages for an outage a retry can outlive (Cloudflare's D1 error list). */
  const OUTAGES = [
    'D1_ERROR: Network connection lost.',
    'D1 DB is overloaded. Requests queued for too long.',
    'D1 DB is overloaded. Too many requests queued.',
    'D1_ERROR: Internal error in D1 DB storage caused object to be reset.',
    'D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset.',
    'D1 DB reset because its code was updated.',
    'D1_ERROR: Cannot resolve D1 DB due to transient issue on remote node.',
  ]

  it.each(OUTAGES)('%s: 503 database_unavailable, Retry-After, saying to retry', async (message) => {
    const ps = await phoneSystemWithList()
    const { res, f } = await withFailingD1(1, admin(`/phone-systems/${ps.id}`, 'GET'), 'once', message)
    expect(f.fired()).toBe(true)
    expect(await retryJsonProblems(res)).toEqual([])
  })

  it('a SQL error is a bug, not an outage: 500 internal, and never "retry"', async () => {
    const ps = await phoneSystemWithList()
    const { res } = await withFailingD1(
      1,
      admin(`/phone-systems/${ps.id}`, 'GET'),
      'once',
      'D1_ERROR: no such column: nme at offset 7: SQLITE_ERROR',
    )
    expect(res.status).toBe(500)
    expect(res.headers.get('retry-after')).toBeNull()
    const { error } = await res.json<any>()
    expect(error.code).toBe('internal')
    expect(error.message).not.toMatch(/SQLITE|no such column/)
  })
})
