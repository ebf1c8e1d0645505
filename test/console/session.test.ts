import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { addEntraUser, createCustomer, createPartner, dbAll, newTenantId } from '../fixtures'
import {
  consoleCallback,
  consoleGet,
  consolePost,
  newStaff,
  opsAdmin,
  SESSION_COOKIE,
  signInToConsole,
} from './helpers'

describe('console sign-in and session', () => {
  it('shows the sign-in page to a visitor, and 404 on any host but the primary', async () => {
    const page = await consoleGet(null, '/admin')
    expect(page.res.status).toBe(200)
    expect(page.html).toContain('Sign in with Microsoft')
    expect(page.res.headers.get('cache-control')).toBe('no-store')
    const elsewhere = await SELF.fetch('https://acme.localhost/admin', { redirect: 'manual' })
    expect(elsewhere.status).toBe(404)
  })

  it('gives a partner admin a __Host- session cookie and the console', async () => {
    const partner = await createPartner('Contoso Partners')
    const user = await newStaff(partner.id, 'admin')
    const { res, cookie } = await consoleCallback(user)
    expect(res.status).toBe(303)
    const set = res.headers.getSetCookie().find((h) => h.startsWith(`${SESSION_COOKIE}=`))!
    expect(set).toMatch(/; Max-Age=28800/)
    expect(set).toMatch(/; Path=\//)
    expect(set).toMatch(/; HttpOnly/)
    expect(set).toMatch(/; Secure/)
    expect(set).toMatch(/; SameSite=Lax/)
    expect(set).not.toMatch(/Domain=/i)
    const home = await consoleGet({ user, cookie: cookie!, csrf: '' }, '/admin')
    expect(home.html).toContain('Contoso Partners')
    // The UPN-only record is pinned to the oid of the first sign-in.
    const [row] = await dbAll<{ oid: string }>('SELECT oid FROM staff WHERE org_id = ?', partner.id)
    expect(row!.oid).toBe(user.oid)
  })

  it('refuses a signed-in user who is staff of nothing, and starts no session', async () => {
    const stranger = await addEntraUser(newTenantId(), 'Stranger')
    const { res, cookie } = await consoleCallback(stranger)
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('Ask an admin of your organization')
    expect(cookie).toBeNull()
  })

  it('lets the ops admin of OPS_ADMINS see every partner', async () => {
    const partner = await createPartner(`Ops sees ${crypto.randomUUID().slice(0, 6)}`)
    const session = await signInToConsole(await opsAdmin())
    const home = await consoleGet(session, `/admin?q=${encodeURIComponent(partner.name)}`)
    expect(home.html).toContain(partner.name)
  })

  it('sign-out revokes the session: the old cookie no longer opens the console', async () => {
    const partner = await createPartner()
    const session = await signInToConsole(await newStaff(partner.id, 'admin'))
    const out = await consolePost(session, '/admin/logout')
    expect(out.res.status).toBe(303)
    const after = await consoleGet(session, `/admin/orgs/${partner.id}`)
    expect(after.res.status).toBe(303)
    expect(after.res.headers.get('location')).toBe('/admin')
  })

  it('refuses a POST without the CSRF token, or from another origin, and changes nothing', async () => {
    const partner = await createPartner()
    const session = await signInToConsole(await newStaff(partner.id, 'admin'))
    const name = `Evil ${crypto.randomUUID()}`
    const noToken = await consolePost(session, `/admin/orgs/${partner.id}/customers`, { name }, { csrf: null })
    expect(noToken.res.status).toBe(403)
    const crossSite = await consolePost(
      session,
      `/admin/orgs/${partner.id}/customers`,
      { name },
      { origin: 'https://evil.example' },
    )
    expect(crossSite.res.status).toBe(403)
    expect(await dbAll('SELECT id FROM organizations WHERE name = ?', name)).toHaveLength(0)
    const ok = await consolePost(session, `/admin/orgs/${partner.id}/customers`, { name, structure: 'flat' })
    expect(ok.res.status).toBe(303)
    expect(await dbAll('SELECT id FROM organizations WHERE name = ?', name)).toHaveLength(1)
  })

  it("answers 404 for another partner's customer, and 403 to a viewer's change", async () => {
    const mine = await createPartner()
    const theirs = await createPartner()
    const theirCustomer = await createCustomer(theirs.id, { name: 'Their customer' })
    const admin = await signInToConsole(await newStaff(mine.id, 'admin'))
    expect((await consoleGet(admin, `/admin/orgs/${theirCustomer.id}`)).res.status).toBe(404)
    expect((await consoleGet(admin, `/admin/orgs/${theirs.id}`)).res.status).toBe(404)
    const viewer = await signInToConsole(await newStaff(mine.id, 'viewer'))
    const page = await consoleGet(viewer, `/admin/orgs/${mine.id}`)
    expect(page.res.status).toBe(200)
    expect(page.html).not.toContain('Add customer')
    const post = await consolePost(viewer, `/admin/orgs/${mine.id}/customers`, { name: 'Viewer made this' })
    expect(post.res.status).toBe(403)
  })
})
