/**
 * Property-based fuzzing of the admin API (fast-check, fixed seed).
 *
 * Requests are generated from the API's own OpenAPI document
 * (`GET /api/v1/openapi.json`): every declared route and method, plus odd
 * methods and paths nobody declared; path parameters naming objects that
 * exist (in and outside the key's subtree) or hostile strings; random query
 * strings; bodies built from the route's request schema (valid, or with one
 * field of the wrong type, an unknown field, a missing one) or not JSON at
 * all; content types and authorization values of every kind.
 *
 * Every answer, whatever the request:
 * - is below 500, except the upstream failures the API documents (a 502/503/504
 *   whose JSON code is `graph_*`, `cloudflare_*` or `sync_*`): never a 500;
 * - carries no stack trace, no runtime or driver error text, no secret;
 * - when it is a 4xx under /api/v1/: is JSON `{"error": {"code", "message", "field"?}}`;
 * - when it is a 4xx: left D1 exactly as it was (see d1-digest.ts for the
 *   one column excluded, api_keys.last_used_at, and why).
 */
import { SELF } from 'cloudflare:test'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { TEST_ADMIN_KEY } from '../bindings'
import {
  apiJson,
  createCustomer,
  createPartner,
  dbAll,
  PRIMARY,
  partnerWithKey,
  putList,
  uniqueLabel,
  ZONE,
} from '../fixtures'
import {
  anyMethod,
  contentType,
  expectApiError,
  expectNoLeak,
  headerSafe,
  hostileString,
  ODD_METHODS,
  pathSegmentFrom,
  queryString,
  randomBody,
  runs,
  SEED,
  STANDARD_METHODS,
  safeEncode,
  takesBody,
} from './arbitraries'
import { changedTables, d1Digest } from './d1-digest'

const NUM_RUNS = 250

// ---------------------------------------------------------------- the world the requests meet

type Pool = 'org' | 'phoneSystem' | 'apiKey' | 'hostname' | 'tenant'

/** Objects that exist when a request is made; indexes into these are what the generators draw. */
interface World {
  org: string[]
  phoneSystem: string[]
  apiKey: string[]
  hostname: string[]
  tenant: string[]
  keys: { partnerA: string; partnerB: string; revoked: string }
  partnerA: string
  customerA: string
  partnerB: string
  customerB: string
}

let world: World

async function newPhoneSystem(orgId: string, tenant: string): Promise<string> {
  const ps = await apiJson(
    'POST',
    `/orgs/${orgId}/phone-systems`,
    {
      name: 'HQ',
      webClientUrl: 'https://pbx.example/wc',
      handoffUrl: 'https://pbx.example/sso',
      entraTenantId: tenant,
    },
    201,
  )
  return ps.id
}

async function newHostname(orgId: string): Promise<string> {
  const hostname = `${uniqueLabel('fz')}.${ZONE}`
  await apiJson('POST', `/orgs/${orgId}/hostnames`, { hostname }, 201)
  return hostname
}

async function seedWorld(): Promise<World> {
  const a = await partnerWithKey('Partner A')
  const b = await partnerWithKey('Partner B')
  const customerA = await createCustomer(a.partner.id, { name: 'Customer A' })
  const flatA = await createCustomer(a.partner.id, { name: 'Flat A', structure: 'flat' })
  const customerB = await createCustomer(b.partner.id, { name: 'Customer B' })
  const lone = await createPartner('Partner C')
  const revoked = await apiJson('POST', `/orgs/${a.partner.id}/api-keys`, { label: 'revoked' }, 201)
  await apiJson('DELETE', `/api-keys/${revoked.id}`)
  const [keyA] = await dbAll<{ id: string }>(
    'SELECT id FROM api_keys WHERE org_id = ? AND revoked_at IS NULL',
    a.partner.id,
  )
  const [keyB] = await dbAll<{ id: string }>('SELECT id FROM api_keys WHERE org_id = ?', b.partner.id)
  const tenants = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()]
  const psA = await newPhoneSystem(customerA.id, tenants[0]!)
  const psFlat = await newPhoneSystem(flatA.id, tenants[0]!)
  const psB = await newPhoneSystem(customerB.id, tenants[1]!)
  await putList(psA, [
    { oid: crypto.randomUUID(), upn: 'ann@contoso.example', displayName: 'Ann', extension: '100' },
    { upn: 'bob@contoso.example', email: 'bob@contoso.example', displayName: 'Bob', extension: '101' },
  ])
  return {
    org: [a.partner.id, customerA.id, flatA.id, b.partner.id, customerB.id, lone.id],
    phoneSystem: [psA, psFlat, psB],
    apiKey: [keyA!.id, keyB!.id, revoked.id],
    hostname: [await newHostname(customerA.id), await newHostname(customerB.id), await newHostname(a.partner.id)],
    tenant: tenants,
    keys: { partnerA: a.key, partnerB: b.key, revoked: revoked.key },
    partnerA: a.partner.id,
    customerA: customerA.id,
    partnerB: b.partner.id,
    customerB: customerB.id,
  }
}

/**
 * After a request that changed something: puts back what the fuzz relies on
 * (the partners' keys, the phone systems and the hostnames), so a DELETE
 * drawn early does not turn every later request into a 404 or a 401.
 */
async function healWorld(): Promise<void> {
  const keys = await dbAll<{ id: string; revoked_at: number | null }>(
    'SELECT id, revoked_at FROM api_keys WHERE id IN (?, ?)',
    world.apiKey[0],
    world.apiKey[1],
  )
  for (const [slot, partner, i] of [
    ['partnerA', world.partnerA, 0],
    ['partnerB', world.partnerB, 1],
  ] as const) {
    if (keys.find((k) => k.id === world.apiKey[i])?.revoked_at === null) continue
    const issued = await apiJson('POST', `/orgs/${partner}/api-keys`, {}, 201)
    world.keys[slot] = issued.key
    world.apiKey[i] = issued.id
  }
  const owners = [world.customerA, world.org[2]!, world.customerB]
  for (const [i, id] of world.phoneSystem.entries()) {
    const [row] = await dbAll('SELECT id FROM phone_systems WHERE id = ?', id)
    if (!row) world.phoneSystem[i] = await newPhoneSystem(owners[i]!, crypto.randomUUID())
  }
  const hostOwners = [world.customerA, world.customerB, world.partnerA]
  for (const [i, hostname] of world.hostname.entries()) {
    const [row] = await dbAll('SELECT hostname FROM hostnames WHERE hostname = ?', hostname)
    if (!row) world.hostname[i] = await newHostname(hostOwners[i]!)
  }
}

// ---------------------------------------------------------------- requests, as data

/** A reference to an object of the world, resolved when the request is made. */
class Ref {
  constructor(
    readonly pool: Pool,
    readonly index: number,
  ) {}
  resolve(): string {
    const pool = world[this.pool]
    return pool[this.index % pool.length]!
  }
  toString() {
    return `<${this.pool}#${this.index}>`
  }
}

type Auth = { kind: 'none' } | { kind: 'ops' | 'partnerA' | 'partnerB' | 'revoked' } | { kind: 'raw'; value: string }

type Body =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  /** A JSON object with one field written as a literal JSON.stringify cannot write (1e999, a 30-digit integer, -0…). */
  | { kind: 'literal'; value: Record<string, unknown>; key: string; literal: string }
  | { kind: 'text'; text: string; type: string | undefined }

interface AdminRequest {
  method: string
  /** The path below /api/v1, its parameters as references or raw (already encoded) segments. */
  path: Array<string | Ref>
  query: string
  auth: Auth
  /** `auto`: the type that matches the body (application/json for a JSON body). */
  contentType: string | undefined | 'auto'
  body: Body
}

interface Operation {
  method: string
  path: string
  parameters: Array<{ name: string; in: 'path' | 'query'; schema: JsonSchema }>
  body?: JsonSchema
}

interface JsonSchema {
  type?: string | string[]
  enum?: unknown[]
  const?: unknown
  anyOf?: JsonSchema[]
  pattern?: string
  minLength?: number
  maxLength?: number
  maxItems?: number
  items?: JsonSchema
  properties?: Record<string, JsonSchema>
  required?: string[]
}

const ref = (pool: Pool) => fc.nat({ max: 7 }).map((i) => new Ref(pool, i))

/** Ids that look real but name nothing. */
const unknownId = fc
  .constantFrom('org', 'ps', 'key', 'cl')
  .chain((prefix) => fc.stringMatching(/^[0-9a-z]{20}$/).map((tail) => `${prefix}_${tail}`))

/** Hostnames: ours, ours respelled, made up, and things that are no hostname at all. */
const hostnameValue: fc.Arbitrary<string | Ref> = fc.oneof(
  { arbitrary: ref('hostname'), weight: 4 },
  {
    arbitrary: fc
      .tuple(ref('hostname'), fc.constantFrom('upper', 'dot', 'port', 'space', 'scheme', 'sub'))
      .map(([r, how]) => ({ r, how }))
      .map(({ r, how }) => new Respelled(r, how)),
    weight: 2,
  },
  { arbitrary: fc.domain(), weight: 2 },
  {
    arbitrary: fc.constantFrom(
      PRIMARY,
      `www.${ZONE}`,
      `api.${ZONE}`,
      `a.b.${ZONE}`,
      '*.localhost',
      '127.0.0.1',
      '[::1]',
      'xn--ls8h.localhost',
      'ß.localhost',
      '☃.localhost',
      'localhost',
      `${'a'.repeat(64)}.localhost`,
      `${'a.'.repeat(130)}localhost`,
    ),
    weight: 2,
  },
  { arbitrary: hostileString, weight: 2 },
)

/** An existing hostname as someone might retype it. */
class Respelled extends Ref {
  constructor(
    readonly base: Ref,
    readonly how: string,
  ) {
    super(base.pool, base.index)
  }
  override resolve(): string {
    const h = this.base.resolve()
    switch (this.how) {
      case 'upper':
        return h.toUpperCase()
      case 'dot':
        return `${h}.`
      case 'port':
        return `${h}:443`
      case 'space':
        return ` ${h} `
      case 'scheme':
        return `https://${h}`
      default:
        return `x.${h}`
    }
  }
  override toString() {
    return `<${this.how}(${this.base})>`
  }
}

function idValue(natural: Pool): fc.Arbitrary<string | Ref> {
  const others = (['org', 'phoneSystem', 'apiKey'] as const).filter((p) => p !== natural)
  return fc.oneof(
    { arbitrary: ref(natural), weight: 5 },
    { arbitrary: fc.constantFrom(...others).chain(ref), weight: 1 },
    { arbitrary: unknownId, weight: 1 },
    { arbitrary: hostileString, weight: 3 },
  )
}

function naturalPool(path: string): Pool {
  if (path.startsWith('/phone-systems')) return 'phoneSystem'
  if (path.startsWith('/api-keys')) return 'apiKey'
  return 'org'
}

const tenantValue: fc.Arbitrary<string | Ref> = fc.oneof(
  { arbitrary: ref('tenant'), weight: 3 },
  { arbitrary: fc.uuid(), weight: 2 },
  { arbitrary: fc.uuid().map((u) => u.toUpperCase()), weight: 1 },
  { arbitrary: hostileString, weight: 2 },
)

/**
 * A value for a body field, from its schema (and its name, for the fields
 * that name objects). `clean`: what a careful client sends (the schema's
 * patterns and limits, objects that exist); `dirty`: anything goes now and then.
 */
function valueFor(schema: JsonSchema, name: string, clean: boolean): fc.Arbitrary<unknown> {
  if (['parentId', 'orgId'].includes(name)) return clean ? ref('org') : idValue('org')
  if (name === 'hostname') return clean ? fc.oneof(ref('hostname'), newHostnameValue) : hostnameValue
  if (['entraTenantId', 'homeTenantId'].includes(name)) return clean ? fc.oneof(ref('tenant'), fc.uuid()) : tenantValue
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => valueFor(s, name, clean)))
  if (schema.enum) return fc.constantFrom(...schema.enum)
  if (schema.const !== undefined) return fc.constant(schema.const)
  const types = Array.isArray(schema.type) ? schema.type : [schema.type ?? 'string']
  return fc.oneof(
    ...types.map((type): fc.Arbitrary<unknown> => {
      switch (type) {
        case 'null':
          return fc.constant(null)
        case 'boolean':
          return fc.boolean()
        case 'integer':
        case 'number':
          return fc.integer()
        case 'array':
          return fc.array(valueFor(schema.items ?? {}, `${name}[]`, clean), {
            maxLength: Math.min(schema.maxItems ?? 5, 5),
          })
        case 'object':
          return objectFor(schema, clean)
        default:
          return stringFor(schema, name, clean)
      }
    }),
  )
}

/** A hostname nobody has attached yet, one label below the zone (what a provider subdomain is). */
const newHostnameValue = fc.stringMatching(/^[a-z][a-z0-9]{3,20}$/).map((label) => `${label}.${ZONE}`)

function stringFor(schema: JsonSchema, name: string, clean: boolean): fc.Arbitrary<string> {
  const dirty = clean ? [] : [{ arbitrary: hostileString, weight: 1 }]
  if (/url$/i.test(name)) {
    return fc.oneof(
      { arbitrary: fc.webUrl({ validSchemes: ['https'] }), weight: 4 },
      ...(clean ? [] : [{ arbitrary: fc.webUrl({ validSchemes: ['http', 'javascript', 'data', 'ftp'] }), weight: 1 }]),
      ...dirty,
    )
  }
  if (schema.pattern) {
    return fc.oneof({ arbitrary: fc.stringMatching(new RegExp(schema.pattern)), weight: 4 }, ...dirty)
  }
  const max = Math.min(schema.maxLength ?? 60, 60)
  return fc.oneof(
    {
      arbitrary: clean
        ? fc.string({ unit: 'grapheme', minLength: Math.max(schema.minLength ?? 0, 1), maxLength: max })
        : fc.string({ minLength: schema.minLength ?? 0, maxLength: max }),
      weight: 4,
    },
    ...dirty,
    // One past the limit.
    ...(schema.maxLength && !clean ? [{ arbitrary: fc.constant('x'.repeat(schema.maxLength + 1)), weight: 1 }] : []),
  )
}

function objectFor(schema: JsonSchema, clean: boolean): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {}
  const model: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [key, property] of Object.entries(properties)) model[key] = valueFor(property, key, clean)
  return fc.record(model, { requiredKeys: (schema.required ?? []).filter((k) => k in properties) })
}

/** A body of the route's schema: a careful client's, one with one thing wrong, or no JSON at all. */
/** Numbers past what a double holds, or written as no JSON.stringify would write them. */
const NUMBER_LITERAL = fc.constantFrom(
  '1e999',
  '-1e999',
  '1e-999',
  '123456789012345678901234567890',
  '9007199254740993',
  '-0',
  '0.1e1',
  '1E2',
  '4294967296',
  '-2147483649',
)

function bodyFor(schema: JsonSchema): fc.Arbitrary<Body> {
  const keys = Object.keys(schema.properties ?? {})
  const wrongValue = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(null, 0, -1, 1.5, true, [], {}, '', '\u0000', 'x'.repeat(5000), { $ref: '#' }),
  )
  const mutated = fc
    .tuple(
      objectFor(schema, true),
      fc.constantFrom('wrong-type', 'unknown-field', 'missing-field', 'not-an-object'),
      wrongValue,
    )
    .chain(([body, how, value]) => {
      switch (how) {
        case 'wrong-type':
          return fc.constantFrom(...keys).map((key) => ({ ...body, [key]: value }))
        case 'unknown-field':
          return hostileString.map((key) => ({ ...body, [key]: value }))
        case 'missing-field':
          return fc.constantFrom(...keys).map((key) => {
            const { [key]: _, ...rest } = body
            return rest
          })
        default:
          return fc.constant(value)
      }
    })
  return fc.oneof(
    { arbitrary: objectFor(schema, true).map((value): Body => ({ kind: 'json', value })), weight: 5 },
    { arbitrary: objectFor(schema, false).map((value): Body => ({ kind: 'json', value })), weight: 3 },
    { arbitrary: mutated.map((value): Body => ({ kind: 'json', value })), weight: 3 },
    ...(keys.length
      ? [
          {
            arbitrary: fc
              .tuple(objectFor(schema, true), fc.constantFrom(...keys), NUMBER_LITERAL)
              .map(([value, key, literal]): Body => ({ kind: 'literal', value, key, literal })),
            weight: 1,
          },
        ]
      : []),
    { arbitrary: randomBody.map((b): Body => ({ kind: 'text', ...b })), weight: 1 },
    { arbitrary: fc.constant<Body>({ kind: 'none' }), weight: 1 },
  )
}

const anyBody: fc.Arbitrary<Body> = fc.oneof(
  { arbitrary: fc.constant<Body>({ kind: 'none' }), weight: 3 },
  { arbitrary: randomBody.map((b): Body => ({ kind: 'text', ...b })), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value): Body => ({ kind: 'json', value })), weight: 1 },
)

const auth: fc.Arbitrary<Auth> = fc.oneof(
  { arbitrary: fc.constantFrom<Auth>({ kind: 'ops' }, { kind: 'partnerA' }, { kind: 'partnerB' }), weight: 8 },
  { arbitrary: fc.constantFrom<Auth>({ kind: 'none' }, { kind: 'revoked' }), weight: 2 },
  {
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          'Bearer  ',
          'bearer sgk_',
          `bearer ${TEST_ADMIN_KEY}`,
          `BEARER ${TEST_ADMIN_KEY}`,
          `Bearer ${TEST_ADMIN_KEY} `,
          `Bearer ${TEST_ADMIN_KEY}x`,
          `Bearer ${TEST_ADMIN_KEY.slice(0, -1)}`,
          `Bearer  ${TEST_ADMIN_KEY}`,
          `Basic ${btoa(`ops:${TEST_ADMIN_KEY}`)}`,
          `Token ${TEST_ADMIN_KEY}`,
          TEST_ADMIN_KEY,
          `Bearer ${'x'.repeat(513)}`,
          `Bearer sgk_${'A'.repeat(43)}`,
          `Bearer ${TEST_ADMIN_KEY}, Bearer sgk_x`,
          'Bearer %00',
          'Bearer é',
        ),
        hostileString.map((s) => `Bearer ${s}`),
        hostileString,
      )
      .map((value): Auth => ({ kind: 'raw', value: headerSafe(value) })),
    weight: 2,
  },
)

/** A request to a declared route: its method (mostly), its parameters, a body of its schema. */
function declaredRequest(op: Operation): fc.Arbitrary<AdminRequest> {
  const segments = op.path
    .split('/')
    .slice(1)
    .map((segment): fc.Arbitrary<string | Ref> => {
      const param = /^\{(.+)\}$/.exec(segment)?.[1]
      if (!param) return fc.constant(segment)
      const value = param === 'hostname' ? hostnameValue : param === 'tid' ? tenantValue : idValue(naturalPool(op.path))
      return value.chain((v) => (v instanceof Ref ? fc.constant<string | Ref>(v) : pathSegmentFrom(fc.constant(v))))
    })
  const queryNames = op.parameters.filter((p) => p.in === 'query').map((p) => p.name)
  return fc.record({
    method: fc.oneof(
      { arbitrary: fc.constant(op.method), weight: 6 },
      { arbitrary: fc.constantFrom(...STANDARD_METHODS, ...ODD_METHODS), weight: 1 },
    ),
    path: fc
      .tuple(
        fc.tuple(...segments),
        fc.oneof({ arbitrary: fc.constant(null), weight: 8 }, pathSegmentFrom(hostileString)),
      )
      .map(([path, extra]): Array<string | Ref> => (extra === null ? [...path] : [...path, extra])),
    query: queryString(queryNames.length ? queryNames : ['parentId', 'q']),
    auth,
    contentType: fc.oneof({ arbitrary: fc.constant<'auto'>('auto'), weight: 8 }, { arbitrary: contentType, weight: 1 }),
    body: op.body ? bodyFor(op.body) : anyBody,
  })
}

/** A request to a path nobody declared. */
const undeclaredRequest: fc.Arbitrary<AdminRequest> = fc.record({
  method: anyMethod,
  path: fc.array<string | Ref>(
    fc.oneof<fc.Arbitrary<string | Ref>[]>(
      fc.constantFrom(
        'orgs',
        'phone-systems',
        'hostnames',
        'api-keys',
        'tenants',
        'audit-log',
        'openapi.json',
        '..',
        '.',
        '',
      ),
      pathSegmentFrom(hostileString),
      ref('org'),
    ),
    { maxLength: 5 },
  ),
  query: queryString(['parentId', 'q']),
  auth,
  contentType: fc.oneof({ arbitrary: fc.constant<'auto'>('auto'), weight: 2 }, { arbitrary: contentType, weight: 1 }),
  body: anyBody,
})

function resolveBody(value: unknown): unknown {
  if (value instanceof Ref) return value.resolve()
  if (Array.isArray(value)) return value.map(resolveBody)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveBody(v)]))
  }
  return value
}

function authorization(a: Auth): string | null {
  switch (a.kind) {
    case 'none':
      return null
    case 'ops':
      return `Bearer ${TEST_ADMIN_KEY}`
    case 'raw':
      return a.value
    default:
      return `Bearer ${world.keys[a.kind]}`
  }
}

/** The request as fetch sends it, or null when fetch itself would refuse it (not the gateway's concern). */
function toRequest(r: AdminRequest): Request | null {
  const path = r.path.map((s) => (s instanceof Ref ? safeEncode(s.resolve()) : s)).join('/')
  const url = `https://${PRIMARY}/api/v1/${path}${r.query}`
  const headers = new Headers()
  const key = authorization(r.auth)
  if (key !== null) headers.set('authorization', key)
  let body: string | undefined
  let type: string | undefined
  if (r.body.kind === 'json') {
    body = JSON.stringify(resolveBody(r.body.value)) ?? 'null'
    type = 'application/json'
  } else if (r.body.kind === 'literal') {
    const marker = '\u0000literal\u0000'
    const text = JSON.stringify({ ...(resolveBody(r.body.value) as object), [r.body.key]: marker })
    body = text.replace(JSON.stringify(marker), r.body.literal)
    type = 'application/json'
  } else if (r.body.kind === 'text') {
    body = r.body.text
    type = r.body.type
  }
  const sentType = r.contentType === 'auto' ? type : r.contentType
  if (sentType !== undefined) headers.set('content-type', sentType)
  try {
    return new Request(url, {
      method: r.method,
      headers,
      body: takesBody(r.method) ? body : undefined,
      redirect: 'manual',
    })
  } catch {
    return null
  }
}

/** The upstream failures the admin API answers on purpose (README "Admin API"; src/errors.ts). */
const UPSTREAM_CODE = /^(graph|cloudflare|sync)_/

function describeRequest(req: Request, r: AdminRequest): string {
  return `${req.method} ${req.url} auth=${r.auth.kind} content-type=${req.headers.get('content-type')}`
}

// ---------------------------------------------------------------- the property

describe('fuzz: the admin API', () => {
  let operations: Operation[]

  beforeAll(async () => {
    world = await seedWorld()
    const doc = await (await SELF.fetch(`https://${PRIMARY}/api/v1/openapi.json`)).json<any>()
    operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
      })),
    )
    expect(operations.length).toBeGreaterThan(20)
  })

  it('never answers 5xx or leaks, answers every 4xx as a JSON error, and a 4xx changes nothing in D1', async () => {
    const statuses = new Map<string, number>()
    const request = fc.oneof(
      { arbitrary: fc.constantFrom(...operations).chain(declaredRequest), weight: 9 },
      { arbitrary: undeclaredRequest, weight: 1 },
    )
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const req = toRequest(r)
        fc.pre(req !== null)
        const context = describeRequest(req!, r)
        const before = await d1Digest()
        const res = await SELF.fetch(req!)
        const text = await res.text()
        const after = await d1Digest()
        const pathname = new URL(req!.url).pathname
        const tally = `${r.auth.kind} ${r.method} ${r.path.map((x) => (x instanceof Ref ? `{${x.pool}}` : x.length > 12 ? '*' : x)).join('/')} ${res.status} ${text.slice(0, 200).match(/"message":"([^"]+)"/)?.[1] ?? ''}`
        statuses.set(tally, (statuses.get(tally) ?? 0) + 1)

        let json: any
        try {
          json = text ? JSON.parse(text) : undefined
        } catch {
          json = undefined
        }
        if (res.status >= 500) {
          // Only an upstream failure the API documents, as a JSON error with a correlation id; never a 500.
          expect(res.status, `${context}: ${res.status} ${text.slice(0, 500)}`).not.toBe(500)
          expect(UPSTREAM_CODE.test(json?.error?.code ?? ''), `${context}: ${res.status} ${text.slice(0, 500)}`).toBe(
            true,
          )
        }
        expectNoLeak(text, context)
        if (res.status >= 400 && res.status < 500 && pathname.startsWith('/api/v1/') && req!.method !== 'HEAD') {
          expectApiError(res, text, context)
        }
        // A 4xx changes nothing; a request without a valid key (none, or a revoked one) nothing whatever it is answered.
        if ((res.status >= 400 && res.status < 500) || r.auth.kind === 'none' || r.auth.kind === 'revoked') {
          expect(changedTables(before, after), `${context}: ${res.status} ${text.slice(0, 300)} changed D1`).toEqual([])
        }
        if (res.status < 300 && !['GET', 'HEAD'].includes(req!.method)) await healWorld()
      }),
      { seed: SEED, numRuns: runs(NUM_RUNS) },
    )
    console.log(
      'admin fuzz statuses\n' +
        [...statuses]
          .sort()
          .map(([k, n]) => `${n}\t${k}`)
          .join('\n'),
    )
  }, 600_000)
})
