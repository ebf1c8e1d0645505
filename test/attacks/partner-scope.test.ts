/**
 * Review of the reshape, as a hostile partner holding a partner key: every
 * route that test/api/scope.test.ts does not cover, the list endpoints now
 * scoped by a SQL subquery (src/access/scope.ts inSubtree), and query strings
 * now parsed by zod (a repeated parameter counts once, its first value).
 * Safe behaviour: anything of partner B answers 404 `not_found` to A's key,
 * exactly like an id that does not exist, and no list carries B's rows.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { api, apiJson, createCustomer, createPartner, newTenantId, putList, uniqueLabel, ZONE } from '../fixtures'

interface World {
  aKey: string
  a: string
  aNested: string
  aFlat: string
  aPs: string
  b: string
  bCustomer: string
  bNested2: string
  bPs: string
  bHost: string
  bKeyId: string
}

let w: World

beforeAll(async () => {
  const a = await createPartner('Review A')
  const b = await createPartner('Review B')
  const aNested = await createCustomer(a.id, { name: 'A nested', structure: 'nested' })
  const aFlat = await createCustomer(a.id, { name: 'A flat', structure: 'flat' })
  const bCustomer = await createCustomer(b.id, { name: 'B customer', structure: 'nested' })
  const bNested2 = await createCustomer(b.id, { name: 'B customer 2', structure: 'flat' })
  const ps = async (orgId: string) =>
    (
      await apiJson(
        'POST',
        `/orgs/${orgId}/phone-systems`,
        {
          name: 'PS',
          webClientUrl: 'https://p.example/',
          handoffUrl: 'https://p.example/h',
          entraTenantId: newTenantId(),
        },
        201,
      )
    ).id as string
  const bHost = `${uniqueLabel('rb')}.${ZONE}`
  await apiJson('POST', `/orgs/${bCustomer.id}/hostnames`, { hostname: bHost }, 201)
  const bPs = await ps(bCustomer.id)
  await putList(bPs, [{ upn: 'b.secret.user@b-customer.example', displayName: 'B Secret User' }])
  // B's customer has its own integration: A must not even learn that it exists.
  await apiJson('PUT', `/orgs/${bCustomer.id}/microsoft-integration`, {
    clientId: crypto.randomUUID(),
    clientSecret: 'b-portal-secret-never-shown',
    homeTenantId: newTenantId(),
  })
  const bKey = await apiJson('POST', `/orgs/${b.id}/api-keys`, { label: 'b' }, 201)
  // A change made with B's key, so the audit log has a `key:` actor of B.
  await api('PATCH', `/orgs/${bCustomer.id}`, { name: 'B customer renamed' }, { key: bKey.key })
  const aKey = await apiJson('POST', `/orgs/${a.id}/api-keys`, { label: 'a' }, 201)
  w = {
    aKey: aKey.key,
    a: a.id,
    aNested: aNested.id,
    aFlat: aFlat.id,
    aPs: await ps(aNested.id),
    b: b.id,
    bCustomer: bCustomer.id,
    bNested2: bNested2.id,
    bPs,
    bHost,
    bKeyId: bKey.id,
  }
})

function asA(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  return api(method, path, body, { key: w.aKey, ...(headers ? { headers } : {}) })
}

async function expectNotFound(res: Response) {
  const text = await res.text()
  expect(res.status, text).toBe(404)
  expect(JSON.parse(text).error.code).toBe('not_found')
  expect(text).not.toContain('B customer')
  expect(text).not.toContain('b-portal-secret')
}

describe("review: a partner key against another partner's subtree", () => {
  it.each<[string, string, (w: World) => string, ((w: World) => unknown)?]>([
    ['GET', 'phone systems of B customer', (w) => `/orgs/${w.bCustomer}/phone-systems`],
    ['GET', 'phone systems of B', (w) => `/orgs/${w.b}/phone-systems`],
    ['PATCH', "B's phone system", (w) => `/phone-systems/${w.bPs}`, () => ({ handoffUrl: 'https://evil.example/h' })],
    ['POST', "sync of B's phone system", (w) => `/phone-systems/${w.bPs}/sync`],
    ['GET', "B customer's Microsoft integration", (w) => `/orgs/${w.bCustomer}/microsoft-integration`],
    [
      'PUT',
      "B customer's Microsoft integration",
      (w) => `/orgs/${w.bCustomer}/microsoft-integration`,
      () => ({ clientId: crypto.randomUUID(), clientSecret: 'x', homeTenantId: crypto.randomUUID() }),
    ],
    ['DELETE', "B customer's Microsoft integration", (w) => `/orgs/${w.bCustomer}/microsoft-integration`],
    ['PATCH', "B's hostname (to direct)", (w) => `/hostnames/${w.bHost}`, () => ({ callbackMode: 'direct' })],
    [
      'PATCH',
      "B's hostname (upper case, trailing dot)",
      (w) => `/hostnames/${w.bHost.toUpperCase()}.`,
      () => ({ callbackMode: 'direct' }),
    ],
    ['GET', "B's hostname (upper case)", (w) => `/hostnames/${w.bHost.toUpperCase()}`],
    ['GET', "B's hostnames", (w) => `/orgs/${w.b}/hostnames`],
    [
      'POST',
      "B's phone system under B's flat customer",
      (w) => `/orgs/${w.bNested2}/phone-systems`,
      () => ({
        name: 'X',
        webClientUrl: 'https://x.example/',
        handoffUrl: 'https://x.example/h',
        entraTenantId: crypto.randomUUID(),
      }),
    ],
    ['GET', "B's api keys", (w) => `/orgs/${w.b}/api-keys`],
    ['GET', 'audit log of B customer', (w) => `/audit-log?orgId=${w.bCustomer}`],
    ['GET', 'audit log: own org first, then B', (w) => `/audit-log?orgId=${w.bCustomer}&orgId=${w.a}`],
  ])('%s %s -> 404', async (method, _what, path, body) => {
    await expectNotFound(await asA(method, path(w), body?.(w)))
  })

  it("B's phone system is unchanged after A's attempts", async () => {
    const ps = await apiJson('GET', `/phone-systems/${w.bPs}`)
    expect(ps.handoffUrl).toBe('https://p.example/h')
    const host = await apiJson('GET', `/hostnames/${w.bHost}`)
    expect(host.callbackMode).toBe('central')
    expect((await api('GET', `/orgs/${w.bCustomer}/microsoft-integration`)).status).toBe(200)
  })

  it('GET /orgs?parentId=B answers no organization of B (and the same as for an unknown id)', async () => {
    const res = await asA('GET', `/orgs?parentId=${w.b}`)
    expect(res.status).toBe(200)
    const unknown = await asA('GET', '/orgs?parentId=org_doesnotexist')
    expect(await res.json()).toEqual(await unknown.json())
  })

  it('GET /orgs with a repeated parentId (own first, then B) lists A only', async () => {
    const res = await asA('GET', `/orgs?parentId=${w.a}&parentId=${w.b}`)
    expect(res.status).toBe(200)
    const { orgs } = await res.json<any>()
    const ids = orgs.map((o: any) => o.id)
    expect(ids).not.toContain(w.bCustomer)
    expect(ids).not.toContain(w.bNested2)
    expect(ids.sort()).toEqual([w.aNested, w.aFlat].sort())
  })

  it('GET /orgs?parentId= (partners only) lists A itself, not B', async () => {
    const { orgs } = await (await asA('GET', '/orgs?parentId=')).json<any>()
    expect(orgs.map((o: any) => o.id)).toEqual([w.a])
  })

  it("the audit log without orgId holds nothing of B, whatever the filters (actor of B's key, B's actions)", async () => {
    for (const query of [
      '?limit=500',
      `?actor=key:${w.bKeyId}`,
      '?action=organization.update&limit=500',
      '?action=microsoft_integration.create&limit=500',
      '?action=sso_list.replace&limit=500',
      '?actor=ops&limit=500',
      '?since=1970-01-01T00:00:00Z&limit=500',
    ]) {
      const res = await asA('GET', `/audit-log${query}`)
      const text = await res.text()
      expect(res.status, `${query}: ${text}`).toBe(200)
      const { entries } = JSON.parse(text)
      for (const e of entries) expect([w.a, w.aNested, w.aFlat]).toContain(e.organizationId)
      expect(text).not.toContain(w.bCustomer)
      expect(text).not.toContain(w.bPs)
      expect(text).not.toContain(w.bHost)
    }
  })

  it('pages of the audit log (cursor) never leave the subtree', async () => {
    let cursor: string | null = null
    let seen = 0
    do {
      const res: Response = await asA('GET', `/audit-log?limit=1${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.status).toBe(200)
      const page: any = await res.json()
      for (const e of page.entries) expect([w.a, w.aNested, w.aFlat]).toContain(e.organizationId)
      seen += page.entries.length
      cursor = page.nextCursor
    } while (cursor && seen < 50)
    expect(seen).toBeGreaterThan(0)
  })

  it('a body that is invalid answers the same for a foreign id and an unknown id (no existence oracle)', async () => {
    const bad = { name: '' }
    const foreign = await asA('PATCH', `/orgs/${w.bCustomer}`, bad)
    const unknown = await asA('PATCH', '/orgs/org_doesnotexist', bad)
    expect(foreign.status).toBe(unknown.status)
    const f = await foreign.json<any>()
    const u = await unknown.json<any>()
    expect(f.error.code).toBe(u.error.code)
  })
})
