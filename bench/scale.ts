/**
 * `npm run bench:scale`: the login-page bench and the sign-in bench against
 * a D1 holding the issue's fleet (100,000 hostnames over 20,000
 * organizations, 1,000,000 SSO users over 20,000 phone systems) and against
 * a small one, both in the same run, interleaved, each in a workerd of its
 * own (dev/workerd.ts: the production bundles; the sign-in Worker metered as
 * in bench:signin). Prints each figure small vs large and the ratio (goal:
 * within 10%), the seeding time and the D1 size.
 *
 * Seeding: the migrations through D1 (as every bench applies them) and the
 * bench tenant through the admin API, then the fleet in bulk straight into
 * the persisted D1 file (bench/lib/fleet.ts). The bench tenant's list grows
 * to 50,000 users in the large database: sign-ins read a big list, and the
 * login load goes round as many hosts in both, spread over the whole fleet in
 * the large one.
 *
 * BENCH_SECONDS (8) per cell, in BENCH_ROUNDS (4) slices alternating small
 * and large, BENCH_WARMUP_SECONDS (2),
 * BENCH_CONNECTIONS (32, the login page), BENCH_USERS (500 signing in),
 * BENCH_SCALE_HOSTS (100000), BENCH_SCALE_ORGS (20000),
 * BENCH_SCALE_PHONE_SYSTEMS (20000), BENCH_SCALE_USERS (1000000),
 * BENCH_TMPDIR (where the databases are kept: /dev/shm/… when there is one).
 * Loads only 127.0.0.1.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {
  buildBundles,
  CLIENT_ID,
  CLIENT_SECRET,
  PRIMARY,
  type Running,
  startWorkerd,
  TENANT,
  TENANT_ID,
} from '../dev/workerd.ts'
import { d1File, type FleetSize, fileBytes, ISSUE_FLEET, type Seeded, seedFleet } from './lib/fleet.ts'
import { combineRuns, loadPages, type PageLoadResult } from './lib/page-load.ts'
import type { StepCounts } from './signin/counts.ts'
import { Browser, type CellRun, type GatewaySites, gatewaySignIn } from './signin/driver.ts'
import { buildGateway, GATEWAY } from './signin/gateway.ts'
import { startLanes } from './signin/lanes.ts'
import { type CellSummary, summarize } from './signin/report.ts'
import { benchUsers, DIRECT, prepareSignInSites, startStandIn } from './signin/setup.ts'

const outDir = path.resolve(import.meta.dirname, 'out')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32)
const USERS = Number(process.env.BENCH_USERS ?? 500)
/** Each cell's time is split into this many slices, small and large alternating (who goes first alternates too). */
const ROUNDS = Math.max(2, Number(process.env.BENCH_ROUNDS ?? 4))
const LARGE: FleetSize = {
  organizations: Number(process.env.BENCH_SCALE_ORGS ?? ISSUE_FLEET.organizations),
  hostnames: Number(process.env.BENCH_SCALE_HOSTS ?? ISSUE_FLEET.hostnames),
  phoneSystems: Number(process.env.BENCH_SCALE_PHONE_SYSTEMS ?? ISSUE_FLEET.phoneSystems),
  ssoUsers: Number(process.env.BENCH_SCALE_USERS ?? ISSUE_FLEET.ssoUsers),
}
/** The small database: the same kinds of rows, a hundredth of the fleet (the login load goes round all its hosts). */
const SMALL: FleetSize = { organizations: 200, hostnames: 1_000, phoneSystems: 200, ssoUsers: 10_000 }
/** The bench tenant's list in the large database (MAX_SSO_USERS): its users sign in. */
const BIG_LIST = 50_000

const storage =
  process.env.BENCH_TMPDIR ?? path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'sso-bench-scale')
const buildDir = path.join(outDir, 'scale-build')
const productionDir = path.join(buildDir, 'production')

console.log('Building the production bundles and the metered sign-in Worker')
buildBundles(productionDir)
const gatewayBuilt = buildGateway(path.join(buildDir, 'gateway'))

const users = benchUsers(USERS)
const standIn = await startStandIn({
  apps: [
    {
      clientId: CLIENT_ID,
      secret: CLIENT_SECRET,
      redirectUris: [`http://${PRIMARY}/sso/callback`, `http://${DIRECT}/sso/callback`],
    },
  ],
  users,
})

/** A workerd with both Workers on the D1 kept in `persistDir` (migrated and seeded on the first start). */
function start(persistDir: string): Promise<Running> {
  return startWorkerd(
    productionDir,
    '<!doctype html><title>reference</title>',
    { ENTRA_AUTHORITY: standIn.base, BENCH_D1_DELAY_MS: '0' },
    {
      gateway: {
        scriptPath: gatewayBuilt.scriptPath,
        modulesRoot: path.dirname(gatewayBuilt.scriptPath),
        ...GATEWAY.miniflare(),
      },
      miniflare: { resourcePersistencePath: persistDir },
    },
  )
}

interface Database {
  name: 'small' | 'large'
  running: Running
  seeded: Seeded
  bytes: number
}

async function prepare(name: Database['name'], fleet: FleetSize, listSize: number): Promise<Database> {
  const dir = path.join(storage, name)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const first = await start(dir)
  await prepareSignInSites(first, users)
  const phoneSystemId = first.phoneSystemId
  await first.mf.dispose()
  const file = d1File(dir)
  // The bench tenant (a partner, a customer, two hosts, a phone system, its listed users) counts in the totals.
  const rest: FleetSize = {
    organizations: fleet.organizations - 2,
    hostnames: fleet.hostnames - 2,
    phoneSystems: fleet.phoneSystems - 1,
    ssoUsers: fleet.ssoUsers - users.length,
  }
  const seeded = seedFleet(file, rest, {
    phoneSystemId,
    tid: TENANT_ID,
    extraUsers: Math.max(0, listSize - users.length),
  })
  const bytes = fileBytes(file)
  const running = await start(dir)
  const db = await running.mf.getD1Database('DB', 'gateway')
  const counts = await db
    .prepare(
      `SELECT (SELECT COUNT(*) FROM hostnames) AS hostnames, (SELECT COUNT(*) FROM organizations) AS organizations,
         (SELECT COUNT(*) FROM phone_systems) AS phone_systems, (SELECT COUNT(*) FROM sso_users) AS sso_users,
         (SELECT COUNT(*) FROM sso_users WHERE phone_system_id = ?1) AS bench_list`,
    )
    .bind(phoneSystemId)
    .first<Record<string, number>>()
  console.log(
    `${name}: seeded in ${seeded.seconds.toFixed(1)} s (${Object.entries(seeded.rows)
      .map(([table, n]) => `${n} ${table}`)
      .join(', ')}); D1 now holds ${JSON.stringify(counts)}; file ${(bytes / 2 ** 20).toFixed(1)} MiB`,
  )
  for (const host of [...seeded.activeHosts.slice(0, 8), TENANT]) {
    const page = await running.mf.dispatchFetch(`https://${host}/`)
    if (!(await page.text()).includes('Sign in with Microsoft')) throw new Error(`${name}: ${host} did not render`)
  }
  return { name, running, seeded, bytes }
}

console.log(`Seeding (databases in ${storage})`)
const small = await prepare('small', SMALL, users.length)
const large = await prepare('large', LARGE, BIG_LIST)
const databases = [small, large]

// ---------------------------------------------------------------------------------------------
// The login page: as many hosts in both, all of the small database's, spread over the large one's.

const hostCount = small.seeded.activeHosts.length
const hostsOf = (d: Database) => d.seeded.activeHosts.slice(0, hostCount)
const pageRuns: PageLoadResult[] = []
console.log(`Login page: ${CONNECTIONS} connections round ${hostCount} hosts, ${SECONDS} s each in ${ROUNDS} slices`)
for (const d of databases)
  await loadPages(
    d.running.port,
    'warm-up',
    hostsOf(d),
    { amount: Math.max(2 * hostCount, 20 * CONNECTIONS) },
    CONNECTIONS,
  )
for (let round = 0; round < ROUNDS; round++) {
  for (const d of round % 2 === 0 ? databases : [...databases].reverse()) {
    const run = await loadPages(d.running.port, d.name, hostsOf(d), { duration: SECONDS / ROUNDS }, CONNECTIONS)
    pageRuns.push(run)
    console.log(
      `  ${d.name}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50} ms, ${run.non2xx} non-2xx, ${run.errors} errors`,
    )
  }
}
const pages = { small: combineRuns(pageRuns, 'small'), large: combineRuns(pageRuns, 'large') }

// ---------------------------------------------------------------------------------------------
// Whole sign-ins, central and direct, one and eight at a time.

type Kind = 'central' | 'direct'
const sites: Record<Kind, GatewaySites> = {
  central: { host: TENANT, callbackHost: PRIMARY },
  direct: { host: DIRECT, callbackHost: DIRECT },
}
const lanes = new Map(
  databases.map((d) => [
    d.name,
    startLanes({ port: Number(d.running.port), standInBase: standIn.base, users, sites, peerHost: 'peer.localhost' }),
  ]),
)
const cursors = new Map<string, number>()
async function runLanes(d: Database, kind: Kind, concurrency: number, seconds: number): Promise<CellRun> {
  const { run, usersTaken } = await lanes
    .get(d.name)!
    .run({ kind, concurrency, seconds, firstUser: cursors.get(d.name) ?? 0 })
  cursors.set(d.name, (cursors.get(d.name) ?? 0) + usersTaken)
  return run
}
/** The metered sign-in Worker's D1 counts per step since the last read (bench/signin/worker/entry.ts), summed over the steps. */
async function d1Since(d: Database): Promise<{ calls: number; ms: number }> {
  const res = await fetch(`http://127.0.0.1:${d.running.port}/__bench/d1?reset=1`, { headers: { host: PRIMARY } })
  const { steps } = (await res.json()) as { steps: Record<string, StepCounts> }
  let calls = 0
  let ms = 0
  for (const [step, counts] of Object.entries(steps)) {
    if (step === 'other') continue
    calls += counts.read.total + counts.write.total
    ms += counts.read.ms + counts.write.ms
  }
  return { calls, ms }
}
const signInRuns = new Map<string, CellRun[]>()
const d1PerCell = new Map<string, { calls: number; ms: number }>()
console.log(`Sign-ins: ${SECONDS} s per cell in ${ROUNDS} slices, after ${WARMUP_SECONDS} s of warm-up`)
// One sign-in of each kind first, one at a time (a broken setup stops here, with what came back), then the warm-up.
for (const d of databases)
  for (const kind of ['central', 'direct'] as Kind[]) {
    const browser = new Browser(
      { port: Number(d.running.port), agent: new http.Agent() },
      { port: Number(new URL(standIn.base).port), agent: new http.Agent(), base: standIn.base },
    )
    const first = await gatewaySignIn(browser, sites[kind], standIn.base, users[0]!)
    if (!first.ok) throw new Error(`${d.name} ${kind}: the first sign-in failed: ${first.detail}`)
  }
for (const d of databases)
  for (const kind of ['central', 'direct'] as Kind[]) await runLanes(d, kind, 8, WARMUP_SECONDS)
for (let round = 0; round < ROUNDS; round++)
  for (const concurrency of [1, 8])
    for (const kind of ['central', 'direct'] as Kind[])
      for (const d of round % 2 === 0 ? databases : [...databases].reverse()) {
        const key = `${d.name} ${kind} c=${concurrency}`
        await d1Since(d)
        const run = await runLanes(d, kind, concurrency, SECONDS / ROUNDS)
        const d1 = await d1Since(d)
        const sum = d1PerCell.get(key) ?? { calls: 0, ms: 0 }
        d1PerCell.set(key, { calls: sum.calls + d1.calls, ms: sum.ms + d1.ms })
        signInRuns.set(key, [...(signInRuns.get(key) ?? []), run])
        const ok = run.results.filter((r) => r.ok).length
        console.log(`  ${key}: ${ok} sign-ins${ok < run.results.length ? `, ${run.results.length - ok} failed` : ''}`)
      }
for (const lane of lanes.values()) await lane.stop()
for (const d of databases) await d.running.mf.dispose()
standIn.child.kill()
// The large database is most of a gigabyte, on tmpfs (memory) by default: not left behind.
rmSync(storage, { recursive: true, force: true })

const noStandIn = { discovery: 0, jwks: 0, authorize: 0, token: 0 }
const cell = (name: string, kind: Kind, concurrency: number): CellSummary =>
  summarize(
    `${kind} c=${concurrency}`,
    concurrency,
    signInRuns.get(`${name} ${kind} c=${concurrency}`)!,
    undefined,
    noStandIn,
  )

// ---------------------------------------------------------------------------------------------
// Report

interface Figure {
  label: string
  small: number
  large: number
  /** Whether more is better (a rate) or less (a latency). */
  higherIsBetter: boolean
}
const figures: Figure[] = [
  { label: 'login page req/s', small: pages.small.rps, large: pages.large.rps, higherIsBetter: true },
  { label: 'login page p50 ms', small: pages.small.p50, large: pages.large.p50, higherIsBetter: false },
  { label: 'login page p99 ms', small: pages.small.p99, large: pages.large.p99, higherIsBetter: false },
]
for (const kind of ['central', 'direct'] as Kind[])
  for (const concurrency of [1, 8]) {
    const s = cell('small', kind, concurrency)
    const l = cell('large', kind, concurrency)
    figures.push(
      { label: `sign-in ${kind} c=${concurrency} /s`, small: s.perSecond, large: l.perSecond, higherIsBetter: true },
      {
        label: `sign-in ${kind} c=${concurrency} p50 ms`,
        small: s.whole.p50,
        large: l.whole.p50,
        higherIsBetter: false,
      },
      {
        label: `sign-in ${kind} c=${concurrency} p99 ms`,
        small: s.whole.p99,
        large: l.whole.p99,
        higherIsBetter: false,
      },
    )
    // D1 itself, as the Worker saw it: calls per sign-in (the same in both) and their time.
    const perSignIn = (name: string) => {
      const d1 = d1PerCell.get(`${name} ${kind} c=${concurrency}`)!
      const n = cell(name, kind, concurrency).signIns
      return { calls: d1.calls / n, ms: d1.ms / n }
    }
    figures.push(
      {
        label: `  ${kind} c=${concurrency} D1 calls per sign-in`,
        small: perSignIn('small').calls,
        large: perSignIn('large').calls,
        higherIsBetter: false,
      },
      {
        label: `  ${kind} c=${concurrency} D1 ms per sign-in`,
        small: perSignIn('small').ms,
        large: perSignIn('large').ms,
        higherIsBetter: false,
      },
    )
    // The steps that read D1: the completion reads the SSO list, the callback the reach.
    for (const step of ['login page', 'callback', 'complete'] as const)
      if (s.steps[step] && l.steps[step] && concurrency === 1)
        figures.push({
          label: `  ${kind} c=1 ${step} p50 ms`,
          small: s.steps[step].p50,
          large: l.steps[step].p50,
          higherIsBetter: false,
        })
  }

const fmt = (n: number) => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0))
const width = Math.max(...figures.map((f) => f.label.length))
console.log(
  `\nSmall database (${SMALL.hostnames} hostnames, ${SMALL.ssoUsers} SSO users, bench list ${users.length}) vs large (${LARGE.hostnames} hostnames over ${LARGE.organizations} organizations, ${LARGE.ssoUsers} SSO users over ${LARGE.phoneSystems} phone systems, bench list ${BIG_LIST})\n`,
)
console.log(
  `${'figure'.padEnd(width)}  ${'small'.padStart(8)}  ${'large'.padStart(8)}  ${'large/small'.padStart(11)}  within 10%`,
)
let outside = 0
for (const f of figures) {
  const ratio = f.large / f.small
  const within = f.higherIsBetter ? ratio >= 0.9 : ratio <= 1.1
  if (!within && !f.label.startsWith(' ')) outside++
  console.log(
    `${f.label.padEnd(width)}  ${fmt(f.small).padStart(8)}  ${fmt(f.large).padStart(8)}  ${ratio.toFixed(3).padStart(11)}  ${within ? 'yes' : 'NO'}`,
  )
}
console.log(
  `\nseeding the large fleet: ${large.seeded.seconds.toFixed(1)} s in bulk (node:sqlite, one transaction); D1 file ${(large.bytes / 2 ** 20).toFixed(1)} MiB (small: ${(small.bytes / 2 ** 20).toFixed(1)} MiB)`,
)
const failures = [...signInRuns.values()].flat().flatMap((r) => r.results.filter((x) => !x.ok))
const pageErrors = pageRuns.reduce((s, r) => s + r.non2xx + r.errors, 0)
console.log(
  `${outside} of ${figures.filter((f) => !f.label.startsWith(' ')).length} figures outside 10%; ${failures.length} failed sign-ins, ${pageErrors} login-page errors`,
)
for (const detail of [...new Set(failures.map((f) => f.detail))].slice(0, 3)) console.error(`  failed: ${detail}`)

mkdirSync(outDir, { recursive: true })
writeFileSync(
  path.join(outDir, 'scale.json'),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      settings: {
        seconds: SECONDS,
        connections: CONNECTIONS,
        users: USERS,
        small: SMALL,
        large: LARGE,
        bigList: BIG_LIST,
      },
      seeding: {
        large: { seconds: large.seeded.seconds, rows: large.seeded.rows, bytes: large.bytes },
        small: { seconds: small.seeded.seconds, rows: small.seeded.rows, bytes: small.bytes },
      },
      hostsLoaded: hostCount,
      figures,
    },
    null,
    2,
  )}\n`,
)
console.log(`written: ${path.relative(process.cwd(), path.join(outDir, 'scale.json'))}`)
if (failures.length > 0 || pageErrors > 0) process.exitCode = 1
