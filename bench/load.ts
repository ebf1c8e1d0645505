/**
 * `npm run bench:load`: the deployable bundle under one workerd (dev/workerd.ts)
 * with a real D1 and the Entra stand-in, loaded from 127.0.0.1. Two parts:
 *
 * 1. Mixed load: BENCH_LOAD_REQUESTS (20,000) requests at BENCH_LOAD_CONNECTIONS
 *    (64) keep-alive connections: login pages of BENCH_LOAD_HOSTS (1,000)
 *    seeded hosts, unknown hosts, `/sso/login`, the JWKS, admin reads.
 *    Rate limits are set out of the way here (every `[[ratelimits]]` binding
 *    of wrangler.toml at 1e9 per period) and CF-Connecting-IP is spread over
 *    1,024 addresses. A fixed-HTML reference Worker in the same workerd gets
 *    the same requests, interleaved, for a ratio that the machine cancels out of.
 * 2. Flood drill: BENCH_FLOOD_REQUESTS (10,000) anonymous `/sso/callback`
 *    (forged state and code) and `/sso/login` requests from ONE address,
 *    with wrangler.toml's rate limits as configured, while real users (each
 *    from their own address) sign in all the way: login page, /sso/login,
 *    the stand-in's account picker, the central /sso/callback, /sso/complete,
 *    the handoff page. Logs every D1 row written (SQLite triggers), with its
 *    host where the table has one: rows on the real users' host are theirs
 *    (the flood never uses it), every other row is the flood's.
 *
 * `--flood` runs only the drill, `--mixed` only the mixed load.
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'
import { unstable_readConfig } from 'wrangler'
import { startEntraStandIn } from '../dev/entra/server.ts'
import { requestWithHost } from '../dev/lib.ts'
import {
  ADMIN_KEY,
  buildBundle,
  CLIENT_ID,
  CLIENT_SECRET,
  PRIMARY,
  REFERENCE,
  type Running,
  startWorkerd,
  TENANT,
  TENANT_ID,
} from '../dev/workerd.ts'
import { seeded as prng } from '../src/sync/fleet.ts'
import { tlsAtTheEdge } from './lib/page-load.ts'
import { type KindResult, type LoadResult, type RequestSpec, runLoadInWorker } from './load-client.ts'

const root = path.resolve(import.meta.dirname, '..')
const outDir = path.resolve(import.meta.dirname, 'out-load')
const REQUESTS = Number(process.env.BENCH_LOAD_REQUESTS ?? 20_000)
const CONNECTIONS = Number(process.env.BENCH_LOAD_CONNECTIONS ?? 64)
const HOSTS = Number(process.env.BENCH_LOAD_HOSTS ?? 1000)
const FLOOD = Number(process.env.BENCH_FLOOD_REQUESTS ?? 10_000)
const LOGIN_PAGE = `login page (${HOSTS.toLocaleString('en')} hosts)`
const SSO_LOGIN = `/sso/login (${HOSTS.toLocaleString('en')} hosts)`
const WARM_UP = Math.min(1000, Math.floor(REQUESTS / 10))
const TIMEOUT_MS = 10_000
/**
 * Each part (mixed, flood) sends no request after this long from its first
 * load (warm-up included): the bench stays bounded on a slow or busy machine,
 * and says how many requests it did not send.
 */
const PART_MS = Number(process.env.BENCH_LOAD_MAX_SECONDS ?? 300) * 1000
const runMixed = !process.argv.includes('--flood')
const runFlood = !process.argv.includes('--mixed')

/** The flood's one address and the real users' addresses (RFC 5737 documentation ranges). */
const FLOOD_IP = '203.0.113.66'
const USER_IP = (i: number) => `198.51.100.${10 + i}`
/** The mixed load's addresses (RFC 2544's benchmarking range). */
const MIXED_IP = (i: number) => `198.18.${(i >> 8) & 3}.${i & 255 || 1}`

const USER = {
  oid: '6a1d0c7e-5b2f-4e3a-8c9d-1e2f3a4b5c6d',
  tid: TENANT_ID,
  upn: 'ann@acme.example',
  email: 'ann@acme.example',
  name: 'Ann Acme',
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

const pad = (s: string | number, n: number) => String(s).padStart(n)
const ms = (n: number) => (Number.isNaN(n) ? '-' : n < 10 ? n.toFixed(1) : n.toFixed(0))

/** Several load results (e.g. two halves) as one, by kind. */
function merge(results: LoadResult[]): { seconds: number; sent: number; skipped: number; kinds: KindResult[] } {
  const kinds = new Map<string, KindResult>()
  for (const r of results) {
    for (const k of r.kinds) {
      const into = kinds.get(k.kind) ?? { kind: k.kind, latencies: [], statuses: {}, errors: 0, errorSamples: [] }
      into.latencies.push(...k.latencies)
      for (const [s, n] of Object.entries(k.statuses)) into.statuses[s] = (into.statuses[s] ?? 0) + n
      into.errors += k.errors
      into.errorSamples.push(...k.errorSamples.slice(0, 3 - into.errorSamples.length))
      kinds.set(k.kind, into)
    }
  }
  return {
    seconds: results.reduce((s, r) => s + r.seconds, 0),
    sent: results.reduce((s, r) => s + r.sent, 0),
    skipped: results.reduce((s, r) => s + r.skipped, 0),
    kinds: [...kinds.values()],
  }
}

interface Row {
  label: string
  count: number
  p50: number
  p99: number
  max: number
  statuses: string
  s5xx: number
  s429: number
  unexpected: number
  errors: number
}

/** One table row per kind; `expected` is the status each kind should answer (429 is counted apart). */
function rows(kinds: KindResult[], expected: Record<string, number[]>): Row[] {
  const all: Row[] = []
  const total = { latencies: [] as number[], s5xx: 0, s429: 0, unexpected: 0, errors: 0, count: 0 }
  for (const k of kinds) {
    const sorted = [...k.latencies].sort((a, b) => a - b)
    const count = k.latencies.length + k.errors
    const statusCount = (test: (s: number) => boolean) =>
      Object.entries(k.statuses)
        .filter(([s]) => test(Number(s)))
        .reduce((sum, [, n]) => sum + n, 0)
    const ok = expected[k.kind] ?? []
    const row: Row = {
      label: k.kind,
      count,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? Number.NaN,
      statuses: Object.entries(k.statuses)
        .map(([s, n]) => `${s}×${n}`)
        .join(' '),
      s5xx: statusCount((s) => s >= 500),
      s429: statusCount((s) => s === 429),
      unexpected: statusCount((s) => s !== 429 && s < 500 && !ok.includes(s)),
      errors: k.errors,
    }
    all.push(row)
    total.latencies.push(...k.latencies)
    total.count += count
    total.s5xx += row.s5xx
    total.s429 += row.s429
    total.unexpected += row.unexpected
    total.errors += row.errors
  }
  const sorted = total.latencies.sort((a, b) => a - b)
  all.push({
    label: 'all',
    count: total.count,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    statuses: '',
    s5xx: total.s5xx,
    s429: total.s429,
    unexpected: total.unexpected,
    errors: total.errors,
  })
  return all
}

function printRows(title: string, table: Row[]) {
  console.log(`\n${title}`)
  console.log(
    `${'requests'.padEnd(40)}${pad('count', 7)}${pad('p50 ms', 8)}${pad('p99 ms', 8)}${pad('max ms', 8)}${pad('5xx', 6)}${pad('429', 6)}${pad('other', 7)}${pad('errors', 8)}  statuses`,
  )
  for (const r of table) {
    console.log(
      `${r.label.padEnd(40)}${pad(r.count, 7)}${pad(ms(r.p50), 8)}${pad(ms(r.p99), 8)}${pad(ms(r.max), 8)}${pad(r.s5xx, 6)}${pad(r.s429, 6)}${pad(r.unexpected, 7)}${pad(r.errors, 8)}  ${r.statuses}`,
    )
  }
}

// ---------------------------------------------------------------------------------------------
// D1 row writes, counted by SQLite itself

/**
 * An AFTER INSERT, UPDATE and DELETE trigger on every table of the gateway's
 * D1 appends a line to `bench_row_log` (a table no Worker code knows) for
 * each row written, in the same statement as the write: every row written
 * counts, also one written and deleted again within the drill, which a
 * before/after digest would miss. Where a table has a `hostname` column
 * (sso_flows, sign_in_attempts, hostnames, …) the line keeps the row's host,
 * so that the real users' rows (their host is one the flood never touches)
 * are told apart from the flood's exactly.
 */
async function installWriteLog(mf: Running['mf']): Promise<string[]> {
  const db = await mf.getD1Database('DB', 'gateway')
  const { results } = await db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' ORDER BY name",
    )
    .all<{ name: string }>()
  const tables = results.map((r) => r.name)
  await db
    .prepare('CREATE TABLE bench_row_log (id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, op TEXT NOT NULL, hostname TEXT)')
    .run()
  for (const table of tables) {
    const columns = await db.prepare('SELECT name FROM pragma_table_info(?)').bind(table).all<{ name: string }>()
    const hasHost = columns.results.some((c) => c.name === 'hostname')
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      const host = hasHost ? `${op === 'DELETE' ? 'OLD' : 'NEW'}.hostname` : 'NULL'
      await db
        .prepare(
          `CREATE TRIGGER "bench_log_${table}_${op}" AFTER ${op} ON "${table}" FOR EACH ROW BEGIN INSERT INTO bench_row_log (tbl, op, hostname) VALUES ('${table}', '${op.toLowerCase()}', ${host}); END`,
        )
        .run()
    }
  }
  return tables
}

/** Where the write log is now: writes after this mark are the ones to count. */
async function writeMark(mf: Running['mf']): Promise<number> {
  const db = await mf.getD1Database('DB', 'gateway')
  return (await db.prepare('SELECT coalesce(max(id), 0) AS id FROM bench_row_log').first<{ id: number }>())?.id ?? 0
}

type WriteCounts = Map<string, number>

/** Rows written since `mark`, by "table operation", for the rows whose host passes `which`. */
async function writesSince(
  mf: Running['mf'],
  mark: number,
  which: (hostname: string | null) => boolean = () => true,
): Promise<WriteCounts> {
  const db = await mf.getD1Database('DB', 'gateway')
  const { results } = await db
    .prepare('SELECT tbl, op, hostname, count(*) AS n FROM bench_row_log WHERE id > ? GROUP BY tbl, op, hostname')
    .bind(mark)
    .all<{ tbl: string; op: string; hostname: string | null; n: number }>()
  const counts: WriteCounts = new Map()
  for (const r of results.filter((r) => which(r.hostname))) {
    const key = `${r.tbl} ${r.op}`
    counts.set(key, (counts.get(key) ?? 0) + r.n)
  }
  return counts
}

async function rowCounts(mf: Running['mf'], tables: string[]): Promise<Map<string, number>> {
  const db = await mf.getD1Database('DB', 'gateway')
  const counts = new Map<string, number>()
  for (const table of tables) {
    const row = await db.prepare(`SELECT count(*) AS n FROM "${table}"`).first<{ n: number }>()
    counts.set(table, row?.n ?? 0)
  }
  return counts
}

// ---------------------------------------------------------------------------------------------
// The gateway's log: counted by level, not printed

interface LogStats {
  info: number
  warn: number
  error: number
  other: number
  /** `sign-in attempt` lines with `stored: true`: what the gateway says it wrote to sign_in_attempts. */
  storedAttempts: number
  samples: string[]
}

function logSink(): { stats: LogStats; handleStructuredLogs: (log: { level: string; message: string }) => void } {
  const stats: LogStats = { info: 0, warn: 0, error: 0, other: 0, storedAttempts: 0, samples: [] }
  const take = (line: string) => {
    let level = 'other'
    try {
      const entry = JSON.parse(line) as { level?: string; message?: string; stored?: boolean }
      level = entry.level ?? 'other'
      if (entry.message === 'sign-in attempt' && entry.stored === true) stats.storedAttempts++
    } catch {
      // workerd's own lines
    }
    if (level === 'info' || level === 'warn' || level === 'error') stats[level]++
    else stats.other++
    if (level !== 'info' && stats.samples.length < 5) stats.samples.push(line.slice(0, 300))
  }
  return {
    stats,
    handleStructuredLogs(log) {
      for (const line of log.message.split('\n')) if (line.trim()) take(line)
    },
  }
}

function printLog(stats: LogStats) {
  console.log(
    `gateway log lines: ${stats.info} info, ${stats.warn} warn, ${stats.error} error, ${stats.other} other${stats.samples.length ? '; first non-info lines:' : ''}`,
  )
  for (const line of stats.samples) console.log(`  ${line}`)
}

/** What Cloudflare's edge adds: the client's address, and https for a name outside the loopback zone (tlsAtTheEdge). */
function edgeHeaders(host: string, ip: string): Record<string, string> {
  return { 'cf-connecting-ip': ip, ...tlsAtTheEdge(host) }
}

const sum = (m: WriteCounts) => [...m.values()].reduce((s, n) => s + n, 0)

// ---------------------------------------------------------------------------------------------
// The world: the Entra stand-in, the bundle, seeded hosts

const config = unstable_readConfig({ config: path.join(root, 'wrangler.toml') })
interface RateLimitBinding {
  name: string
  namespace_id: string | number
  simple: { limit: number; period: 10 | 60 }
}
const rateLimits: RateLimitBinding[] = (config.ratelimits ?? []) as RateLimitBinding[]

const entra = await startEntraStandIn({
  apps: [{ clientId: CLIENT_ID, secret: CLIENT_SECRET, redirectUris: [`http://${PRIMARY}/sso/callback`] }],
  users: [USER],
})
const bundle = buildBundle(outDir)

/** The hosts' Entra tenants: 25 of them, so that discovery is per tenant as in production. */
const tenantIds = Array.from({ length: 25 }, (_, i) => `${(0x7e000000 + i).toString(16)}-0000-4000-8000-00000000be7c`)

/** Hosts per seeded customer: four provider subdomains and one custom domain. */
const HOSTS_PER_CUSTOMER = 5

interface Seeded {
  hosts: string[]
  /** The customer (and its phone system) of hosts[i]. */
  orgOf: string[]
  phoneSystemOf: string[]
}

/** `count` hosts through the admin API (8 calls at a time): customers, their hostnames, a phone system each. */
async function seedHosts(running: Running, count: number): Promise<Seeded> {
  const { orgs } = (await running.admin('GET', '/orgs')) as { orgs: Array<{ id: string; kind: string }> }
  const partnerId = orgs.find((o) => o.kind === 'partner')!.id
  const seeded: Seeded = { hosts: [], orgOf: [], phoneSystemOf: [] }
  const customers = Math.ceil(count / HOSTS_PER_CUSTOMER)
  let next = 0
  async function lane() {
    while (next < customers) {
      const i = next++
      const customer = await running.admin('POST', '/orgs', {
        name: `Customer ${i}`,
        kind: 'customer',
        parentId: partnerId,
        structure: 'nested',
        branding: { displayName: `Customer ${i} GmbH`, accentColor: '#1d4ed8' },
      })
      const ps = await running.admin('POST', `/orgs/${customer.id}/phone-systems`, {
        name: `Phone ${i}`,
        webClientUrl: 'http://127.0.0.1:9/webclient',
        handoffUrl: 'http://127.0.0.1:9/sso/handoff',
        entraTenantId: tenantIds[i % tenantIds.length],
      })
      for (let j = 0; j < HOSTS_PER_CUSTOMER && i * HOSTS_PER_CUSTOMER + j < count; j++) {
        // CUSTOM_HOSTNAMES=local: a custom domain is active at once, as after Cloudflare validated it.
        const hostname = j === HOSTS_PER_CUSTOMER - 1 ? `login.customer-${i}.example` : `c${i}-${j}.localhost`
        await running.admin('POST', `/orgs/${customer.id}/hostnames`, { hostname })
        seeded.hosts.push(hostname)
        seeded.orgOf.push(customer.id)
        seeded.phoneSystemOf.push(ps.id)
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, lane))
  return seeded
}

function limitsAs(limit: (l: number) => number) {
  return Object.fromEntries(
    rateLimits.map((r) => [
      r.name,
      { namespace_id: String(r.namespace_id), simple: { limit: limit(r.simple.limit), period: r.simple.period } },
    ]),
  )
}

// ---------------------------------------------------------------------------------------------
// Part 1: mixed load

async function mixed() {
  const referenceHtml = '<!doctype html><title>placeholder</title>'
  const more = (log: ReturnType<typeof logSink>) => ({
    gateway: { ratelimits: limitsAs(() => 1e9) },
    miniflare: { handleStructuredLogs: log.handleStructuredLogs },
  })
  let running = await startWorkerd(outDir, referenceHtml, { ENTRA_AUTHORITY: entra.base }, more(logSink()))
  // The reference serves the gateway's own login page, so both put the same bytes on the wire.
  const page = await (await running.mf.dispatchFetch(`http://${TENANT}/`)).text()
  await running.mf.dispose()
  const log = logSink()
  running = await startWorkerd(outDir, page, { ENTRA_AUTHORITY: entra.base }, more(log))
  const seedStart = performance.now()
  const seeded = await seedHosts(running, HOSTS)
  const seedSeconds = (performance.now() - seedStart) / 1000
  const tables = await installWriteLog(running.mf)

  const specsFor = (seed: number, n: number): RequestSpec[] => {
    const random = prng(seed)
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!
    const specs: RequestSpec[] = []
    for (let i = 0; i < n; i++) {
      const ip = MIXED_IP(i % 1024)
      const headers = edgeHeaders(PRIMARY, ip)
      const r = random()
      if (r < 0.45) {
        const host = pick(seeded.hosts)
        specs.push({
          kind: LOGIN_PAGE,
          host,
          path: random() < 0.8 ? '/' : '/sso/webclient',
          headers: edgeHeaders(host, ip),
        })
      } else if (r < 0.6) {
        // Each a name never seen before: the host cache cannot help (the worst case).
        const name =
          random() < 0.5
            ? `nx${randomBytes(5).toString('hex')}.localhost`
            : `sso.${randomBytes(5).toString('hex')}.example`
        specs.push({ kind: 'unknown host (new name each)', host: name, path: '/', headers: edgeHeaders(name, ip) })
      } else if (r < 0.8) {
        const host = pick(seeded.hosts)
        specs.push({ kind: SSO_LOGIN, host, path: '/sso/login', headers: edgeHeaders(host, ip) })
      } else if (r < 0.9) {
        specs.push({ kind: 'JWKS (primary host)', host: PRIMARY, path: '/.well-known/jwks.json', headers })
      } else {
        const j = Math.floor(random() * seeded.hosts.length)
        const paths = [
          `/api/v1/orgs/${seeded.orgOf[j]}`,
          `/api/v1/hostnames/${seeded.hosts[j]}`,
          `/api/v1/phone-systems/${seeded.phoneSystemOf[j]}`,
          `/api/v1/orgs/${seeded.orgOf[j]}/hostnames`,
        ]
        specs.push({
          kind: 'admin read (ops key)',
          host: PRIMARY,
          path: pick(paths),
          headers: { ...headers, authorization: `Bearer ${ADMIN_KEY}` },
        })
      }
    }
    return specs
  }
  const expected: Record<string, number[]> = {
    [LOGIN_PAGE]: [200],
    'unknown host (new name each)': [404],
    [SSO_LOGIN]: [302],
    'JWKS (primary host)': [200],
    'admin read (ops key)': [200],
  }
  const half = Math.floor(REQUESTS / 2)
  // The reference needs fewer requests for a steady figure: half as many, in two quarters.
  const quarter = Math.floor(REQUESTS / 4)
  const gatewaySpecs = specsFor(1, REQUESTS)
  const referenceSpecs = (specs: RequestSpec[]) => specs.map((s) => ({ ...s, kind: 'reference', host: REFERENCE }))
  const partEnds = performance.now() + PART_MS
  const job = (specs: RequestSpec[]) => ({
    port: Number(running.port),
    connections: CONNECTIONS,
    specs,
    timeoutMs: TIMEOUT_MS,
    deadlineMs: Math.max(0, partEnds - performance.now()),
  })

  // Warm up both sides (JIT, discovery per tenant, a first pass over the hosts), then measure
  // alternately so that drift in the shared machine hits both sides.
  await runLoadInWorker(job(specsFor(2, WARM_UP)))
  await runLoadInWorker(job(referenceSpecs(specsFor(3, WARM_UP / 2))))
  const mark = await writeMark(running.mf)
  const runs = {
    gateway: [] as LoadResult[],
    reference: [] as LoadResult[],
  }
  runs.reference.push(await runLoadInWorker(job(referenceSpecs(gatewaySpecs.slice(0, quarter)))))
  runs.gateway.push(await runLoadInWorker(job(gatewaySpecs.slice(0, half))))
  runs.reference.push(await runLoadInWorker(job(referenceSpecs(gatewaySpecs.slice(half, half + quarter)))))
  runs.gateway.push(await runLoadInWorker(job(gatewaySpecs.slice(half))))
  const writes = await writesSince(running.mf, mark)
  const rowsNow = await rowCounts(
    running.mf,
    ['orgs', 'hostnames'].filter((t) => tables.includes(t)),
  )
  await running.mf.dispose()

  const gateway = merge(runs.gateway)
  const reference = merge(runs.reference)
  const gatewayRows = rows(gateway.kinds, expected)
  const referenceRows = rows(reference.kinds, { reference: [200] })
  const gRps = gateway.sent / gateway.seconds
  const rRps = reference.sent / reference.seconds

  console.log(
    `\n== Mixed load: ${gateway.sent.toLocaleString('en')} requests at ${CONNECTIONS} connections, one workerd, the bundle of wrangler deploy (${(bundle.length / 1024).toFixed(0)} KiB)`,
  )
  console.log(
    `Seeded through the admin API in ${seedSeconds.toFixed(1)} s: ${seeded.hosts.length} hosts of ${new Set(seeded.orgOf).size} customers (each: ${HOSTS_PER_CUSTOMER - 1} provider subdomains, 1 custom domain, a phone system in one of ${tenantIds.length} Entra tenants) (${[...rowsNow].map(([t, n]) => `${t}: ${n} rows`).join(', ')}).`,
  )
  console.log(
    `Rate limits out of the way: ${rateLimits.length ? `${rateLimits.map((r) => r.name).join(', ')} at 1e9 per ${rateLimits.map((r) => r.simple.period).join('/')} s` : 'wrangler.toml has no [[ratelimits]] binding'}; CF-Connecting-IP spread over 1,024 addresses (198.18.0.0/22).`,
  )
  console.log(
    `Two halves, each after a quarter of the same requests sent to the reference (a Worker answering the gateway's login page as a fixed string); after a warm-up of ${WARM_UP.toLocaleString('en')} + ${(WARM_UP / 2).toLocaleString('en')}.`,
  )
  printRows('gateway', gatewayRows)
  printRows('reference (fixed HTML, same requests)', referenceRows)
  const gAll = gatewayRows.at(-1)!
  const rAll = referenceRows.at(-1)!
  console.log(
    `\n${'target'.padEnd(40)}${pad('req/s', 8)}${pad('p50 ms', 8)}${pad('p99 ms', 8)}${pad('errors', 8)}${pad('5xx', 6)}${pad('429', 6)}`,
  )
  console.log(
    `${'gateway (mixed)'.padEnd(40)}${pad(gRps.toFixed(0), 8)}${pad(ms(gAll.p50), 8)}${pad(ms(gAll.p99), 8)}${pad(gAll.errors + gAll.unexpected, 8)}${pad(gAll.s5xx, 6)}${pad(gAll.s429, 6)}`,
  )
  console.log(
    `${'reference (fixed HTML)'.padEnd(40)}${pad(rRps.toFixed(0), 8)}${pad(ms(rAll.p50), 8)}${pad(ms(rAll.p99), 8)}${pad(rAll.errors + rAll.unexpected, 8)}${pad(rAll.s5xx, 6)}${pad(rAll.s429, 6)}`,
  )
  console.log(
    `ratio gateway / reference: ${(gRps / rRps).toFixed(2)} of the throughput, p50 ×${(gAll.p50 / rAll.p50).toFixed(1)}, p99 ×${(gAll.p99 / rAll.p99).toFixed(1)}`,
  )
  console.log(
    `D1 rows written during the measured load: ${sum(writes)}${writes.size ? ` (${[...writes].map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`,
  )
  printLog(log.stats)
  if (gateway.skipped > 0)
    console.log(`${gateway.skipped} requests not sent: the part's ${PART_MS / 1000} s bound was reached`)
  for (const k of gateway.kinds) for (const e of k.errorSamples) console.log(`  error (${k.kind}): ${e}`)
  return { ok: gAll.errors === 0 && gAll.s5xx === 0 && gAll.unexpected === 0 && gateway.skipped === 0 }
}

// ---------------------------------------------------------------------------------------------
// Part 2: the flood drill

/** A browser: a cookie jar per host, redirects followed by hand, every gateway request from `ip`. */
async function signIn(
  running: Running,
  ip: string,
): Promise<{ ms: number; gatewayMs: number; ok: boolean; detail: string }> {
  const jar = new Map<string, Map<string, string>>()
  let gatewayMs = 0
  const gw = async (url: string) => {
    const u = new URL(url)
    const cookies = jar.get(u.host)
    const t0 = performance.now()
    const res = await requestWithHost({
      port: Number(running.port),
      host: u.host,
      path: `${u.pathname}${u.search}`,
      headers: {
        'cf-connecting-ip': ip,
        ...(cookies?.size ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
      },
    })
    gatewayMs += performance.now() - t0
    const setCookie = res.headers['set-cookie'] ?? []
    for (const line of setCookie) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      if (!jar.has(u.host)) jar.set(u.host, new Map())
      jar.get(u.host)!.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1))
    }
    return res
  }
  const t0 = performance.now()
  const fail = (detail: string) => ({ ms: performance.now() - t0, gatewayMs, ok: false, detail })
  const page = await gw(`http://${TENANT}/`)
  if (page.status !== 200) return fail(`login page ${page.status}`)
  const start = await gw(`http://${TENANT}/sso/login`)
  const authorize = String(start.headers.location ?? '')
  if (start.status !== 302 || !authorize.startsWith(entra.base)) return fail(`/sso/login ${start.status}`)
  const picker = await fetch(authorize)
  await picker.text()
  const picked = await fetch(authorize, {
    method: 'POST',
    body: new URLSearchParams({ user: USER.oid }),
    redirect: 'manual',
  })
  const callbackUrl = picked.headers.get('location') ?? ''
  if (!callbackUrl.startsWith(`http://${PRIMARY}/sso/callback`)) return fail(`picker ${picked.status}`)
  const callback = await gw(callbackUrl)
  if (callback.status !== 303) return fail(`/sso/callback ${callback.status}`)
  const done = await gw(String(callback.headers.location ?? ''))
  const ok = done.status === 200 && done.body.includes('name="assertion"')
  return ok
    ? { ms: performance.now() - t0, gatewayMs, ok, detail: 'handoff page' }
    : fail(`/sso/complete ${done.status}`)
}

async function flood() {
  const log = logSink()
  const running = await startWorkerd(
    outDir,
    '<!doctype html><title>reference</title>',
    { ENTRA_AUTHORITY: entra.base },
    { gateway: { ratelimits: limitsAs((l) => l) }, miniflare: { handleStructuredLogs: log.handleStructuredLogs } },
  )
  await running.admin('PUT', `/phone-systems/${running.phoneSystemId}/sso-users`, {
    users: [{ oid: USER.oid, displayName: USER.name, extension: '101' }],
  })
  const seeded = await seedHosts(running, 50)
  const tables = await installWriteLog(running.mf)

  // Does the runtime pass a client's CF-Connecting-IP through to the Worker? Ask a Worker that echoes it.
  const probe = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: "export default { fetch: (r) => new Response(r.headers.get('cf-connecting-ip') ?? '(none)') }",
      host: '127.0.0.1',
      port: 0,
    }),
  )
  const probePort = (await probe.ready).port
  const echoed = (
    await requestWithHost({
      port: Number(probePort),
      host: 'probe',
      path: '/',
      headers: { 'cf-connecting-ip': FLOOD_IP },
    })
  ).body
  const unset = (await requestWithHost({ port: Number(probePort), host: 'probe', path: '/' })).body
  await probe.dispose()

  // One real sign-in alone: its latency unloaded, and the D1 rows a sign-in writes.
  const alone: Array<Awaited<ReturnType<typeof signIn>>> = []
  const beforeAlone = await writeMark(running.mf)
  alone.push(await signIn(running, USER_IP(0)))
  const perSignIn = await writesSince(running.mf, beforeAlone)
  alone.push(await signIn(running, USER_IP(1)))
  alone.push(await signIn(running, USER_IP(2)))

  const random = prng(7)
  const specs: RequestSpec[] = []
  const forged = () => `code=${randomBytes(48).toString('base64url')}&state=${randomBytes(120).toString('base64url')}`
  for (let i = 0; i < FLOOD; i++) {
    const r = random()
    if (r < 0.4)
      specs.push({
        kind: '/sso/callback, primary host, forged',
        host: PRIMARY,
        path: `/sso/callback?${forged()}`,
        headers: edgeHeaders(PRIMARY, FLOOD_IP),
      })
    else if (r < 0.5) {
      const host = seeded.hosts[Math.floor(random() * seeded.hosts.length)]!
      specs.push({
        kind: '/sso/callback, tenant host, forged',
        host,
        path: `/sso/callback?${forged()}`,
        headers: edgeHeaders(host, FLOOD_IP),
      })
    } else {
      // Never the real users' host (TENANT): rows on that host are theirs.
      const host = seeded.hosts[Math.floor(random() * seeded.hosts.length)]!
      specs.push({ kind: '/sso/login', host, path: '/sso/login', headers: edgeHeaders(host, FLOOD_IP) })
    }
  }

  const rowsBefore = await rowCounts(running.mf, tables)
  const floodMark = await writeMark(running.mf)
  const floodStarted = Date.now()
  let progress = 0
  let finished = false
  const floodDone = runLoadInWorker(
    { port: Number(running.port), connections: CONNECTIONS, specs, timeoutMs: TIMEOUT_MS, deadlineMs: PART_MS },
    (n) => {
      progress = n
    },
  ).finally(() => {
    finished = true
  })
  // Real users sign in one after another while the flood runs, each from an address of their own.
  const during: Array<Awaited<ReturnType<typeof signIn>>> = []
  while (!finished && progress < 500) await new Promise((r) => setTimeout(r, 20))
  const progressAtFirst = progress
  while (!finished && during.length < 50) {
    during.push(await signIn(running, USER_IP(10 + during.length)))
    await new Promise((r) => setTimeout(r, 200))
  }
  const result = await floodDone
  const floodEnded = Date.now()
  const writes = await writesSince(running.mf, floodMark)
  const users = await writesSince(running.mf, floodMark, (host) => host === TENANT)
  const fromFlood = await writesSince(running.mf, floodMark, (host) => host !== TENANT)
  const rowsAfter = await rowCounts(running.mf, tables)
  await running.mf.dispose()

  const expected: Record<string, number[]> = {
    '/sso/callback, primary host, forged': [400],
    '/sso/callback, tenant host, forged': [400],
    '/sso/login': [302],
  }
  const table = rows(result.kinds, expected)
  const all = table.at(-1)!
  const passed = all.count - all.s429
  const signIn_ = rateLimits.find((r) => r.name === 'SIGNIN_RATE_LIMIT') ?? rateLimits[0]
  const windows = signIn_
    ? Math.floor(floodEnded / 1000 / signIn_.simple.period) -
      Math.floor(floodStarted / 1000 / signIn_.simple.period) +
      1
    : 0

  console.log(
    `\n== Flood drill: ${result.sent.toLocaleString('en')} anonymous requests from ${FLOOD_IP} at ${CONNECTIONS} connections`,
  )
  console.log(
    `CF-Connecting-IP: the local runtime (Miniflare's entry Worker) passes the client's header through (sent ${FLOOD_IP}, the Worker saw "${echoed}"; without it, the Worker sees "${unset}"); in production Cloudflare sets it.`,
  )
  console.log(
    rateLimits.length
      ? `Rate limits as in wrangler.toml: ${rateLimits.map((r) => `${r.name} ${r.simple.limit} per ${r.simple.period} s`).join(', ')} (Miniflare's simulation: fixed windows on the wall clock, per key).`
      : 'wrangler.toml has no [[ratelimits]] binding: the flood meets no rate limit.',
  )
  printRows('flood (429 is the rate limit answering, not an error)', table)
  console.log(
    `\nflood: ${(result.sent / result.seconds).toFixed(0)} req/s over ${result.seconds.toFixed(1)} s; answered without 429: ${passed}${signIn_ ? ` (allowance of ${signIn_.name}: ${signIn_.simple.limit} × ${windows} window(s) touched = ${signIn_.simple.limit * windows})` : ''}`,
  )
  if (rateLimits.length > 0 && all.s429 === 0) {
    console.log(`no 429 at all: the Worker does not call ${rateLimits.map((r) => r.name).join(' or ')} on these routes`)
  } else if (signIn_ && passed > signIn_.simple.limit * windows) {
    console.log(`more requests got through than the allowance: ${passed - signIn_.simple.limit * windows} beyond it`)
  }

  const median = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    )
  const completed = during.filter((s) => s.ok)
  console.log(
    `\nReal sign-in (login page, /sso/login, stand-in picker, central /sso/callback, /sso/complete, handoff page):`,
  )
  console.log(
    `  alone, before the flood: ${alone.filter((s) => s.ok).length}/${alone.length} completed, ${alone.map((s) => `${s.ms.toFixed(0)} ms`).join(', ')} (gateway's share ${alone.map((s) => s.gatewayMs.toFixed(0)).join(', ')} ms)`,
  )
  console.log(
    `  during the flood (from request ${progressAtFirst} on, one after another from their own addresses): ${completed.length}/${during.length} completed; total median ${ms(median(during.map((s) => s.ms)))} ms, max ${ms(Math.max(...during.map((s) => s.ms)))} ms; gateway's share median ${ms(median(during.map((s) => s.gatewayMs)))} ms`,
  )
  for (const s of during.filter((x) => !x.ok).slice(0, 3)) console.log(`  failed: ${s.detail}`)

  const fmt = (m: WriteCounts) => (m.size ? [...m].map(([k, n]) => `${k} ${n}`).join(', ') : 'none')
  console.log(
    `\nD1 rows written (SQLite triggers on all ${tables.length} tables log every row inserted, updated or deleted, with its host where the table has one):`,
  )
  console.log(`  one real sign-in alone:                 ${sum(perSignIn)} (${fmt(perSignIn)})`)
  console.log(`  during the flood, in all:               ${sum(writes)} (${fmt(writes)})`)
  console.log(
    `  of which on the real users' host ${TENANT} (${during.length} sign-ins; ${during.length} × ${sum(perSignIn)} = ${during.length * sum(perSignIn)} expected): ${sum(users)}`,
  )
  console.log(
    `  caused by the flood (every other row; the flood never uses ${TENANT}): ${sum(fromFlood)}${fromFlood.size ? ` (${fmt(fromFlood)})` : ''}`,
  )
  console.log(
    `  goal (no D1 write from the flood beyond the rate limit's allowance): ${sum(fromFlood) === 0 ? 'met, the flood wrote no row at all' : `${sum(fromFlood)} row(s) written by the flood`}`,
  )
  const grown = [...rowsAfter]
    .filter(([t, n]) => n !== rowsBefore.get(t))
    .map(([t, n]) => `${t} ${rowsBefore.get(t)} → ${n}`)
  console.log(`  cross-check, row counts before → after: ${grown.length ? grown.join(', ') : 'unchanged'}`)
  console.log(
    `  the gateway's own log: ${log.stats.storedAttempts} sign-in attempt(s) stored in the whole drill (alone and during the flood)`,
  )
  printLog(log.stats)
  for (const k of result.kinds) for (const e of k.errorSamples) console.log(`  error (${k.kind}): ${e}`)

  const ok =
    all.errors === 0 &&
    all.s5xx === 0 &&
    all.unexpected === 0 &&
    completed.length === during.length &&
    during.length > 0
  return { ok, floodWrites: sum(fromFlood) }
}

let failed = false
try {
  if (runMixed) {
    const { ok } = await mixed()
    if (!ok) failed = true
  }
  if (runFlood) {
    const { ok } = await flood()
    if (!ok) failed = true
  }
} finally {
  await entra.close()
}
console.log(
  '\nFigures depend on the machine (and on what else runs on it): compare the ratios and the counts, not the absolute numbers.',
)
if (failed) {
  console.error('Goal missed: errors, 5xx, unexpected statuses, or a real sign-in that did not complete (see above).')
  process.exitCode = 1
}
