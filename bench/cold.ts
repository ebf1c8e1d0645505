/**
 * `npm run bench:cold`: cold start of the sign-in Worker against a reference
 * Worker that returns a fixed HTML string, as medians over fresh workerd
 * instances (one sample is noise on a shared machine).
 *
 * 1. First request to a cold isolate: BENCH_COLD_RUNS (default 7) fresh
 *    workerds with the production bundles (dev/workerd.ts); in each, the
 *    first request to the sign-in Worker (`/healthz`: configuration and one
 *    D1 query) and to the reference, timed from this process.
 * 2. Startup CPU (`wrangler check startup`, a CPU profile of loading the
 *    Worker, locally, no account needed): the sign-in bundle `npm run deploy`
 *    would upload beside an empty Worker built the same way, median "Active"
 *    over BENCH_STARTUP_RUNS (default 5) profiles each; 0 skips this part.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { buildBundles, startWorkerd } from '../dev/workerd.ts'

const root = path.resolve(import.meta.dirname, '..')
const wrangler = path.join(root, 'node_modules', '.bin', 'wrangler')
const runs = Number(process.env.BENCH_COLD_RUNS ?? 7)
const startupRuns = Number(process.env.BENCH_STARTUP_RUNS ?? 5)
const work = mkdtempSync(path.join(tmpdir(), 'sso-gateway-cold-'))
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' }

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const ms = (n: number) => `${n.toFixed(1)} ms`

try {
  const outDir = path.join(work, 'bundles')
  const bundles = buildBundles(outDir)
  console.log(
    `sign-in bundle: ${(bundles.signIn.length / 1024).toFixed(1)} KiB, gzip ${(gzipSync(bundles.signIn, { level: 9 }).length / 1024).toFixed(1)} KiB`,
  )

  const gateway: number[] = []
  const reference: number[] = []
  for (let i = 0; i < runs; i++) {
    const running = await startWorkerd(outDir, '<!doctype html><title>reference</title>')
    gateway.push(running.firstGatewayMs)
    reference.push(running.firstReferenceMs)
    await running.mf.dispose()
  }
  console.log(`\nfirst request to a cold isolate, median of ${runs} fresh workerds:`)
  console.log(`  sign-in Worker /healthz  ${ms(median(gateway))}  (${gateway.map((n) => n.toFixed(1)).join(', ')})`)
  console.log(`  reference (fixed HTML)   ${ms(median(reference))}  (${reference.map((n) => n.toFixed(1)).join(', ')})`)
  console.log(`  difference               ${ms(median(gateway) - median(reference))}`)

  if (startupRuns > 0) {
    // `check startup --worker` takes what `deploy --outfile` writes (the upload's multipart form).
    const signInForm = path.join(work, 'sign-in.form')
    execFileSync(wrangler, ['deploy', '--dry-run', '--env', 'production', '--outfile', signInForm], {
      cwd: root,
      env,
      stdio: 'ignore',
    })
    const empty = path.join(work, 'empty')
    mkdirSync(empty)
    writeFileSync(path.join(empty, 'index.js'), "export default { fetch() { return new Response('ok') } }\n")
    writeFileSync(
      path.join(empty, 'wrangler.toml'),
      'name = "empty"\nmain = "index.js"\ncompatibility_date = "2026-08-15"\nminify = true\n',
    )
    const profile = (cwd: string, args: string[]): number | undefined => {
      const out = execFileSync(
        wrangler,
        ['check', 'startup', '--outfile', path.join(work, 'startup.cpuprofile'), ...args],
        { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      )
      const active = out.match(/Active:\s*([\d.]+) ms/)
      return active ? Number(active[1]) : undefined
    }
    const signIn: number[] = []
    const bare: number[] = []
    for (let i = 0; i < startupRuns; i++) {
      const a = profile(root, ['--env', 'production', '--worker', signInForm])
      if (a !== undefined) signIn.push(a)
      const b = profile(empty, [])
      if (b !== undefined) bare.push(b)
    }
    console.log(`\nwrangler check startup, active CPU while loading, median of ${startupRuns}:`)
    console.log(`  sign-in Worker  ${signIn.length ? ms(median(signIn)) : 'n/a'}  (${signIn.join(', ')})`)
    console.log(`  empty Worker    ${bare.length ? ms(median(bare)) : 'n/a'}  (${bare.join(', ')})`)
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}
