/**
 * The console's sign-in log: real sign-ins on tenant hosts, read back by
 * staff. A failure shows who it was and what to do; the filters narrow it;
 * a customer's staff see that customer only, a partner's staff its
 * customers too, and nobody another partner's attempts, at any size.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import {
  addEntraUser,
  apiJson,
  auditSettled,
  createCustomer,
  createPartner,
  createPhoneSystem,
  dbAll,
  listUsers,
  newTenantId,
  signIn,
  uniqueLabel,
  ZONE,
} from '../fixtures'
import { consoleGet, newStaff, type StaffSession, signInToConsole } from './helpers'

/** The page's text as a reader sees it (JSX escapes quotes and ampersands). */
function text(html: string): string {
  return html
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}

/**
 * A customer of `partnerId` with a sign-in host and a phone system whose
 * list has `listed` but not `stranger`; `stranger` tried to sign in there
 * and was refused (`not_listed`).
 */
async function customerWithFailedSignIn(partnerId: string) {
  const customer = await createCustomer(partnerId, { name: `Customer ${uniqueLabel('c')}` })
  const hostname = `${uniqueLabel('log')}.${ZONE}`
  await apiJson('POST', `/orgs/${customer.id}/hostnames`, { hostname, callbackMode: 'central' }, 201)
  const tenantId = newTenantId()
  const phoneSystem = await createPhoneSystem(customer.id, tenantId, 'Head office')
  const listed = await addEntraUser(tenantId, 'Listed User')
  const stranger = await addEntraUser(tenantId, 'Unlisted User')
  await listUsers(phoneSystem.id, [listed])
  const refused = await signIn(hostname, stranger)
  expect(refused.res.status).toBe(403)
  await auditSettled()
  return { customer, hostname, tenantId, phoneSystem, listed, stranger }
}

async function logPage(session: StaffSession, orgId: string, query = '') {
  const page = await consoleGet(session, `/admin/orgs/${orgId}/sign-ins${query}`)
  return { status: page.res.status, html: text(page.html) }
}

describe('the sign-in log page', () => {
  it('shows a failed not_listed attempt with the account, the reason in words and what to do', async () => {
    const partner = await createPartner()
    const { customer, stranger, hostname } = await customerWithFailedSignIn(partner.id)
    const [row] = await dbAll<{ account: string; reason: string }>(
      "SELECT account, reason FROM sign_in_attempts WHERE hostname = ? AND result = 'failure'",
      hostname,
    )
    expect(row).toEqual({ account: stranger.upn, reason: 'not_listed' })

    const session = await signInToConsole(await newStaff(customer.id, 'viewer'))
    const { status, html } = await logPage(session, customer.id)
    expect(status).toBe(200)
    expect(html).toContain(stranger.upn)
    expect(html).toContain(hostname)
    expect(html).toContain('Not on the SSO list of any phone system here')
    expect(html).toContain('<th scope="col">What to do</th>')
    expect(html).toContain(
      `<a href="/admin/orgs/${customer.id}/phone-systems">Check the phone system's SSO list, then Sync</a>`,
    )
    // What the user's own error page told them.
    expect(html).toContain("Ask your administrator to add you to the phone system's Microsoft 365 integration")
    expect(html).toMatch(/<caption>[^<]*Sign-in attempts of /)
    expect(html).toContain('<div class="table-wrap">')
  })

  it("keeps Microsoft's AADSTS error for an Entra failure, and links to connecting the tenant", async () => {
    const partner = await createPartner()
    const { customer, hostname, listed } = await customerWithFailedSignIn(partner.id)
    const consent = await signIn(hostname, listed, 'consent_required')
    expect(consent.res.status).toBe(403)
    await auditSettled()
    const rows = await dbAll<{ reason: string; detail: string | null }>(
      "SELECT reason, detail FROM sign_in_attempts WHERE hostname = ? AND reason LIKE 'entra_%'",
      hostname,
    )
    expect(rows).toEqual([{ reason: 'entra_consent_required', detail: expect.stringContaining('AADSTS65001') }])

    const session = await signInToConsole(await newStaff(customer.id, 'admin'))
    const { html } = await logPage(session, customer.id, '?reason=entra_consent_required')
    expect(html).toContain('Admin consent missing in their Microsoft 365')
    expect(html).toContain('AADSTS65001')
    expect(html).toContain(`href="/admin/orgs/${customer.id}/phone-systems">Connect the phone system's Microsoft 365`)
  })

  it('filters by result, reason, host and user', async () => {
    const partner = await createPartner()
    const { customer, hostname, listed, stranger } = await customerWithFailedSignIn(partner.id)
    const ok = await signIn(hostname, listed)
    expect(ok.res.status).toBe(200)
    await auditSettled()
    const session = await signInToConsole(await newStaff(customer.id, 'viewer'))

    const everything = await logPage(session, customer.id)
    expect(everything.html).toContain(stranger.upn)
    expect(everything.html).toContain(listed.upn)

    const failures = await logPage(session, customer.id, '?result=failure')
    expect(failures.html).toContain(stranger.upn)
    expect(failures.html).not.toContain(listed.upn)
    expect(failures.html).toContain('<option value="failure" selected="">Failed</option>')

    const handoffs = await logPage(session, customer.id, '?result=&reason=handoff')
    expect(handoffs.html).toContain(listed.upn)
    expect(handoffs.html).toContain('Head office')
    expect(handoffs.html).not.toContain(stranger.upn)

    const byUser = await logPage(
      session,
      customer.id,
      `?q=${encodeURIComponent(stranger.upn.slice(0, 9).toUpperCase())}`,
    )
    expect(byUser.html).toContain(stranger.upn)
    expect(byUser.html).not.toContain(listed.upn)

    const byOid = await logPage(session, customer.id, `?q=${listed.oid}`)
    expect(byOid.html).toContain(listed.upn)
    expect(byOid.html).not.toContain(stranger.upn)

    const otherHost = await logPage(session, customer.id, `?hostname=elsewhere.${ZONE}`)
    expect(otherHost.html).not.toContain(stranger.upn)
    expect(otherHost.html).toContain('No sign-in attempt matches these filters.')

    const sameHost = await logPage(session, customer.id, `?hostname=${hostname.toUpperCase()}&result=success`)
    expect(sameHost.html).toContain(listed.upn)
    expect(sameHost.html).not.toContain(stranger.upn)

    // A wildcard typed as the user is a character, not a pattern.
    expect((await logPage(session, customer.id, '?q=%25')).html).not.toContain(stranger.upn)
  })

  it('answers a bad filter with the form and the problem beside the field, and no rows', async () => {
    const partner = await createPartner()
    const { customer, stranger } = await customerWithFailedSignIn(partner.id)
    const session = await signInToConsole(await newStaff(customer.id, 'viewer'))
    const bad = await logPage(session, customer.id, '?result=maybe')
    expect(bad.status).toBe(400)
    expect(bad.html).toContain('id="f-result-error"')
    expect(bad.html).toContain('aria-invalid="true"')
    expect(bad.html).not.toContain(stranger.upn)
    const forged = await logPage(session, customer.id, '?cursor=1%20OR%201=1')
    expect(forged.status).toBe(400)
    expect(forged.html).not.toContain(stranger.upn)
  })

  it("never shows another partner's attempts, and another partner's log is a 404", async () => {
    const mine = await createPartner()
    const theirs = await createPartner()
    const own = await customerWithFailedSignIn(mine.id)
    const foreign = await customerWithFailedSignIn(theirs.id)
    const session = await signInToConsole(await newStaff(mine.id, 'admin'))

    const page = await logPage(session, mine.id)
    expect(page.html).toContain(own.stranger.upn)
    expect(page.html).not.toContain(foreign.stranger.upn)
    expect(page.html).not.toContain(foreign.hostname)
    // Searching for the other partner's user finds nothing.
    const search = await logPage(session, mine.id, `?q=${encodeURIComponent(foreign.stranger.upn)}`)
    expect(search.html).not.toContain(foreign.hostname)

    expect((await logPage(session, theirs.id)).status).toBe(404)
    expect((await logPage(session, foreign.customer.id)).status).toBe(404)
  })

  it("shows a customer's staff only that customer, and a partner's staff every customer's", async () => {
    const partner = await createPartner()
    const first = await customerWithFailedSignIn(partner.id)
    const second = await customerWithFailedSignIn(partner.id)

    const customerStaff = await signInToConsole(await newStaff(first.customer.id, 'admin'))
    const own = await logPage(customerStaff, first.customer.id)
    expect(own.html).toContain(first.stranger.upn)
    expect(own.html).not.toContain(second.stranger.upn)
    expect((await logPage(customerStaff, second.customer.id)).status).toBe(404)
    expect((await logPage(customerStaff, partner.id)).status).toBe(404)

    const partnerStaff = await signInToConsole(await newStaff(partner.id, 'viewer'))
    const all = await logPage(partnerStaff, partner.id)
    expect(all.html).toContain(first.stranger.upn)
    expect(all.html).toContain(second.stranger.upn)
    expect(all.html).toContain('<th scope="col">Organization</th>')
    expect(all.html).toContain(first.customer.name)
    const oneCustomer = await logPage(partnerStaff, second.customer.id)
    expect(oneCustomer.html).toContain(second.stranger.upn)
    expect(oneCustomer.html).not.toContain(first.stranger.upn)
  })

  it('pages a partner with more than 100 customers (a subquery, not a bound list), 50 a page', async () => {
    const CUSTOMERS = 120
    const partner = await createPartner('Big Partner')
    const other = await createPartner('Other Partner')
    const now = Date.now()
    const tag = uniqueLabel('big')
    const ids = Array.from({ length: CUSTOMERS }, (_, i) => `org_${tag}${String(i).padStart(3, '0')}`)
    const orgs = ids.map((id, i) =>
      env.DB.prepare(
        "INSERT INTO organizations (id, kind, parent_id, structure, name, created_at, updated_at) VALUES (?, 'customer', ?, 'nested', ?, ?, ?)",
      ).bind(id, partner.id, `Customer ${i}`, now, now),
    )
    const attempt = (orgId: string, account: string, at: number) =>
      env.DB.prepare(
        "INSERT INTO sign_in_attempts (at, result, reason, step, hostname, org_id, account, correlation_id) VALUES (?, 'failure', 'not_listed', 'complete', ?, ?, ?, ?)",
      ).bind(at, `${tag}.${ZONE}`, orgId, account, crypto.randomUUID())
    await env.DB.batch([
      ...orgs,
      ...ids.map((id, i) => attempt(id, `user${i}.${tag}@contoso.example`, now + i)),
      attempt(other.id, `foreign.${tag}@contoso.example`, now + CUSTOMERS),
    ])

    const session = await signInToConsole(await newStaff(partner.id, 'viewer'))
    const seen = new Set<string>()
    let path = `?q=${tag}`
    for (let page = 0; page < 5 && path; page++) {
      const { status, html } = await logPage(session, partner.id, path)
      expect(status).toBe(200)
      expect(html).not.toContain(`foreign.${tag}`)
      const accounts = [...html.matchAll(new RegExp(`user(\\d+)\\.${tag}@contoso\\.example`, 'g'))].map((m) => m[1]!)
      expect(accounts.length).toBeLessThanOrEqual(50)
      for (const n of accounts) seen.add(n)
      const next = /<a href="[^"?]*(\?[^"]*)">Next page<\/a>/.exec(html)?.[1]
      path = next ?? ''
    }
    expect(seen.size).toBe(CUSTOMERS)
  }, 60_000)
})
