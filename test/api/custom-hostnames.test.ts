/**
 * Custom hostnames through Cloudflare for SaaS, against the Cloudflare API
 * stand-in: what the partner sees, what D1 and Cloudflare hold afterwards,
 * every failure mode, and the scheduled refresh.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { TEST_ADMIN_KEY } from '../bindings'
import { createPartner, dbAll, PRIMARY, runCron, uniqueLabel, ZONE } from '../fixtures'

const cloudflareEnv = { ...env, CUSTOM_HOSTNAMES: 'cloudflare' }

function cfBase(): string {
  return env.CLOUDFLARE_API_BASE!.replace(/\/client\/v4$/, '')
}

async function control(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${cfBase()}/__control/${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
  return res.json()
}

async function call(method: string, path: string, body?: unknown, overrides: Record<string, string> = {}) {
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
    { ...cloudflareEnv, ...overrides },
  )
}

function customName(): string {
  return `${uniqueLabel('phones')}.acme-corp.example`
}

async function atCloudflare(hostname: string): Promise<any[]> {
  return control('records', { hostname })
}

async function hostnameRows(hostname: string) {
  return dbAll<any>(
    'SELECT hostname, status, cloudflare_id, status_detail, check_count, next_check_at FROM hostnames WHERE hostname = ?',
    hostname,
  )
}

describe('attaching a custom domain', () => {
  it('creates it at Cloudflare and answers 201 pending, with the TXT records the partner must publish', async () => {
    const partner = await createPartner()
    const hostname = customName()
    const res = await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
    expect(res.status).toBe(201)
    const body = await res.json<any>()
    expect(body).toMatchObject({
      hostname,
      kind: 'custom',
      status: 'pending',
      statusDetail: expect.stringContaining('Waiting for ownership verification'),
    })
    expect(body.verification.ownership).toEqual({
      type: 'txt',
      name: `_cf-custom-hostname.${hostname}`,
      value: expect.any(String),
    })
    expect(body.verification.certificate).toEqual([
      { type: 'txt', name: `_acme-challenge.${hostname}`, value: expect.any(String) },
    ])
    const [cf] = await atCloudflare(hostname)
    expect((await hostnameRows(hostname))[0]).toMatchObject({ status: 'pending', cloudflare_id: cf.id })

    // Pending: the domain shows "being set up", not a login page.
    const page = await app.request(`https://${hostname}/`, {}, cloudflareEnv)
    expect(page.status).toBe(503)
    expect(await page.text()).toContain('This domain is being set up')
  })

  it('turns active on check once the records are published, audited as a status change, and serves logins', async () => {
    const partner = await createPartner()
    const hostname = customName()
    await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
    const stillPending = await (await call('POST', `/hostnames/${hostname}/check`)).json<any>()
    expect(stillPending.status).toBe('pending')
    await control('publish', { hostname })
    const checked = await (await call('POST', `/hostnames/${hostname}/check`)).json<any>()
    expect(checked).toMatchObject({ status: 'active', statusDetail: null })
    expect(
      await dbAll(
        'SELECT actor, action, summary FROM audit_log WHERE target_id = ? AND action = ?',
        hostname,
        'hostname.status',
      ),
    ).toEqual([
      {
        actor: 'ops',
        action: 'hostname.status',
        summary: JSON.stringify({ before: 'pending', after: 'active', detail: null }),
      },
    ])
    const page = await app.request(`https://${hostname}/`, {}, cloudflareEnv)
    expect(page.status).toBe(200)
  })

  it('never calls Cloudflare for a provider subdomain', async () => {
    const partner = await createPartner()
    const before = (await atCloudflare('')).length
    const res = await call('POST', `/orgs/${partner.id}/hostnames`, { hostname: `${uniqueLabel()}.${ZONE}` })
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({ kind: 'subdomain', status: 'active', verification: null })
    expect((await atCloudflare('')).length).toBe(before)
  })

  describe('Cloudflare failures give a clear error and store nothing', () => {
    it.each([
      ['rate limited (429)', ['rate_limited'], 502, 'cloudflare_rate_limited', /Retry after 42 s/],
      ['a 5xx', ['server_error'], 502, 'cloudflare_unavailable', /Cloudflare answered 500; nothing was changed/],
      ['an HTML error page', ['html_error'], 502, 'cloudflare_unavailable', /Cloudflare answered 502/],
    ])('%s', async (_name, faults, status, code, message) => {
      const partner = await createPartner()
      const hostname = customName()
      await control('faults', { hostname, faults })
      const res = await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
      expect(res.status).toBe(status)
      const { error } = await res.json<any>()
      expect(error.code).toBe(code)
      expect(error.message).toMatch(message)
      if (code === 'cloudflare_rate_limited') expect(res.headers.get('retry-after')).toBe('42')
      expect(await hostnameRows(hostname)).toEqual([])
      expect(await atCloudflare(hostname)).toEqual([])
    })

    it('a bad API token', async () => {
      const partner = await createPartner()
      const hostname = customName()
      const res = await call(
        'POST',
        `/orgs/${partner.id}/hostnames`,
        { hostname },
        { CLOUDFLARE_API_TOKEN: 'revoked-token' },
      )
      expect(res.status).toBe(502)
      const { error } = await res.json<any>()
      expect(error.code).toBe('cloudflare_auth')
      expect(error.message).toContain('CLOUDFLARE_API_TOKEN')
      expect(error.message).not.toContain('revoked-token')
      expect(await hostnameRows(hostname)).toEqual([])
    })

    it('a hostname another Cloudflare account already has (409)', async () => {
      const partner = await createPartner()
      const hostname = customName()
      await control('claim', { hostname })
      const res = await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
      expect(res.status).toBe(409)
      const { error } = await res.json<any>()
      expect(error.code).toBe('hostname_taken_elsewhere')
      expect(error.message).toContain('Duplicate custom hostname found.')
      expect(await hostnameRows(hostname)).toEqual([])
    })

    it('a D1 failure after Cloudflare created it: deleted again at Cloudflare, nothing half-written', async () => {
      const partner = await createPartner()
      const hostname = customName()
      await env.DB.prepare(
        `CREATE TRIGGER fail_attach BEFORE INSERT ON hostnames WHEN NEW.hostname = '${hostname}' BEGIN SELECT RAISE(ABORT, 'simulated D1 failure'); END`,
      ).run()
      try {
        const res = await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
        expect(res.status).toBe(500)
      } finally {
        await env.DB.prepare('DROP TRIGGER fail_attach').run()
      }
      expect(await hostnameRows(hostname)).toEqual([])
      expect(await atCloudflare(hostname)).toEqual([])
    })
  })
})

describe('detaching a custom domain', () => {
  it('deletes it at Cloudflare, then in D1', async () => {
    const partner = await createPartner()
    const hostname = customName()
    await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
    expect((await call('DELETE', `/hostnames/${hostname}`)).status).toBe(204)
    expect(await atCloudflare(hostname)).toEqual([])
    expect(await hostnameRows(hostname)).toEqual([])
  })

  it('keeps the hostname attached when Cloudflare fails, so the partner can retry', async () => {
    const partner = await createPartner()
    const hostname = customName()
    await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
    await control('faults', { hostname, faults: ['server_error'] })
    const res = await call('DELETE', `/hostnames/${hostname}`)
    expect(res.status).toBe(502)
    expect(await hostnameRows(hostname)).toHaveLength(1)
    expect(await atCloudflare(hostname)).toHaveLength(1)
    expect((await call('DELETE', `/hostnames/${hostname}`)).status).toBe(204)
  })
})

describe('status changes seen later', () => {
  it('a hostname that moved away stops serving', async () => {
    const partner = await createPartner()
    const hostname = customName()
    await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
    await control('publish', { hostname })
    await call('POST', `/hostnames/${hostname}/check`)
    await control('move', { hostname })
    expect(await (await call('POST', `/hostnames/${hostname}/check`)).json()).toMatchObject({ status: 'moved' })
    expect((await app.request(`https://${hostname}/`, {}, cloudflareEnv)).status).toBe(404)
  })

  it('a hostname deleted at Cloudflare behind our back is marked failed, with what to do', async () => {
    const partner = await createPartner()
    const hostname = customName()
    await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
    const [cf] = await atCloudflare(hostname)
    await fetch(`${env.CLOUDFLARE_API_BASE}/zones/${env.CLOUDFLARE_ZONE_ID}/custom_hostnames/${cf.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${env.CLOUDFLARE_API_TOKEN}` },
    })
    expect(await (await call('POST', `/hostnames/${hostname}/check`)).json()).toMatchObject({
      status: 'failed',
      statusDetail: expect.stringContaining('detach it and attach it again'),
    })
  })
})

describe('the scheduled refresh', () => {
  it('re-reads due pending hostnames with backoff, and activates them once published', async () => {
    const partner = await createPartner()
    const hostname = customName()
    await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
    const due = async () =>
      env.DB.prepare('UPDATE hostnames SET next_check_at = ? WHERE hostname = ?')
        .bind(Date.now() - 1, hostname)
        .run()

    await runCron(cloudflareEnv)
    const [notYetDue] = await hostnameRows(hostname)
    expect(notYetDue.check_count).toBe(0)

    await due()
    await runCron(cloudflareEnv)
    const [once] = await hostnameRows(hostname)
    expect(once).toMatchObject({ status: 'pending', check_count: 1 })
    const firstDelay = once.next_check_at - Date.now()

    await due()
    await runCron(cloudflareEnv)
    const [twice] = await hostnameRows(hostname)
    expect(twice.check_count).toBe(2)
    expect(twice.next_check_at - Date.now()).toBeGreaterThan(firstDelay)

    await control('publish', { hostname })
    await due()
    await runCron(cloudflareEnv)
    const [active] = await hostnameRows(hostname)
    expect(active).toMatchObject({ status: 'active', check_count: 3 })
    expect(
      await dbAll('SELECT actor FROM audit_log WHERE target_id = ? AND action = ?', hostname, 'hostname.status'),
    ).toEqual([{ actor: 'system' }])
  })

  it('stops the run when Cloudflare rate limits, leaving the rest for the next run', async () => {
    const partner = await createPartner()
    const names = [customName(), customName()]
    for (const hostname of names) await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
    const now = Date.now()
    await env.DB.prepare('UPDATE hostnames SET next_check_at = ? WHERE hostname = ?')
      .bind(now - 2000, names[0])
      .run()
    await env.DB.prepare('UPDATE hostnames SET next_check_at = ? WHERE hostname = ?')
      .bind(now - 1000, names[1])
      .run()
    await control('faults', { hostname: names[0], faults: ['rate_limited'] })
    await runCron(cloudflareEnv)
    const rows = await dbAll<any>(
      `SELECT hostname, check_count FROM hostnames WHERE hostname IN (?, ?) ORDER BY hostname`,
      ...names,
    )
    expect(rows.every((r) => r.check_count === 0)).toBe(true)
  })
})

describe('nobody holds a domain they cannot prove', () => {
  it('a custom domain still pending after 7 days is released at Cloudflare and here, and the audit log says why', async () => {
    const partner = await createPartner()
    const hostname = customName()
    expect((await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })).status).toBe(201)
    await runCron(cloudflareEnv)
    expect(await hostnameRows(hostname)).toHaveLength(1)

    await env.DB.prepare('UPDATE hostnames SET pending_since = ? WHERE hostname = ?')
      .bind(Date.now() - 8 * 24 * 3600_000, hostname)
      .run()
    await runCron(cloudflareEnv)
    expect(await hostnameRows(hostname)).toEqual([])
    expect(await atCloudflare(hostname)).toEqual([])
    const [audit] = await dbAll<any>(
      "SELECT actor, summary FROM audit_log WHERE action = 'hostname.release' AND target_id = ?",
      hostname,
    )
    expect(audit.actor).toBe('system')
    expect(JSON.parse(audit.summary).reason).toContain('did not complete within 7 days')
    // Anyone may attach it now.
    const other = await createPartner()
    expect((await call('POST', `/orgs/${other.id}/hostnames`, { hostname })).status).toBe(201)
  })

  it('an active custom domain of the same age is kept', async () => {
    const partner = await createPartner()
    const hostname = customName()
    await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })
    await control('publish', { hostname })
    expect((await call('POST', `/hostnames/${hostname}/check`)).status).toBe(200)
    await env.DB.prepare('UPDATE hostnames SET created_at = ?, pending_since = ? WHERE hostname = ?')
      .bind(Date.now() - 30 * 24 * 3600_000, Date.now() - 30 * 24 * 3600_000, hostname)
      .run()
    await runCron(cloudflareEnv)
    expect(await hostnameRows(hostname)).toMatchObject([{ status: 'active' }])
  })
})
