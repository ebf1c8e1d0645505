/**
 * The ops health view: what ops see when paged, and the warnings that come
 * before an outage (an Entra client secret about to expire, a cron that
 * stopped, a failing job, an old signing key). Partners never see it.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it, vi } from 'vitest'
import { JOBS, runScheduledJobs } from '../../src/jobs/scheduled'
import { assessClientSecret } from '../../src/ops/client-secret'
import { signingKeyHealth } from '../../src/ops/health'
import { TEST_HOME_TENANT } from '../bindings'
import { api, entraControl, expectJson, partnerWithKey, runCron } from '../fixtures'

const DAY = 86_400_000
const NOW = Date.parse('2026-12-02T12:00:00Z')

describe('the Entra client secret, pure', () => {
  const credential = (hint: string, days: number, displayName = 'gateway') => ({
    displayName,
    hint,
    endDateTime: new Date(NOW + days * DAY).toISOString(),
  })

  it('finds the secret in use by its hint and says how long it has', () => {
    const health = assessClientSecret([credential('abc', 400), credential('xyz', 10, 'old')], 'abcdef-secret', NOW)
    expect(health).toMatchObject({ status: 'ok', daysLeft: 400, message: null })
    expect(health.credentials.map((c) => c.inUse)).toEqual([true, false])
  })

  it('warns 30 days ahead, with the rotation steps', () => {
    expect(assessClientSecret([credential('abc', 30)], 'abc…', NOW).status).toBe('ok')
    const expiring = assessClientSecret([credential('abc', 29)], 'abc…', NOW)
    expect(expiring).toMatchObject({ status: 'expiring', daysLeft: 29 })
    expect(expiring.message).toContain('wrangler secret put ENTRA_CLIENT_SECRET')
  })

  it('expired: says sign-ins fail now', () => {
    const expired = assessClientSecret([credential('abc', -1)], 'abc…', NOW)
    expect(expired.status).toBe('expired')
    expect(expired.message).toContain('AADSTS7000222')
  })

  it('two secrets with the same hint: the one expiring first counts', () => {
    expect(assessClientSecret([credential('abc', 300), credential('abc', 5)], 'abc…', NOW)).toMatchObject({
      status: 'expiring',
      daysLeft: 5,
    })
  })

  it("a secret the app does not list (deleted, or another app's)", () => {
    expect(assessClientSecret([credential('xyz', 300)], 'abc…', NOW)).toMatchObject({
      status: 'not_listed',
      expiresAt: null,
    })
  })
})

describe('signing keys, pure', () => {
  it('ages from the kid that npm run keys:new writes; unknown for other kids', () => {
    expect(signingKeyHealth(['2025-12-01-a1b2c3d4', 'legacy'], NOW)).toEqual([
      { kid: '2025-12-01-a1b2c3d4', current: true, createdOn: '2025-12-01', ageDays: 366 },
      { kid: 'legacy', current: false, createdOn: null, ageDays: null },
    ])
  })
})

/** A provider app of its own in the Entra stand-in, owner of itself, whose secret expires on `expiresAt`. */
async function providerAppExpiring(expiresAt: string) {
  const clientId = crypto.randomUUID()
  const secret = `sec-${crypto.randomUUID()}`
  await entraControl('apps', {
    clientId,
    secret,
    redirectUris: ['https://login.localhost/sso/callback'],
    grants: { [TEST_HOME_TENANT]: ['Application.ReadWrite.OwnedBy'] },
    secretExpiresAt: expiresAt,
    otherSecrets: [{ displayName: 'next', hint: 'nxt', endDateTime: '2028-06-01T00:00:00Z' }],
  })
  return { ENTRA_CLIENT_ID: clientId, ENTRA_CLIENT_SECRET: secret }
}

async function healthWith(bindings: Partial<Cloudflare.Env> = {}) {
  const { app } = await import('../../src/index')
  const res = await app.request(
    'https://login.localhost/api/v1/health',
    { headers: { authorization: `Bearer ${env.ADMIN_API_KEY}` } },
    { ...env, ...bindings },
  )
  return expectJson(res)
}

describe('GET /api/v1/health', () => {
  it('ops: configuration (no secret values), D1 and its latest migration, the secret expiry, the keys', async () => {
    const health = await expectJson(await api('GET', '/health'))
    expect(health.configuration).toMatchObject({
      status: 'ok',
      primaryHost: 'login.localhost',
      entraClientId: env.ENTRA_CLIENT_ID,
      opsKeySet: true,
      analytics: true,
    })
    expect(health.database).toMatchObject({ status: 'ok', latestMigration: expect.stringMatching(/^\d{4}_.+\.sql$/) })
    expect(health.entraClientSecret).toMatchObject({ status: 'ok', daysLeft: expect.any(Number) })
    expect(health.entraClientSecret.daysLeft).toBeGreaterThan(700)
    expect(health.signingKeys.map((k: any) => [k.kid, k.current])).toEqual([
      ['test-key-1', true],
      ['test-key-2', false],
    ])
    const text = JSON.stringify(health)
    for (const secret of [env.ENTRA_CLIENT_SECRET!, env.ADMIN_API_KEY!, env.FLOW_KEY!, env.DATA_KEY!]) {
      expect(text).not.toContain(secret)
    }
    expect(text).not.toContain(JSON.parse(env.SIGNING_KEYS!)[0].d)
  })

  it('after a cron run: every job with its result; a failing job is a warning naming it', async () => {
    await runCron()
    const health = await expectJson(await api('GET', '/health'))
    expect(health.scheduled.status).toBe('ok')
    // A job with nothing due this run (the secret expiry check, four times a day) is not recorded as run.
    const ran = JOBS.filter((j) => !j.due || j.due(Date.now()))
    expect(health.scheduled.jobs.map((j: any) => j.job).sort()).toEqual(ran.map((j) => j.name).sort())
    expect(health.scheduled.jobs.every((j: any) => j.ok && j.lastOkAt)).toBe(true)
    const flows = health.scheduled.jobs.find((j: any) => j.job === 'expired sign-in flows deleted')
    expect(flows.result).toEqual({ deleted: expect.any(Number), backlog: 0 })

    JOBS.push({ name: 'a job that fails', run: async () => Promise.reject(new Error('Graph said no')) })
    try {
      await runCron()
    } finally {
      JOBS.pop()
    }
    const failing = await expectJson(await api('GET', '/health'))
    expect(failing.scheduled.status).toBe('failing')
    expect(failing.status).toBe('warning')
    expect(failing.warnings).toContainEqual(expect.stringContaining('"a job that fails" failed'))
    expect(failing.warnings).toContainEqual(expect.stringContaining('Graph said no'))
    const row = failing.scheduled.jobs.find((j: any) => j.job === 'a job that fails')
    expect(row).toMatchObject({ ok: false, error: 'Graph said no', lastOkAt: null })
    await env.DB.prepare("DELETE FROM job_runs WHERE job = 'a job that fails'").run()
  })

  it('a cron that stopped (last run 20 minutes ago) is a warning', async () => {
    await runCron()
    await env.DB.prepare('UPDATE job_runs SET started_at = started_at - ?, finished_at = finished_at - ?')
      .bind(20 * 60_000, 20 * 60_000)
      .run()
    const health = await expectJson(await api('GET', '/health'))
    expect(health.scheduled.status).toBe('stale')
    expect(health.warnings).toContainEqual(expect.stringContaining('The scheduled jobs have not run since'))
  })

  it('a secret expiring in 10 days is a warning naming the date and the rotation; the next secret is listed', async () => {
    const expiresAt = new Date(Date.now() + 10 * DAY + 3_600_000).toISOString()
    const health = await healthWith(await providerAppExpiring(expiresAt))
    expect(health.entraClientSecret).toMatchObject({ status: 'expiring', daysLeft: 10, expiresAt })
    expect(health.entraClientSecret.credentials).toEqual([
      expect.objectContaining({ inUse: true, expiresAt }),
      expect.objectContaining({ inUse: false, hint: 'nxt', displayName: 'next' }),
    ])
    expect(health.status).toBe('warning')
    expect(health.warnings).toContainEqual(expect.stringContaining(`expires in 10 day(s), on ${expiresAt}`))
  })

  it('the cron warns in the log 30 days ahead (four times a day), and says nothing between those runs', async () => {
    const day = new Date().toISOString().slice(0, 10)
    const at = (time: string) => Date.parse(`${day}T${time}Z`)
    const expiresAt = new Date(at('06:02:00') + 12 * DAY + 3_600_000).toISOString()
    const bindings = { ...env, ...(await providerAppExpiring(expiresAt)) }
    const logged: any[] = []
    const spies = (['log', 'warn', 'error'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((line: unknown) => logged.push(JSON.parse(String(line)))),
    )
    try {
      for (const now of [at('06:02:00'), at('07:02:00')]) {
        const ctx = createExecutionContext()
        runScheduledJobs(bindings, ctx, now)
        await waitOnExecutionContext(ctx)
      }
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
    const alerts = logged.filter((line) => line.alert === 'entra_client_secret')
    expect(alerts).toEqual([
      expect.objectContaining({ level: 'warn', message: 'Entra client secret expiring', expiresAt, daysLeft: 12 }),
    ])
    expect(alerts[0].remedy).toContain('wrangler secret put ENTRA_CLIENT_SECRET')
    const checks = logged.filter((line) => line.message === 'Entra client secret expiry checked')
    expect(checks.map((line) => line.checked)).toEqual([1])
    expect(JSON.stringify(logged)).not.toContain(bindings.ENTRA_CLIENT_SECRET)
  })

  it('Graph unreachable or no home tenant: the expiry is unknown, the rest still answers', async () => {
    const unreachable = await healthWith({ GRAPH_BASE: 'http://127.0.0.1:9' })
    expect(unreachable.entraClientSecret.status).toBe('unknown')
    expect(unreachable.entraClientSecret.message).toContain('graph_unavailable')
    expect(unreachable.database.status).toBe('ok')
    const { ENTRA_HOME_TENANT_ID: _, ...noHome } = env
    const { app } = await import('../../src/index')
    const res = await app.request(
      'https://login.localhost/api/v1/health',
      { headers: { authorization: `Bearer ${env.ADMIN_API_KEY}` } },
      noHome,
    )
    expect((await expectJson(res)).entraClientSecret.message).toContain('ENTRA_HOME_TENANT_ID is not set')
  })

  it('no METRICS binding: a warning', async () => {
    const { METRICS: _, ...withoutMetrics } = env
    const { app } = await import('../../src/index')
    const res = await app.request(
      'https://login.localhost/api/v1/health',
      { headers: { authorization: `Bearer ${env.ADMIN_API_KEY}` } },
      withoutMetrics,
    )
    const bare = await expectJson(res)
    expect(bare.configuration.analytics).toBe(false)
    expect(bare.warnings).toContainEqual(expect.stringContaining('No METRICS binding'))
  })

  it('a partner key: 403, and nothing about the configuration', async () => {
    const { key } = await partnerWithKey()
    const res = await api('GET', '/health', undefined, { key })
    const body = await expectJson(res, 403)
    expect(body.error.code).toBe('forbidden')
    expect(JSON.stringify(body)).not.toContain('login.localhost')
    expect((await api('GET', '/health', undefined, { key: null })).status).toBe(401)
  })
})
