/**
 * `GET /api/v1/orgs/{id}/sign-in-attempts`: the sign-in log the console
 * shows, for partner keys and the ops key. A partner reads its own subtree
 * (a customer's log is that customer's alone), never another partner's, and
 * the scope holds past D1's 100 bound parameters.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import {
  addEntraUser,
  api,
  apiJson,
  auditSettled,
  createCustomer,
  createPhoneSystem,
  expectJson,
  listUsers,
  newTenantId,
  PRIMARY,
  partnerWithKey,
  signIn,
  uniqueLabel,
  ZONE,
} from '../fixtures'

interface Attempt {
  id: number
  result: string
  reason: string
  detail: string | null
  hostname: string | null
  organizationId: string | null
  organizationName: string | null
  phoneSystemId: string | null
  phoneSystemName: string | null
  tid: string | null
  oid: string | null
  account: string | null
  correlationId: string
}

interface LogPage {
  attempts: Attempt[]
  nextCursor: string | null
}

/** A customer with a host and a phone system listing `listed`; `stranger` was refused there, `listed` signed in. */
async function customerWithSignIns(partnerId: string) {
  const customer = await createCustomer(partnerId, { name: `Customer ${uniqueLabel('c')}` })
  const hostname = `${uniqueLabel('api')}.${ZONE}`
  await apiJson('POST', `/orgs/${customer.id}/hostnames`, { hostname }, 201)
  const tenantId = newTenantId()
  const phoneSystem = await createPhoneSystem(customer.id, tenantId, 'Branch')
  const listed = await addEntraUser(tenantId, 'Listed User')
  const stranger = await addEntraUser(tenantId, 'Unlisted User')
  await listUsers(phoneSystem.id, [listed])
  expect((await signIn(hostname, stranger)).res.status).toBe(403)
  expect((await signIn(hostname, listed)).res.status).toBe(200)
  await auditSettled()
  return { customer, hostname, tenantId, phoneSystem, listed, stranger }
}

const read = (key: string | null | undefined, orgId: string, query = '') =>
  api('GET', `/orgs/${orgId}/sign-in-attempts${query}`, undefined, key === undefined ? {} : { key })

describe('GET /orgs/{id}/sign-in-attempts', () => {
  it('answers the attempts with result, reason, host, account and phone system, newest first', async () => {
    const { partner, key } = await partnerWithKey()
    const { customer, hostname, listed, stranger, phoneSystem, tenantId } = await customerWithSignIns(partner.id)
    const page = await expectJson<LogPage>(await read(key, customer.id))
    expect(page.nextCursor).toBeNull()
    const ids = page.attempts.map((a) => a.id)
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
    const failure = page.attempts.find((a) => a.result === 'failure')!
    expect(failure).toMatchObject({
      reason: 'not_listed',
      detail: null,
      hostname,
      organizationId: customer.id,
      organizationName: customer.name,
      tid: tenantId,
      oid: stranger.oid,
      account: stranger.upn,
    })
    expect(failure.correlationId).toMatch(/^[0-9a-f-]{36}$/)
    const handoff = page.attempts.find((a) => a.reason === 'handoff')!
    expect(handoff).toMatchObject({
      result: 'success',
      account: listed.upn,
      phoneSystemId: phoneSystem.id,
      phoneSystemName: 'Branch',
    })
  })

  it('filters by result, reason, hostname and user, as the console does', async () => {
    const { partner, key } = await partnerWithKey()
    const { customer, hostname, listed, stranger } = await customerWithSignIns(partner.id)
    const accounts = async (query: string) =>
      (await expectJson<LogPage>(await read(key, customer.id, query))).attempts.map((a) => a.account)
    expect(new Set(await accounts('?result=failure'))).toEqual(new Set([stranger.upn]))
    expect(await accounts('?reason=handoff')).toEqual([listed.upn])
    expect(await accounts(`?hostname=${hostname}&result=success`)).toEqual([listed.upn])
    expect(await accounts(`?q=${encodeURIComponent(stranger.upn.toUpperCase())}&result=failure`)).toEqual([
      stranger.upn,
    ])
    expect(await accounts(`?hostname=nowhere.${ZONE}`)).toEqual([])
    const bad = await expectJson(await read(key, customer.id, '?result=maybe'), 400)
    expect(bad.error.field).toBe('result')
    expect((await expectJson(await read(key, customer.id, '?reason=not%20listed'), 400)).error.field).toBe('reason')
  })

  it("a partner reads its customers' attempts through its own id, and never another partner's", async () => {
    const mine = await partnerWithKey()
    const theirs = await partnerWithKey()
    const own = await customerWithSignIns(mine.partner.id)
    const foreign = await customerWithSignIns(theirs.partner.id)

    const subtree = await expectJson<LogPage>(await read(mine.key, mine.partner.id))
    const orgIds = new Set(subtree.attempts.map((a) => a.organizationId))
    expect(orgIds).toEqual(new Set([own.customer.id]))

    for (const orgId of [theirs.partner.id, foreign.customer.id]) {
      expect((await expectJson(await read(mine.key, orgId), 404)).error.code).toBe('not_found')
    }
    // The ops key reads any organization's log.
    const ops = await expectJson<LogPage>(await read(undefined, theirs.partner.id))
    expect(ops.attempts.map((a) => a.account)).toContain(foreign.stranger.upn)
    expect((await read(null, own.customer.id)).status).toBe(401)
  })

  it('pages through a partner with more than 100 customers, 50 a page, nothing foreign', async () => {
    const CUSTOMERS = 130
    const big = await partnerWithKey('Big Partner')
    const other = await partnerWithKey('Other Partner')
    const now = Date.now()
    const tag = uniqueLabel('many')
    const ids = Array.from({ length: CUSTOMERS }, (_, i) => `org_${tag}${String(i).padStart(3, '0')}`)
    const attempt = (orgId: string, account: string) =>
      env.DB.prepare(
        "INSERT INTO sign_in_attempts (at, result, reason, step, hostname, org_id, account, correlation_id) VALUES (?, 'failure', 'not_listed', 'complete', ?, ?, ?, ?)",
      ).bind(now, `${tag}.${ZONE}`, orgId, account, crypto.randomUUID())
    await env.DB.batch([
      ...ids.map((id, i) =>
        env.DB.prepare(
          "INSERT INTO organizations (id, kind, parent_id, structure, name, created_at, updated_at) VALUES (?, 'customer', ?, 'flat', ?, ?, ?)",
        ).bind(id, big.partner.id, `Customer ${i}`, now, now),
      ),
      ...ids.map((id, i) => attempt(id, `user${i}.${tag}@contoso.example`)),
      attempt(other.partner.id, `foreign.${tag}@contoso.example`),
    ])

    const seen = new Set<string>()
    let cursor: string | null = null
    let pages = 0
    do {
      const page: LogPage = await expectJson(
        await read(big.key, big.partner.id, `?hostname=${tag}.${ZONE}${cursor ? `&cursor=${cursor}` : ''}`),
      )
      expect(page.attempts.length).toBeLessThanOrEqual(50)
      for (const a of page.attempts) {
        expect(a.organizationId).not.toBe(other.partner.id)
        seen.add(a.account!)
      }
      cursor = page.nextCursor
      pages++
    } while (cursor && pages < 10)
    expect(pages).toBe(3)
    expect(seen.size).toBe(CUSTOMERS)
  }, 60_000)

  it('is in the OpenAPI document with its filters', async () => {
    const doc = await (await SELF.fetch(`https://${PRIMARY}/api/v1/openapi.json`)).json<any>()
    const operation = doc.paths['/orgs/{id}/sign-in-attempts'].get
    expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual([
      'id',
      'result',
      'reason',
      'hostname',
      'q',
      'cursor',
    ])
  })
})
