/**
 * Phone systems in the console, as staff use them in a browser: adding one
 * (and the API seeing it), the tenant's connection through a connect link,
 * Sync against the Graph stand-in with its outcome on the page, the SSO list
 * behind the eye with search and pages, and what a viewer, another partner
 * or a hostile form gets: the status, the page, and what D1 holds after.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { sha256 } from '../../src/lib/crypto'
import {
  addEntraUser,
  apiJson,
  CONNECT_COOKIE,
  consent,
  createCustomer,
  createPartner,
  createPhoneSystem,
  dbAll,
  directory,
  dirUser,
  entraControl,
  graphControl,
  newTenantId,
  PRIMARY,
  ROLES,
  runCron,
  upToConsentAnswer,
  withCookie,
} from '../fixtures'
import { consoleGet, consolePost, newStaff, type StaffSession, signInToConsole } from './helpers'

const pagesOf = (orgId: string) => `/admin/orgs/${orgId}/phone-systems`
const pageOf = (orgId: string, psId: string, page = '') => `${pagesOf(orgId)}/${psId}${page}`

function formFor(tid: string, name = `PBX ${crypto.randomUUID().slice(0, 8)}`) {
  return {
    name,
    webClientUrl: 'https://pbx.example.net/webclient',
    handoffUrl: 'https://pbx.example.net/sso/handoff',
    entraTenantId: tid,
  }
}

/** Whether the page has a button whose whole label is `label`. */
function hasButton(html: string, label: string): boolean {
  return new RegExp(`<button[^>]*>${label}</button>`).test(html)
}

/** The input of form field `name`, as rendered. */
function inputOf(html: string, name: string): string {
  return new RegExp(`<input[^>]*name="${name}"[^>]*>`).exec(html)?.[0] ?? ''
}

/** Adds a phone system through the console's form; its id, from where the answer sends the browser. */
async function addThroughConsole(session: StaffSession, orgId: string, fields: Record<string, string>) {
  const { res, html } = await consolePost(session, pagesOf(orgId), fields)
  expect(res.status, html).toBe(303)
  const location = res.headers.get('location')!
  const id = new RegExp(`^${pagesOf(orgId)}/(ps_[^?]+)\\?done=created$`).exec(location)?.[1]
  expect(id, location).toBeTruthy()
  return id!
}

async function syncState(psId: string) {
  const [row] = await dbAll<any>(
    'SELECT name, entra_tenant_id, tenant_status, sso_list_version, last_sync_at, last_sync_status, next_sync_at FROM phone_systems WHERE id = ?',
    psId,
  )
  const runs = await dbAll('SELECT * FROM sync_runs WHERE phone_system_id = ?', psId)
  const users = await dbAll<{ n: number }>('SELECT count(*) AS n FROM sso_users WHERE phone_system_id = ?', psId)
  return { row, runs, users: users[0]!.n }
}

/** A partner's customer with a phone system the provider vouched for (the ops key: trusted), and an admin of the partner. */
async function trustedSetup() {
  const partner = await createPartner()
  const customer = await createCustomer(partner.id, { name: 'Acme' })
  const tid = newTenantId()
  const ps = await createPhoneSystem(customer.id, tid, 'Main office')
  expect(ps.tenantStatus).toBe('trusted')
  const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
  return { partner, customer, tid, ps, admin }
}

describe('adding a phone system', () => {
  it('an admin adds one through the console: the API reads it, the audit log names the staff member', async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const user = await newStaff(partner.id, 'admin')
    const admin = await signInToConsole(user)
    const tid = newTenantId()
    const fields = formFor(tid.toUpperCase(), 'Head office')
    const id = await addThroughConsole(admin, customer.id, fields)

    const fromApi = await apiJson('GET', `/phone-systems/${id}`)
    expect(fromApi).toMatchObject({
      organizationId: customer.id,
      name: 'Head office',
      webClientUrl: fields.webClientUrl,
      handoffUrl: fields.handoffUrl,
      entraTenantId: tid,
      tenantStatus: 'unverified',
    })
    expect(await dbAll('SELECT action, actor FROM audit_log WHERE target_id = ?', id)).toEqual([
      { action: 'phone_system.create', actor: `staff:${user.upn}` },
    ])

    const page = await consoleGet(admin, `${pageOf(customer.id, id)}?done=created`)
    expect(page.res.status).toBe(200)
    expect(page.html).toContain('Phone system added.')
    const list = await consoleGet(admin, pagesOf(customer.id))
    expect(list.html).toContain(`href="${pageOf(customer.id, id)}"`)
    expect(list.html).toContain('Not connected: connect Microsoft 365')
    // The eye's link is named by its words alone, and described by its row's name.
    expect(list.html).toContain(`href="${pageOf(customer.id, id, '/users')}" aria-describedby="ps-${id}"`)
    expect(list.html).toMatch(new RegExp(`<th scope="row" id="ps-${id}"><a [^>]*>Head office</a></th>`))
  })

  it.each([
    ['an http web client', { webClientUrl: 'http://pbx.example.net/webclient' }, 'webClientUrl'],
    ['a javascript: handoff URL', { handoffUrl: 'javascript:alert(1)' }, 'handoffUrl'],
    ['a tenant that is not a GUID', { entraTenantId: 'contoso.onmicrosoft.com' }, 'entraTenantId'],
    ['a missing tenant', { entraTenantId: '' }, 'entraTenantId'],
  ])('refuses %s: 400, the error beside the field, nothing in D1', async (_what, override, field) => {
    const partner = await createPartner()
    const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
    const fields = { ...formFor(newTenantId()), ...override }
    const { res, html } = await consolePost(admin, pagesOf(partner.id), fields)
    expect(res.status).toBe(400)
    const input = inputOf(html, field)
    expect(input).toContain('aria-invalid="true"')
    expect(input).toMatch(new RegExp(`aria-describedby="[^"]*f-${field}-error"`))
    expect(html).toMatch(new RegExp(`<p class="field-error" id="f-${field}-error">&quot;${field}&quot; [^<]+</p>`))
    // What was typed is kept.
    expect(inputOf(html, 'name')).toContain(`value="${fields.name}"`)
    expect(await dbAll('SELECT id FROM phone_systems WHERE name = ?', fields.name)).toEqual([])
    expect(await dbAll('SELECT id FROM phone_systems WHERE org_id = ?', partner.id)).toEqual([])
  })

  it('refuses a tenant another partner has connected: 409 beside the tenant field', async () => {
    const theirs = await trustedSetup()
    const partner = await createPartner()
    const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
    const { res, html } = await consolePost(admin, pagesOf(partner.id), formFor(theirs.tid))
    expect(res.status).toBe(409)
    expect(inputOf(html, 'entraTenantId')).toContain('aria-invalid="true"')
    expect(html).toContain('already connected to another partner')
    expect(await dbAll('SELECT id FROM phone_systems WHERE org_id = ?', partner.id)).toEqual([])
  })
})

describe('a phone system partner staff add is not connected', () => {
  it('its page says so and offers Connect Microsoft 365; Sync answers the connect step (409), reads nothing, changes nothing', async () => {
    const partner = await createPartner()
    const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
    const tid = newTenantId()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    const id = await addThroughConsole(admin, partner.id, formFor(tid))

    const page = await consoleGet(admin, pageOf(partner.id, id))
    expect(page.html).toContain('Not connected: connect Microsoft 365')
    expect(page.html).toContain('naming a tenant proves nothing')
    expect(hasButton(page.html, 'Connect Microsoft 365')).toBe(true)
    expect(hasButton(page.html, 'Sync')).toBe(true)

    const before = await syncState(id)
    const hits = (await entraControl('hits', undefined, 'GET'))[`client_credentials:${tid}`] ?? 0
    const sync = await consolePost(admin, pageOf(partner.id, id, '/sync'))
    expect(sync.res.status).toBe(409)
    expect(sync.html).toContain('Sync failed (409)')
    expect(sync.html).toContain(`The Microsoft 365 tenant ${tid} of this phone system is not connected yet`)
    expect(sync.html).toContain('Create a connect link')
    expect(sync.html).toContain('Connect Microsoft 365')
    expect(await syncState(id)).toEqual(before)
    expect(before).toMatchObject({ runs: [], users: 0, row: { last_sync_at: null } })
    expect((await entraControl('hits', undefined, 'GET'))[`client_credentials:${tid}`] ?? 0).toBe(hits)
  })
})

describe('Connect Microsoft 365', () => {
  it('shows a one-time link once (never in a Location header); an administrator of the tenant opens it and the phone system is connected', async () => {
    const partner = await createPartner()
    const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
    const tid = newTenantId()
    const id = await addThroughConsole(admin, partner.id, formFor(tid))

    const { res, html } = await consolePost(admin, pageOf(partner.id, id, '/connect'))
    expect(res.status).toBe(200)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('cache-control')).toBe('no-store')
    const connectUrl = new RegExp(`data-copy="(https://${PRIMARY}/connect/[A-Za-z0-9_-]{43})"`).exec(html)?.[1]
    expect(connectUrl, html).toBeTruthy()
    const token = connectUrl!.split('/').pop()!
    // Shown to copy, and to open now for an administrator at the keyboard.
    expect(html).toContain(`<code>${connectUrl}</code>`)
    expect(html).toMatch(new RegExp(`<a class="btn secondary" href="${connectUrl}"[^>]*>Open it now</a>`))
    expect(html).toContain(`an administrator of the Microsoft 365 tenant <code>${tid}</code>`)
    expect(html).toContain('It works once, until <time')
    // Stored as a hash only, with its audit row; the page afterwards never shows it again.
    const links = await dbAll<any>('SELECT token_hash, created_by FROM connect_links WHERE phone_system_id = ?', id)
    expect(links).toEqual([{ token_hash: await sha256(token), created_by: `staff:${admin.user.upn}` }])
    expect(
      await dbAll("SELECT actor FROM audit_log WHERE target_id = ? AND action = 'phone_system.connect_link'", id),
    ).toHaveLength(1)
    const again = await consoleGet(admin, pageOf(partner.id, id))
    expect(again.html).not.toContain(token)

    // The administrator of the tenant, at the keyboard, opens it and consents.
    const opened = await SELF.fetch(connectUrl!)
    expect(opened.status).toBe(200)
    const tenantAdmin = await addEntraUser(tid, 'Grace Admin', [ROLES.globalAdministrator])
    const { answer, cookie } = await upToConsentAnswer(connectUrl!, tenantAdmin)
    const done = await SELF.fetch(answer, withCookie(cookie, CONNECT_COOKIE))
    expect(done.status, await done.clone().text()).toBe(200)

    const connected = await consoleGet(admin, pageOf(partner.id, id))
    expect(connected.html).not.toContain('Not connected: connect Microsoft 365')
    expect(connected.html).toContain('an administrator of this tenant connected it')
    expect((await apiJson('GET', `/phone-systems/${id}`)).tenantStatus).toBe('verified')
  })
})

describe('Sync and the SSO list', () => {
  it('Sync shows the counts on the page and records who ran it; the eye lists the users, with search and pages', async () => {
    const { customer, tid, ps, admin } = await trustedSetup()
    const tag = crypto.randomUUID().slice(0, 8)
    const users = Array.from({ length: 105 }, (_, i) => dirUser(i, tag))
    await consent(tid)
    await directory(tid, { direct: users })

    const sync = await consolePost(admin, pageOf(customer.id, ps.id, '/sync'))
    expect(sync.res.status, sync.html).toBe(200)
    expect(sync.html).toContain('The SSO list now holds 105 users.')
    expect(sync.html).toContain('<dt>Added</dt><dd>105</dd>')
    expect(sync.html).toContain('<dt>Removed</dt><dd>0</dd>')
    expect(sync.html).toContain('<dt>Updated</dt><dd>0</dd>')
    expect(sync.html).toContain('<dt>Unchanged</dt><dd>0</dd>')
    expect(sync.html).toContain('<dt>Total on the list</dt><dd>105</dd>')
    expect(sync.html).toContain('The whole list (the first sync)')
    // The last sync's record: when, by whom, the result.
    expect(sync.html).toContain(`<dt>By</dt><dd>${admin.user.upn}</dd>`)
    expect(sync.html).toContain('105 added, 0 removed, 0 updated, 0 unchanged; 105 on the list')
    expect(sync.html).toContain('Next scheduled sync')
    expect((await syncState(ps.id)).users).toBe(105)
    // The next sync reads only what changed.
    const again = await consolePost(admin, pageOf(customer.id, ps.id, '/sync'))
    expect(again.html).toContain('Only the changes since the last sync')

    // The list shows the size and the last sync.
    const list = await consoleGet(admin, pagesOf(customer.id))
    expect(list.html).toContain('105<br/>')
    expect(list.html).toContain('Synced')

    // The eye: the API's page size (100), the counts, and the next page by its cursor.
    const first = await consoleGet(admin, pageOf(customer.id, ps.id, '/users'))
    expect(first.res.status).toBe(200)
    expect(first.html).toContain('105 users on the list.')
    expect(first.html).toContain('Showing 100 on this page.')
    expect(first.html.match(/<tr><th scope="row">/g)).toHaveLength(100)
    const next = /<a href="([^"]+)">Next page<\/a>/.exec(first.html)?.[1]?.replaceAll('&amp;', '&')
    expect(next).toMatch(/\/users\?cursor=/)
    const second = await consoleGet(admin, next!)
    expect(second.html).toContain('Showing 5 on this page.')
    expect(second.html.match(/<tr><th scope="row">/g)).toHaveLength(5)
    expect(second.html).not.toContain('Next page')
    expect(second.html).toContain('Back to the first page')
    const seen = new Set([...`${first.html}${second.html}`.matchAll(/<code>([0-9a-f-]{36})<\/code>/g)].map((m) => m[1]))
    for (const u of users) expect(seen.has(u.id)).toBe(true)

    // Search finds one user by UPN, shows its columns; a search without a hit says so.
    const ann = users[42]!
    const found = await consoleGet(
      admin,
      `${pageOf(customer.id, ps.id, '/users')}?q=${encodeURIComponent(ann.userPrincipalName)}`,
    )
    expect(found.html).toContain('1 matches')
    expect(found.html).toContain(`<th scope="row">${ann.userPrincipalName.toLowerCase()}</th>`)
    expect(found.html).toContain(`<td>${ann.mail}</td><td>${ann.displayName}</td>`)
    expect(found.html).toContain(`<code>${ann.id}</code>`)
    const none = await consoleGet(admin, `${pageOf(customer.id, ps.id, '/users')}?q=nobody-${tag}`)
    expect(none.res.status).toBe(200)
    expect(none.html).toContain(`No user on the list matches “nobody-${tag}”.`)
    expect(none.html).toContain('105 users on the list.')
  })

  it('an empty list advises adding users and Sync; the SSO users link on the page is named exactly', async () => {
    const { customer, ps, admin } = await trustedSetup()
    const eye = await consoleGet(admin, pageOf(customer.id, ps.id, '/users'))
    expect(eye.res.status).toBe(200)
    expect(eye.html).toContain('<p>Add users to the Microsoft 365 integration, then Sync.</p>')
    expect(hasButton(eye.html, 'Sync')).toBe(true)
    const page = await consoleGet(admin, pageOf(customer.id, ps.id))
    expect(page.html).toContain(`href="${pageOf(customer.id, ps.id, '/users')}" aria-label="View SSO users"`)
  })

  it('a Graph permission refusal shows the permission and the consent step, with its status; the list is untouched', async () => {
    const { customer, tid, ps, admin } = await trustedSetup()
    await consent(tid, ['Application.Read.All', 'User.Read.All'])
    await directory(tid, { grouped: [dirUser(1)] })
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: 'kept@contoso.example' }] })

    const sync = await consolePost(admin, pageOf(customer.id, ps.id, '/sync'))
    expect(sync.res.status).toBe(502)
    expect(sync.html).toContain('Sync failed (502)')
    expect(sync.html).toContain('GroupMember.Read.All')
    expect(sync.html).toContain('grant admin consent again')
    expect(sync.html).toContain('press Connect Microsoft 365 below')
    // The reference the error's advice asks to quote is this request's.
    const reference = sync.res.headers.get('x-correlation-id')
    expect(reference).toBeTruthy()
    expect(sync.html).toContain(`Reference: <code>${reference}</code>`)
    // The stored record says the same, for whoever looks later.
    expect(sync.html).toMatch(
      /<dt>Result<\/dt><dd><span class="badge error">Failed<\/span> [^<]*GroupMember\.Read\.All/,
    )
    const { users, runs } = await syncState(ps.id)
    expect(users).toBe(1)
    expect(runs).toEqual([])
  })
})

describe('the sync record', () => {
  it('a sync under way shows on the page, and Sync then answers 409 without starting another; a dead run does not count', async () => {
    const { customer, tid, ps, admin } = await trustedSetup()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    await env.DB.prepare('INSERT INTO sync_runs (phone_system_id, run_id, started_at) VALUES (?, ?, ?)')
      .bind(ps.id, 'held-by-another-run', Date.now() - 60_000)
      .run()
    const page = await consoleGet(admin, pageOf(customer.id, ps.id))
    expect(page.html).toContain('A sync is under way since')
    const before = await syncState(ps.id)
    const sync = await consolePost(admin, pageOf(customer.id, ps.id, '/sync'))
    expect(sync.res.status).toBe(409)
    expect(sync.html).toContain('A sync of this phone system is already under way; nothing was started.')
    expect(await syncState(ps.id)).toEqual(before)

    // A claim older than its TTL is a crashed run's: not "under way", and Sync takes it over.
    await env.DB.prepare('UPDATE sync_runs SET started_at = ? WHERE phone_system_id = ?')
      .bind(Date.now() - 16 * 60_000, ps.id)
      .run()
    expect((await consoleGet(admin, pageOf(customer.id, ps.id))).html).not.toContain('A sync is under way')
    expect((await consolePost(admin, pageOf(customer.id, ps.id, '/sync'))).res.status).toBe(200)
  })

  it('names the schedule when the schedule ran the last sync, and nobody for a failed one', async () => {
    const { customer, tid, ps, admin } = await trustedSetup()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    expect((await consolePost(admin, pageOf(customer.id, ps.id, '/sync'))).res.status).toBe(200)
    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ? WHERE id = ?')
      .bind(Date.now() - 1, ps.id)
      .run()
    await runCron()
    const scheduled = await consoleGet(admin, pageOf(customer.id, ps.id))
    expect(scheduled.html).toContain('<dt>By</dt><dd>the schedule</dd>')
    expect(scheduled.html).toContain('0 added, 0 removed, 0 updated, 1 unchanged; 1 on the list')

    await graphControl(`tenants/${tid}`, { failOnPage: 1 })
    expect((await consolePost(admin, pageOf(customer.id, ps.id, '/sync'))).res.status).toBe(502)
    const failed = await consoleGet(admin, pageOf(customer.id, ps.id))
    expect(failed.html).toContain('<span class="badge error">Failed</span>')
    expect(failed.html).not.toContain('<dt>By</dt>')
  })
})

describe('editing and deleting', () => {
  it('saves a change; a new tenant named by partner staff is not connected and starts over', async () => {
    const { customer, ps, admin } = await trustedSetup()
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: 'old@contoso.example' }] })
    const page = await consoleGet(admin, pageOf(customer.id, ps.id))
    expect(page.html).toContain('Another tenant starts over')

    const renamed = await consolePost(admin, pageOf(customer.id, ps.id, '/edit'), { name: 'Branch office' })
    expect(renamed.res.status).toBe(303)
    expect(renamed.res.headers.get('location')).toBe(`${pageOf(customer.id, ps.id)}?done=updated`)
    expect((await apiJson('GET', `/phone-systems/${ps.id}`)).name).toBe('Branch office')

    const bad = await consolePost(admin, pageOf(customer.id, ps.id, '/edit'), { handoffUrl: 'https://u:p@x.example/' })
    expect(bad.res.status).toBe(400)
    expect(inputOf(bad.html, 'handoffUrl')).toContain('aria-invalid="true"')

    const newTid = newTenantId()
    const moved = await consolePost(admin, pageOf(customer.id, ps.id, '/edit'), { entraTenantId: newTid })
    expect(moved.res.status).toBe(303)
    const { row, users } = await syncState(ps.id)
    expect(row).toMatchObject({ entra_tenant_id: newTid, tenant_status: 'unverified' })
    expect(users).toBe(0)
  })

  it('deletes after a confirmation page, with its audit row', async () => {
    const { customer, ps, admin } = await trustedSetup()
    const confirm = await consoleGet(admin, pageOf(customer.id, ps.id, '/delete'))
    expect(confirm.res.status).toBe(200)
    expect(confirm.html).toContain('Its SSO list (0 users) is deleted with it')
    expect(hasButton(confirm.html, 'Delete phone system')).toBe(true)
    const done = await consolePost(admin, pageOf(customer.id, ps.id, '/delete'))
    expect(done.res.status).toBe(303)
    expect(done.res.headers.get('location')).toBe(`${pagesOf(customer.id)}?done=deleted`)
    expect(await dbAll('SELECT id FROM phone_systems WHERE id = ?', ps.id)).toEqual([])
    expect(
      await dbAll("SELECT actor FROM audit_log WHERE target_id = ? AND action = 'phone_system.delete'", ps.id),
    ).toEqual([{ actor: `staff:${admin.user.upn}` }])
    expect((await consoleGet(admin, pageOf(customer.id, ps.id))).res.status).toBe(404)
  })
})

describe('who may do what', () => {
  it('a viewer sees no Sync, Connect, edit, add or delete; their posts are 403 and change nothing', async () => {
    const { partner, customer, tid, ps } = await trustedSetup()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)] })
    const viewer = await signInToConsole(await newStaff(partner.id, 'viewer'))

    const page = await consoleGet(viewer, pageOf(customer.id, ps.id))
    expect(page.res.status).toBe(200)
    expect(page.html).toContain('You are a viewer here')
    expect(hasButton(page.html, 'Sync')).toBe(false)
    expect(hasButton(page.html, 'Connect Microsoft 365')).toBe(false)
    expect(page.html).not.toContain('/edit"')
    expect(page.html).not.toContain('/delete"')
    expect(page.html).toContain('aria-label="View SSO users"')
    const list = await consoleGet(viewer, pagesOf(customer.id))
    expect(list.html).not.toContain('Add a phone system')
    const eye = await consoleGet(viewer, pageOf(customer.id, ps.id, '/users'))
    expect(eye.html).toContain('Add users to the Microsoft 365 integration, then Sync.')
    expect(hasButton(eye.html, 'Sync')).toBe(false)

    const before = await syncState(ps.id)
    for (const [path, fields] of [
      ['/sync', {}],
      ['/connect', {}],
      ['/edit', { name: 'Viewer was here' }],
      ['/delete', {}],
    ] as const) {
      const post = await consolePost(viewer, pageOf(customer.id, ps.id, path), fields)
      expect(post.res.status, path).toBe(403)
    }
    const add = await consolePost(viewer, pagesOf(customer.id), formFor(newTenantId(), 'Viewer made this'))
    expect(add.res.status).toBe(403)
    expect(await syncState(ps.id)).toEqual(before)
    expect(await dbAll('SELECT id FROM connect_links WHERE phone_system_id = ?', ps.id)).toEqual([])
    expect(await dbAll("SELECT id FROM phone_systems WHERE name = 'Viewer made this'")).toEqual([])
  })

  it("another partner's phone system, or one of another organization, is 404 on every page and post", async () => {
    const mine = await trustedSetup()
    const theirs = await trustedSetup()
    await consent(theirs.tid)
    await directory(theirs.tid, { direct: [dirUser(1)] })
    const own = await createPhoneSystem(mine.partner.id)
    const before = await syncState(theirs.ps.id)
    const probes = [
      // Another partner's, through my organization's URL.
      [mine.customer.id, theirs.ps.id],
      // Another partner's, through its own organization's URL.
      [theirs.customer.id, theirs.ps.id],
      // Mine, but of another organization than the URL's.
      [mine.customer.id, own.id],
    ] as const
    for (const [orgId, psId] of probes) {
      for (const page of ['', '/users', '/delete']) {
        expect((await consoleGet(mine.admin, pageOf(orgId, psId, page))).res.status, `${orgId} ${page}`).toBe(404)
      }
      for (const page of ['/sync', '/connect', '/edit', '/delete']) {
        const post = await consolePost(mine.admin, pageOf(orgId, psId, page), { name: 'Taken over' })
        expect(post.res.status, `${orgId} POST ${page}`).toBe(404)
      }
    }
    expect(await syncState(theirs.ps.id)).toEqual(before)
    expect(await dbAll('SELECT id FROM connect_links WHERE phone_system_id IN (?, ?)', theirs.ps.id, own.id)).toEqual(
      [],
    )
    expect((await apiJson('GET', `/phone-systems/${own.id}`)).name).not.toBe('Taken over')
  })
})
