import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { sha256 } from '../../src/lib/crypto'
import {
  addEntraUser,
  apiJson,
  cookieFrom,
  createCustomer,
  createPartner,
  dbAll,
  FLOW_COOKIE,
  newTenantId,
  PRIMARY,
  pickAccount,
  signIn,
} from '../fixtures'
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

  it('ends after 30 idle minutes and after 8 hours, whatever the cookie says', async () => {
    const partner = await createPartner()
    const idle = await signInToConsole(await newStaff(partner.id, 'admin'))
    await sessionRows(idle, 'last_seen_at = last_seen_at - 31 * 60 * 1000')
    const afterIdle = await consoleGet(idle, `/admin/orgs/${partner.id}`)
    expect(afterIdle.res.status).toBe(303)
    expect(afterIdle.res.headers.getSetCookie().join()).toMatch(/__Host-console=;.*Max-Age=0/)
    const old = await signInToConsole(await newStaff(partner.id, 'admin'))
    await sessionRows(old, 'expires_at = ?', Date.now() - 1)
    expect((await consoleGet(old, `/admin/orgs/${partner.id}`)).res.status).toBe(303)
    const post = await consolePost(old, `/admin/orgs/${partner.id}/customers`, { name: 'Too late' })
    expect(post.res.status).toBe(401)
    expect(post.html).toContain('Your console session has ended')
  })

  it('applies a role change and a removal at the next request, without a new sign-in', async () => {
    const partner = await createPartner()
    const user = await newStaff(partner.id, 'viewer')
    const session = await signInToConsole(user)
    const [record] = await dbAll<{ id: string }>('SELECT id FROM staff WHERE org_id = ?', partner.id)
    expect((await consolePost(session, `/admin/orgs/${partner.id}/customers`, { name: 'Not yet' })).res.status).toBe(
      403,
    )
    await apiJson('PATCH', `/admins/${record!.id}`, { role: 'admin' })
    expect((await consolePost(session, `/admin/orgs/${partner.id}/customers`, { name: 'Now' })).res.status).toBe(303)
    await apiJson('DELETE', `/admins/${record!.id}`, undefined, 204)
    const gone = await consoleGet(session, `/admin/orgs/${partner.id}`)
    expect(gone.res.status).toBe(403)
    expect(gone.html).toContain('No access to the console')
  })

  it("keeps console and sign-in flows apart: the primary host's own sign-in gives no console session", async () => {
    const partner = await createPartner()
    const user = await newStaff(partner.id, 'admin')
    const result = await signIn(PRIMARY, user)
    expect(cookieFrom(result.res, SESSION_COOKIE)).toBeNull()
    expect(result.res.status).toBe(403)
  })

  it('refuses a replayed console callback, and a console callback without the browser that started it', async () => {
    const partner = await createPartner()
    const user = await newStaff(partner.id, 'admin')
    const start = await SELF.fetch(`https://${PRIMARY}/admin/login`, { redirect: 'manual' })
    const flowCookie = cookieFrom(start)!
    const callback = await pickAccount(new URL(start.headers.get('location')!), user)
    const stolen = await SELF.fetch(callback, { redirect: 'manual' })
    expect(stolen.status).toBe(400)
    expect(cookieFrom(stolen, SESSION_COOKIE)).toBeNull()
    const first = await SELF.fetch(callback, {
      redirect: 'manual',
      headers: { cookie: `${FLOW_COOKIE}=${flowCookie}` },
    })
    expect(first.status).toBe(303)
    const replay = await SELF.fetch(callback, {
      redirect: 'manual',
      headers: { cookie: `${FLOW_COOKIE}=${flowCookie}` },
    })
    expect(replay.status).toBe(400)
    expect(cookieFrom(replay, SESSION_COOKIE)).toBeNull()
  })

  it('refuses a form that is not form-encoded, and a forged cookie', async () => {
    const partner = await createPartner()
    const session = await signInToConsole(await newStaff(partner.id, 'admin'))
    const json = await SELF.fetch(`https://${PRIMARY}/admin/orgs/${partner.id}/customers`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: `${SESSION_COOKIE}=${session.cookie}`,
        origin: `https://${PRIMARY}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'JSON made this', _csrf: session.csrf }),
    })
    expect(json.status).toBe(403)
    const forged = await consoleGet(
      { ...session, cookie: `${session.cookie.slice(0, -2)}xx` },
      `/admin/orgs/${partner.id}`,
    )
    expect(forged.res.status).toBe(303)
    expect(await dbAll("SELECT id FROM organizations WHERE name = 'JSON made this'")).toHaveLength(0)
  })
})

/** Moves a session's clock in D1 (the cookie holds the token; D1 its SHA-256). */
async function sessionRows(session: { cookie: string }, set: string, ...params: unknown[]) {
  const result = await env.DB.prepare(`UPDATE console_sessions SET ${set} WHERE id = ?`)
    .bind(...params, await sha256(session.cookie))
    .run()
  expect(result.meta.changes).toBe(1)
}
