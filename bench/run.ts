/**
 * `npm run bench`: the gateway's login page against a reference Worker that
 * returns a fixed HTML string, side by side under ONE workerd (see
 * dev/workerd.ts), loaded from 127.0.0.1 with autocannon for a bounded time.
 * D1 holds BENCH_HOSTS (default 1,000) login hosts and the load goes round
 * all of them, each connection starting at its own place, so the host cache
 * and the rendered pages are those of many sites, not one; the reference is
 * loaded round as many names. Prints requests per second, latency
 * percentiles and the ratio, then the bundle size and startup times.
 *
 * BENCH_SECONDS (default 10) and BENCH_CONNECTIONS (default 32) tune the load.
 */
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { benchHostname, buildBundle, REFERENCE, seedHostnames, startWorkerd, TENANT } from '../dev/workerd.ts'
import { combineRuns, loadPages } from './lib/page-load.ts'

const outDir = path.resolve(import.meta.dirname, 'out')
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32)
const hostCount = Number(process.env.BENCH_HOSTS ?? 1000)

const bundle = buildBundle(outDir)

// 3. Start-up figures from a first workerd, which also renders the page the reference will serve,
//    with its headers (the security headers, one nonce and correlation id frozen), so that both sides
//    put the same bytes on the wire: the reference is that answer as a fixed string.
const first = await startWorkerd(outDir, '<!doctype html><title>placeholder</title>')
const firstAnswer = await first.mf.dispatchFetch(`http://${TENANT}/`)
const loginPage = await firstAnswer.text()
if (!loginPage.includes('Sign in with Microsoft')) throw new Error('The seeded login page did not render')
const pageHeaders = Object.fromEntries(
  [...firstAnswer.headers].filter(([name]) => !['content-length', 'date', 'set-cookie'].includes(name)),
)
await first.mf.dispose()
const running = await startWorkerd(outDir, loginPage, {}, { referenceHeaders: pageHeaders })
const gatewayHosts = await seedHostnames(running.mf, hostCount)
const referenceHosts = gatewayHosts.map((_, i) => `h${i}.${REFERENCE}`)
const sample = await running.mf.dispatchFetch(`http://${benchHostname(hostCount - 1)}/`)
if (!(await sample.text()).includes('Sign in with Microsoft')) throw new Error('A seeded bench host did not render')

// 4. Load, bounded in time, from this process to 127.0.0.1.
const load = (name: string, hosts: string[], span: { duration: number } | { amount: number }) =>
  loadPages(running.port, name, hosts, span, connections)

// Warm both (JIT; every host once into the host cache, as a running gateway would have them), then measure
// alternately so drift hits both sides. The host cache's TTL (30 s) runs out during the runs, as it does in
// production: each host is read from D1 again once per TTL.
await load('warm-up', gatewayHosts, { amount: Math.max(2 * hostCount, 20 * connections) })
await load('warm-up', referenceHosts, { amount: Math.max(2 * hostCount, 20 * connections) })
const half = { duration: Math.max(1, Math.round(seconds / 2)) }
const runs = [
  await load('reference', referenceHosts, half),
  await load('gateway', gatewayHosts, half),
  await load('reference', referenceHosts, half),
  await load('gateway', gatewayHosts, half),
]
await running.mf.dispose()

const combine = (name: string) => combineRuns(runs, name)
const reference = combine('reference')
const gateway = combine('gateway')

const pad = (s: string, n: number) => s.padEnd(n)
const num = (n: number, digits = 0) => n.toFixed(digits).padStart(9)
console.log(
  `\nLogin page vs fixed-HTML reference: ${connections} connections, ${seconds}s each (two halves, interleaved), one workerd, round ${hostCount} hosts\n`,
)
console.log(
  `${pad('target', 34)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p90 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'non-2xx'.padStart(9)}${'errors'.padStart(9)}`,
)
for (const r of [reference, gateway]) {
  const label = r === reference ? 'reference (fixed HTML string)' : `gateway login page (${hostCount} hosts)`
  console.log(
    `${pad(label, 34)}${num(r.rps)}${num(r.p50, 1)}${num(r.p90, 1)}${num(r.p99, 1)}${num(r.non2xx)}${num(r.errors)}`,
  )
}
console.log(`\nratio gateway / reference: ${(gateway.rps / reference.rps).toFixed(3)} of the throughput`)
console.log(
  `response size: gateway ${Math.round(gateway.bytes)}, reference ${Math.round(reference.bytes)} bytes (the same page with the same headers)`,
)
console.log(
  `\nbundle (wrangler deploy --dry-run --outdir): ${(bundle.length / 1024).toFixed(1)} KiB, gzip ${(gzipSync(bundle).length / 1024).toFixed(1)} KiB`,
)
console.log(
  `startup: workerd ready ${first.readyMs.toFixed(0)} ms; first request to a cold isolate: gateway /healthz ${first.firstGatewayMs.toFixed(1)} ms, reference ${first.firstReferenceMs.toFixed(1)} ms`,
)
if (gateway.non2xx > 0 || gateway.errors > 0) {
  console.error('\nThe gateway answered errors under load: the figures above are not valid.')
  process.exitCode = 1
}
