import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import type { Principal } from '../../src/access/principal'
import { removeStaff, updateStaffRole } from '../../src/staff/service'
import {
  addEntraUser,
  api,
  apiJson,
  createCustomer,
  createPartner,
  dbAll,
  newTenantId,
  slowD1,
  type TestUser,
} from '../fixtures'
import { consoleGet, consolePost, newStaff, opsAdmin, type StaffSession, signInToConsole } from './helpers'

interface StaffDbRow {
  id: string
  org_id: string
  tid: string
  oid: string | null
  upn: string | null
  role: string
  created_by: string
}

const staffOf = (orgId: string) =>
  dbAll<StaffDbRow>(
    'SELECT id, org_id, tid, oid, upn, role, created_by FROM staff WHERE org_id = ? ORDER BY upn, id',
    orgId,
  )

async function recordOf(orgId: string, user: TestUser): Promise<StaffDbRow> {
  const [row] = await dbAll<StaffDbRow>('SELECT * FROM staff WHERE org_id = ? AND upn = ?', orgId, user.upn)
  expect(row, `${user.upn} is staff of ${orgId}`).toBeTruthy()
  return row!
}

/** The admin API's view of an organization's staff, as `{upn: role}`. */
async function apiStaff(orgId: string): Promise<Record<string, string>> {
  const { admins } = await apiJson('GET', `/orgs/${orgId}/admins`)
  return Object.fromEntries(admins.map((a: { upn: string; role: string }) => [a.upn, a.role]))
}

/** A person's console principal on a partner, as the console builds it. */
function staffPrincipal(partnerId: string, user: TestUser): Principal {
  return {
    kind: 'partner',
    actor: `staff:${user.upn}`,
    orgId: partnerId,
    person: { tid: user.tid, oid: user.oid, upn: user.upn },
  }
}

/** What a change ended with: 'done', or its error code. */
const outcome = (change: Promise<unknown>) =>
  change.then(
    () => 'done',
    (error: { code?: string }) => error.code ?? String(error),
  )

async function staffPage(session: StaffSession, orgId: string) {
  const page = await consoleGet(session, `/admin/orgs/${orgId}/staff`)
  expect(page.res.status, page.html).toBe(200)
  return page.html
}

describe('console: staff', () => {
  it('a partner admin adds a viewer by UPN; the viewer signs in (pinned), sees the customers and changes nothing', async () => {
    const partner = await createPartner(`Staffing ${crypto.randomUUID().slice(0, 6)}`)
    const customer = await createCustomer(partner.id, { name: `Customer ${crypto.randomUUID().slice(0, 6)}` })
    const admin = await newStaff(partner.id, 'admin')
    const session = await signInToConsole(admin)

    const page = await staffPage(session, partner.id)
    expect(page).toContain('Add staff')
    // The tenant field starts with the admin's own tenant.
    expect(page).toMatch(new RegExp(`id="f-tid" name="tid" value="${admin.tid}"`))
    expect(page).toContain('<caption>Staff of')
    expect(page).toContain('<th scope="col">Tenant id</th>')

    const viewer = await addEntraUser(newTenantId(), 'Vera Viewer')
    const added = await consolePost(session, `/admin/orgs/${partner.id}/staff`, {
      upn: viewer.upn.toUpperCase(),
      tid: viewer.tid,
      role: 'viewer',
    })
    expect(added.res.status, added.html).toBe(303)
    expect(added.res.headers.get('location')).toBe(`/admin/orgs/${partner.id}/staff?done=added`)
    const before = await recordOf(partner.id, viewer)
    expect(before).toMatchObject({ tid: viewer.tid, oid: null, role: 'viewer', created_by: `staff:${admin.upn}` })
    const listed = await staffPage(session, partner.id)
    expect(listed).toContain(viewer.upn)
    expect(listed).toContain('Not signed in yet')
    // Console and API agree.
    expect((await apiStaff(partner.id))[viewer.upn]).toBe('viewer')

    const viewerSession = await signInToConsole(viewer)
    expect((await recordOf(partner.id, viewer)).oid).toBe(viewer.oid)
    expect(await staffPage(session, partner.id)).toContain(`Linked: <code>${viewer.oid}</code>`)
    const overview = await consoleGet(viewerSession, `/admin/orgs/${partner.id}`)
    expect(overview.html).toContain(customer.name)
    expect((await consoleGet(viewerSession, `/admin/orgs/${customer.id}`)).res.status).toBe(200)

    const viewerPage = await staffPage(viewerSession, partner.id)
    expect(viewerPage).not.toContain('Add staff')
    expect(viewerPage).not.toContain('Make admin')
    expect(viewerPage).not.toContain('Remove…')
    const rowsBefore = await staffOf(partner.id)
    const attempts = [
      consolePost(viewerSession, `/admin/orgs/${partner.id}/staff`, {
        upn: 'friend@contoso.example',
        tid: viewer.tid,
        role: 'admin',
      }),
      consolePost(viewerSession, `/admin/orgs/${partner.id}/staff/${before.id}/role`, { role: 'admin' }),
      consolePost(viewerSession, `/admin/orgs/${partner.id}/staff/${(await recordOf(partner.id, admin)).id}/remove`),
      consolePost(viewerSession, `/admin/orgs/${customer.id}/staff`, {
        upn: 'x@contoso.example',
        tid: viewer.tid,
        role: 'admin',
      }),
      consolePost(viewerSession, `/admin/orgs/${partner.id}/customers`, { name: 'Viewer made this' }),
    ]
    for (const { res } of await Promise.all(attempts)) expect(res.status).toBe(403)
    expect(await staffOf(partner.id)).toEqual(rowsBefore)
    expect(await staffOf(customer.id)).toEqual([])
  })

  it('a role change applies at the next request, and a removal ends access there (no new sign-in)', async () => {
    const partner = await createPartner()
    const admin = await signInToConsole(await newStaff(partner.id, 'admin'))
    const user = await newStaff(partner.id, 'viewer')
    const session = await signInToConsole(user)
    const record = await recordOf(partner.id, user)
    const name = `Made by ${crypto.randomUUID()}`
    expect((await consolePost(session, `/admin/orgs/${partner.id}/customers`, { name })).res.status).toBe(403)

    const promoted = await consolePost(admin, `/admin/orgs/${partner.id}/staff/${record.id}/role`, { role: 'admin' })
    expect(promoted.res.status, promoted.html).toBe(303)
    expect(promoted.res.headers.get('location')).toBe(`/admin/orgs/${partner.id}/staff?done=role`)
    expect((await apiStaff(partner.id))[user.upn]).toBe('admin')
    expect((await consolePost(session, `/admin/orgs/${partner.id}/customers`, { name })).res.status).toBe(303)
    expect(await staffPage(session, partner.id)).toContain('Add staff')

    const confirm = await consoleGet(admin, `/admin/orgs/${partner.id}/staff/${record.id}/remove`)
    expect(confirm.res.status).toBe(200)
    expect(confirm.html).toContain(user.upn)
    expect(confirm.html).toContain(`action="/admin/orgs/${partner.id}/staff/${record.id}/remove"`)
    const removed = await consolePost(admin, `/admin/orgs/${partner.id}/staff/${record.id}/remove`)
    expect(removed.res.status).toBe(303)
    expect(removed.res.headers.get('location')).toBe(`/admin/orgs/${partner.id}/staff?done=removed`)
    expect(await dbAll('SELECT id FROM staff WHERE id = ?', record.id)).toEqual([])
    expect((await apiStaff(partner.id))[user.upn]).toBeUndefined()

    const after = await consoleGet(session, `/admin/orgs/${partner.id}`)
    expect(after.res.status).toBe(403)
    expect(after.html).toContain('No access to the console')
    const actions = await dbAll<{ action: string }>(
      'SELECT action FROM audit_log WHERE target_id = ? ORDER BY id',
      record.id,
    )
    expect(actions.map((a) => a.action)).toEqual(['staff.add', 'staff.update', 'staff.remove'])
  })

  it('shows a refusal beside its field: a bad UPN, a bad tenant id, someone already staff (409)', async () => {
    const partner = await createPartner()
    const admin = await newStaff(partner.id, 'admin')
    const session = await signInToConsole(admin)
    const path = `/admin/orgs/${partner.id}/staff`
    const badUpn = await consolePost(session, path, { upn: 'not an upn', tid: admin.tid, role: 'viewer' })
    expect(badUpn.res.status).toBe(400)
    expect(badUpn.html).toMatch(/id="f-upn-error">[^<]*user principal name/)
    expect(badUpn.html).toContain('value="not an upn"')
    const badTid = await consolePost(session, path, { upn: 'a@contoso.example', tid: 'contoso', role: 'viewer' })
    expect(badTid.res.status).toBe(400)
    expect(badTid.html).toMatch(/id="f-tid-error">[^<]*GUID/)
    const noUpn = await consolePost(session, path, { upn: ' ', tid: admin.tid, role: 'viewer' })
    expect(noUpn.res.status).toBe(400)
    expect(noUpn.html).toContain('id="f-upn-error"')
    const badRole = await consolePost(session, path, { upn: 'a@contoso.example', tid: admin.tid, role: 'owner' })
    expect(badRole.res.status).toBe(400)
    expect(badRole.html).toContain('id="f-role-error"')
    const again = await consolePost(session, path, { upn: admin.upn, tid: admin.tid, role: 'viewer' })
    expect(again.res.status).toBe(409)
    expect(again.html).toMatch(/id="f-upn-error">[^<]*already staff/)
    expect(await staffOf(partner.id)).toHaveLength(1)
  })

  it('refuses an admin removing or demoting their own record when it is their only way in (409, D1 unchanged)', async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const user = await newStaff(partner.id, 'admin')
    const session = await signInToConsole(user)
    const own = await recordOf(partner.id, user)

    const page = await staffPage(session, partner.id)
    expect(page).toContain(`aria-label="Make viewer: ${user.upn}"`)
    const demote = await consolePost(session, `/admin/orgs/${partner.id}/staff/${own.id}/role`, { role: 'viewer' })
    expect(demote.res.status).toBe(409)
    expect(demote.html).toContain('lock you out')
    expect(demote.html).toContain('role="alert"')
    const remove = await consolePost(session, `/admin/orgs/${partner.id}/staff/${own.id}/remove`)
    expect(remove.res.status).toBe(409)
    expect(await recordOf(partner.id, user)).toEqual(own)
    // The API refuses the same person the same way (a key is nobody, so it may).
    expect(await outcome(removeStaff(env.DB, staffPrincipal(partner.id, user), own.id, Date.now()))).toBe(
      'self_lockout',
    )

    // Admin of the customer too, through a record there: the partner record still reaches it, so that one may go.
    await apiJson('POST', `/orgs/${customer.id}/admins`, { tid: user.tid, upn: user.upn, role: 'admin' }, 201)
    const onCustomer = await recordOf(customer.id, user)
    const demoted = await consolePost(session, `/admin/orgs/${customer.id}/staff/${onCustomer.id}/role`, {
      role: 'viewer',
    })
    expect(demoted.res.status).toBe(303)
    // ...while the partner record stays refused: the customer record does not reach the partner.
    expect((await consolePost(session, `/admin/orgs/${partner.id}/staff/${own.id}/remove`)).res.status).toBe(409)
    expect((await consolePost(session, `/admin/orgs/${customer.id}/staff/${onCustomer.id}/remove`)).res.status).toBe(
      303,
    )

    // Another admin may demote them, and a key may remove them.
    const other = await signInToConsole(await newStaff(partner.id, 'admin'))
    expect(
      (await consolePost(other, `/admin/orgs/${partner.id}/staff/${own.id}/role`, { role: 'viewer' })).res.status,
    ).toBe(303)
    expect((await recordOf(partner.id, user)).role).toBe('viewer')
    expect((await api('DELETE', `/admins/${own.id}`)).status).toBe(204)
  })

  it('refuses the lockout even when the other admin record is removed while the change is in flight', async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const user = await addEntraUser(newTenantId(), 'Two Records')
    await apiJson('POST', `/orgs/${partner.id}/admins`, { tid: user.tid, oid: user.oid, role: 'admin' }, 201)
    await apiJson('POST', `/orgs/${customer.id}/admins`, { tid: user.tid, upn: user.upn, role: 'admin' }, 201)
    const [onPartner] = await staffOf(partner.id)
    const onCustomer = await recordOf(customer.id, user)
    // Demoting the customer record is fine while the partner record stands; the partner record goes meanwhile.
    const { d1, atBatch, open } = slowD1()
    const demotion = outcome(updateStaffRole(d1, staffPrincipal(partner.id, user), onCustomer.id, 'viewer', Date.now()))
    await atBatch
    await removeStaff(env.DB, { kind: 'ops', actor: 'ops' }, onPartner!.id, Date.now())
    open()
    expect(await demotion).toBe('self_lockout')
    expect((await recordOf(customer.id, user)).role).toBe('admin')
    expect(
      await dbAll('SELECT id FROM audit_log WHERE target_id = ? AND action = ?', onCustomer.id, 'staff.update'),
    ).toEqual([])
  })

  it("answers 404 to a customer's admin for the partner's staff, and for another partner's record by URL", async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const other = await createPartner()
    const otherAdmin = await newStaff(other.id, 'admin')
    const theirRecord = await recordOf(other.id, otherAdmin)

    const customerAdmin = await signInToConsole(await newStaff(customer.id, 'admin'))
    expect((await consoleGet(customerAdmin, `/admin/orgs/${partner.id}/staff`)).res.status).toBe(404)
    const sneaky = await consolePost(customerAdmin, `/admin/orgs/${partner.id}/staff`, {
      upn: 'me@contoso.example',
      tid: customerAdmin.user.tid,
      role: 'admin',
    })
    expect(sneaky.res.status).toBe(404)
    expect(await staffOf(partner.id)).toEqual([])
    // The customer's own page lists its staff, and says the partner's reach it too.
    const own = await staffPage(customerAdmin, customer.id)
    expect(own).toContain(customerAdmin.user.upn)
    expect(own).toContain('partner reach it too')

    const partnerAdmin = await signInToConsole(await newStaff(partner.id, 'admin'))
    const ops = await signInToConsole(await opsAdmin())
    for (const session of [partnerAdmin, ops]) {
      const base = `/admin/orgs/${partner.id}/staff/${theirRecord.id}`
      expect((await consoleGet(session, `${base}/remove`)).res.status).toBe(404)
      expect((await consolePost(session, `${base}/remove`)).res.status).toBe(404)
      expect((await consolePost(session, `${base}/role`, { role: 'viewer' })).res.status).toBe(404)
    }
    expect((await consolePost(partnerAdmin, `/admin/orgs/${other.id}/staff/${theirRecord.id}/remove`)).res.status).toBe(
      404,
    )
    expect(await recordOf(other.id, otherAdmin)).toEqual(theirRecord)

    // A partner admin on a customer's page sees the partner's staff as well, to manage on the partner's page.
    const customerPage = await staffPage(partnerAdmin, customer.id)
    expect(customerPage).toContain(`Staff of ${partner.name}`)
    expect(customerPage).toContain(partnerAdmin.user.upn)
  })
})
