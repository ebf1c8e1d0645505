/**
 * The load of the login-page benches (`npm run bench`, `npm run bench:scale`):
 * autocannon against one workerd on 127.0.0.1, round a list of hosts, each
 * connection starting at its own place in it (spread-client.cjs), bounded in
 * time or in requests; and the figures of several runs combined.
 */
import path from 'node:path'
import autocannon from 'autocannon'

export interface PageLoadResult {
  name: string
  rps: number
  p50: number
  p90: number
  p99: number
  non2xx: number
  errors: number
  bytes: number
}

/** Cloudflare's edge ends TLS: a name outside the loopback zone (a custom domain) comes in as https, else the gateway answers 308. */
export function tlsAtTheEdge(host: string): Record<string, string> {
  return host.endsWith('.localhost') ? {} : { 'x-forwarded-proto': 'https' }
}

/**
 * Loads `/` round `hosts` on workerd's `port`: each connection walks the whole list, starting at its own place in
 * it. The load runs in a worker thread: this thread drains workerd's log lines (one per gateway request), and a
 * load generator sharing it would stall that drain, and workerd with it, only ever on the gateway's side.
 */
export async function loadPages(
  port: string | number,
  name: string,
  hosts: string[],
  span: { duration: number } | { amount: number },
  connections: number,
): Promise<PageLoadResult> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections,
    ...span,
    workers: 1,
    requests: hosts.map((host) => ({ method: 'GET', path: '/', headers: { host, ...tlsAtTheEdge(host) } })),
    setupClient: path.join(import.meta.dirname, '..', 'spread-client.cjs') as unknown as (
      client: autocannon.Client,
    ) => void,
  })
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    bytes: result.throughput.average / Math.max(result.requests.average, 1),
  }
}

/** The runs named `name` as one: rates and latencies averaged, errors summed. */
export function combineRuns(runs: PageLoadResult[], name: string): PageLoadResult {
  const rs = runs.filter((r) => r.name === name)
  const avg = (k: keyof PageLoadResult) => rs.reduce((s, r) => s + (r[k] as number), 0) / rs.length
  return {
    name,
    rps: avg('rps'),
    p50: avg('p50'),
    p90: avg('p90'),
    p99: avg('p99'),
    non2xx: rs.reduce((s, r) => s + r.non2xx, 0),
    errors: rs.reduce((s, r) => s + r.errors, 0),
    bytes: avg('bytes'),
  }
}
