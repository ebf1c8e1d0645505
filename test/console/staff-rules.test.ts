/**
 * The staff rules at their seams: OPS_ADMINS parsing, which membership acts
 * on an organization (pure), the staff API's scope and validation, a
 * customer's staff kept to its own organization, and the retention of
 * ended sessions.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { parseOpsAdmins } from '../../src/config'
import { deleteEndedSessions } from '../../src/console/session'
import type { OrgRow } from '../../src/db/schema'
import { type Membership, membershipFor } from '../../src/staff/membership'
import { api, apiJson, createCustomer, createPartner, dbAll, expectJson, partnerWithKey } from '../fixtures'
import { consoleGet, consolePost, newStaff, signInToConsole } from './helpers'

const TID = '11111111-1111-4111-8111-111111111111'
const OID = '22222222-2222-4222-8222-222222222222'

describe('OPS_ADMINS', () => {
  it('reads tid:oid pairs, lowercased, spaces around commas allowed; empty is none', () => {
    expect(parseOpsAdmins(undefined)).toEqual([])
    expect(parseOpsAdmins('  ')).toEqual([])
    expect(parseOpsAdmins(`${TID.toUpperCase()}:${OID}, ${OID}:${TID}`)).toEqual([
      { tid: TID, oid: OID },
      { tid: OID, oid: TID },
    ])
  })

  it.each([[`not-a-guid:${OID}`], [TID], [`${TID}:${OID}:extra`], [`${TID}:${OID},`], [`${TID};${OID}`]])(
    'refuses %s, naming the variable',
    (raw) => {
      expect(() => parseOpsAdmins(raw)).toThrow(/OPS_ADMINS must be comma-separated "tid:oid" pairs/)
    },
  )
})

describe('membershipFor', () => {
  const org = (id: string, kind: OrgRow['kind'], parentId: string | null): OrgRow =>
    ({ id, kind, parentId, structure: kind === 'customer' ? 'nested' : null, name: id }) as OrgRow
  const partner = org('org_p', 'partner', null)
  const customer = org('org_c', 'customer', 'org_p')
  const other = org('org_x', 'customer', 'org_q')
  const as = (o: OrgRow | null, role: Membership['role']): Membership => ({
    org: o,
    role,
    principal: !o
      ? { kind: 'ops', actor: 'ops:x' }
      : o.kind === 'partner'
        ? { kind: 'partner', actor: 'staff:x', orgId: o.id }
        : { kind: 'customer', actor: 'staff:x', orgId: o.id },
  })

  it("acts through the admin membership before a viewer's, whichever is closer", () => {
    const chosen = membershipFor([as(customer, 'viewer'), as(partner, 'admin')], customer)
    expect(chosen?.role).toBe('admin')
    expect(chosen?.org?.id).toBe('org_p')
  })

  it("prefers the organization's own record among equal roles, and ops last", () => {
    expect(membershipFor([as(null, 'admin'), as(partner, 'admin'), as(customer, 'admin')], customer)?.org?.id).toBe(
      'org_c',
    )
  })

  it("is null for an organization no membership reaches: a customer's staff never reach the partner or a sibling", () => {
    expect(membershipFor([as(customer, 'admin')], partner)).toBeNull()
    expect(membershipFor([as(partner, 'admin')], other)).toBeNull()
    expect(membershipFor([], customer)).toBeNull()
  })
})

describe('staff API', () => {
  it('adds, lists, changes and removes staff, each with its audit row', async () => {
    const partner = await createPartner()
    const added = await apiJson(
      'POST',
      `/orgs/${partner.id}/admins`,
      { tid: TID.toUpperCase(), upn: 'Ann@Contoso.example', role: 'viewer' },
      201,
    )
    expect(added).toMatchObject({ tid: TID, upn: 'ann@contoso.example', oid: null, role: 'viewer', createdBy: 'ops' })
    const { admins } = await apiJson('GET', `/orgs/${partner.id}/admins`)
    expect(admins.map((a: { id: string }) => a.id)).toEqual([added.id])
    expect(await apiJson('PATCH', `/admins/${added.id}`, { role: 'admin' })).toMatchObject({ role: 'admin' })
    await apiJson('DELETE', `/admins/${added.id}`, undefined, 204)
    const audit = await dbAll<{ action: string }>(
      'SELECT action FROM audit_log WHERE target_id = ? ORDER BY id',
      added.id,
    )
    expect(audit.map((a) => a.action)).toEqual(['staff.add', 'staff.update', 'staff.remove'])
  })

  it.each([
    [{ tid: TID, role: 'admin' }, /"upn" is required when "oid" is not given/],
    [{ tid: 'nope', upn: 'a@b.example', role: 'admin' }, /"tid" must be a GUID/],
    [{ tid: TID, upn: 'a@b.example', role: 'owner' }, /"role"/],
    [{ tid: TID, upn: 'not an email', role: 'admin' }, /"upn"/],
    [{ tid: TID, upn: 'a@b.example', role: 'admin', orgId: 'org_x' }, /"orgId" is not a known field/],
  ])('refuses %j with 400 and writes nothing', async (body, message) => {
    const partner = await createPartner()
    const res = await api('POST', `/orgs/${partner.id}/admins`, body)
    const { error } = await expectJson(res, 400)
    expect(error.message).toMatch(message)
    expect(await dbAll('SELECT id FROM staff WHERE org_id = ?', partner.id)).toHaveLength(0)
  })

  it('refuses the same user twice in one organization (409), by UPN or by oid', async () => {
    const partner = await createPartner()
    await apiJson('POST', `/orgs/${partner.id}/admins`, { tid: TID, upn: 'dup@contoso.example', role: 'admin' }, 201)
    const again = await api('POST', `/orgs/${partner.id}/admins`, {
      tid: TID,
      upn: 'DUP@contoso.example',
      role: 'viewer',
    })
    expect((await expectJson(again, 409)).error.code).toBe('staff_exists')
    await apiJson('POST', `/orgs/${partner.id}/admins`, { tid: TID, oid: OID, role: 'admin' }, 201)
    expect((await api('POST', `/orgs/${partner.id}/admins`, { tid: TID, oid: OID, role: 'admin' })).status).toBe(409)
  })

  it("lets a partner key manage its customers' staff, and answers 404 for another partner's", async () => {
    const { partner, key } = await partnerWithKey()
    const customer = await createCustomer(partner.id)
    const stranger = await createPartner()
    const strangerStaff = await apiJson(
      'POST',
      `/orgs/${stranger.id}/admins`,
      { tid: TID, upn: 's@x.example', role: 'admin' },
      201,
    )
    const body = { tid: TID, upn: 'it@customer.example', role: 'admin' }
    expect((await api('POST', `/orgs/${customer.id}/admins`, body, { key })).status).toBe(201)
    expect((await api('POST', `/orgs/${stranger.id}/admins`, body, { key })).status).toBe(404)
    expect((await api('GET', `/orgs/${stranger.id}/admins`, undefined, { key })).status).toBe(404)
    expect((await api('PATCH', `/admins/${strangerStaff.id}`, { role: 'viewer' }, { key })).status).toBe(404)
    expect((await api('DELETE', `/admins/${strangerStaff.id}`, undefined, { key })).status).toBe(404)
    expect(await dbAll('SELECT role FROM staff WHERE id = ?', strangerStaff.id)).toEqual([{ role: 'admin' }])
  })
})

describe("a customer's staff", () => {
  it('reach that customer only: not its partner, and they create no organization and move nothing', async () => {
    const partner = await createPartner('Parent partner')
    const customer = await createCustomer(partner.id, { name: 'Flat one', structure: 'flat' })
    const session = await signInToConsole(await newStaff(customer.id, 'admin'))
    const page = await consoleGet(session, `/admin/orgs/${customer.id}`)
    expect(page.res.status).toBe(200)
    // No way up: the partner is neither linked nor reachable.
    expect(page.html).not.toContain(`/admin/orgs/${partner.id}`)
    expect((await consoleGet(session, `/admin/orgs/${partner.id}`)).res.status).toBe(404)
    // The move is the provider's or the partner's decision: not offered, and refused when posted.
    expect(page.html).not.toContain('Move to a portal of its own')
    const move = await consolePost(session, `/admin/orgs/${customer.id}/move`, { keepPartnerHostsDays: '0' })
    expect(move.res.status).toBe(403)
    expect(await dbAll('SELECT structure FROM organizations WHERE id = ?', customer.id)).toEqual([
      { structure: 'flat' },
    ])
    const create = await consolePost(session, `/admin/orgs/${customer.id}/customers`, { name: 'Sub-customer' })
    expect(create.res.status).toBe(403)
    expect(await dbAll("SELECT id FROM organizations WHERE name = 'Sub-customer'")).toHaveLength(0)
  })
})

describe('ended sessions', () => {
  it('are deleted a day after they end, in bounded batches; live ones stay', async () => {
    const now = Date.now()
    const day = 24 * 60 * 60 * 1000
    const insert = (id: string, expiresAt: number, lastSeenAt: number, revokedAt: number | null) =>
      env.DB.prepare(
        `INSERT INTO console_sessions (id, tid, oid, csrf_token, created_at, last_seen_at, expires_at, revoked_at)
         VALUES (?, ?, ?, 'x', ?, ?, ?, ?)`,
      )
        .bind(id, TID, OID, lastSeenAt, lastSeenAt, expiresAt, revokedAt)
        .run()
    const tag = crypto.randomUUID()
    await insert(`${tag}-expired`, now - 2 * day, now - 2 * day, null)
    await insert(`${tag}-revoked`, now + day, now - 2 * day, now - 2 * day)
    await insert(`${tag}-idle`, now + day, now - 2 * day, null)
    await insert(`${tag}-live`, now + day, now, null)
    await insert(`${tag}-recently-ended`, now - 60_000, now - 60_000, null)
    let deleted = 0
    for (let i = 0; i < 10; i++) deleted += await deleteEndedSessions(env.DB, now, 1)
    const left = await dbAll<{ id: string }>('SELECT id FROM console_sessions WHERE id LIKE ? ORDER BY id', `${tag}%`)
    expect(left.map((r) => r.id)).toEqual([`${tag}-live`, `${tag}-recently-ended`])
    expect(deleted).toBeGreaterThanOrEqual(3)
  })
})
