/**
 * `npm run bench:signin`: whole sign-ins, from the login page to the handoff
 * page, through the gateway built for production and run under workerd
 * (dev/workerd.ts), side by side with a peer Worker signing in with
 * `@hono/oidc-auth`, both against the Entra ID stand-in in a process of its
 * own. Loaded over keep-alive connections to 127.0.0.1.
 *
 * Cells: the gateway's central callback, its direct callback, and the peer,
 * at 1 and 8 sign-ins at a time, each in two halves, interleaved so that the
 * machine's drift hits every side. Then the gateway again at one sign-in at
 * a time with D1 far away, twice: the primary far (writes and reads on the
 * binding +BENCH_D1_DELAY_MS; reads through a `withSession()` session, which
 * D1 read replication serves from a replica near the Worker, undelayed), and
 * every D1 call far (no replica near either). Per cell: sign-ins
 * per second, the whole sign-in's and each step's p50/p99, and per sign-in
 * the D1 calls (bench/signin/worker/d1-meter.ts) and the stand-in's requests
 * by kind. Also written to bench/out/signin.json. The browsers run on a worker
 * thread (bench/signin/lanes.ts), apart from Miniflare's handling of workerd's
 * log lines on this one.
 *
 * BENCH_SECONDS (8) per cell, BENCH_WARMUP_SECONDS (2), BENCH_USERS (500),
 * BENCH_D1_DELAY_MS (150: the delayed run), BENCH_DELAY_SECONDS (8),
 * BENCH_TMPDIR (where Miniflare keeps D1 and the Durable Objects: /dev/shm/… when
 * there is one), BENCH_RATE_LIMITER (`local`: counted in the isolate as
 * production counts; `miniflare`: the simulator), BENCH_PROFILE (a folder for
 * the isolates' CPU profiles at c=8). Per cell, the CPU a sign-in costs in
 * workerd, the stand-in and this driver (bench/signin/cpu.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { buildBundles, CLIENT_ID, CLIENT_SECRET, PRIMARY, startWorkerd, TENANT, TENANT_ID } from '../dev/workerd.ts'
import type { StepCounts } from './signin/counts.ts'
import { type CpuSample, cpuSince, descendants, sampleCpu } from './signin/cpu.ts'
import {
  Browser,
  type CellRun,
  type GatewaySites,
  gatewaySignIn,
  peerSignIn,
  type SignInResult,
  type User,
} from './signin/driver.ts'
import { buildGateway, buildPeer, GATEWAY, PEER, peerWorker } from './signin/gateway.ts'
import { startLanes } from './signin/lanes.ts'
import { InspectorSession, topSelfTime } from './signin/profile.ts'
import {
  addSteps,
  type CellSummary,
  countsTable,
  d1ByStepLines,
  type StandInPerSignIn,
  standInKinds,
  summarize,
  timingTable,
} from './signin/report.ts'
import { benchUsers, DIRECT, prepareSignInSites, startStandIn } from './signin/setup.ts'

const outDir = path.resolve(import.meta.dirname, 'out')
// Miniflare keeps D1 and every Durable Object's SQLite database in files under the temporary directory. On this
// shared machine's disk, creating a flow object's database file cost the callback ~6 ms at one sign-in at a
// time, and stalled workerd for the peer too: a cost of the harness's disk, not of Cloudflare's storage. On tmpfs
// when the machine has one (BENCH_TMPDIR overrides; Miniflare reads TMPDIR when it starts).
const benchTmp = process.env.BENCH_TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm/sso-bench-signin' : null)
if (benchTmp) {
  mkdirSync(benchTmp, { recursive: true })
  process.env.TMPDIR = benchTmp
}
const buildDir = path.join(outDir, 'signin-build')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2)
const USERS = Number(process.env.BENCH_USERS ?? 500)
const DELAY_MS = Number(process.env.BENCH_D1_DELAY_MS ?? 150)
const DELAY_SECONDS = Number(process.env.BENCH_DELAY_SECONDS ?? 8)
const CONCURRENCIES = [1, 8]
/** `local` (production's kind: a counter in the isolate, bench/signin/worker/local-rate-limit.ts) or `miniflare`. */
const RATE_LIMITER = process.env.BENCH_RATE_LIMITER === 'miniflare' ? 'miniflare' : 'local'
/** BENCH_PROFILE=<dir>: the gateway isolate's CPU profile for each gateway cell at c=8 (bench/signin/profile.ts). */
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : null
const INSPECTOR_PORT = 9239

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const users: User[] = benchUsers(USERS)

// ---------------------------------------------------------------------------------------------
// The Entra stand-in, in its own process

const standIn = await startStandIn({
  apps: [
    {
      clientId: CLIENT_ID,
      secret: CLIENT_SECRET,
      redirectUris: [`http://${PRIMARY}/sso/callback`, `http://${DIRECT}/sso/callback`],
    },
    { clientId: PEER.clientId, secret: PEER.secret, redirectUris: [`http://${PEER.host}/callback`] },
  ],
  users,
})
const killStandIn = () => standIn.child.kill()
const standInUrl = new URL(standIn.base)

// ---------------------------------------------------------------------------------------------
// The Workers, built and started; the direct host and the SSO list seeded

// The gateway logs a JSON line per request: counted here, warnings and errors kept for the report. This runs in
// the driver's own process, for every line workerd writes, so it must cost next to nothing: the gateway's
// log() writes `{"level":"…"` first, so a prefix tells an info line, and only the rare others are parsed. (The
// peer logs nothing: parsing every line here would load the driver for the gateway's cells only.)
const logs = { info: 0, warn: 0, error: 0, other: 0, samples: [] as string[] }
const INFO_PREFIX = '{"level":"info"'
function handleStructuredLogs(log: { level: string; message: string }) {
  const message = log.message
  if (message.startsWith(INFO_PREFIX) && message.indexOf('\n') === -1) {
    logs.info++
    return
  }
  for (const line of message.split('\n')) {
    if (!line.trim()) continue
    if (line.startsWith(INFO_PREFIX)) {
      logs.info++
      continue
    }
    let level = 'other'
    try {
      level = (JSON.parse(line) as { level?: string }).level ?? 'other'
    } catch {
      // workerd's own lines
    }
    const key = level === 'info' || level === 'warn' || level === 'error' ? level : 'other'
    logs[key]++
    if (key !== 'info' && logs.samples.length < 5) logs.samples.push(line.slice(0, 300))
  }
}

// Both production Workers (the admin Worker serves the seeding API), then the sign-in Worker again, metered.
const productionDir = path.join(buildDir, 'production')
buildBundles(productionDir)
const gatewayBuilt = buildGateway(path.join(buildDir, 'gateway'))
const peerBuilt = await buildPeer(path.join(buildDir, 'peer'))
const running = await startWorkerd(
  productionDir,
  '<!doctype html><title>reference</title>',
  { ENTRA_AUTHORITY: standIn.base, BENCH_D1_DELAY_MS: '0', BENCH_RATE_LIMITER: RATE_LIMITER },
  {
    gateway: {
      scriptPath: gatewayBuilt.scriptPath,
      modulesRoot: path.dirname(gatewayBuilt.scriptPath),
      ...GATEWAY.miniflare(),
    },
    miniflare: { handleStructuredLogs, ...(PROFILE_DIR ? { inspectorPort: INSPECTOR_PORT } : {}) },
    workers: [peerWorker(peerBuilt, `${standIn.base}/${TENANT_ID}/v2.0`)],
  },
)
const { mf } = running

await prepareSignInSites(running, users)

// ---------------------------------------------------------------------------------------------
// Counters: the bench entry's D1 counts, the stand-in's requests

const port = Number(running.port)
// Whose CPU a sign-in costs (Linux only; zeros elsewhere): workerd, the stand-in, this driver.
const cpuSources = {
  workerd: descendants(process.pid)
    .filter((p) => p.name.startsWith('workerd'))
    .map((p) => p.pid),
  standIn: standIn.child.pid ?? 0,
}
const workerdAgent = new http.Agent({ keepAlive: true, maxSockets: 64 })
const standInAgent = new http.Agent({ keepAlive: true, maxSockets: 64 })
const newBrowser = () =>
  new Browser({ port, agent: workerdAgent }, { port: Number(standInUrl.port), agent: standInAgent, base: standIn.base })
const control = newBrowser()

async function d1Counts(reset: boolean): Promise<Record<string, StepCounts>> {
  const res = await control.request(`http://${PRIMARY}/__bench/d1${reset ? '?reset=1' : ''}`)
  return (JSON.parse(res.body) as { steps: Record<string, StepCounts> }).steps
}

async function setDelay(ms: number | null, replicaMs: number | null = ms): Promise<void> {
  await control.request(`http://${PRIMARY}/__bench/d1?delay=${ms ?? ''}&replica=${replicaMs ?? ''}`, {
    method: 'POST',
    body: '',
  })
}

async function standInHits(): Promise<Record<string, number>> {
  return JSON.parse((await control.request(`${standIn.base}/__control/hits`)).body) as Record<string, number>
}

function hitsSince(before: Record<string, number>, after: Record<string, number>): StandInPerSignIn {
  const diff: Record<string, number> = {}
  for (const [key, n] of Object.entries(after)) diff[key] = n - (before[key] ?? 0)
  return standInKinds(diff)
}

// ---------------------------------------------------------------------------------------------
// Cells

type Kind = 'central' | 'direct' | 'peer'
const sites: Record<Exclude<Kind, 'peer'>, GatewaySites> = {
  central: { host: TENANT, callbackHost: PRIMARY },
  direct: { host: DIRECT, callbackHost: DIRECT },
}
const signIns: Record<Kind, (browser: Browser, user: User) => Promise<SignInResult>> = {
  central: (b, u) => gatewaySignIn(b, sites.central, standIn.base, u),
  direct: (b, u) => gatewaySignIn(b, sites.direct, standIn.base, u),
  peer: (b, u) => peerSignIn(b, PEER.host, standIn.base, u),
}
const LABEL: Record<Kind, string> = {
  central: `gateway central (${TENANT} -> ${PRIMARY})`,
  direct: `gateway direct (${DIRECT})`,
  peer: `peer @hono/oidc-auth (${PEER.host})`,
}
let userCursor = 0
// The browsers run on a thread of their own (lanes.ts): this one drains workerd's log lines.
const lanes = startLanes({ port, standInBase: standIn.base, users, sites, peerHost: PEER.host })
async function runLanes(kind: Kind, concurrency: number, seconds: number): Promise<CellRun> {
  const { run, usersTaken } = await lanes.run({ kind, concurrency, seconds, firstUser: userCursor })
  userCursor += usersTaken
  return run
}

interface Measured {
  runs: CellRun[]
  cpu: CpuSample
  d1: Record<string, StepCounts>
  standIn: StandInPerSignIn
}
const measured = new Map<string, Measured>()

async function measure(key: string, kind: Kind, concurrency: number, seconds: number, settleMs = 300) {
  await d1Counts(true)
  const hitsBefore = await standInHits()
  const profiler =
    PROFILE_DIR && concurrency === 8
      ? await InspectorSession.open(INSPECTOR_PORT, kind === 'peer' ? 'peer' : 'gateway')
      : null
  await profiler?.start()
  const cpuBefore = sampleCpu(cpuSources)
  const run = await runLanes(kind, concurrency, seconds)
  if (profiler && PROFILE_DIR) {
    const profile = await profiler.stop()
    profiler.close()
    mkdirSync(PROFILE_DIR, { recursive: true })
    writeFileSync(
      path.join(PROFILE_DIR, `${key.replace(/\W+/g, '-')}-${Date.now()}.cpuprofile`),
      JSON.stringify(profile),
    )
    console.log(`  profile of ${key}, self time:\n    ${topSelfTime(profile).join('\n    ')}`)
  }
  const cpu = cpuSince(cpuBefore, sampleCpu(cpuSources))
  // Work left for after the responses (waitUntil, a queue's consumer) finishes before the counts are read.
  await sleep(settleMs)
  const d1 = await d1Counts(true)
  const hits = hitsSince(hitsBefore, await standInHits())
  const into = measured.get(key) ?? {
    runs: [],
    cpu: { workerd: 0, standIn: 0, driver: 0 },
    d1: {},
    standIn: { discovery: 0, jwks: 0, authorize: 0, token: 0 },
  }
  into.runs.push(run)
  into.cpu.workerd += cpu.workerd
  into.cpu.standIn += cpu.standIn
  into.cpu.driver += cpu.driver
  addSteps(into.d1, d1)
  for (const k of Object.keys(hits) as Array<keyof StandInPerSignIn>) into.standIn[k] += hits[k]
  measured.set(key, into)
  const ok = run.results.filter((r) => r.ok).length
  console.log(
    `  ${key}: ${ok} sign-ins in ${run.seconds.toFixed(1)} s${ok < run.results.length ? `, ${run.results.length - ok} failed` : ''}`,
  )
}

// One of each first: a broken setup stops here, with what came back.
for (const kind of ['central', 'direct', 'peer'] as Kind[]) {
  const result = await signIns[kind](newBrowser(), users[0]!)
  if (!result.ok) throw new Error(`${LABEL[kind]}: the first sign-in failed: ${result.detail}`)
}

const kinds: Kind[] = ['central', 'peer', 'direct']
console.log(`Warm-up: ${WARMUP_SECONDS} s of each at c=8`)
for (const kind of kinds) await runLanes(kind, 8, WARMUP_SECONDS)

const half = SECONDS / 2
console.log(`Measuring: ${SECONDS} s per cell, in two halves, interleaved`)
for (let round = 0; round < 2; round++)
  for (const concurrency of CONCURRENCIES)
    for (const kind of kinds) await measure(`${kind} c=${concurrency}`, kind, concurrency, half)

/** The far-D1 scenarios: which calls wait DELAY_MS (the primary's; a replica near the Worker answers at once). */
const SCENARIOS = [
  { key: 'primary', replicaMs: 0, label: `primary +${DELAY_MS} ms, session reads at a near replica` },
  { key: 'all', replicaMs: DELAY_MS, label: `every D1 call +${DELAY_MS} ms` },
] as const
for (const scenario of SCENARIOS) {
  console.log(`Delayed (${scenario.label}): ${DELAY_SECONDS} s per cell at c=1`)
  await setDelay(DELAY_MS, scenario.replicaMs)
  for (const kind of ['central', 'direct'] as Kind[])
    await measure(`${kind} c=1 delayed ${scenario.key}`, kind, 1, DELAY_SECONDS, DELAY_MS * 4)
}
await setDelay(null)

await lanes.stop()
await mf.dispose()
killStandIn()

// ---------------------------------------------------------------------------------------------
// Report

function cell(key: string, name: string, concurrency: number, gateway: boolean): CellSummary {
  const m = measured.get(key)!
  return summarize(name, concurrency, m.runs, gateway ? m.d1 : undefined, m.standIn)
}

const cells: CellSummary[] = []
for (const concurrency of CONCURRENCIES)
  for (const kind of ['central', 'direct', 'peer'] as Kind[])
    cells.push(cell(`${kind} c=${concurrency}`, LABEL[kind], concurrency, kind !== 'peer'))
const delayedKinds = SCENARIOS.flatMap((scenario) =>
  (['central', 'direct'] as Kind[]).map((kind) => ({ kind, scenario })),
)
const delayed = delayedKinds.map(({ kind, scenario }) =>
  cell(`${kind} c=1 delayed ${scenario.key}`, `${LABEL[kind]}, ${scenario.label}`, 1, true),
)

const find = (name: string, c: number) => cells.find((x) => x.name === name && x.concurrency === c)!
const ratio = find(LABEL.central, 8).perSecond / find(LABEL.peer, 8).perSecond
const ratioDirect = find(LABEL.direct, 8).perSecond / find(LABEL.peer, 8).perSecond
const delayRatios = delayed.map((d, i) => {
  const { kind, scenario } = delayedKinds[i]!
  const base = find(LABEL[kind], 1)
  return {
    kind,
    scenario: scenario.key,
    label: scenario.label,
    delayedP50: d.whole.p50,
    p50: base.whole.p50,
    ratio: d.whole.p50 / base.whole.p50,
  }
})

console.log(
  `\nWhole sign-ins (login page -> handoff page; the peer: GET / -> its signed-in page), ms; the stand-in in its own process\n`,
)
console.log(timingTable([...cells, ...delayed]))
console.log(
  '\nPer sign-in: D1 calls (round trips; a batch is one; seq = on the critical path of its request, summed over the sign-in) and stand-in requests\n',
)
console.log(countsTable([...cells, ...delayed]))
/** A cell's CPU per successful sign-in, by process; null when none succeeded. */
const cpuPerSignIn = (key: string): CpuSample | null => {
  const m = measured.get(key)!
  const n = m.runs.reduce((sum, r) => sum + r.results.filter((x) => x.ok).length, 0)
  return n ? { workerd: m.cpu.workerd / n, standIn: m.cpu.standIn / n, driver: m.cpu.driver / n } : null
}
console.log("\nCPU per sign-in, ms (Linux /proc; the driver is this process: the browsers and workerd's log lines)\n")
for (const key of measured.keys()) {
  const cpu = cpuPerSignIn(key)
  if (!cpu) continue
  const ms = (value: number) => value.toFixed(2).padStart(6)
  console.log(
    `  ${key.padEnd(28)} workerd ${ms(cpu.workerd)}  stand-in ${ms(cpu.standIn)}  driver ${ms(cpu.driver)}  total ${ms(cpu.workerd + cpu.standIn + cpu.driver)}`,
  )
}
const peerCpu = cpuPerSignIn('peer c=8')
if (peerCpu && peerCpu.workerd > 0)
  for (const kind of ['central', 'direct'] as const) {
    // On a machine whose cores all three processes share, sign-ins/s at c=8 go as 1 / (total CPU per sign-in).
    const own = cpuPerSignIn(`${kind} c=8`)
    if (!own) continue
    const budget = (peerCpu.workerd + peerCpu.standIn + peerCpu.driver) / 1.5 - own.standIn - own.driver
    console.log(
      `  for 1.5x the peer at c=8, ${kind} could spend at most ${budget.toFixed(2)} ms of workerd CPU per sign-in: it spends ${own.workerd.toFixed(2)}; the peer's own sign-in spends ${peerCpu.workerd.toFixed(2)}`,
    )
  }
console.log('\nD1 calls per sign-in by step, reads r / writes w (sequential):')
for (const line of d1ByStepLines(cells.filter((c) => c.concurrency === 1))) console.log(`  ${line}`)
console.log(
  `\nsign-ins/s at c=8, gateway / peer: central ${ratio.toFixed(2)}x, direct ${ratioDirect.toFixed(2)}x (goal >= 1.5x)`,
)
for (const d of delayRatios)
  console.log(
    `whole sign-in p50, ${d.label}, ${d.kind}: ${d.delayedP50.toFixed(0)} ms vs ${d.p50.toFixed(1)} ms = ${d.ratio.toFixed(2)}x${d.scenario === 'primary' ? ' (goal <= 1.3x)' : ''}`,
  )
const gzip = (file: string) => gzipSync(readFileSync(file)).length / 1024
console.log(
  `bundles: gateway bench entry ${(gatewayBuilt.bytes / 1024).toFixed(1)} KiB (gzip ${gzip(gatewayBuilt.scriptPath).toFixed(1)} KiB), peer ${(peerBuilt.bytes / 1024).toFixed(1)} KiB (gzip ${gzip(peerBuilt.scriptPath).toFixed(1)} KiB); ${USERS} SSO users`,
)
console.log(
  'The peer checks no allow-list, keeps no flow state and writes nothing (its flow lives in cookies); it fetches discovery on every request that needs it and never the JWKS (oauth4webapi trusts the token endpoint over TLS).',
)
console.log(
  RATE_LIMITER === 'local'
    ? "Rate limits: counted in the gateway's isolate, as Cloudflare's binding counts on the Worker's machine (BENCH_RATE_LIMITER=miniflare: Miniflare's simulator, a Durable Object request per call)"
    : "Rate limits: Miniflare's simulator (a Durable Object request per call; production counts on the Worker's machine)",
)
console.log(`Miniflare's storage (D1, Durable Objects): ${process.env.TMPDIR ?? 'the default temporary directory'}`)
console.log(`gateway log lines: ${logs.info} info, ${logs.warn} warn, ${logs.error} error, ${logs.other} other`)
for (const line of logs.samples) console.log(`  ${line}`)
for (const c of [...cells, ...delayed])
  if (c.failures)
    console.error(`${c.name} c=${c.concurrency}: ${c.failures} failed, e.g. ${c.failureSamples.join(' | ')}`)

mkdirSync(outDir, { recursive: true })
writeFileSync(
  path.join(outDir, 'signin.json'),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      settings: {
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        users: USERS,
        delayMs: DELAY_MS,
        delaySeconds: DELAY_SECONDS,
      },
      cells,
      delayed,
      ratios: { centralVsPeerC8: ratio, directVsPeerC8: ratioDirect, delayed: delayRatios },
      bundles: { gatewayBytes: gatewayBuilt.bytes, peerBytes: peerBuilt.bytes },
    },
    null,
    2,
  )}\n`,
)
console.log(`\nwritten: ${path.relative(process.cwd(), path.join(outDir, 'signin.json'))}`)
if (cells.some((c) => c.failures > 0) || delayed.some((c) => c.failures > 0)) process.exitCode = 1
