/**
 * The console's ops pages: the health view and the claimed tenants, for the
 * ops admins of OPS_ADMINS only. Anyone else meets the same 404 as for a
 * page that does not exist, and changes nothing; ops release a claim
 * through a confirmation page, recorded against their own name.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { TEST_ADMIN_KEY, TEST_CLIENT_SECRET } from '../bindings'
import {
  api,
  createCustomer,
  createPartner,
  createPhoneSystem,
  dbAll,
  expectJson,
  newTenantId,
  partnerWithKey,
  runCron,
} from '../fixtures'
import { consoleGet, consolePost, newStaff, opsAdmin, signInToConsole } from './helpers'

function text(html: string): string {
  return html
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}

/** A partner whose customer's phone system names a fresh tenant, claimed (trusted) by the ops key. */
async function claimedTenant() {
  const partner = await createPartner(`Claims ${crypto.randomUUID().slice(0, 6)}`)
  const customer = await createCustomer(partner.id, { name: 'Claimed Customer' })
  const tid = newTenantId()
  const phoneSystem = await createPhoneSystem(customer.id, tid, 'Claimed PBX')
  const [claim] = await dbAll<{ status: string }>('SELECT status FROM tenant_claims WHERE tid = ?', tid)
  expect(claim!.status).toBe('trusted')
  return { partner, customer, tid, phoneSystem }
}

describe('the ops pages', () => {
  it("are a 404 for a partner's admin, whose release POST changes nothing", async () => {
    const { partner, tid } = await claimedTenant()
    const session = await signInToConsole(await newStaff(partner.id, 'admin'))
    for (const path of ['/admin/ops', '/admin/ops/', '/admin/ops/tenants', `/admin/ops/tenants/${tid}/release`]) {
      const page = await consoleGet(session, path)
      expect(page.res.status, path).toBe(404)
      expect(page.html).not.toContain(tid)
    }
    const post = await consolePost(session, `/admin/ops/tenants/${tid}/release`)
    expect(post.res.status).toBe(404)
    expect(await dbAll('SELECT partner_id FROM tenant_claims WHERE tid = ?', tid)).toEqual([{ partner_id: partner.id }])
    const [ps] = await dbAll<{ tenant_status: string }>(
      'SELECT tenant_status FROM phone_systems WHERE entra_tenant_id = ?',
      tid,
    )
    expect(ps!.tenant_status).toBe('trusted')
  })

  it('show the ops admin the health view: configuration without secrets, D1, jobs (stale and failing marked), secret, keys', async () => {
    await runCron()
    const started = Date.now() - 20 * 60_000
    await env.DB.prepare(
      "INSERT INTO job_runs (job, started_at, finished_at, ok, result, error, last_ok_at) VALUES ('an ops page test job', ?, ?, 0, '{}', 'Graph said no', ?)",
    )
      .bind(started, started + 5, started - 86_400_000)
      .run()
    try {
      const session = await signInToConsole(await opsAdmin())
      const page = await consoleGet(session, '/admin/ops')
      expect(page.res.status).toBe(200)
      const html = text(page.html)
      for (const heading of [
        'Warnings',
        'Configuration',
        'D1 database',
        'Scheduled jobs',
        'Entra client secret',
        'Signing keys',
      ]) {
        expect(html).toMatch(new RegExp(`<h2 id="[a-z-]+">${heading}</h2>`))
      }
      expect(html).toContain('<caption>The last run of each job')
      expect(html).toContain('<code>expired sign-in flows deleted</code>')
      expect(html).toMatch(
        /an ops page test job<\/code><\/th><td>(?:(?!<\/tr>).)*<span class="badge warn">Stale<\/span>/,
      )
      expect(html).toMatch(/an ops page test job<\/code><\/th>(?:(?!<\/tr>).)*<span class="badge error">Failed<\/span>/)
      expect(html).not.toMatch(/expired sign-in flows deleted<\/code><\/th>(?:(?!<\/tr>).)*Stale/)
      expect(html).toContain('Graph said no')
      expect(html).toContain('Scheduled job "an ops page test job" failed')
      expect(html).toMatch(/<code>\d{4}_[a-z_]+\.sql<\/code>|<code>\d{4}_[a-z_]+<\/code>/)
      expect(html).toContain('<code>test-key-1</code>')
      for (const secret of [TEST_CLIENT_SECRET, TEST_ADMIN_KEY, env.FLOW_KEY!, env.DATA_KEY!]) {
        expect(html).not.toContain(secret)
      }
      expect(html).not.toContain(JSON.parse(env.SIGNING_KEYS!)[0].d)
    } finally {
      await env.DB.prepare("DELETE FROM job_runs WHERE job = 'an ops page test job'").run()
    }
  })

  it('let the ops admin find a claimed tenant and release it through the confirmation page', async () => {
    const { partner, customer, tid, phoneSystem } = await claimedTenant()
    const admin = await opsAdmin()
    const session = await signInToConsole(admin)

    const list = text((await consoleGet(session, `/admin/ops/tenants?q=${tid.slice(0, 13).toUpperCase()}`)).html)
    expect(list).toContain(`<code>${tid}</code>`)
    expect(list).toContain(`<a href="/admin/orgs/${partner.id}">${partner.name}</a>`)
    expect(list).toContain('Trusted by ops')
    expect(list).toContain('Vouched for by ops')
    expect(list).toContain(`href="/admin/ops/tenants/${tid}/release"`)
    const none = text((await consoleGet(session, `/admin/ops/tenants?q=${newTenantId()}`)).html)
    expect(none).toContain('No claimed tenant matches.')
    expect((await consoleGet(session, '/admin/ops/tenants?q=not-a-guid!')).res.status).toBe(400)

    const confirm = await consoleGet(session, `/admin/ops/tenants/${tid}/release`)
    expect(confirm.res.status).toBe(200)
    const confirmText = text(confirm.html)
    expect(confirmText).toContain('unverified')
    expect(confirmText).toContain(`Claimed PBX (${customer.name})`)
    expect(confirmText).toContain(`<form method="post" action="/admin/ops/tenants/${tid}/release">`)

    const released = await consolePost(session, `/admin/ops/tenants/${tid}/release`)
    expect(released.res.status).toBe(303)
    expect(released.res.headers.get('location')).toBe('/admin/ops/tenants?done=released')
    expect(await dbAll('SELECT tid FROM tenant_claims WHERE tid = ?', tid)).toEqual([])
    expect(await dbAll('SELECT tenant_status FROM phone_systems WHERE id = ?', phoneSystem.id)).toEqual([
      { tenant_status: 'unverified' },
    ])
    expect(
      await dbAll("SELECT actor, org_id FROM audit_log WHERE action = 'tenant.release' AND target_id = ?", tid),
    ).toEqual([{ actor: `ops:${admin.upn}`, org_id: partner.id }])
    const after = text((await consoleGet(session, '/admin/ops/tenants?done=released')).html)
    expect(after).toContain('Tenant released.')

    // Released once: a second release, or a confirmation page for it, finds nothing.
    expect((await consolePost(session, `/admin/ops/tenants/${tid}/release`)).res.status).toBe(404)
    expect((await consoleGet(session, `/admin/ops/tenants/${tid}/release`)).res.status).toBe(404)
    expect((await consoleGet(session, '/admin/ops/tenants/not-a-tenant/release')).res.status).toBe(404)
  })

  it('refuse a cross-site release, even from the ops admin', async () => {
    const { tid } = await claimedTenant()
    const session = await signInToConsole(await opsAdmin())
    const crossSite = await consolePost(
      session,
      `/admin/ops/tenants/${tid}/release`,
      {},
      { origin: 'https://evil.example' },
    )
    expect(crossSite.res.status).toBe(403)
    const noToken = await consolePost(session, `/admin/ops/tenants/${tid}/release`, {}, { csrf: null })
    expect(noToken.res.status).toBe(403)
    expect(await dbAll('SELECT tid FROM tenant_claims WHERE tid = ?', tid)).toEqual([{ tid }])
  })
})

describe('GET /api/v1/tenants', () => {
  it('lists claimed tenants for the ops key, searchable by tenant id; a partner key is refused', async () => {
    const { partner, tid } = await claimedTenant()
    const page = await expectJson(await api('GET', `/tenants?q=${tid}`))
    expect(page).toEqual({
      tenants: [
        {
          tid,
          partnerId: partner.id,
          partnerName: partner.name,
          status: 'trusted',
          proof: { by: 'ops' },
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
      ],
      nextCursor: null,
    })
    const { key } = await partnerWithKey()
    expect((await expectJson(await api('GET', '/tenants', undefined, { key }), 403)).error.code).toBe('forbidden')
    expect((await expectJson(await api('GET', '/tenants?cursor=nope'), 400)).error.field).toBe('cursor')
  })
})
