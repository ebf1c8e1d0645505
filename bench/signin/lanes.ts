/**
 * The load of `npm run bench:signin`, on a worker thread of its own: the
 * browsers signing in (driver.ts) run here, while the main thread runs
 * Miniflare, which reads and parses every line workerd logs. On one thread,
 * the gateway's log lines (the peer logs none) cost the load generator time
 * in the gateway's cells only: the harness would measure itself. As
 * `npm run bench` runs autocannon (bench/load-client.ts).
 */
import http from 'node:http'
import { isMainThread, parentPort, Worker } from 'node:worker_threads'
import { Browser, type CellRun, type GatewaySites, gatewaySignIn, peerSignIn, runCell, type User } from './driver.ts'

export type LaneKind = 'central' | 'direct' | 'peer'

export interface LaneSetup {
  /** workerd's port on 127.0.0.1. */
  port: number
  standInBase: string
  users: User[]
  sites: Record<Exclude<LaneKind, 'peer'>, GatewaySites>
  peerHost: string
}

export interface LaneJob {
  kind: LaneKind
  concurrency: number
  seconds: number
  /** The index of the first user (round robin over `users`). */
  firstUser: number
}

/** What a cell ran, and how many users it took (the next cell starts after them). */
export interface LaneDone {
  run: CellRun
  usersTaken: number
}

/** The load thread: `run(job)` runs one cell there. */
export function startLanes(setup: LaneSetup): {
  run: (job: LaneJob) => Promise<LaneDone>
  stop: () => Promise<number>
} {
  const worker = new Worker(new URL(import.meta.url), { workerData: setup })
  let pending: { resolve: (done: LaneDone) => void; reject: (error: Error) => void } | null = null
  worker.on('message', (done: LaneDone) => {
    pending?.resolve(done)
    pending = null
  })
  worker.on('error', (error) => {
    pending?.reject(error)
    pending = null
  })
  return {
    run: (job) =>
      new Promise((resolve, reject) => {
        pending = { resolve, reject }
        worker.postMessage(job)
      }),
    stop: () => worker.terminate(),
  }
}

if (!isMainThread && parentPort) {
  const { workerData } = await import('node:worker_threads')
  const setup = workerData as LaneSetup
  const standInUrl = new URL(setup.standInBase)
  const workerdAgent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  const standInAgent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  const newBrowser = () =>
    new Browser(
      { port: setup.port, agent: workerdAgent },
      { port: Number(standInUrl.port), agent: standInAgent, base: setup.standInBase },
    )
  const signIns = {
    central: (b: Browser, u: User) => gatewaySignIn(b, setup.sites.central, setup.standInBase, u),
    direct: (b: Browser, u: User) => gatewaySignIn(b, setup.sites.direct, setup.standInBase, u),
    peer: (b: Browser, u: User) => peerSignIn(b, setup.peerHost, setup.standInBase, u),
  }
  const port = parentPort
  port.on('message', async (job: LaneJob) => {
    let cursor = job.firstUser
    const run = await runCell(job.concurrency, job.seconds, setup.users, signIns[job.kind], newBrowser, () => cursor++)
    port.postMessage({ run, usersTaken: cursor - job.firstUser } satisfies LaneDone)
  })
}
