/**
 * Property-based fuzzing of the public routes (fast-check, fixed seed):
 * `/`, `/sso/webclient`, `/sso/login`, `/sso/callback`, `/sso/complete`,
 * `/sso/choose`, `/connect/*`, `/.well-known/jwks.json`, `/healthz`, the
 * admin API without a key, and paths nobody declared; on the primary host,
 * a tenant host where sign-in works, one with no phone system, one still
 * being set up, unknown hosts and
 * things that are no hostname at all (IDN, ports, IP literals, very long,
 * http instead of https); with random methods, query parameters, cookies,
 * Origin / Sec-Fetch-Site / Content-Type headers and bodies (forms of
 * random fields, broken JSON, large).
 *
 * No request here holds anything that lets it write: no key, no state,
 * completion code, chooser token or connect link the gateway issued. Some
 * carry a genuine flow cookie (of a sign-in started on the primary or the
 * tenant host, sent to any host), which alone must not be enough. So,
 * whatever the request:
 * - the answer is below 500 (but the documented 503 pages of a host that is
 *   not ready: NOT_READY_PAGES), with no stack trace, no runtime or driver
 *   error text and no secret in its body;
 * - an answer of the admin API (primary host, /api/v1/) that is a 4xx is
 *   JSON `{"error": {"code", "message", "field"?}}`;
 * - D1 is exactly as it was (ARCHITECTURE §8: nothing anonymous reaches D1), 4xx or not.
 */
import { env, SELF } from 'cloudflare:test'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { FLOW_COOKIE, PRIMARY, seedSignInTenant, seedTenant, startLogin, uniqueLabel, ZONE } from '../fixtures'
import {
  anyMethod,
  contentType,
  expectApiError,
  expectNoLeak,
  headerSafe,
  hostileString,
  pathSegmentFrom,
  queryString,
  randomBody,
  runs,
  SEED,
  safeEncode,
  takesBody,
  wellFormed,
} from './arbitraries'
import { changedTables, d1Digest } from './d1-digest'

const NUM_RUNS = 300

interface Hosts {
  /** A customer's subdomain where sign-in works: a phone system, an Entra user on its list. */
  active: string
  /** A customer's subdomain with no phone system yet. */
  bare: string
  /** A custom domain still being set up. */
  pending: string
}

let hosts: Hosts

async function seedHosts(): Promise<Hosts> {
  const { hostname: active } = await seedSignInTenant()
  const { hostname: bare, customer } = await seedTenant()
  const pending = `${uniqueLabel('fz')}.fuzz-custom.example`
  const now = Date.now()
  await env.DB.prepare(
    "INSERT INTO hostnames (hostname, org_id, kind, status, callback_mode, created_at, updated_at) VALUES (?, ?, 'custom', 'pending', 'central', ?, ?)",
  )
    .bind(pending, customer.id, now, now)
    .run()
  return { active, bare, pending }
}

/**
 * The 5xx the public routes answer on purpose (src/errors.ts, test/journeys/pages.test.ts):
 * a host being set up, and a host whose organization has no phone system (connected) yet.
 * Each is a 503 page that says so; any other 5xx is a failure.
 */
const NOT_READY_PAGES = [
  'This domain is being set up',
  'Sign-in is not set up here yet',
  'Microsoft 365 is not connected yet',
]

// ---------------------------------------------------------------- hosts

type HostChoice = { kind: 'primary' | 'active' | 'bare' | 'pending' } | { kind: 'raw'; value: string }

/** The authority (host[:port]) of the request's URL, and its scheme. */
const host: fc.Arbitrary<{ scheme: 'https' | 'http'; host: HostChoice; port: string }> = fc.record({
  scheme: fc.oneof(
    { arbitrary: fc.constant<'https'>('https'), weight: 9 },
    { arbitrary: fc.constant<'http'>('http'), weight: 1 },
  ),
  host: fc.oneof(
    {
      arbitrary: fc.constantFrom<HostChoice>(
        { kind: 'primary' },
        { kind: 'active' },
        { kind: 'bare' },
        { kind: 'pending' },
      ),
      weight: 6,
    },
    {
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            PRIMARY.toUpperCase(),
            `${PRIMARY}.`,
            `www.${PRIMARY}`,
            `unknown.${ZONE}`,
            ZONE,
            'localhost',
            '127.0.0.1',
            '0x7f.1',
            '2130706433',
            '[::1]',
            '[::ffff:127.0.0.1]',
            'xn--ls8h.localhost',
            'xn--.localhost',
            'xn--a.localhost',
            '☃.localhost',
            'ß.localhost',
            'ＬＯＧＩＮ.localhost',
            'login\u3002localhost',
            'a_b.localhost',
            '-a.localhost',
            `${'a'.repeat(63)}.${ZONE}`,
            `${'a'.repeat(64)}.${ZONE}`,
            `${'a.'.repeat(126)}${ZONE}`,
            `${'a'.repeat(2000)}.${ZONE}`,
            'example.com',
          ),
          fc.domain(),
          hostileString.map((s) => safeEncode(s).toLowerCase()),
        )
        .map((value): HostChoice => ({ kind: 'raw', value })),
      weight: 4,
    },
  ),
  port: fc.oneof(
    { arbitrary: fc.constant(''), weight: 8 },
    { arbitrary: fc.constantFrom(':443', ':8443', ':0', ':65535', ':'), weight: 1 },
  ),
})

function hostValue(choice: HostChoice): string {
  switch (choice.kind) {
    case 'primary':
      return PRIMARY
    case 'active':
      return hosts.active
    case 'bare':
      return hosts.bare
    case 'pending':
      return hosts.pending
    default:
      return choice.value
  }
}

// ---------------------------------------------------------------- paths and query strings

/** What a sealed value (JWE compact) looks like, without being one the gateway sealed. */
const sealedLookalike = fc
  .array(fc.base64String({ maxLength: 60 }), { minLength: 5, maxLength: 5 })
  .map((parts) => parts.map((p) => p.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')).join('.'))

const token = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
  sealedLookalike,
  hostileString.map(safeEncode),
  fc.constantFrom('callback', 'callback/', '..', '%2e%2e', 'a/b', 'x'.repeat(5000)),
)

const PUBLIC_PATHS = [
  '/',
  '/sso/webclient',
  '/sso/login',
  '/sso/callback',
  '/sso/complete',
  '/sso/choose',
  '/connect/callback',
  '/.well-known/jwks.json',
  '/healthz',
  '/api/v1/openapi.json',
  '/api/v1/orgs',
  '/api/v1/audit-log',
]

/** The routes' own methods: what a browser (or Entra) sends to each. */
const ROUTES: Array<[string, string]> = [
  ...PUBLIC_PATHS.map((p): [string, string] => ['GET', p]),
  ['POST', '/sso/choose'],
  ['POST', '/api/v1/orgs'],
]

/** A path: a declared one (with its method, mostly), a connect link nobody issued, a near miss, or anything. */
const route: fc.Arbitrary<{ method: string; path: string }> = fc
  .tuple(
    fc.oneof(
      { arbitrary: fc.constantFrom(...ROUTES), weight: 8 },
      {
        arbitrary: fc.tuple(
          fc.constantFrom('GET', 'POST'),
          token.map((t) => `/connect/${t}`),
        ),
        weight: 3,
      },
      {
        arbitrary: fc.tuple(
          fc.constant('GET'),
          fc
            .tuple(
              fc.constantFrom(...PUBLIC_PATHS),
              fc.constantFrom('/', '//', '/..', '/%2e%2e/api/v1/orgs', '.json', '%00', ';x'),
            )
            .map(([p, tail]) => `${p}${tail}`),
        ),
        weight: 1,
      },
      {
        arbitrary: fc.tuple(
          fc.constant('GET'),
          fc
            .array(
              fc.oneof(
                fc.constantFrom('sso', 'connect', 'api', 'v1', '.well-known', '..', ''),
                pathSegmentFrom(hostileString),
              ),
              { minLength: 1, maxLength: 4 },
            )
            .map((segments) => `/${segments.join('/')}`),
        ),
        weight: 2,
      },
    ),
    fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary: anyMethod, weight: 2 }),
  )
  .map(([[natural, path], other]) => ({ method: other ?? natural, path }))

const QUERY_NAMES = [
  'state',
  'code',
  'error',
  'error_description',
  'session_state',
  'admin_consent',
  'tenant',
  'token',
  'iss',
  'client_info',
  'redirect_uri',
  'return_to',
]

/** A query string of hostile values, or one that carries sealed look-alikes where the gateway expects sealed values. */
const query: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: queryString(QUERY_NAMES), weight: 3 },
  {
    arbitrary: fc
      .record({
        state: fc.option(sealedLookalike),
        code: fc.option(fc.oneof(sealedLookalike, fc.stringMatching(/^[A-Za-z0-9._-]{1,80}$/))),
        error: fc.option(
          fc.constantFrom('access_denied', 'invalid_request', 'consent_required', 'server_error', 'x'.repeat(300)),
        ),
        error_description: fc.option(hostileString.map(wellFormed)),
        admin_consent: fc.option(fc.constantFrom('True', 'False', 'true', '')),
        tenant: fc.option(fc.oneof(fc.uuid(), hostileString.map(wellFormed))),
      })
      .map((params) => {
        const q = new URLSearchParams()
        for (const [k, v] of Object.entries(params)) if (v !== null) q.append(k, v)
        const s = q.toString()
        return s ? `?${s}` : ''
      }),
    weight: 2,
  },
)

// ---------------------------------------------------------------- headers and bodies

const cookieValue = fc.oneof(
  sealedLookalike,
  hostileString.map((s) => headerSafe(s).replace(/[;,]/g, '')),
  fc.constant('x'.repeat(5000)),
)

/** A flow cookie the gateway issued (by `/sso/login` on that host), or any Cookie header. */
type CookieChoice = string | null | { genuine: 'primary' | 'active'; extra: string }

/** The flow cookies of a sign-in started on the primary host and on the tenant host (genuine, unexpired). */
let flowCookies: Record<'primary' | 'active', string>

const cookie: fc.Arbitrary<CookieChoice> = fc.oneof(
  { arbitrary: fc.constant(null), weight: 3 },
  {
    arbitrary: fc.record({
      genuine: fc.constantFrom<'primary' | 'active'>('primary', 'active'),
      extra: fc.constantFrom('', '; __Host-sso_flow=x', '; __Host-sso_connect=x'),
    }),
    weight: 2,
  },
  {
    arbitrary: fc
      .array(
        fc.tuple(
          fc.constantFrom(
            '__Host-sso_flow',
            '__Host-sso_connect',
            'sso_flow',
            '__Secure-sso_flow',
            '__Host-sso_flow ',
            'x',
          ),
          cookieValue,
        ),
        { minLength: 1, maxLength: 3 },
      )
      .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('; ')),
    weight: 3,
  },
  { arbitrary: hostileString.map(headerSafe), weight: 1 },
)

type Origin = 'same' | 'other' | 'null' | 'none' | { raw: string }

interface PublicRequest {
  scheme: 'https' | 'http'
  host: HostChoice
  port: string
  method: string
  path: string
  query: string
  cookie: CookieChoice
  origin: Origin
  secFetchSite: string | null
  /** `auto`: the body's own type. */
  contentType: string | undefined | 'auto'
  body: { text: string; type: string | undefined } | null
  extraHeaders: Array<[string, string]>
}

/** Forms of the chooser's and the connect page's fields, with values nobody issued. */
const form = fc
  .record({
    phoneSystem: fc.option(fc.oneof(fc.stringMatching(/^ps_[0-9a-z]{20}$/), hostileString.map(wellFormed))),
    token: fc.option(fc.oneof(sealedLookalike, hostileString.map(wellFormed))),
    extra: fc.array(fc.tuple(hostileString.map(wellFormed), hostileString.map(wellFormed)), { maxLength: 3 }),
  })
  .map(({ phoneSystem, token, extra }) => {
    const f = new URLSearchParams()
    if (phoneSystem !== null) f.append('phoneSystem', phoneSystem)
    if (token !== null) f.append('token', token)
    for (const [k, v] of extra) f.append(k, v)
    return { text: f.toString(), type: 'application/x-www-form-urlencoded' as string | undefined }
  })

const publicRequest: fc.Arbitrary<PublicRequest> = fc.tuple(host, route).chain(([h, { method, path }]) =>
  fc.record({
    scheme: fc.constant(h.scheme),
    host: fc.constant(h.host),
    port: fc.constant(h.port),
    method: fc.constant(method),
    path: fc.constant(path),
    query,
    cookie,
    origin: fc.oneof(
      { arbitrary: fc.constantFrom<Origin>('same', 'other', 'null', 'none'), weight: 4 },
      { arbitrary: hostileString.map((s): Origin => ({ raw: headerSafe(s) })), weight: 1 },
    ),
    secFetchSite: fc.option(fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none', '')),
    contentType: fc.oneof({ arbitrary: fc.constant<'auto'>('auto'), weight: 4 }, { arbitrary: contentType, weight: 1 }),
    body: fc.oneof(
      { arbitrary: fc.constant(null), weight: 1 },
      { arbitrary: form, weight: 3 },
      { arbitrary: randomBody, weight: 2 },
    ),
    extraHeaders: fc.array(
      fc.tuple(
        fc.constantFrom(
          'accept',
          'accept-language',
          'user-agent',
          'referer',
          'x-forwarded-host',
          'x-forwarded-proto',
          'forwarded',
          'cf-connecting-ip',
          'x-http-method-override',
          'content-length',
          'if-none-match',
          'range',
        ),
        hostileString.map(headerSafe),
      ),
      { maxLength: 3 },
    ),
  }),
)

/** The request as fetch sends it, or null when fetch itself would refuse it (not the gateway's concern). */
function toRequest(r: PublicRequest): Request | null {
  const headers = new Headers()
  try {
    const url = new URL(`${r.scheme}://${hostValue(r.host)}${r.port}${r.path}${r.query}`)
    const origin = url.origin
    for (const [name, value] of r.extraHeaders) headers.append(name, value)
    if (typeof r.cookie === 'string') headers.set('cookie', r.cookie)
    else if (r.cookie !== null)
      headers.set('cookie', `${FLOW_COOKIE}=${flowCookies[r.cookie.genuine]}${r.cookie.extra}`)
    if (r.origin === 'same') headers.set('origin', origin)
    else if (r.origin === 'other') headers.set('origin', 'https://evil.example')
    else if (r.origin === 'null') headers.set('origin', 'null')
    else if (typeof r.origin === 'object') headers.set('origin', r.origin.raw)
    if (r.secFetchSite !== null) headers.set('sec-fetch-site', r.secFetchSite)
    const sentType = r.contentType === 'auto' ? r.body?.type : r.contentType
    if (sentType !== undefined) headers.set('content-type', sentType)
    return new Request(url, {
      method: r.method,
      headers,
      body: takesBody(r.method) ? r.body?.text : undefined,
      redirect: 'manual',
    })
  } catch {
    return null
  }
}

// ---------------------------------------------------------------- the property

describe('fuzz: the public routes, anonymously', () => {
  beforeAll(async () => {
    hosts = await seedHosts()
    flowCookies = {
      primary: (await startLogin(PRIMARY)).cookie,
      active: (await startLogin(hosts.active)).cookie,
    }
  })

  it('never answers 5xx or leaks, answers API 4xx as JSON errors, and never changes D1', async () => {
    const statuses = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(publicRequest, async (r) => {
        const req = toRequest(r)
        fc.pre(req !== null)
        const context = `${req!.method} ${req!.url.slice(0, 300)} cookie=${JSON.stringify(r.cookie)?.slice(0, 80)} origin=${JSON.stringify(r.origin)} content-type=${req!.headers.get('content-type')}`
        const before = await d1Digest()
        let res: Response
        try {
          res = await SELF.fetch(req!)
        } catch (error) {
          // workerd's fetch refuses some URLs the URL parser accepts (a host of "="): the request never left.
          fc.pre(!(error instanceof TypeError && error.message.startsWith('Fetch API cannot load')))
          throw error
        }
        const text = await res.text()
        const after = await d1Digest()
        const url = new URL(req!.url)
        const shown = PUBLIC_PATHS.includes(r.path) ? r.path : r.path.startsWith('/connect/') ? '/connect/*' : '*'
        const tally = `${r.host.kind} ${req!.method} ${shown} ${res.status}`
        statuses.set(tally, (statuses.get(tally) ?? 0) + 1)

        if (res.status >= 500) {
          // A HEAD answer has no body: the same request as a GET says which page it was.
          const page =
            req!.method === 'HEAD' ? await (await SELF.fetch(req!.url, { headers: req!.headers })).text() : text
          const title = /<title>([^<]*)<\/title>/.exec(page)?.[1] ?? ''
          expect(
            res.status === 503 && NOT_READY_PAGES.includes(title),
            `${context}: ${res.status} ${text.slice(0, 500)}`,
          ).toBe(true)
        }
        expectNoLeak(text, context)
        if (
          url.hostname === PRIMARY &&
          url.protocol === 'https:' &&
          url.pathname.startsWith('/api/v1/') &&
          res.status >= 400 &&
          res.status < 500 &&
          req!.method !== 'HEAD'
        ) {
          expectApiError(res, text, context)
        }
        // Nothing anonymous reaches D1, whatever it is answered.
        expect(changedTables(before, after), `${context}: ${res.status} ${text.slice(0, 300)} changed D1`).toEqual([])
      }),
      { seed: SEED, numRuns: runs(NUM_RUNS) },
    )
    console.log(
      `public fuzz statuses\n${[...statuses]
        .sort()
        .map(([k, n]) => `${n}\t${k}`)
        .join('\n')}`,
    )
  }, 600_000)
})
