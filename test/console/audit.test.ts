import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { api, apiJson, createCustomer, createPartner, expectJson, partnerWithKey } from '../fixtures'
import { consoleGet, consolePost, newStaff, opsAdmin, type StaffSession, signInToConsole } from './helpers'

/** The rows of the page's audit table (empty when there is none). */
function rowsOf(html: string): string[] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1]
  return body ? body.split('<tr>').slice(1) : []
}

async function auditPage(session: StaffSession, orgId: string, query = '') {
  const page = await consoleGet(session, `/admin/orgs/${orgId}/audit${query}`)
  return { ...page, rows: rowsOf(page.html) }
}

/** A partner and a customer of it, changed in the console by the partner's admin (a key, a staff member). */
async function busyPartner() {
  const partner = await createPartner(`Partner ${crypto.randomUUID().slice(0, 8)}`)
  const customer = await createCustomer(partner.id, { name: `Customer ${crypto.randomUUID().slice(0, 8)}` })
  const admin = await newStaff(partner.id, 'admin')
  const session = await signInToConsole(admin)
  const created = await consolePost(session, `/admin/orgs/${partner.id}/api-keys`, { label: 'Sync' })
  expect(created.res.status).toBe(200)
  const added = await consolePost(session, `/admin/orgs/${customer.id}/staff`, {
    upn: `someone.${crypto.randomUUID().slice(0, 8)}@contoso.example`,
    tid: crypto.randomUUID(),
    role: 'viewer',
  })
  expect(added.res.status).toBe(303)
  const [{ id: keyId }] = (await apiJson('GET', `/orgs/${partner.id}/api-keys`)).apiKeys
  return { partner, customer, admin, session, keyId: keyId as string }
}

describe('console: audit log', () => {
  it("shows the partner's and its customers' changes, and filters them by organization, action, who and time", async () => {
    const { partner, customer, admin, session, keyId } = await busyPartner()

    const all = await auditPage(session, partner.id)
    expect(all.res.status).toBe(200)
    expect(all.html).toContain('<caption>Changes, newest first</caption>')
    const actions = all.rows.map((row) => />([a-z_]+\.[a-z_]+)<\/code>/.exec(row)?.[1])
    // Newest first: the console's two changes, then the setup through the ops key.
    expect(actions.slice(0, 2)).toEqual(['staff.add', 'api_key.create'])
    expect(actions).toContain('organization.create')
    expect(all.html).toContain(customer.name)
    expect(all.html).toContain(keyId)

    const byAction = await auditPage(session, partner.id, '?action=api_key.create')
    expect(byAction.rows).toHaveLength(1)
    expect(byAction.rows[0]).toContain(keyId)
    expect(byAction.rows[0]).toContain(`staff:${admin.upn}`)
    expect(byAction.html).toContain('(filtered)')
    expect(byAction.html).toContain('value="api_key.create"')

    const byActor = await auditPage(session, partner.id, `?actor=${encodeURIComponent(`staff:${admin.upn}`)}`)
    expect(byActor.rows).toHaveLength(2)
    const byOps = await auditPage(session, partner.id, '?actor=ops')
    expect(byOps.rows.length).toBeGreaterThanOrEqual(3)
    for (const row of byOps.rows) expect(row).toContain('<code>ops</code>')

    const byOrg = await auditPage(session, partner.id, `?orgId=${customer.id}`)
    expect(byOrg.rows.map((row) => />([a-z_]+\.[a-z_]+)<\/code>/.exec(row)?.[1])).toEqual([
      'staff.add',
      'organization.create',
    ])
    for (const row of byOrg.rows) expect(row).toContain(customer.name)
    expect(byOrg.html).toMatch(new RegExp(`<option value="${customer.id}" selected="">`))

    const future = await auditPage(session, partner.id, '?since=2999-01-01')
    expect(future.rows).toHaveLength(0)
    expect(future.html).toContain('No changes match these filters')
    const recent = await auditPage(session, partner.id, `?since=${new Date(Date.now() - 60_000).toISOString()}`)
    expect(recent.rows.length).toBeGreaterThanOrEqual(2)

    const badSince = await auditPage(session, partner.id, '?since=yesterday')
    expect(badSince.res.status).toBe(400)
    expect(badSince.html).toMatch(/id="f-since-error">[^<]*ISO 8601/)
    expect(badSince.html).toContain('value="yesterday"')
    const badCursor = await auditPage(session, partner.id, '?cursor=abc')
    expect(badCursor.res.status).toBe(400)
    expect(badCursor.html).toContain('not a cursor')

    // The action and who cells filter by themselves, keeping the other filters.
    expect(byOrg.rows[0]).toContain(`href="/admin/orgs/${partner.id}/audit?orgId=${customer.id}&amp;action=staff.add"`)

    // On the customer's own page: its rows only.
    const customerPage = await auditPage(session, customer.id)
    expect(customerPage.rows.map((row) => />([a-z_]+\.[a-z_]+)<\/code>/.exec(row)?.[1])).toEqual([
      'staff.add',
      'organization.create',
    ])
    expect(customerPage.html).not.toContain('name="orgId"')
  })

  it("never shows another partner's rows: to its admins, to ops on a partner's page, nor through a filter", async () => {
    const a = await busyPartner()
    const b = await busyPartner()
    const foreign = [b.partner.id, b.customer.id, b.keyId, b.admin.upn]
    const ops = await signInToConsole(await opsAdmin())
    for (const session of [a.session, ops]) {
      const page = await auditPage(session, a.partner.id, '?limit=500')
      expect(page.res.status).toBe(200)
      expect(page.rows.length).toBeGreaterThanOrEqual(5)
      for (const id of foreign) expect(page.html).not.toContain(id)
      // The scope is the page's, not the query string's.
      const widened = await auditPage(session, a.partner.id, `?within=${b.partner.id}`)
      for (const id of foreign) expect(widened.html).not.toContain(id)
    }
    expect((await auditPage(a.session, a.partner.id, `?orgId=${b.customer.id}`)).res.status).toBe(404)
    const opsFiltered = await auditPage(ops, a.partner.id, `?orgId=${b.customer.id}`)
    expect(opsFiltered.rows).toHaveLength(0)
    expect((await auditPage(a.session, b.partner.id)).res.status).toBe(404)
  })

  it('pages through the log with the filters kept, with no row twice', async () => {
    const partner = await createPartner()
    const session = await signInToConsole(await newStaff(partner.id, 'admin'))
    const statements = Array.from({ length: 60 }, (_, i) =>
      env.DB.prepare(
        "INSERT INTO audit_log (at, actor, org_id, action, target_type, target_id, summary) VALUES (?, 'ops', ?, 'test.paging', 'organization', ?, NULL)",
      ).bind(Date.now(), partner.id, `target-${i}`),
    )
    await env.DB.batch(statements)
    const first = await auditPage(session, partner.id, '?action=test.paging')
    expect(first.rows).toHaveLength(50)
    const next = /<nav class="pager" aria-label="Pages"><a href="([^"]+)">Next page<\/a>/.exec(first.html)?.[1]
    expect(next).toBeTruthy()
    const url = next!.replaceAll('&amp;', '&')
    expect(url).toContain('action=test.paging')
    const second = await consoleGet(session, url)
    const secondRows = rowsOf(second.html)
    expect(secondRows).toHaveLength(10)
    expect(second.html).not.toContain('Next page')
    const targets = [...first.rows, ...secondRows].map((row) => /target-\d+/.exec(row)?.[0])
    expect(new Set(targets).size).toBe(60)
  })

  it('summarizes a change as before → after, hides anything named like a secret, and escapes what it shows', async () => {
    const partner = await createPartner()
    const admin = await newStaff(partner.id, 'admin')
    const session = await signInToConsole(admin)
    const viewer = await newStaff(partner.id, 'viewer')
    const { admins } = await apiJson('GET', `/orgs/${partner.id}/admins`)
    const record = admins.find((a: { upn: string }) => a.upn === viewer.upn)
    expect(
      (await consolePost(session, `/admin/orgs/${partner.id}/staff/${record.id}/role`, { role: 'admin' })).res.status,
    ).toBe(303)
    expect((await consolePost(session, `/admin/orgs/${partner.id}/staff/${record.id}/remove`)).res.status).toBe(303)
    await env.DB.prepare(
      "INSERT INTO audit_log (at, actor, org_id, action, target_type, target_id, summary) VALUES (?, 'system', ?, 'test.secrets', 'microsoft_integration', ?, ?)",
    )
      .bind(
        Date.now(),
        partner.id,
        partner.id,
        JSON.stringify({
          before: { clientSecret: 'old-secret-value-1', name: '<img src=x onerror=alert(1)>' },
          after: { clientSecret: 'new-secret-value-2', name: 'Plain' },
          tokenHash: 'hash-value-3',
        }),
      )
      .run()

    const page = await auditPage(session, partner.id)
    const [secrets, removal, update] = page.rows
    expect(update).toContain('staff.update')
    expect(update).toContain('<code>role</code>: viewer → admin')
    expect(update).not.toContain('<code>upn</code>')
    expect(removal).toContain('staff.remove')
    expect(removal).toContain('Was:')
    expect(removal).toContain(viewer.upn)
    expect(secrets).toContain('<code>clientSecret</code>: (hidden) → (hidden)')
    expect(secrets).toContain('<code>tokenHash</code>: (hidden)')
    expect(secrets).toContain('&lt;img src=x onerror=alert(1)&gt; → Plain')
    for (const secret of ['old-secret-value-1', 'new-secret-value-2', 'hash-value-3', '<img src=x']) {
      expect(page.html).not.toContain(secret)
    }
  })

  it("takes the API's within= too: an organization and its customers, in the caller's scope", async () => {
    const { partner, customer } = await busyPartner()
    const other = await partnerWithKey()
    const { entries } = await apiJson('GET', `/audit-log?within=${partner.id}&limit=500`)
    expect(entries.length).toBeGreaterThanOrEqual(5)
    for (const entry of entries) expect([partner.id, customer.id]).toContain(entry.organizationId)
    expect(entries.map((e: { organizationId: string }) => e.organizationId)).toContain(customer.id)
    const refused = await api('GET', `/audit-log?within=${partner.id}`, undefined, { key: other.key })
    expect((await expectJson(refused, 404)).error.code).toBe('not_found')
  })
})
