/**
 * Bench only (`npm run bench:signin`): the gateway Worker as deployed, with
 * its D1 binding metered (d1-meter.ts). Built by wrangler from the same
 * wrangler.toml as production (bench/signin/gateway.ts), so the gateway code
 * in this bundle is the production source, bundled the same way.
 *
 * Every request is counted under its `x-bench-step` header (the bench's
 * driver names the step of the sign-in); `GET /__bench/d1` on any host
 * answers the counts per step (`?reset=1` starts them again), and
 * `POST /__bench/d1?delay=<ms>[&replica=<ms>]` sets how long each D1 call
 * waits (`replica`: reads through a session, which a read replica near the
 * Worker may serve; default: the same as `delay`, else the
 * BENCH_D1_DELAY_MS binding).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
// The gateway under test: after the Worker split, the sign-in Worker's entry (both lines).
import gateway from '../../../src/sign-in-worker'

export * from '../../../src/sign-in-worker'

import { newStepCounts, type StepCounts } from '../counts'
import { meterD1, type RequestMeter } from './d1-meter'
import { localRateLimit } from './local-rate-limit'

type Env = Record<string, unknown> & { DB: D1Database; BENCH_D1_DELAY_MS?: string; BENCH_RATE_LIMITER?: string }
type Handler = ExportedHandler<Env>

const current = new AsyncLocalStorage<RequestMeter>()
const steps = new Map<string, StepCounts>()
/** The delay set at runtime (POST /__bench/d1?delay=&replica=): for the primary, and for session reads. */
let delayOverride: { primary: number; replica: number } | null = null

function stepCounts(step: string): StepCounts {
  let counts = steps.get(step)
  if (!counts) {
    counts = newStepCounts()
    steps.set(step, counts)
  }
  return counts
}

// One wrapped env per env the runtime passes (it passes the same one to every request): the gateway caches
// its configuration and its drizzle client per env and per binding, as it does in production.
const wrapped = new WeakMap<object, Env>()
function meteredEnv(env: Env): Env {
  let out = wrapped.get(env)
  if (!out) {
    const fallback = Number(env.BENCH_D1_DELAY_MS ?? 0)
    out = {
      ...env,
      DB: meterD1(env.DB, {
        current: () => current.getStore() ?? null,
        delayMs: (where) => (delayOverride ? delayOverride[where] : fallback),
      }),
    }
    // The rate limits as production counts them: in the isolate (local-rate-limit.ts). Every sign-in of the
    // bench comes from one address, so the limit is out of the way, as the bench's Miniflare options set it.
    if (env.BENCH_RATE_LIMITER !== 'miniflare')
      for (const name of ['SIGNIN_RATE_LIMIT', 'ADMIN_RATE_LIMIT']) if (env[name]) out[name] = localRateLimit(1e9, 60)
    wrapped.set(env, out)
  }
  return out
}

function newMeter(step: string, responded = false): RequestMeter {
  const counts = stepCounts(step)
  counts.requests++
  return { counts, inFlight: 0, responded }
}

async function benchRoute(request: Request): Promise<Response> {
  const url = new URL(request.url)
  if (request.method === 'POST') {
    const delay = url.searchParams.get('delay')
    const replica = url.searchParams.get('replica')
    delayOverride =
      delay === null || delay === ''
        ? null
        : { primary: Number(delay), replica: replica === null || replica === '' ? Number(delay) : Number(replica) }
  }
  const body = JSON.stringify({ delayMs: delayOverride, steps: Object.fromEntries(steps) })
  if (url.searchParams.get('reset') === '1') steps.clear()
  return new Response(body, { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } })
}

const inner = gateway as unknown as Handler
const handler: Handler = {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === '/__bench/d1') return benchRoute(request)
    const meter = newMeter(request.headers.get('x-bench-step') ?? 'other')
    try {
      return await current.run(meter, () => inner.fetch!(request as never, meteredEnv(env), ctx))
    } finally {
      meter.responded = true
    }
  },
}
if (inner.scheduled) {
  handler.scheduled = (controller, env, ctx) =>
    current.run(newMeter('scheduled', true), () => inner.scheduled!(controller, meteredEnv(env), ctx))
}
if (inner.queue) {
  handler.queue = (batch, env, ctx) =>
    current.run(newMeter('queue', true), () => inner.queue!(batch, meteredEnv(env), ctx))
}

export default handler
