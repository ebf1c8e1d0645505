/**
 * Bench only: the rate limiting binding as production runs it. Cloudflare's
 * binding keeps its counters "cached on the same machine that your Worker
 * runs in, and updated asynchronously in the background", so awaiting
 * `limit()` is "not waiting on a network request"
 * (https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/#performance).
 * Miniflare's simulator instead makes every call a request to a Durable
 * Object in another isolate, which in `npm run bench:signin` cost more of the
 * machine than anything the gateway itself does per request. This counter
 * lives in the isolate: one fixed window per key, as the binding counts.
 * `BENCH_RATE_LIMITER=miniflare` keeps the simulator.
 */
export function localRateLimit(limit: number, periodSeconds: number): RateLimit {
  const windows = new Map<string, { endsAt: number; count: number }>()
  return {
    async limit({ key }) {
      const now = Date.now()
      let window = windows.get(key)
      if (!window || window.endsAt <= now) {
        window = { endsAt: now + periodSeconds * 1000, count: 0 }
        windows.set(key, window)
      }
      window.count++
      return { success: window.count <= limit }
    },
  }
}
