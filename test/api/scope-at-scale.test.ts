/**
 * Subtree scope holds past D1's 100 bound parameters (ARCHITECTURE §8): a partner
 * with 150 customers (flat and nested) reads every list endpoint with its own
 * key, and sees all of its subtree and nothing of another partner's. A scope
 * written as a bound `IN (?, ?, …)` list answers 500 here ("too many SQL
 * variables").
 */
import { env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { allowedTenantsOf } from '../../src/oidc/clients'
import { api, apiJson, createCustomer, createPartner, expectJson, partnerWithKey, uniqueLabel, ZONE } from '../fixtures'

const CUSTOMERS = 150

let partner: { id: string }
let key: string
let customerIds: string[]
let otherPartnerId: string

beforeAll(async () => {
  ;({ partner, key } = await partnerWithKey('Big Partner'))
  customerIds = []
  for (let i = 0; i < CUSTOMERS; i++) {
    const customer = await createCustomer(partner.id, {
      name: `Customer ${i}`,
      structure: i % 2 === 1 ? 'nested' : 'flat',
    })
    customerIds.push(customer.id)
  }
  // One hostname and one phone system on the last customer, so its lists are not empty.
  const last = customerIds.at(-1)!
  await apiJson('POST', `/orgs/${last}/hostnames`, { hostname: `${uniqueLabel('big')}.${ZONE}` }, 201)
  await apiJson(
    'POST',
    `/orgs/${last}/phone-systems`,
    {
      name: 'HQ',
      webClientUrl: 'https://pbx.example/wc',
      handoffUrl: 'https://pbx.example/sso',
      entraTenantId: crypto.randomUUID(),
    },
    201,
  )
  const other = await createPartner('Other Partner')
  otherPartnerId = other.id
  await createCustomer(other.id, { name: 'Not yours' })
}, 120_000)

const asPartner = (path: string) => api('GET', path, undefined, { key })

describe(`a partner with ${CUSTOMERS} customers`, () => {
  it('GET /orgs lists the partner and every customer, and nothing of another partner', async () => {
    const { orgs } = await expectJson<{ orgs: { id: string; parentId: string | null }[] }>(await asPartner('/orgs'))
    const ids = new Set(orgs.map((org) => org.id))
    expect(ids.size).toBe(CUSTOMERS + 1)
    expect(ids.has(partner.id)).toBe(true)
    for (const id of customerIds) expect(ids.has(id)).toBe(true)
    expect(ids.has(otherPartnerId)).toBe(false)
  })

  it('GET /orgs?parentId= lists the customers of the partner', async () => {
    const { orgs } = await expectJson<{ orgs: unknown[] }>(await asPartner(`/orgs?parentId=${partner.id}`))
    expect(orgs).toHaveLength(CUSTOMERS)
  })

  it('GET /audit-log pages through the whole subtree, newest first, none of it foreign', async () => {
    const seen = new Set<string>()
    let cursor: string | null = null
    let pages = 0
    do {
      const page: { entries: { organizationId: string | null }[]; nextCursor: string | null } = await expectJson(
        await asPartner(`/audit-log?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
      )
      for (const entry of page.entries) {
        expect(entry.organizationId).not.toBe(otherPartnerId)
        if (entry.organizationId) seen.add(entry.organizationId)
      }
      cursor = page.nextCursor
      pages++
    } while (cursor && pages < 20)
    for (const id of customerIds) expect(seen.has(id), id).toBe(true)
  })

  it('GET /audit-log filtered to one customer answers its entries', async () => {
    const last = customerIds.at(-1)!
    const page = await expectJson<{ entries: { organizationId: string }[] }>(
      await asPartner(`/audit-log?orgId=${last}`),
    )
    expect(page.entries.length).toBeGreaterThanOrEqual(3)
    expect(page.entries.every((entry) => entry.organizationId === last)).toBe(true)
  })

  it("the last customer's hostnames, phone systems and keys lists answer", async () => {
    const last = customerIds.at(-1)!
    expect(
      (await expectJson<{ hostnames: unknown[] }>(await asPartner(`/orgs/${last}/hostnames`))).hostnames,
    ).toHaveLength(1)
    expect(
      (await expectJson<{ phoneSystems: unknown[] }>(await asPartner(`/orgs/${last}/phone-systems`))).phoneSystems,
    ).toHaveLength(1)
    expect((await asPartner(`/orgs/${partner.id}/api-keys`)).status).toBe(200)
  })

  it('the allowed tenants of 150 portals are read in one query (a user listed across many portals)', async () => {
    const allowed = await allowedTenantsOf(env.DB, [...customerIds, partner.id])
    expect(allowed.size).toBe(0)
  })

  it("another partner's customer is still a 404 for this key", async () => {
    const res = await asPartner(`/orgs/${otherPartnerId}`)
    expect(res.status).toBe(404)
  })
})
