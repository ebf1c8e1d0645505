/**
 * Moving a flat customer to a nested portal of its own (`POST /orgs/{id}/move`)
 * without an outage: its users sign in on the partner's hosts before, during
 * and (for the transition) after the move, a sign-in started before it
 * finishes after it, its own hosts and Microsoft integration work once it
 * has them, and nothing it had changes. Driven end to end against the Entra
 * and Graph stand-ins; refusals leave D1 exactly as it was.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { OPS } from '../../src/access/principal'
import { getConfig } from '../../src/config'
import { moveOrg } from '../../src/orgs/service'
import { TEST_CLIENT_ID } from '../bindings'
import {
  addEntraUser,
  api,
  apiJson,
  assertionFrom,
  auditSettled,
  consent,
  createCustomer,
  createPartner,
  dbAll,
  directory,
  dirUser,
  entraControl,
  expectJson,
  HANDOFF_FIELD,
  listUsers,
  newTenantId,
  PRIMARY,
  partnerWithKey,
  phoneSystemNamed,
  pickAccount,
  pressConnect,
  putList,
  signIn,
  slowD1,
  startLogin,
  uniqueLabel,
  withCookie,
  ZONE,
} from '../fixtures'
import { changedTables, d1Digest } from '../fuzz/d1-digest'

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * A partner with an active login host and a phone system of its own, and a
 * flat customer with a phone system in the same Entra tenant whose SSO list
 * holds one user (`user`); the partner's list holds somebody else.
 */
async function flatCustomerOnPartnerHost() {
  const partner: { id: string } = await createPartner('Move Partner')
  const partnerHost = `${uniqueLabel('ptr')}.${ZONE}`
  await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname: partnerHost }, 201)
  const customer = await createCustomer(partner.id, { name: 'Flat Co', structure: 'flat' })
  const tid = newTenantId()
  const partnerPs = await phoneSystemNamed(partner.id, 'Partnerdesk', tid)
  const ps = await phoneSystemNamed(customer.id, 'Flatdesk', tid)
  const user = await addEntraUser(tid, 'Fran Flat')
  await listUsers(ps.id, [user])
  await putList(partnerPs.id, [{ upn: 'somebody.else@contoso.example', extension: '700' }])
  return { partner, partnerHost, customer, tid, partnerPs, ps, user }
}

function move(id: string, body: unknown = { structure: 'nested' }, key?: string) {
  return api('POST', `/orgs/${id}/move`, body, key ? { key } : {})
}

/** The rows the move must leave alone: the customer's phone systems, their SSO lists, its tenant's claim. */
async function keptRows(orgId: string, tid: string) {
  return {
    phoneSystems: await dbAll('SELECT * FROM phone_systems WHERE org_id = ? ORDER BY id', orgId),
    ssoUsers: await dbAll(
      'SELECT * FROM sso_users WHERE phone_system_id IN (SELECT id FROM phone_systems WHERE org_id = ?) ORDER BY id',
      orgId,
    ),
    claims: await dbAll('SELECT * FROM tenant_claims WHERE tid = ?', tid),
  }
}

async function attemptsOn(hostname: string) {
  await auditSettled()
  return dbAll('SELECT * FROM sign_in_attempts WHERE hostname = ? ORDER BY at, id', hostname)
}

async function expectHandedOffTo(hostname: string, user: Parameters<typeof signIn>[1], phoneSystemId: string) {
  const result = await signIn(hostname, user)
  expect(result.res.status, result.html.slice(0, 300)).toBe(200)
  expect(assertionFrom(result.html).claims.aud).toBe(phoneSystemId)
  return result
}

/** A move through a D1 that holds its batch until `slow.open()`; `held` answers 'moved' or the error code. */
function heldMove(customerId: string) {
  const slow = slowD1()
  const held = moveOrg(slow.d1, getConfig(env), OPS, customerId, { structure: 'nested' }, Date.now()).then(
    () => 'moved',
    (error: any) => error.code as string,
  )
  return { slow, held }
}

describe('POST /api/v1/orgs/{id}/move', () => {
  it('makes a flat customer nested: 200 with the view, partnerHostsUntil 30 days on, one audit row readable through the audit API', async () => {
    const { customer } = await flatCustomerOnPartnerHost()
    const before = Date.now()
    const moved = await expectJson(await move(customer.id))
    expect(moved).toMatchObject({ id: customer.id, kind: 'customer', parentId: customer.parentId, structure: 'nested' })
    const until = Date.parse(moved.partnerHostsUntil)
    expect(until).toBeGreaterThanOrEqual(before + 30 * DAY_MS)
    expect(until).toBeLessThanOrEqual(Date.now() + 30 * DAY_MS)
    expect(await apiJson('GET', `/orgs/${customer.id}`)).toEqual(moved)

    const { entries } = await apiJson('GET', `/audit-log?orgId=${customer.id}&action=organization.move`)
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({
      actor: 'ops',
      organizationId: customer.id,
      targetType: 'organization',
      targetId: customer.id,
      summary: {
        before: { structure: 'flat', partnerHostsUntil: null },
        after: { structure: 'nested', partnerHostsUntil: moved.partnerHostsUntil },
        keepPartnerHostsDays: 30,
      },
    })
  })

  it('keepPartnerHostsDays sets the transition (0: none at all)', async () => {
    const { partner } = await flatCustomerOnPartnerHost()
    const a = await createCustomer(partner.id, { structure: 'flat' })
    const b = await createCustomer(partner.id, { structure: 'flat' })
    const now = Date.now()
    const seven = await expectJson(await move(a.id, { structure: 'nested', keepPartnerHostsDays: 7 }))
    expect(Date.parse(seven.partnerHostsUntil) - now).toBeGreaterThanOrEqual(7 * DAY_MS - 1)
    expect(Date.parse(seven.partnerHostsUntil) - now).toBeLessThan(7 * DAY_MS + 60_000)
    const none = await expectJson(await move(b.id, { structure: 'nested', keepPartnerHostsDays: 0 }))
    expect(none).toMatchObject({ structure: 'nested', partnerHostsUntil: null })
  })

  it('a partner key moves its own flat customer; the audit names the key', async () => {
    const { partner, key } = await partnerWithKey()
    const customer = await createCustomer(partner.id, { structure: 'flat' })
    expect(await expectJson(await move(customer.id, { structure: 'nested' }, key))).toMatchObject({
      structure: 'nested',
    })
    const [row] = await dbAll<{ actor: string }>(
      "SELECT actor FROM audit_log WHERE target_id = ? AND action = 'organization.move'",
      customer.id,
    )
    expect(row!.actor).toMatch(/^key:/)
  })

  it('is in the OpenAPI document, with its strict body', async () => {
    const doc = await apiJson('GET', '/openapi.json')
    const operation = doc.paths['/orgs/{id}/move'].post
    expect(operation.responses).toHaveProperty('200')
    expect(operation.responses).toHaveProperty('409')
    const schema = operation.requestBody.content['application/json'].schema
    expect(schema.required).toEqual(['structure'])
    expect(Object.keys(schema.properties).sort()).toEqual(['keepPartnerHostsDays', 'structure'])
    expect(schema.additionalProperties).toBe(false)
    expect(schema.properties.structure.enum).toEqual(['nested'])
    expect(schema.properties.keepPartnerHostsDays).toMatchObject({ type: 'integer', minimum: 0, maximum: 90 })
    expect(doc.paths['/orgs/{id}/move/finish'].post).toBeDefined()
  })
})

describe('what is refused, and changes nothing in D1', () => {
  async function expectRefusedUnchanged(res: Promise<Response>, status: number, code: string, message?: RegExp) {
    const before = await d1Digest()
    const { error } = await expectJson(await res, status)
    expect(error.code).toBe(code)
    if (message) expect(error.message).toMatch(message)
    expect(changedTables(before, await d1Digest())).toEqual([])
    return error
  }

  it("another partner's customer: 404, as if it did not exist", async () => {
    const { customer } = await flatCustomerOnPartnerHost()
    const other = await partnerWithKey('Other Partner')
    const before = await d1Digest()
    const { error } = await expectJson(await move(customer.id, { structure: 'nested' }, other.key), 404)
    expect(error.code).toBe('not_found')
    // Authentication records the key's last use (the digest leaves that column out); nothing else changed.
    expect(changedTables(before, await d1Digest())).toEqual([])
    expect(await apiJson('GET', `/orgs/${customer.id}`)).toMatchObject({ structure: 'flat' })
  })

  it('a nested customer: 409 already_nested', async () => {
    const partner = await createPartner()
    const nested = await createCustomer(partner.id, { name: 'Nested Co', structure: 'nested' })
    await expectRefusedUnchanged(move(nested.id), 409, 'already_nested', /"Nested Co" is nested already/)
  })

  it('a customer moved already: 409 already_nested, its transition untouched', async () => {
    const { customer } = await flatCustomerOnPartnerHost()
    const moved = await expectJson(await move(customer.id))
    await expectRefusedUnchanged(
      move(customer.id, { structure: 'nested', keepPartnerHostsDays: 90 }),
      409,
      'already_nested',
    )
    expect((await apiJson('GET', `/orgs/${customer.id}`)).partnerHostsUntil).toBe(moved.partnerHostsUntil)
  })

  it('a partner: 409 partner_cannot_move (with the ops key, and with its own key)', async () => {
    const { partner, key } = await partnerWithKey('Solo Partner')
    await expectRefusedUnchanged(move(partner.id), 409, 'partner_cannot_move', /is a partner/)
    await expectRefusedUnchanged(move(partner.id, { structure: 'nested' }, key), 409, 'partner_cannot_move')
  })

  it.each([
    ['structure flat (moving back is not offered)', { structure: 'flat' }, 'structure', /never back.*hostnames/],
    ['no structure', {}, 'structure', /"structure" must be "nested"/],
    ['an unknown structure', { structure: 'portal' }, 'structure', /"nested"/],
    ['an unknown field', { structure: 'nested', parentId: 'org_x' }, 'parentId', /not a known field/],
    ['91 days', { structure: 'nested', keepPartnerHostsDays: 91 }, 'keepPartnerHostsDays', /0 to 90/],
    ['-1 days', { structure: 'nested', keepPartnerHostsDays: -1 }, 'keepPartnerHostsDays', /0 to 90/],
    ['1.5 days', { structure: 'nested', keepPartnerHostsDays: 1.5 }, 'keepPartnerHostsDays', /a whole number/],
    ['days as a string', { structure: 'nested', keepPartnerHostsDays: '30' }, 'keepPartnerHostsDays', /a number/],
  ])('%s: 400 naming the field', async (_name, body, field, message) => {
    const { customer } = await flatCustomerOnPartnerHost()
    const error = await expectRefusedUnchanged(move(customer.id, body), 400, 'invalid_request', message)
    expect(error.field).toBe(field)
  })

  it('ending a transition that is not running: 409 no_transition', async () => {
    const { customer } = await flatCustomerOnPartnerHost()
    await expectRefusedUnchanged(api('POST', `/orgs/${customer.id}/move/finish`), 409, 'no_transition')
    await expectJson(await move(customer.id, { structure: 'nested', keepPartnerHostsDays: 0 }))
    await expectRefusedUnchanged(api('POST', `/orgs/${customer.id}/move/finish`), 409, 'no_transition')
  })
})

describe('races', () => {
  it('five moves at once: one 200, the others 409, one audit row', async () => {
    const { customer } = await flatCustomerOnPartnerHost()
    const answers = await Promise.all(Array.from({ length: 5 }, () => move(customer.id)))
    const statuses = answers.map((res) => res.status).sort()
    expect(statuses).toEqual([200, 409, 409, 409, 409])
    for (const res of answers.filter((r) => r.status === 409)) {
      expect((await res.json<any>()).error.code).toMatch(/^(already_nested|conflict)$/)
    }
    const rows = await dbAll(
      "SELECT id FROM audit_log WHERE target_id = ? AND action = 'organization.move'",
      customer.id,
    )
    expect(rows).toHaveLength(1)
  })

  it('a move held at its write while another move lands: the held one writes nothing (409 already_nested)', async () => {
    const { customer } = await flatCustomerOnPartnerHost()
    const { slow, held } = heldMove(customer.id)
    await slow.atBatch
    await expectJson(await move(customer.id, { structure: 'nested', keepPartnerHostsDays: 5 }))
    slow.open()
    expect(await held).toBe('already_nested')
    const audit = await dbAll<{ summary: string }>(
      "SELECT summary FROM audit_log WHERE target_id = ? AND action = 'organization.move'",
      customer.id,
    )
    expect(audit).toHaveLength(1)
    expect(JSON.parse(audit[0]!.summary).keepPartnerHostsDays).toBe(5)
  })

  it('a move held at its write while the customer is renamed: 409 conflict, still flat, renamed, no move audited', async () => {
    const { customer } = await flatCustomerOnPartnerHost()
    const { slow, held } = heldMove(customer.id)
    await slow.atBatch
    await new Promise((r) => setTimeout(r, 2))
    await apiJson('PATCH', `/orgs/${customer.id}`, { name: 'Renamed Co' })
    slow.open()
    expect(await held).toBe('conflict')
    expect(await apiJson('GET', `/orgs/${customer.id}`)).toMatchObject({ name: 'Renamed Co', structure: 'flat' })
    expect(
      await dbAll("SELECT id FROM audit_log WHERE target_id = ? AND action = 'organization.move'", customer.id),
    ).toEqual([])
    // The retry moves it.
    await expectJson(await move(customer.id))
  })
})

describe('sign-ins through the move', () => {
  it("its user signs in on the partner's host before and after the move; its own host once attached; nothing it had changes", async () => {
    const { partnerHost, customer, tid, ps, user } = await flatCustomerOnPartnerHost()
    const ownHost = `${uniqueLabel('own')}.${ZONE}`

    // Before: the partner's host serves the flat customer; it cannot own a host, and the refusal points at the move.
    await expectHandedOffTo(partnerHost, user, ps.id)
    const refused = await expectJson(await api('POST', `/orgs/${customer.id}/hostnames`, { hostname: ownHost }), 409)
    expect(refused.error.code).toBe('flat_customer_cannot_own_hostname')
    expect(refused.error.message).toContain(`POST /api/v1/orgs/${customer.id}/move`)
    // This isolate now caches the unknown name as unknown.
    expect((await SELF.fetch(`https://${ownHost}/`)).status).toBe(404)

    const kept = await keptRows(customer.id, tid)
    const attemptsBefore = await attemptsOn(partnerHost)
    expect(attemptsBefore.length).toBeGreaterThan(0)

    await expectJson(await move(customer.id))

    // Right after: the partner's host still serves it, with the partner's app.
    const { authorizeUrl } = await startLogin(partnerHost)
    expect(authorizeUrl.searchParams.get('client_id')).toBe(TEST_CLIENT_ID)
    await expectHandedOffTo(partnerHost, user, ps.id)

    // Its own host, attached and active (a provider subdomain): it serves it too.
    expect(await apiJson('POST', `/orgs/${customer.id}/hostnames`, { hostname: ownHost }, 201)).toMatchObject({
      status: 'active',
    })
    await expectHandedOffTo(ownHost, user, ps.id)
    await expectHandedOffTo(partnerHost, user, ps.id)

    // Same phone systems, lists and claim, row for row; the sign-in history only grew.
    expect(await keptRows(customer.id, tid)).toEqual(kept)
    const attemptsAfter = await attemptsOn(partnerHost)
    expect(attemptsAfter.slice(0, attemptsBefore.length)).toEqual(attemptsBefore)
    expect(attemptsAfter.length).toBeGreaterThan(attemptsBefore.length)
  })

  it("a sign-in started on the partner's host before the move finishes after it (central callback, then /sso/complete)", async () => {
    const { partnerHost, customer, user, ps } = await flatCustomerOnPartnerHost()
    const { cookie, authorizeUrl } = await startLogin(partnerHost)
    const callbackUrl = await pickAccount(authorizeUrl, user)
    expect(callbackUrl.hostname).toBe(PRIMARY)

    await expectJson(await move(customer.id))

    const central = await SELF.fetch(callbackUrl, withCookie(null))
    expect(central.status, await central.clone().text()).toBe(303)
    const complete = new URL(central.headers.get('location')!)
    expect(complete.hostname).toBe(partnerHost)
    const res = await SELF.fetch(complete, withCookie(cookie))
    const html = await res.text()
    expect(res.status, html.slice(0, 300)).toBe(200)
    expect(assertionFrom(html).claims).toMatchObject({ aud: ps.id, oid: user.oid })
  })

  it('without a transition (keepPartnerHostsDays 0) the same started sign-in is refused: what the transition is for', async () => {
    const { partnerHost, customer, user } = await flatCustomerOnPartnerHost()
    const { cookie, authorizeUrl } = await startLogin(partnerHost)
    const callbackUrl = await pickAccount(authorizeUrl, user)
    await expectJson(await move(customer.id, { structure: 'nested', keepPartnerHostsDays: 0 }))
    const central = await SELF.fetch(callbackUrl, withCookie(null))
    expect(central.status).toBe(303)
    const res = await SELF.fetch(new URL(central.headers.get('location')!), withCookie(cookie))
    const html = await res.text()
    expect(res.status).toBe(403)
    expect(html).not.toContain(HANDOFF_FIELD)
  })

  it("a chooser shown before the move takes its choice after it; during the transition the partner's host offers both", async () => {
    const { partnerHost, customer, partnerPs, ps, user } = await flatCustomerOnPartnerHost()
    await listUsers(partnerPs.id, [user], () => '800')
    const before = await signIn(partnerHost, user)
    expect(before.html).toContain('Choose a phone system')
    const token = /name="token" value="([^"]+)"/.exec(before.html)![1]!

    await expectJson(await move(customer.id))

    const chosen = await SELF.fetch(`https://${partnerHost}/sso/choose`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: `__Host-sso_flow=${before.cookie}`,
        'content-type': 'application/x-www-form-urlencoded',
        origin: `https://${partnerHost}`,
        'sec-fetch-site': 'same-origin',
      },
      body: new URLSearchParams({ token, phoneSystem: ps.id }),
    })
    const html = await chosen.text()
    expect(chosen.status, html.slice(0, 300)).toBe(200)
    expect(assertionFrom(html).claims.aud).toBe(ps.id)

    const during = await signIn(partnerHost, user)
    expect(during.html).toContain('>Partnerdesk<')
    expect(during.html).toContain('>Flatdesk<')

    // Its own host offers only its own phone system: straight to it.
    const ownHost = `${uniqueLabel('own')}.${ZONE}`
    await apiJson('POST', `/orgs/${customer.id}/hostnames`, { hostname: ownHost }, 201)
    await expectHandedOffTo(ownHost, user, ps.id)

    // Once the transition ends the partner's host reaches only the partner's own.
    await expectJson(await api('POST', `/orgs/${customer.id}/move/finish`))
    await expectHandedOffTo(partnerHost, user, partnerPs.id)
  })

  it("once the transition ends, the partner's host no longer serves it; its own host still does", async () => {
    const { partnerHost, customer, user, ps } = await flatCustomerOnPartnerHost()
    await expectJson(await move(customer.id))
    const ownHost = `${uniqueLabel('own')}.${ZONE}`
    await apiJson('POST', `/orgs/${customer.id}/hostnames`, { hostname: ownHost }, 201)
    await expectHandedOffTo(partnerHost, user, ps.id)

    const finished = await expectJson(await api('POST', `/orgs/${customer.id}/move/finish`))
    expect(Date.parse(finished.partnerHostsUntil)).toBeLessThanOrEqual(Date.now())
    const { entries } = await apiJson('GET', `/audit-log?orgId=${customer.id}&action=organization.move_finish`)
    expect(entries).toHaveLength(1)

    const refused = await signIn(partnerHost, user)
    expect(refused.res.status).toBe(403)
    expect(refused.html).toContain('Your account is not set up for SSO here')
    expect(refused.html).not.toContain(HANDOFF_FIELD)
    await expectHandedOffTo(ownHost, user, ps.id)
  })

  it('the transition also ends by itself when its time has passed', async () => {
    const { partnerHost, customer, user, ps } = await flatCustomerOnPartnerHost()
    await expectJson(await move(customer.id, { structure: 'nested', keepPartnerHostsDays: 1 }))
    await expectHandedOffTo(partnerHost, user, ps.id)
    // A day later, as far as D1 is concerned.
    await env.DB.prepare('UPDATE organizations SET partner_hosts_until = ? WHERE id = ?')
      .bind(Date.now() - 1, customer.id)
      .run()
    const refused = await signIn(partnerHost, user)
    expect(refused.res.status).toBe(403)
    expect(refused.html).toContain('Your account is not set up for SSO here')
  })

  it('on the primary host its user signs in before, during and after the transition', async () => {
    const { customer, user, ps } = await flatCustomerOnPartnerHost()
    await expectHandedOffTo(PRIMARY, user, ps.id)
    await expectJson(await move(customer.id))
    await expectHandedOffTo(PRIMARY, user, ps.id)
    await expectJson(await api('POST', `/orgs/${customer.id}/move/finish`))
    await expectHandedOffTo(PRIMARY, user, ps.id)
  })
})

describe('its own Microsoft integration', () => {
  async function app(secret: string) {
    const clientId = crypto.randomUUID()
    await entraControl('apps', { clientId, secret, redirectUris: [`https://${PRIMARY}/sso/callback`] })
    return clientId
  }

  it("refused while flat (pointing at the move); afterwards its own host signs in with its app, the partner's host with the partner's", async () => {
    const { partner, partnerHost, customer, tid, user, ps } = await flatCustomerOnPartnerHost()
    const partnerApp = await app('partner-secret')
    await apiJson('PUT', `/orgs/${partner.id}/microsoft-integration`, {
      clientId: partnerApp,
      clientSecret: 'partner-secret',
      homeTenantId: newTenantId(),
    })
    const ownApp = await app('own-secret')
    const integration = { clientId: ownApp, clientSecret: 'own-secret', homeTenantId: tid }

    const refused = await expectJson(await api('PUT', `/orgs/${customer.id}/microsoft-integration`, integration), 409)
    expect(refused.error.code).toBe('flat_customer_cannot_own_hostname')
    expect(refused.error.message).toContain(`POST /api/v1/orgs/${customer.id}/move`)

    await expectJson(await move(customer.id))
    expect(await apiJson('PUT', `/orgs/${customer.id}/microsoft-integration`, integration)).toMatchObject({
      organizationId: customer.id,
      clientId: ownApp,
    })
    const ownHost = `${uniqueLabel('own')}.${ZONE}`
    await apiJson('POST', `/orgs/${customer.id}/hostnames`, { hostname: ownHost }, 201)

    expect((await startLogin(ownHost)).authorizeUrl.searchParams.get('client_id')).toBe(ownApp)
    await expectHandedOffTo(ownHost, user, ps.id)
    expect((await startLogin(partnerHost)).authorizeUrl.searchParams.get('client_id')).toBe(partnerApp)
    await expectHandedOffTo(partnerHost, user, ps.id)
  })

  it("Sync and connect links use the partner's app during the transition, its own once it has one, the provider's after the transition without one", async () => {
    const { partner, customer, tid, ps } = await flatCustomerOnPartnerHost()
    const partnerApp = await app('partner-secret')
    await apiJson('PUT', `/orgs/${partner.id}/microsoft-integration`, {
      clientId: partnerApp,
      clientSecret: 'partner-secret',
      homeTenantId: newTenantId(),
    })
    const ownApp = await app('own-secret')
    // Each app assigned a different number of users in the tenant: the total a Sync finds says whose app it used.
    const users = [dirUser(1), dirUser(2), dirUser(3)]
    await consent(tid, undefined, partnerApp)
    await directory(tid, { direct: users.slice(0, 1), clientId: partnerApp })
    await consent(tid, undefined, ownApp)
    await directory(tid, { direct: users.slice(0, 2), clientId: ownApp })
    await consent(tid)
    await directory(tid, { direct: users, clientId: TEST_CLIENT_ID })
    const sync = () => apiJson('POST', `/phone-systems/${ps.id}/sync`)
    const connectClient = async () => {
      const { connectUrl } = await apiJson('POST', `/phone-systems/${ps.id}/connect`, undefined, 201)
      return (await pressConnect(connectUrl)).authorizeUrl.searchParams.get('client_id')
    }

    expect(await sync()).toMatchObject({ total: 1 })
    await expectJson(await move(customer.id))
    expect(await sync()).toMatchObject({ total: 1 })
    expect(await connectClient()).toBe(partnerApp)

    await apiJson('PUT', `/orgs/${customer.id}/microsoft-integration`, {
      clientId: ownApp,
      clientSecret: 'own-secret',
      homeTenantId: tid,
    })
    expect(await sync()).toMatchObject({ total: 2 })
    expect(await connectClient()).toBe(ownApp)

    await apiJson('DELETE', `/orgs/${customer.id}/microsoft-integration`, undefined, 204)
    expect(await sync()).toMatchObject({ total: 1 })
    await expectJson(await api('POST', `/orgs/${customer.id}/move/finish`))
    expect(await sync()).toMatchObject({ total: 3 })
    expect(await connectClient()).toBe(TEST_CLIENT_ID)
  })

  it("on the primary host, the partner's allowed tenants apply to it during the transition, its own after", async () => {
    const { partner, customer, tid, user, ps } = await flatCustomerOnPartnerHost()
    const partnerApp = await app('partner-secret')
    // The partner's app allows another tenant only: the customer's users cannot sign in anywhere through it.
    await apiJson('PUT', `/orgs/${partner.id}/microsoft-integration`, {
      clientId: partnerApp,
      clientSecret: 'partner-secret',
      homeTenantId: newTenantId(),
      allowedTenantIds: [newTenantId()],
    })
    const notListed = async () => {
      const result = await signIn(PRIMARY, user)
      expect(result.res.status).toBe(403)
      expect(result.html).not.toContain(HANDOFF_FIELD)
    }
    await notListed()
    await expectJson(await move(customer.id))
    await notListed()
    const ownApp = await app('own-secret')
    await apiJson('PUT', `/orgs/${customer.id}/microsoft-integration`, {
      clientId: ownApp,
      clientSecret: 'own-secret',
      homeTenantId: tid,
      allowedTenantIds: [tid],
    })
    await expectHandedOffTo(PRIMARY, user, ps.id)
  })
})
