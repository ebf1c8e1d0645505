/**
 * The HTTP load generator of `npm run bench:load`: runs in a worker thread,
 * so that the main thread (the Entra stand-in, the real user's sign-in) is
 * not starved by it. Keeps `connections` keep-alive connections to workerd
 * on 127.0.0.1 busy with the given requests, in order, each with its own Host
 * and headers; records per kind every latency, every status and every
 * network error or timeout. Bounded: a request times out after `timeoutMs`,
 * and no new request starts after `deadlineMs`.
 */
import http from 'node:http'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'

export interface RequestSpec {
  /** What the request is (a row of the table): 'login page', 'unknown host', … */
  kind: string
  method?: string
  host: string
  path: string
  headers?: Record<string, string>
}

export interface LoadJob {
  port: number
  connections: number
  specs: RequestSpec[]
  timeoutMs: number
  deadlineMs: number
}

export interface KindResult {
  kind: string
  /** Milliseconds, in completion order (requests that got an answer). */
  latencies: number[]
  /** Status code -> count. */
  statuses: Record<string, number>
  /** Network errors and timeouts (no HTTP answer). */
  errors: number
  errorSamples: string[]
}

export interface LoadResult {
  seconds: number
  sent: number
  /** Requests not started because the deadline passed. */
  skipped: number
  kinds: KindResult[]
}

function once(agent: http.Agent, job: LoadJob, spec: RequestSpec): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: job.port,
        method: spec.method ?? 'GET',
        path: spec.path,
        headers: { host: spec.host, ...spec.headers },
        agent,
        timeout: job.timeoutMs,
      },
      (res) => {
        res.on('data', () => undefined)
        res.on('end', () => resolve(res.statusCode ?? 0))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`timeout after ${job.timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

export async function runLoad(job: LoadJob, onProgress?: (done: number) => void): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections })
  const byKind = new Map<string, KindResult>()
  const kind = (name: string) => {
    let k = byKind.get(name)
    if (!k) {
      k = { kind: name, latencies: [], statuses: {}, errors: 0, errorSamples: [] }
      byKind.set(name, k)
    }
    return k
  }
  const started = performance.now()
  let next = 0
  let done = 0
  let skipped = 0
  async function lane() {
    while (next < job.specs.length) {
      const spec = job.specs[next++]!
      if (performance.now() - started > job.deadlineMs) {
        skipped++
        continue
      }
      const k = kind(spec.kind)
      const t0 = performance.now()
      try {
        const status = await once(agent, job, spec)
        k.latencies.push(performance.now() - t0)
        k.statuses[status] = (k.statuses[status] ?? 0) + 1
      } catch (error) {
        k.errors++
        if (k.errorSamples.length < 3) k.errorSamples.push(String(error))
      }
      done++
      if (onProgress && done % 250 === 0) onProgress(done)
    }
  }
  await Promise.all(Array.from({ length: job.connections }, lane))
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  return { seconds, sent: done, skipped, kinds: [...byKind.values()] }
}

/** Runs `job` in a worker thread; `onProgress` hears how many requests are done, every 250. */
export function runLoadInWorker(job: LoadJob, onProgress?: (done: number) => void): Promise<LoadResult> {
  const worker = new Worker(new URL(import.meta.url), { workerData: job })
  return new Promise<LoadResult>((resolve, reject) => {
    worker.on('message', (message: { progress?: number; result?: LoadResult }) => {
      if (message.progress !== undefined) onProgress?.(message.progress)
      if (message.result) resolve(message.result)
    })
    worker.on('error', reject)
    worker.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load worker exited with ${code}`))
    })
  })
}

if (!isMainThread && parentPort && (workerData as LoadJob | undefined)?.specs) {
  const port = parentPort
  const result = await runLoad(workerData as LoadJob, (progress) => port.postMessage({ progress }))
  port.postMessage({ result })
}
