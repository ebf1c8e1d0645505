/**
 * Every authorization rule of the admin API as a table of (key, resource,
 * action, expected status). Partner A's key reaches A and A's customers
 * (nested and flat); nothing of partner B, whose things answer 404 exactly as
 * if they did not exist. The ops key reaches everything.
 */
import { SELF } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { TEST_ADMIN_KEY } from '../bindings'
import { api, apiJson, createCustomer, createPartner, dbAll, PRIMARY, uniqueLabel, ZONE } from '../fixtures'

interface World {
  keys: Record<'ops' | 'a' | 'b' | 'revoked', string>
  ids: Record<string, string>
}

let world: World

async function keyFor(orgId: string): Promise<{ key: string; id: string }> {
  return apiJson('POST', `/orgs/${orgId}/api-keys`, { label: 'test' }, 201)
}

beforeAll(async () => {
  const a = await createPartner('Partner A')
  const b = await createPartner('Partner B')
  const aNested = await createCustomer(a.id, { name: 'A nested', structure: 'nested' })
  const aFlat = await createCustomer(a.id, { name: 'A flat', structure: 'flat' })
  const bCustomer = await createCustomer(b.id, { name: 'B customer' })
  // One tenant per partner subtree: a tenant connected in one subtree cannot be named in another.
  const tenants: Record<string, string> = {}
  const tenantOf = (subtree: string) => {
    tenants[subtree] ??= crypto.randomUUID()
    return tenants[subtree]
  }
  const ps = async (orgId: string, subtree: string) =>
    (
      await apiJson(
        'POST',
        `/orgs/${orgId}/phone-systems`,
        {
          name: 'PS',
          webClientUrl: 'https://p.example/',
          handoffUrl: 'https://p.example/h',
          entraTenantId: tenantOf(subtree),
        },
        201,
      )
    ).id
  const host = async (orgId: string) => {
    const hostname = `${uniqueLabel()}.${ZONE}`
    await apiJson('POST', `/orgs/${orgId}/hostnames`, { hostname }, 201)
    return hostname
  }
  const revoked = await keyFor(a.id)
  await apiJson('DELETE', `/api-keys/${revoked.id}`)
  const bKey = await keyFor(b.id)
  world = {
    keys: { ops: TEST_ADMIN_KEY, a: (await keyFor(a.id)).key, b: bKey.key, revoked: revoked.key },
    ids: {
      a: a.id,
      b: b.id,
      aNested: aNested.id,
      aFlat: aFlat.id,
      bCustomer: bCustomer.id,
      aPs: await ps(aNested.id, 'a'),
      aFlatPs: await ps(aFlat.id, 'a'),
      bPs: await ps(bCustomer.id, 'b'),
      aHost: await host(aNested.id),
      bHost: await host(bCustomer.id),
      bKeyId: bKey.id,
    },
  }
})

type Who = keyof World['keys']
type Action = [method: string, path: (ids: World['ids']) => string, body?: (ids: World['ids']) => unknown]

const ACTIONS: Record<string, Action> = {
  'read own partner': ['GET', (i) => `/orgs/${i.a}`],
  'read nested customer': ['GET', (i) => `/orgs/${i.aNested}`],
  'read flat customer': ['GET', (i) => `/orgs/${i.aFlat}`],
  'read other partner': ['GET', (i) => `/orgs/${i.b}`],
  "read other partner's customer": ['GET', (i) => `/orgs/${i.bCustomer}`],
  "rebrand other partner's customer": ['PATCH', (i) => `/orgs/${i.bCustomer}`, () => ({ name: 'Hijacked' })],
  'rebrand nested customer': ['PATCH', (i) => `/orgs/${i.aNested}`, () => ({ name: 'A nested' })],
  'create a partner': ['POST', () => '/orgs', () => ({ name: 'New partner', kind: 'partner' })],
  'create customer under own partner': [
    'POST',
    () => '/orgs',
    (i) => ({ name: 'New', kind: 'customer', parentId: i.a }),
  ],
  'create customer under other partner': [
    'POST',
    () => '/orgs',
    (i) => ({ name: 'New', kind: 'customer', parentId: i.b }),
  ],
  "list other partner's hostnames": ['GET', (i) => `/orgs/${i.bCustomer}/hostnames`],
  "read other partner's hostname": ['GET', (i) => `/hostnames/${i.bHost}`],
  "detach other partner's hostname": ['DELETE', (i) => `/hostnames/${i.bHost}`],
  "check other partner's hostname": ['POST', (i) => `/hostnames/${i.bHost}/check`],
  'read own hostname': ['GET', (i) => `/hostnames/${i.aHost}`],
  "attach to other partner's customer": [
    'POST',
    (i) => `/orgs/${i.bCustomer}/hostnames`,
    () => ({ hostname: `${uniqueLabel()}.${ZONE}` }),
  ],
  'attach to nested customer': [
    'POST',
    (i) => `/orgs/${i.aNested}/hostnames`,
    () => ({ hostname: `${uniqueLabel()}.${ZONE}` }),
  ],
  "read other partner's phone system": ['GET', (i) => `/phone-systems/${i.bPs}`],
  "read other partner's SSO list": ['GET', (i) => `/phone-systems/${i.bPs}/sso-users`],
  "replace other partner's SSO list": ['PUT', (i) => `/phone-systems/${i.bPs}/sso-users`, () => ({ users: [] })],
  "delete other partner's phone system": ['DELETE', (i) => `/phone-systems/${i.bPs}`],
  "create phone system for other partner's customer": [
    'POST',
    (i) => `/orgs/${i.bCustomer}/phone-systems`,
    () => ({
      name: 'X',
      webClientUrl: 'https://x.example/',
      handoffUrl: 'https://x.example/h',
      entraTenantId: crypto.randomUUID(),
    }),
  ],
  "read flat customer's SSO list": ['GET', (i) => `/phone-systems/${i.aFlatPs}/sso-users`],
  "replace nested customer's SSO list": ['PUT', (i) => `/phone-systems/${i.aPs}/sso-users`, () => ({ users: [] })],
  'issue key for itself': ['POST', (i) => `/orgs/${i.a}/api-keys`, () => ({})],
  'issue key for other partner': ['POST', (i) => `/orgs/${i.b}/api-keys`, () => ({})],
  "list other partner's keys": ['GET', (i) => `/orgs/${i.b}/api-keys`],
  "revoke other partner's key": ['DELETE', (i) => `/api-keys/${i.bKeyId}`],
  "read other partner's audit log": ['GET', (i) => `/audit-log?orgId=${i.b}`],
  'list organizations': ['GET', () => '/orgs'],
}

const TABLE: Array<[Who, keyof typeof ACTIONS, number]> = [
  ['a', 'read own partner', 200],
  ['a', 'read nested customer', 200],
  ['a', 'read flat customer', 200],
  ['a', 'read other partner', 404],
  ['a', "read other partner's customer", 404],
  ['a', "rebrand other partner's customer", 404],
  ['a', 'rebrand nested customer', 200],
  ['a', 'create a partner', 403],
  ['a', 'create customer under own partner', 201],
  ['a', 'create customer under other partner', 404],
  ['a', "list other partner's hostnames", 404],
  ['a', "read other partner's hostname", 404],
  ['a', "detach other partner's hostname", 404],
  ['a', "check other partner's hostname", 404],
  ['a', 'read own hostname', 200],
  ['a', "attach to other partner's customer", 404],
  ['a', 'attach to nested customer', 201],
  ['a', "read other partner's phone system", 404],
  ['a', "read other partner's SSO list", 404],
  ['a', "replace other partner's SSO list", 404],
  ['a', "delete other partner's phone system", 404],
  ['a', "create phone system for other partner's customer", 404],
  ['a', "read flat customer's SSO list", 200],
  ['a', "replace nested customer's SSO list", 200],
  ['a', 'issue key for itself', 201],
  ['a', 'issue key for other partner', 404],
  ['a', "list other partner's keys", 404],
  ['a', "revoke other partner's key", 404],
  ['a', "read other partner's audit log", 404],
  ['a', 'list organizations', 200],
  ['ops', 'read other partner', 200],
  ['ops', "read other partner's hostname", 200],
  ['ops', "read other partner's SSO list", 200],
  ['ops', 'create a partner', 201],
  ['ops', "read other partner's audit log", 200],
  ['revoked', 'read own partner', 401],
  ['revoked', 'list organizations', 401],
]

describe('admin API authorization table', () => {
  it.each(TABLE)('%s key: %s -> %i', async (who, action, expected) => {
    const [method, path, body] = ACTIONS[action]!
    const res = await api(method, path(world.ids), body?.(world.ids), { key: world.keys[who] })
    expect(res.status, await res.clone().text()).toBe(expected)
    if (expected === 404) {
      // Indistinguishable from a thing that does not exist.
      expect((await res.json<any>()).error.code).toBe('not_found')
    }
  })

  it("a partner's organization list holds its subtree and nothing else", async () => {
    const { orgs } = await (await api('GET', '/orgs', undefined, { key: world.keys.a })).json<any>()
    expect(orgs.map((o: any) => o.id).sort()).toEqual(
      expect.arrayContaining([world.ids.a, world.ids.aNested, world.ids.aFlat].sort()),
    )
    expect(orgs.map((o: any) => o.id)).not.toContain(world.ids.b)
    expect(orgs.map((o: any) => o.id)).not.toContain(world.ids.bCustomer)
  })

  it("a partner's audit log shows its subtree's changes only, with the key as actor", async () => {
    const res = await api('GET', '/audit-log?limit=500', undefined, { key: world.keys.a })
    const { entries } = await res.json<any>()
    const orgIds = new Set(entries.map((e: any) => e.organizationId))
    expect(orgIds.has(world.ids.b)).toBe(false)
    expect(orgIds.has(world.ids.bCustomer)).toBe(false)
    expect(entries.some((e: any) => e.actor.startsWith('key:') && e.action === 'organization.create')).toBe(true)
  })
})

describe('partner keys', () => {
  it('are shown once, stored only as a hash with a visible prefix, and record their last use', async () => {
    const partner = await createPartner()
    const created = await apiJson('POST', `/orgs/${partner.id}/api-keys`, { label: 'CI pipeline' }, 201)
    expect(created.key).toMatch(/^sgk_[A-Za-z0-9_-]{43}$/)
    expect(created.prefix).toBe(created.key.slice(0, 12))
    const [row] = await dbAll<any>('SELECT * FROM api_keys WHERE id = ?', created.id)
    expect(JSON.stringify(row)).not.toContain(created.key)
    expect(row.secret_hash).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(row.last_used_at).toBeNull()

    await api('GET', `/orgs/${partner.id}`, undefined, { key: created.key })
    const { apiKeys } = await apiJson('GET', `/orgs/${partner.id}/api-keys`)
    expect(apiKeys).toEqual([
      expect.objectContaining({
        id: created.id,
        prefix: created.prefix,
        label: 'CI pipeline',
        lastUsedAt: expect.any(String),
        revokedAt: null,
      }),
    ])
    expect(JSON.stringify(apiKeys)).not.toContain(created.key)
  })

  it('stop working the moment they are revoked, and the revocation is audited', async () => {
    const partner = await createPartner()
    const created = await apiJson('POST', `/orgs/${partner.id}/api-keys`, {}, 201)
    expect((await api('GET', `/orgs/${partner.id}`, undefined, { key: created.key })).status).toBe(200)
    const revoked = await apiJson('DELETE', `/api-keys/${created.id}`)
    expect(revoked.revokedAt).toEqual(expect.any(String))
    expect((await api('GET', `/orgs/${partner.id}`, undefined, { key: created.key })).status).toBe(401)
    expect(await dbAll('SELECT action FROM audit_log WHERE target_id = ? ORDER BY id', created.id)).toEqual([
      { action: 'api_key.create' },
      { action: 'api_key.revoke' },
    ])
  })

  it('can be asked for with no body at all', async () => {
    const partner = await createPartner()
    const res = await api('POST', `/orgs/${partner.id}/api-keys`)
    expect(res.status).toBe(201)
    expect((await res.json<any>()).key).toMatch(/^sgk_/)
  })

  it('are issued to partners only', async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const res = await api('POST', `/orgs/${customer.id}/api-keys`, {})
    expect(res.status).toBe(400)
    expect((await res.json<any>()).error.message).toContain('API keys are issued to partners')
  })

  it('a key that looks like a partner key but is not one is a 401', async () => {
    const res = await api('GET', '/orgs', undefined, { key: `sgk_${'A'.repeat(43)}` })
    expect(res.status).toBe(401)
  })
})

describe('GET /api/v1/openapi.json', () => {
  it('is a public OpenAPI 3.1 document with every implemented route', async () => {
    const res = await SELF.fetch(`https://${PRIMARY}/api/v1/openapi.json`)
    expect(res.status).toBe(200)
    const doc = await res.json<any>()
    expect(doc.openapi).toBe('3.1.0')
    const { adminApi } = await import('../../src/admin/index')
    const implemented = adminApi.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`)
    expect(implemented.length).toBeGreaterThan(15)
    const documented = Object.entries(doc.paths).flatMap(([path, ops]: [string, any]) =>
      Object.keys(ops).map((m) => `${m} ${path}`),
    )
    expect(documented.sort()).toEqual([...new Set(implemented)].sort())
  })

  it('describes request bodies with the same validators the routes use', async () => {
    const doc = await (await SELF.fetch(`https://${PRIMARY}/api/v1/openapi.json`)).json<any>()
    const attach = doc.paths['/orgs/{id}/hostnames'].post.requestBody.content['application/json'].schema
    expect(attach.required).toEqual(['hostname'])
    expect(attach.properties.callbackMode.enum).toEqual(['central', 'direct'])
    expect(attach.additionalProperties).toBe(false)
    const users = doc.paths['/phone-systems/{id}/sso-users'].put.requestBody.content['application/json'].schema
    expect(users.properties.users.maxItems).toBe(50_000)
  })
})
