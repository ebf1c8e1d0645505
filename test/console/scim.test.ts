/**
 * The console's "SCIM provisioning" section of a phone system: the Tenant
 * URL, a token created and shown once, listed by prefix, revoked; the Sync
 * area of a pushed list; what a viewer, a missing CSRF token and another
 * partner's staff get, and what D1 holds after.
 */
import { describe, expect, it } from 'vitest'
import { createCustomer, createPartner, createPhoneSystem, dbAll, newTenantId } from '../fixtures'
import { entraUser, scim, scimJson } from '../scim/helpers'
import { consoleGet, consolePost, newStaff, signInToConsole } from './helpers'

const pageOf = (orgId: string, psId: string, page = '') => `/admin/orgs/${orgId}/phone-systems/${psId}${page}`

async function setup() {
  const partner = await createPartner()
  const customer = await createCustomer(partner.id, { name: 'Acme' })
  const ps = await createPhoneSystem(customer.id, newTenantId(), 'Main office')
  const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
  return { partner, customer, ps, admin }
}

function tokenOnPage(html: string): string | undefined {
  return /<code>(scim_[A-Za-z0-9_-]{43})<\/code>/.exec(html)?.[1]
}

describe('console: SCIM provisioning', () => {
  it('shows the Tenant URL; creates a token shown once on the page, never again; revokes it', async () => {
    const { customer, ps, admin } = await setup()
    const page = await consoleGet(admin, pageOf(customer.id, ps.id))
    expect(page.res.status).toBe(200)
    expect(page.html).toContain('<h2 id="scim">SCIM provisioning</h2>')
    expect(page.html).toContain(`https://login.localhost/scim/v2/phone-systems/${ps.id}`)
    expect(page.html).toMatch(/<button type="submit">Create SCIM token<\/button>/)
    expect(page.html).toContain('aria-label="Copy Tenant URL"')

    const created = await consolePost(admin, pageOf(customer.id, ps.id, '/scim-tokens'), { label: 'Entra app' })
    expect(created.res.status).toBe(200)
    const token = tokenOnPage(created.html)
    expect(token, created.html).toBeTruthy()
    expect(created.html).toContain('It is shown only here and now')
    // The list is SCIM's now: the Sync area says so, without a Sync button.
    expect(created.html).toContain('SSO list pushed by SCIM')
    expect(created.html).not.toMatch(/<button[^>]*>Sync<\/button>/)

    // The token works, and the page afterwards never shows it again.
    await scimJson(
      await scim({ phoneSystemId: ps.id, token: token! }, 'POST', '/Users', entraUser('ann@contoso.example')),
      201,
    )
    const later = await consoleGet(admin, pageOf(customer.id, ps.id))
    expect(later.html).not.toContain(token!)
    expect(later.html).toContain(`<code>${token!.slice(0, 13)}…</code>`)
    expect(later.html).toContain('Last pushed:')
    const list = await consoleGet(admin, `/admin/orgs/${customer.id}/phone-systems`)
    expect(list.html).toContain('Pushed by SCIM')
    expect(later.html).toContain('aria-label="Revoke SCIM token')

    const [row] = await dbAll<{ id: string }>('SELECT id FROM scim_tokens WHERE phone_system_id = ?', ps.id)
    const revoked = await consolePost(admin, pageOf(customer.id, ps.id, `/scim-tokens/${row!.id}/revoke`))
    expect(revoked.res.status).toBe(303)
    expect(revoked.res.headers.get('location')).toBe(`${pageOf(customer.id, ps.id)}?done=scimTokenRevoked`)
    expect((await scim({ phoneSystemId: ps.id, token: token! }, 'GET', '/Users')).status).toBe(401)
    expect(
      await dbAll(
        "SELECT action, actor FROM audit_log WHERE target_type = 'scim_token' AND target_id = ? ORDER BY id",
        row!.id,
      ),
    ).toEqual([
      { action: 'scim_token.create', actor: expect.stringMatching(/^staff:/) },
      { action: 'scim_token.revoke', actor: expect.stringMatching(/^staff:/) },
    ])
  })

  it('refuses a create without the CSRF token (403) and creates nothing', async () => {
    const { customer, ps, admin } = await setup()
    const res = await consolePost(admin, pageOf(customer.id, ps.id, '/scim-tokens'), {}, { csrf: null })
    expect(res.res.status).toBe(403)
    expect(await dbAll('SELECT id FROM scim_tokens WHERE phone_system_id = ?', ps.id)).toEqual([])
  })

  it('a viewer sees the Tenant URL and the tokens but no form; their posts are 403 and change nothing', async () => {
    const { partner, customer, ps, admin } = await setup()
    await consolePost(admin, pageOf(customer.id, ps.id, '/scim-tokens'), {})
    const viewer = await signInToConsole(await newStaff(partner.id, 'viewer'))
    const page = await consoleGet(viewer, pageOf(customer.id, ps.id))
    expect(page.html).toContain('SCIM provisioning')
    expect(page.html).not.toContain('Create SCIM token')
    expect(page.html).not.toContain('Revoke SCIM token')
    const [row] = await dbAll<{ id: string }>('SELECT id FROM scim_tokens WHERE phone_system_id = ?', ps.id)
    expect((await consolePost(viewer, pageOf(customer.id, ps.id, '/scim-tokens'), {})).res.status).toBe(403)
    expect((await consolePost(viewer, pageOf(customer.id, ps.id, `/scim-tokens/${row!.id}/revoke`))).res.status).toBe(
      403,
    )
    expect(await dbAll('SELECT revoked_at FROM scim_tokens WHERE phone_system_id = ?', ps.id)).toEqual([
      { revoked_at: null },
    ])
  })

  it("another partner's admin: 404 for the page and both posts", async () => {
    const { customer, ps } = await setup()
    const other = await createPartner('Other')
    const stranger = await signInToConsole(await newStaff(other.id, 'admin'))
    expect((await consoleGet(stranger, pageOf(customer.id, ps.id))).res.status).toBe(404)
    expect((await consolePost(stranger, pageOf(customer.id, ps.id, '/scim-tokens'), {})).res.status).toBe(404)
    expect(await dbAll('SELECT id FROM scim_tokens WHERE phone_system_id = ?', ps.id)).toEqual([])
  })
})
