/**
 * Review 6: a hostile look at the admin console (`src/console/`), as a
 * partner admin, a viewer, a customer's staff, an anonymous visitor and a
 * cross-site attacker.
 *
 * The first block holds the weaknesses the review proved (each asserts the
 * secure behaviour, and failed on the code as reviewed): a customer's staff
 * naming a sibling's tenant, a removed admin's API key, a staff record
 * planted for the ops admin. `refused (pinned)` holds the attacks that were
 * tried and refused from the start: they pin the rules.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { sha256 } from '../../src/lib/crypto'
import {
  consoleGet,
  consolePost,
  newStaff,
  ORIGIN,
  opsAdmin,
  SESSION_COOKIE,
  signInToConsole,
} from '../console/helpers'
import {
  addEntraUser,
  api,
  apiJson,
  auditSettled,
  consent,
  cookieFrom,
  createCustomer,
  createPartner,
  createPhoneSystem,
  dbAll,
  directory,
  dirUser,
  entraControl,
  FLOW_COOKIE,
  newTenantId,
  PRIMARY,
  pickAccount,
  seedSignInTenant,
  signIn,
} from '../fixtures'

const psPages = (orgId: string) => `/admin/orgs/${orgId}/phone-systems`

function psForm(tid: string, name = `PBX ${crypto.randomUUID().slice(0, 8)}`) {
  return {
    name,
    webClientUrl: 'https://pbx.attacker.example/webclient',
    handoffUrl: 'https://pbx.attacker.example/sso/handoff',
    entraTenantId: tid,
  }
}

async function psRow(id: string) {
  const [row] = await dbAll<{ tenant_status: string; org_id: string }>(
    'SELECT tenant_status, org_id FROM phone_systems WHERE id = ?',
    id,
  )
  const [{ n }] = (await dbAll<{ n: number }>('SELECT count(*) AS n FROM sso_users WHERE phone_system_id = ?', id)) as [
    { n: number },
  ]
  return { ...row!, users: n }
}

// =====================================================================================================
describe("fixed: the review's proofs of concept", () => {
  /**
   * Tenant claims are kept per PARTNER subtree, and a phone system named by
   * anyone in the subtree inherits the claim's status. Customer staff are a
   * new, narrower principal ("that customer only"), but naming a tenant runs
   * the partner-subtree rule for them too: the admin of customer B names the
   * Microsoft 365 tenant of sibling customer A (which ops vouched for, or
   * whose administrator connected it for A), gets a phone system that is
   * `trusted`/`verified` at once, presses Sync and reads A's directory
   * (UPNs, mail, names, object ids) into its own SSO list, shown on its
   * SSO users page.
   */
  it("a customer's admin names a sibling customer's trusted tenant and Syncs the sibling's directory", async () => {
    const partner = await createPartner('Reseller')
    const victim = await createCustomer(partner.id, { name: 'Victim Co' })
    const attacker = await createCustomer(partner.id, { name: 'Attacker Co' })
    const victimTid = newTenantId()
    // The provider vouched for the victim's tenant, for the victim's phone system.
    const victimPs = await createPhoneSystem(victim.id, victimTid, 'Victim PBX')
    expect(victimPs.tenantStatus).toBe('trusted')
    const secretUsers = [dirUser(1), dirUser(2), dirUser(3)]
    await consent(victimTid)
    await directory(victimTid, { direct: secretUsers })

    const mallory = await signInToConsole(await newStaff(attacker.id, 'admin'))
    // Fixed: a customer's staff name no tenant (the claim counts for the whole partner subtree).
    const page = await consoleGet(mallory, psPages(attacker.id))
    expect(page.html).not.toContain('name="entraTenantId"')
    const created = await consolePost(mallory, psPages(attacker.id), psForm(victimTid))
    expect(created.res.status).toBe(403)
    expect(await dbAll('SELECT id FROM phone_systems WHERE org_id = ?', attacker.id)).toHaveLength(0)
    // Nor through one the partner made for them: its tenant cannot be changed to the sibling's.
    const own = await createPhoneSystem(attacker.id, newTenantId(), 'Attacker PBX')
    const edit = await consolePost(mallory, `${psPages(attacker.id)}/${own.id}/edit`, {
      ...psForm(victimTid, 'Attacker PBX'),
      syncSource: 'app_assignments',
    })
    // The field is not offered to them, and a posted one is not read: the rest of the edit stands.
    expect(edit.res.status).toBe(303)
    const row = await psRow(own.id)
    expect(row.users).toBe(0)
    expect(
      await dbAll<{ entra_tenant_id: string }>('SELECT entra_tenant_id FROM phone_systems WHERE id = ?', own.id),
    ).not.toEqual([{ entra_tenant_id: victimTid }])
    for (const u of secretUsers) expect(edit.html).not.toContain(u.userPrincipalName.toLowerCase())
  })

  it("a customer's admin cannot pre-name a sibling's tenant through the API's rule either (the domain refuses)", async () => {
    const partner = await createPartner('Reseller')
    const attacker = await createCustomer(partner.id, { name: 'Attacker Co' })
    const mallory = await signInToConsole(await newStaff(attacker.id, 'admin'))
    const victimTid = newTenantId()
    const res = await consolePost(mallory, psPages(attacker.id), psForm(victimTid))
    expect(res.res.status).toBe(403)
    expect(res.html).toContain('Not allowed')
    expect(await dbAll('SELECT id FROM phone_systems WHERE entra_tenant_id = ?', victimTid)).toHaveLength(0)
  })

  /**
   * A partner admin mints an API key in the console, then is removed from
   * the partner's staff. The staff page promises "Removed: their access
   * ended" and "a removed person's access ends at once", but the key they
   * took with them still acts as the partner: the removed admin reads
   * everything and puts themselves back as admin (persistence after
   * off-boarding). Nothing on the removal page mentions their keys.
   */
  it("a removed partner admin keeps the partner's access through the API key they minted, and re-adds themselves", async () => {
    const partner = await createPartner('Reseller')
    const leaver = await newStaff(partner.id, 'admin')
    const leaverSession = await signInToConsole(leaver)
    const minted = await consolePost(leaverSession, `/admin/orgs/${partner.id}/api-keys`, { label: 'my laptop' })
    const key = /data-copy="(sgk_[A-Za-z0-9_-]+)"/.exec(minted.html)?.[1]
    expect(key, minted.html).toBeTruthy()

    const boss = await signInToConsole(await newStaff(partner.id, 'admin'))
    const [record] = await dbAll<{ id: string }>(
      'SELECT id FROM staff WHERE org_id = ? AND oid = ?',
      partner.id,
      leaver.oid,
    )
    const removal = await consolePost(boss, `/admin/orgs/${partner.id}/staff/${record!.id}/remove`)
    expect(removal.res.status).toBe(303)
    expect((await consoleGet(leaverSession, `/admin/orgs/${partner.id}`)).res.status).toBe(403)

    // Secure: the leaver's key is dead with their record (or the removal revoked it).
    const readBack = await api('GET', `/orgs/${partner.id}/admins`, undefined, { key: key! })
    const reAdd = await api(
      'POST',
      `/orgs/${partner.id}/admins`,
      { tid: leaver.tid, oid: leaver.oid, role: 'admin' },
      { key: key! },
    )
    expect(readBack.status).toBe(401)
    expect(reAdd.status).toBe(401)
    expect(await dbAll('SELECT id FROM staff WHERE org_id = ? AND oid = ?', partner.id, leaver.oid)).toEqual([])
  })

  /**
   * A partner admin adds a UPN record for the provider's ops admin (their
   * tid and UPN are in the partner's own audit log: `ops:<upn>` on every
   * change ops made there). At the ops admin's next sign-in the record is
   * pinned, and on that partner and its customers the ops admin now acts
   * through it (`membershipFor` ranks ops last): as *partner staff*, not as
   * ops. Their changes are recorded as `staff:`, and they cannot even remove
   * the planted record: the self-lockout rule, meant for partner staff,
   * refuses it as "your own last way in" (409), though ops reach everything
   * by configuration.
   */
  it('a partner plants an admin record for the ops admin, who then acts there as partner staff and cannot remove it', async () => {
    const partner = await createPartner('Reseller')
    const mallory = await signInToConsole(await newStaff(partner.id, 'admin'))
    const ops = await opsAdmin()
    const planted = await consolePost(mallory, `/admin/orgs/${partner.id}/staff`, {
      upn: ops.upn,
      tid: ops.tid,
      role: 'admin',
    })
    expect(planted.res.status).toBe(303)
    const [record] = await dbAll<{ id: string }>(
      'SELECT id FROM staff WHERE org_id = ? AND upn = ?',
      partner.id,
      ops.upn,
    )

    const opsSession = await signInToConsole(ops)
    const name = `Ops made ${crypto.randomUUID().slice(0, 8)}`
    const made = await consolePost(opsSession, `/admin/orgs/${partner.id}/customers`, { name })
    expect(made.res.status).toBe(303)
    const removal = await consolePost(opsSession, `/admin/orgs/${partner.id}/staff/${record!.id}/remove`)

    // Secure: an ops admin acts as ops everywhere, and removes any record.
    const [created] = await dbAll<{ actor: string }>(
      "SELECT a.actor FROM audit_log a JOIN organizations o ON o.id = a.target_id WHERE o.name = ? AND a.action = 'organization.create'",
      name,
    )
    expect(created!.actor).toBe(`ops:${ops.upn}`)
    expect(removal.res.status, removal.html).toBe(303)
    expect(await dbAll('SELECT id FROM staff WHERE id = ?', record!.id)).toEqual([])
  })
})

// =====================================================================================================
describe('refused (pinned)', () => {
  /** Two partners, each with a customer, an admin, a viewer, a phone system, a hostname and a key. */
  async function twoPartners() {
    const mine = await createPartner('Mine')
    const myCustomer = await createCustomer(mine.id, { name: 'My customer' })
    const theirs = await createPartner('Theirs')
    const theirCustomer = await createCustomer(theirs.id, { name: 'Their customer' })
    const theirPs = await createPhoneSystem(theirCustomer.id, newTenantId(), 'Their PBX')
    const theirHost = `${crypto.randomUUID().slice(0, 8)}.localhost`
    await apiJson('POST', `/orgs/${theirCustomer.id}/hostnames`, { hostname: theirHost }, 201)
    const theirKey = await apiJson('POST', `/orgs/${theirs.id}/api-keys`, { label: 'theirs' }, 201)
    const theirAdmin = await newStaff(theirs.id, 'admin')
    const [theirRecord] = await dbAll<{ id: string }>('SELECT id FROM staff WHERE org_id = ?', theirs.id)
    const admin = await signInToConsole(await newStaff(mine.id, 'admin'))
    return {
      mine,
      myCustomer,
      theirs,
      theirCustomer,
      theirPs,
      theirHost,
      theirKey,
      theirAdmin,
      theirRecord: theirRecord!,
      admin,
    }
  }

  it("a partner admin reaches none of another partner's organizations, records or logs, by path, id, field or filter", async () => {
    const t = await twoPartners()
    const { admin, mine, myCustomer, theirs, theirCustomer } = t
    const o = (orgId: string, page = '') => `/admin/orgs/${orgId}${page}`
    // Their organizations and every page under them: the same 404 as a missing one.
    for (const page of ['', '/hostnames', '/phone-systems', '/api-keys', '/staff', '/sign-ins', '/audit']) {
      expect((await consoleGet(admin, o(theirs.id, page))).res.status, page).toBe(404)
      expect((await consoleGet(admin, o(theirCustomer.id, page))).res.status, page).toBe(404)
    }
    const posts: Array<[string, Record<string, string>]> = [
      [o(theirs.id, '/staff'), { upn: admin.user.upn, tid: admin.user.tid, role: 'admin' }],
      [o(theirs.id, '/api-keys'), { label: 'mine now' }],
      [o(theirs.id, '/customers'), { name: 'Planted' }],
      [o(theirCustomer.id, '/edit'), { name: 'Renamed' }],
      [o(theirCustomer.id, '/phone-systems'), psForm(newTenantId())],
      // Their entities under my own organizations' paths.
      [o(mine.id, `/staff/${t.theirRecord.id}/role`), { role: 'viewer' }],
      [o(mine.id, `/staff/${t.theirRecord.id}/remove`), {}],
      [o(mine.id, `/api-keys/${t.theirKey.id}/revoke`), {}],
      [o(myCustomer.id, `/phone-systems/${t.theirPs.id}/sync`), {}],
      [o(myCustomer.id, `/phone-systems/${t.theirPs.id}/connect`), {}],
      [o(myCustomer.id, `/phone-systems/${t.theirPs.id}/edit`), { name: 'Mine now' }],
      [o(myCustomer.id, `/phone-systems/${t.theirPs.id}/delete`), {}],
      [o(myCustomer.id, `/hostnames/${t.theirHost}/detach`), {}],
      [o(myCustomer.id, `/hostnames/${t.theirHost}/callback-mode`), { callbackMode: 'direct' }],
      // Only ops create partners and release tenants.
      ['/admin/partners', { name: 'My second partner' }],
      [`/admin/ops/tenants/${t.theirPs.entraTenantId}/release`, {}],
    ]
    for (const [path, fields] of posts) {
      const { res } = await consolePost(admin, path, fields)
      expect([403, 404], path).toContain(res.status)
    }
    // Fields the form does not offer are not read: a key and a staff record for my own partner only.
    const key = await consolePost(admin, o(mine.id, '/api-keys'), {
      label: 'x',
      orgId: theirs.id,
      organizationId: theirs.id,
    })
    expect(key.res.status).toBe(200)
    const staff = await consolePost(admin, o(mine.id, '/staff'), {
      upn: `x.${crypto.randomUUID().slice(0, 6)}@contoso.example`,
      tid: newTenantId(),
      role: 'viewer',
      orgId: theirs.id,
    })
    expect(staff.res.status).toBe(303)
    // Filters naming their organizations: 404 or ignored, never their rows.
    expect((await consoleGet(admin, o(mine.id, `/audit?orgId=${theirCustomer.id}`))).res.status).toBe(404)
    for (const query of [`?within=${theirs.id}`, `?within=${theirCustomer.id}&cursor=99999999`]) {
      const page = await consoleGet(admin, o(mine.id, `/audit${query}`))
      expect(page.html).not.toContain(theirs.id)
      expect(page.html).not.toContain(theirCustomer.id)
    }
    const signIns = await consoleGet(admin, o(mine.id, `/sign-ins?orgId=${theirs.id}&hostname=${t.theirHost}`))
    expect(signIns.html).not.toContain(theirCustomer.id)

    // D1: nothing of theirs changed, nothing of mine landed there.
    expect(await dbAll('SELECT id FROM staff WHERE org_id = ?', theirs.id)).toEqual([{ id: t.theirRecord.id }])
    expect(await dbAll('SELECT org_id FROM api_keys WHERE org_id = ?', theirs.id)).toHaveLength(1)
    expect(await dbAll('SELECT revoked_at FROM api_keys WHERE id = ?', t.theirKey.id)).toEqual([{ revoked_at: null }])
    expect(await dbAll('SELECT name FROM phone_systems WHERE id = ?', t.theirPs.id)).toEqual([{ name: 'Their PBX' }])
    expect(await dbAll('SELECT hostname FROM hostnames WHERE hostname = ?', t.theirHost)).toHaveLength(1)
    expect(
      await dbAll("SELECT id FROM organizations WHERE name IN ('Planted', 'Renamed', 'My second partner')"),
    ).toEqual([])
    expect(await dbAll('SELECT count(*) AS n FROM tenant_claims WHERE tid = ?', t.theirPs.entraTenantId)).toEqual([
      { n: 1 },
    ])
  })

  it("a partner admin does not mix their customer's page with the partner's own records", async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const partnerPs = await createPhoneSystem(partner.id, newTenantId(), 'Partner PBX')
    const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
    const [record] = await dbAll<{ id: string }>('SELECT id FROM staff WHERE org_id = ?', partner.id)
    const c = `/admin/orgs/${customer.id}`
    expect((await consolePost(admin, `${c}/phone-systems/${partnerPs.id}/delete`)).res.status).toBe(404)
    expect((await consolePost(admin, `${c}/staff/${record!.id}/role`, { role: 'viewer' })).res.status).toBe(404)
    expect((await consoleGet(admin, `${c}/api-keys`)).res.status).toBe(404)
    expect((await consolePost(admin, `${c}/api-keys`, { label: 'for a customer' })).res.status).toBe(404)
    expect(await dbAll('SELECT role FROM staff WHERE id = ?', record!.id)).toEqual([{ role: 'admin' }])
    expect(await dbAll('SELECT id FROM phone_systems WHERE id = ?', partnerPs.id)).toHaveLength(1)
  })

  it('a viewer changes nothing through any POST route, not even their own role; sign-out is theirs', async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const ps = await createPhoneSystem(customer.id, newTenantId())
    const key = await apiJson('POST', `/orgs/${partner.id}/api-keys`, {}, 201)
    const viewerUser = await newStaff(partner.id, 'viewer')
    const viewer = await signInToConsole(viewerUser)
    const [own] = await dbAll<{ id: string }>('SELECT id FROM staff WHERE org_id = ?', partner.id)
    const before = await dbAll('SELECT count(*) AS n FROM audit_log')
    const p = `/admin/orgs/${partner.id}`
    const c = `/admin/orgs/${customer.id}`
    const posts: Array<[string, Record<string, string>]> = [
      [`${p}/staff/${own!.id}/role`, { role: 'admin' }],
      [`${p}/staff`, { upn: viewerUser.upn, tid: viewerUser.tid, role: 'admin' }],
      [`${c}/staff`, { upn: viewerUser.upn, tid: viewerUser.tid, role: 'admin' }],
      [`${p}/api-keys`, {}],
      [`${p}/api-keys/${key.id}/revoke`, {}],
      [`${p}/customers`, { name: 'Viewer made' }],
      [`${c}/edit`, { name: 'Viewer renamed' }],
      [`${c}/move`, {}],
      [`${c}/phone-systems`, psForm(newTenantId())],
      [`${c}/phone-systems/${ps.id}/connect`, {}],
      [`${c}/phone-systems/${ps.id}/sync`, {}],
      [`${c}/phone-systems/${ps.id}/delete`, {}],
      [`${c}/hostnames`, { hostname: `${crypto.randomUUID().slice(0, 8)}.localhost` }],
      ['/admin/partners', { name: 'Viewer partner' }],
      [`/admin/ops/tenants/${ps.entraTenantId}/release`, {}],
    ]
    for (const [path, fields] of posts) {
      const { res, html } = await consolePost(viewer, path, fields)
      expect([403, 404], path).toContain(res.status)
      expect(html).not.toContain('sgk_')
      expect(html).not.toContain('/connect/')
    }
    expect(await dbAll('SELECT role FROM staff WHERE id = ?', own!.id)).toEqual([{ role: 'viewer' }])
    expect(await dbAll('SELECT count(*) AS n FROM audit_log')).toEqual(before)
    expect(await dbAll('SELECT count(*) AS n FROM connect_links WHERE phone_system_id = ?', ps.id)).toEqual([{ n: 0 }])
    const out = await consolePost(viewer, '/admin/logout')
    expect(out.res.status).toBe(303)
  })

  it("a customer's admin reaches neither its partner nor a sibling, and makes no key, organization or move", async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id, { structure: 'flat' })
    const sibling = await createCustomer(partner.id)
    const partnerAdmin = await newStaff(partner.id, 'admin')
    const [partnerRecord] = await dbAll<{ id: string }>('SELECT id FROM staff WHERE org_id = ?', partner.id)
    const admin = await signInToConsole(await newStaff(customer.id, 'admin'))
    for (const org of [partner.id, sibling.id]) {
      expect((await consoleGet(admin, `/admin/orgs/${org}`)).res.status).toBe(404)
      expect((await consoleGet(admin, `/admin/orgs/${org}/audit`)).res.status).toBe(404)
      expect((await consoleGet(admin, `/admin/orgs/${org}/sign-ins`)).res.status).toBe(404)
      const add = await consolePost(admin, `/admin/orgs/${org}/staff`, {
        upn: admin.user.upn,
        tid: admin.user.tid,
        role: 'admin',
      })
      expect(add.res.status).toBe(404)
    }
    const c = `/admin/orgs/${customer.id}`
    expect((await consolePost(admin, `${c}/staff/${partnerRecord!.id}/remove`)).res.status).toBe(404)
    expect((await consolePost(admin, `${c}/move`, { keepPartnerHostsDays: '0' })).res.status).toBe(403)
    expect((await consolePost(admin, `${c}/customers`, { name: 'Sub-customer' })).res.status).toBe(403)
    expect((await consolePost(admin, `${c}/api-keys`, { label: 'k' })).res.status).toBe(404)
    // The audit log of a customer takes no organization filter: the partner's rows never show.
    const audit = await consoleGet(admin, `${c}/audit?orgId=${partner.id}&within=${partner.id}`)
    expect(audit.res.status).toBe(200)
    expect(audit.html).not.toContain(partnerAdmin.upn)
    expect(await dbAll('SELECT structure FROM organizations WHERE id = ?', customer.id)).toEqual([
      { structure: 'flat' },
    ])
    expect(await dbAll('SELECT id FROM staff WHERE org_id IN (?, ?)', partner.id, sibling.id)).toEqual([
      { id: partnerRecord!.id },
    ])
  })

  it("CSRF: no token, another session's token, cross-site or same-site fetch metadata, JSON, multipart and text bodies are refused", async () => {
    const partner = await createPartner()
    const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
    const other = await signInToConsole(await newStaff(partner.id, 'admin'))
    const path = `/admin/orgs/${partner.id}/customers`
    const name = `CSRF ${crypto.randomUUID()}`
    const post = (headers: Record<string, string>, body: BodyInit) =>
      SELF.fetch(`${ORIGIN}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: `${SESSION_COOKIE}=${admin.cookie}`, ...headers },
        body,
      })
    const form = (csrf: string) => new URLSearchParams({ name, _csrf: csrf }).toString()
    const formType = { 'content-type': 'application/x-www-form-urlencoded' }
    const attempts: Array<[string, Response]> = [
      ['no token', (await consolePost(admin, path, { name }, { csrf: null })).res],
      ["another session's token", (await consolePost(admin, path, { name }, { csrf: other.csrf })).res],
      ['no Origin, no fetch metadata', await post(formType, form(admin.csrf))],
      ['cross-site, right token', await post({ ...formType, 'sec-fetch-site': 'cross-site' }, form(admin.csrf))],
      [
        'same-site tenant host, right token',
        await post({ ...formType, 'sec-fetch-site': 'same-site', origin: 'https://acme.localhost' }, form(admin.csrf)),
      ],
      ['Origin null', await post({ ...formType, origin: 'null' }, form(admin.csrf))],
      [
        'JSON',
        await post(
          { 'content-type': 'application/json', origin: ORIGIN, 'sec-fetch-site': 'same-origin' },
          JSON.stringify({ name, _csrf: admin.csrf }),
        ),
      ],
      [
        'multipart',
        await (async () => {
          const fd = new FormData()
          fd.set('name', name)
          fd.set('_csrf', admin.csrf)
          return SELF.fetch(`${ORIGIN}${path}`, {
            method: 'POST',
            redirect: 'manual',
            headers: { cookie: `${SESSION_COOKIE}=${admin.cookie}`, origin: ORIGIN },
            body: fd,
          })
        })(),
      ],
      ['text/plain', await post({ 'content-type': 'text/plain', origin: ORIGIN }, form(admin.csrf))],
    ]
    for (const [what, res] of attempts) expect(res.status, what).toBe(403)
    expect(await dbAll('SELECT id FROM organizations WHERE name = ?', name)).toEqual([])
    // Sign-out is a form too: a cross-site one does not end the session.
    expect((await consolePost(admin, '/admin/logout', {}, { origin: 'https://evil.example' })).res.status).toBe(403)
    expect((await consolePost(admin, '/admin/logout', {}, { csrf: null })).res.status).toBe(403)
    expect((await consoleGet(admin, `/admin/orgs/${partner.id}`)).res.status).toBe(200)
    // No GET changes anything: sign-out and changes are POST only.
    expect((await consoleGet(admin, '/admin/logout')).res.status).toBe(404)
    expect((await consoleGet(admin, `/admin/orgs/${partner.id}`)).res.status).toBe(200)
  })

  it('reflects nothing as markup: names, UPNs, search boxes, filters and done= notices are escaped or ignored', async () => {
    const evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    const partner = await createPartner()
    const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
    const customer = await consolePost(admin, `/admin/orgs/${partner.id}/customers`, { name: `Acme ${evil}` })
    expect(customer.res.status).toBe(303)
    const staff = await consolePost(admin, `/admin/orgs/${partner.id}/staff`, {
      upn: '<img/src=x/onerror=alert(3)>@evil.example',
      tid: newTenantId(),
      role: 'viewer',
    })
    expect(staff.res.status).toBe(303)
    const q = encodeURIComponent(evil)
    const pages = [
      `/admin/orgs/${partner.id}?q=${q}`,
      `/admin/orgs/${partner.id}?done=${q}`,
      `/admin?q=${q}`,
      `/admin/orgs/${partner.id}/staff?done=${q}`,
      `/admin/orgs/${partner.id}/audit?action=${q}&actor=${q}`,
      `/admin/orgs/${partner.id}/sign-ins?q=${q}&hostname=${q}`,
      `/admin/orgs/${partner.id}`,
    ]
    for (const path of pages) {
      const { html } = await consoleGet(admin, path)
      expect(html, path).not.toContain('<img src=x')
      expect(html, path).not.toContain('<img/src=x')
      expect(html, path).not.toContain('<script>alert')
      expect(html, path).not.toContain('onerror=alert(1)>')
    }
    // A stranger signs in on a customer's host with markup as their account: the sign-in log shows it as text.
    const tenant = await seedSignInTenant({ listed: false })
    const marked = `<img src=x onerror=alert(4)>.${crypto.randomUUID().slice(0, 6)}@evil.example`
    const stranger = { oid: crypto.randomUUID(), tid: tenant.tenantId, upn: marked, email: marked, name: evil }
    await entraControl('users', stranger)
    await signIn(tenant.hostname, stranger)
    await auditSettled()
    const ops = await signInToConsole(await opsAdmin())
    const log = await consoleGet(ops, `/admin/orgs/${tenant.orgId}/sign-ins`)
    expect(log.html).toContain('&lt;img src=x onerror=alert(4)&gt;')
    expect(log.html).not.toContain('<img src=x')
    const staffPage = await consoleGet(admin, `/admin/orgs/${partner.id}/staff`)
    expect(staffPage.html).toContain('&lt;img/src=x/onerror=alert(3)&gt;@evil.example')
    // The audit log shows the names as text too.
    const audit = await consoleGet(admin, `/admin/orgs/${partner.id}/audit`)
    expect(audit.html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;')
  })

  it('the one-time key and connect link never travel in a URL, and pages are no-store, unframable, under a strict CSP', async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const ps = await createPhoneSystem(customer.id, newTenantId())
    const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
    const key = await consolePost(admin, `/admin/orgs/${partner.id}/api-keys`, { label: 'k' })
    const link = await consolePost(admin, `/admin/orgs/${customer.id}/phone-systems/${ps.id}/connect`)
    for (const { res, html } of [key, link]) {
      expect(res.status).toBe(200)
      expect(res.headers.get('location')).toBeNull()
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
      const csp = res.headers.get('content-security-policy')!
      expect(csp).toContain("frame-ancestors 'none'")
      expect(csp).toContain("default-src 'none'")
      expect(csp).not.toContain('unsafe-inline')
      expect(html).toMatch(/data-copy="(sgk_|https:\/\/login\.localhost\/connect\/)/)
    }
    const plain = await dbAll<{ secret_hash: string; prefix: string }>(
      'SELECT secret_hash, prefix FROM api_keys WHERE org_id = ?',
      partner.id,
    )
    const shown = /data-copy="(sgk_[^"]+)"/.exec(key.html)![1]!
    expect(plain).toEqual([{ secret_hash: await sha256(shown), prefix: shown.slice(0, 12) }])
    // The audit log shows the key's creation without the key.
    const audit = await consoleGet(admin, `/admin/orgs/${partner.id}/audit`)
    expect(audit.html).not.toContain(shown)
    // Error pages are as strict.
    const missing = await consoleGet(admin, '/admin/orgs/org_nope')
    expect(missing.res.status).toBe(404)
    expect(missing.res.headers.get('x-frame-options')).toBe('DENY')
    expect(missing.res.headers.get('cache-control')).toBe('no-store')
  })

  it('anonymous: every console page sends to the sign-in page, every POST is refused, /admin/login takes no target', async () => {
    const partner = await createPartner()
    for (const path of [`/admin/orgs/${partner.id}`, '/admin/ops', `/admin/orgs/${partner.id}/api-keys`]) {
      const { res } = await consoleGet(null, path)
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe('/admin')
    }
    for (const path of ['/admin/partners', `/admin/orgs/${partner.id}/customers`, '/admin/logout']) {
      const { res } = await consolePost(null, path, { name: 'x', _csrf: 'guess' })
      expect(res.status).toBe(401)
    }
    const login = await SELF.fetch(
      `${ORIGIN}/admin/login?next=https://evil.example/&redirect_uri=https://evil.example/`,
      {
        redirect: 'manual',
      },
    )
    expect(login.status).toBe(302)
    const target = new URL(login.headers.get('location')!)
    expect(target.origin).toBe(new URL(env.ENTRA_AUTHORITY!).origin)
    expect(target.searchParams.get('redirect_uri')).toBe(`https://${PRIMARY}/sso/callback`)
    expect(login.headers.get('cache-control')).toBe('no-store')
    expect(await dbAll('SELECT id FROM organizations WHERE name = ?', 'x')).toEqual([])
  })

  it('sign-in: a console state is refused on a tenant host, a stranger sharing a staff UPN in another tenant is nobody, the ops tenant is no ops', async () => {
    const partner = await createPartner()
    const { hostname } = await seedSignInTenant({ callbackMode: 'direct' })
    const staffUser = await newStaff(partner.id, 'admin')

    // A console state on a tenant host's callback: refused, no session there or anywhere.
    const start = await SELF.fetch(`${ORIGIN}/admin/login`, { redirect: 'manual' })
    const flowCookie = cookieFrom(start)!
    const callback = await pickAccount(new URL(start.headers.get('location')!), staffUser)
    const moved = new URL(callback)
    moved.hostname = hostname
    const elsewhere = await SELF.fetch(moved, {
      redirect: 'manual',
      headers: { cookie: `${FLOW_COOKIE}=${flowCookie}` },
    })
    expect(elsewhere.status).toBe(400)
    expect(cookieFrom(elsewhere, SESSION_COOKIE)).toBeNull()

    // Someone in another tenant with the same UPN as an unpinned record: staff of nothing, and the record stays unpinned.
    const pending = `pending.${crypto.randomUUID().slice(0, 8)}@contoso.example`
    const realTid = newTenantId()
    await apiJson('POST', `/orgs/${partner.id}/admins`, { tid: realTid, upn: pending, role: 'admin' }, 201)
    const imposter = { oid: crypto.randomUUID(), tid: newTenantId(), upn: pending, email: pending, name: 'Imposter' }
    await entraControl('users', imposter)
    const start2 = await SELF.fetch(`${ORIGIN}/admin/login`, { redirect: 'manual' })
    const cb2 = await pickAccount(new URL(start2.headers.get('location')!), imposter)
    const res2 = await SELF.fetch(cb2, {
      redirect: 'manual',
      headers: { cookie: `${FLOW_COOKIE}=${cookieFrom(start2)}` },
    })
    expect(res2.status).toBe(403)
    expect(cookieFrom(res2, SESSION_COOKIE)).toBeNull()
    expect(await dbAll('SELECT oid FROM staff WHERE org_id = ? AND upn = ?', partner.id, pending)).toEqual([
      { oid: null },
    ])

    // A partner's record for someone in the ops admins' own tenant makes them partner staff, never ops.
    const colleague = await addEntraUser((await opsAdmin()).tid, 'Ops colleague')
    await apiJson('POST', `/orgs/${partner.id}/admins`, { tid: colleague.tid, upn: colleague.upn, role: 'admin' }, 201)
    const session = await signInToConsole(colleague)
    expect((await consoleGet(session, '/admin/ops')).res.status).toBe(404)
    expect((await consolePost(session, '/admin/partners', { name: 'Colleague partner' })).res.status).toBe(403)
  })

  it('a not_staff page shows the account as text; a signed-out session and its CSRF token are worth nothing', async () => {
    const markup = `<svg onload=alert(1)>.${crypto.randomUUID().slice(0, 6)}@evil.example`
    const stranger = { oid: crypto.randomUUID(), tid: newTenantId(), upn: markup, email: markup, name: '<b>x</b>' }
    await entraControl('users', stranger)
    const start = await SELF.fetch(`${ORIGIN}/admin/login`, { redirect: 'manual' })
    const cb = await pickAccount(new URL(start.headers.get('location')!), stranger)
    const res = await SELF.fetch(cb, { redirect: 'manual', headers: { cookie: `${FLOW_COOKIE}=${cookieFrom(start)}` } })
    const html = await res.text()
    expect(res.status).toBe(403)
    expect(html).not.toContain('<svg onload')
    expect(res.headers.get('x-frame-options')).toBe('DENY')

    const partner = await createPartner()
    const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
    await consolePost(admin, '/admin/logout')
    // The old cookie and its CSRF token are worth nothing after sign-out.
    const replay = await consolePost(admin, `/admin/orgs/${partner.id}/customers`, { name: 'After logout' })
    expect(replay.res.status).toBe(401)
    const [{ n }] = (await dbAll<{ n: number }>(
      'SELECT count(*) AS n FROM console_sessions WHERE id = ? AND revoked_at IS NOT NULL',
      await sha256(admin.cookie),
    )) as [{ n: number }]
    expect(n).toBe(1)
    expect(await dbAll("SELECT id FROM organizations WHERE name = 'After logout'")).toEqual([])
  })
})
