/**
 * Scheduled sync at fleet scale (ARCHITECTURE §8, docs/OPERATIONS.md "Sync
 * queue"): the policy, pure. The cron only plans (`fleet-queue.ts`): it picks
 * the phone systems due, oldest first and no more than the queue's consumers
 * get through in one cron period, moves each one's next sync a lease ahead,
 * and sends one message per phone system to the SYNC_JOBS queue, whose
 * consumer syncs them a few per invocation. A tenant Microsoft Graph throttles
 * is backed off on its own; many tenants throttled at once means the
 * provider's app is throttled across tenants, and the whole planner slows.
 *
 * No runtime imports: `npm run bench:fleet` runs this module (and its model,
 * `simulateFleet`) in Node.
 *
 * @see https://developers.cloudflare.com/queues/platform/limits/
 * @see https://learn.microsoft.com/graph/throttling
 */

/**
 * The queues the admin Worker's queue handler reads as sync jobs (wrangler.admin.toml: production's,
 * staging's; locally the first); every other queue is the sign-in audit's. `npm run preflight` checks it.
 */
export const SYNC_QUEUES: readonly string[] = ['sso-gateway-sync', 'sso-gateway-sync-staging']

/** The queue and its consumer (wrangler.admin.toml `[[queues.consumers]]` of sso-gateway-sync): keep them in step. */
export const FLEET = {
  /** Messages per consumer invocation (`max_batch_size`): each a whole sync, so few. */
  batchSize: 5,
  /** Consumer invocations at once (`max_concurrency`): bounds the load on Graph and D1 together. */
  concurrency: 10,
  /**
   * The most phone systems one cron run (every 5 minutes) sends. Consumers get through far more (10
   * invocations of 5 syncs of a few seconds each: over 1,000 in 5 minutes), and 20,000 phone systems
   * every 6 hours need about 280 a run: room to drain a backlog after an outage within hours.
   */
  perRun: 600,
  /**
   * How far the planner moves a sent phone system's next sync, so the next cron does not send it again
   * while it waits in the queue. A lost message (or one in the dead letter queue) is sent again after it.
   */
  leaseMs: 60 * 60 * 1000,
  /** Messages per `sendBatch` (Queues: at most 100, and 256 KB in all; a message here is ~150 bytes). */
  sendBatchMax: 100,
  /** How often the cron runs (wrangler.admin.toml `[triggers]`). */
  cronPeriodMs: 5 * 60 * 1000,
  /**
   * A run is behind when it leaves a phone system due this long ago unsent. A few left for the next run
   * (minutes late) are the normal ripple of phone systems synced together before; a backlog this old
   * means the fleet is not keeping up (or is draining an outage): the log line and metric say so.
   */
  behindAfterMs: 15 * 60 * 1000,
} as const

/** What one Worker invocation may do (Workers limits, paid plan): the consumer plans its syncs inside these. */
export const INVOCATION_LIMITS = { subrequests: 1000, d1Queries: 1000 } as const

/** When the next scheduled sync of a phone system synced at `now` is: its interval plus up to 20% jitter. */
export function scheduledAfter(intervalMs: number, now: number, random: () => number = Math.random): number {
  // Jitter spreads phone systems synced together apart, so one cron run never meets them all at once.
  return now + intervalMs + Math.floor(random() * intervalMs * 0.2)
}

/** How Graph throttling backs a tenant off: exponential from `baseMs`, capped, with jitter, never before Retry-After. */
export const BACKOFF = {
  baseMs: 5 * 60 * 1000,
  capMs: 2 * 60 * 60 * 1000,
  /** Up to this fraction longer, so tenants throttled together are not retried together. */
  jitter: 0.25,
} as const

/**
 * The app-wide backoff (row `*`): Graph answers 429 to every tenant once the provider's app is over its
 * limit across tenants, and says no more than that; so this many distinct tenants throttled within the
 * window is read as the app throttled.
 */
export const APP_WIDE = { tenants: 5, windowMs: 5 * 60 * 1000, tenantId: '*' } as const

/** How long a backoff lasts after its `strikes`-th throttle in a row (1, 2, …). */
export function backoffMs(strikes: number, retryAfterMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** Math.max(0, strikes - 1))
  return Math.max(retryAfterMs, Math.floor(exponential * (1 + random() * BACKOFF.jitter)))
}

/**
 * How many phone systems this cron run may send: `FLEET.perRun`, halved per strike of an app-wide
 * backoff in force (never below one consumer batch, so the fleet keeps moving and learns when it ends).
 */
export function runLimit(appWide: { until: number; strikes: number } | null, now: number): number {
  if (!appWide || appWide.until <= now) return FLEET.perRun
  return Math.max(FLEET.batchSize, Math.floor(FLEET.perRun / 2 ** appWide.strikes))
}

/** What a cron run reports (log line and metric): behind when it left due phone systems unsent. */
export interface PlanReport {
  /** Due now (their tenants not backed off), before this run sent any. */
  due: number
  sent: number
  /** Due and left for the next runs. */
  backlog: number
  /** How late the oldest phone system left for the next runs is (0 when none is left). */
  lateMs: number
  /** Phone systems due but held back by a tenant's backoff. */
  backedOff: number
  limit: number
  behind: boolean
}

export function planReport(input: {
  due: number
  sent: number
  /** The oldest next sync among those left unsent (null when none is). */
  oldestDueAt: number | null
  backedOff: number
  limit: number
  now: number
}): PlanReport {
  const backlog = Math.max(0, input.due - input.sent)
  return {
    due: input.due,
    sent: input.sent,
    backlog,
    lateMs: input.oldestDueAt === null ? 0 : Math.max(0, input.now - input.oldestDueAt),
    backedOff: input.backedOff,
    limit: input.limit,
    behind: backlog > 0 && input.now - (input.oldestDueAt ?? input.now) >= FLEET.behindAfterMs,
  }
}

/** Splits what a run sends into `sendBatch` calls of at most `FLEET.sendBatchMax`. */
export function chunks<T>(items: readonly T[], size: number = FLEET.sendBatchMax): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

// ---------------------------------------------------------------- the model (tests and `npm run bench:fleet`)

/** A fleet to simulate: phone systems spread over tenants, cron runs, consumers, outages and throttling. */
export interface FleetScenario {
  phoneSystems: number
  tenants: number
  intervalMs: number
  /** How many cron runs to simulate. */
  runs: number
  /** Syncs the consumers finish per cron period (a model of their throughput). */
  consumerPerPeriod: number
  /** Where the first scheduled syncs fall: spread over one interval (a fleet in service), or all due at once. */
  start: 'spread' | 'all-due'
  /** Cron runs that do not happen (an outage), as [first, last] run numbers. */
  outage?: [number, number]
  /** Tenants Graph throttles, over [from, to) ms since the start. */
  throttled?: Array<{ tenant: number; from: number; to: number; retryAfterMs: number }>
  seed?: number
}

export interface RunRecord {
  run: number
  at: number
  report: PlanReport
  /** `sendBatch` calls the run made (each of at most `FLEET.sendBatchMax` messages). */
  sendBatches: number
}

export interface FleetResult {
  runs: RunRecord[]
  /** The longest time between two successful syncs of a phone system (or from its last to the end). */
  maxGapMs: number
  /** The same, per phone system, and each one's tenant (phone system i is in tenant i % tenants). */
  gaps: number[]
  /** Messages whose phone system was synced since they were sent: skipped by the claim's `dueBy`. */
  skipped: number
  syncs: number
  failures: number
}

/** A small deterministic PRNG (mulberry32), so a scenario gives the same figures every time. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Runs the planner's policy over a simulated fleet: each cron run picks the due phone systems of tenants
 * not backed off, oldest first, up to `runLimit`, leases and sends them; the consumers finish
 * `consumerPerPeriod` messages per period in order, each a success (next sync at its interval) or, for a
 * throttled tenant, a failure that backs the tenant off and retries the phone system an hour later (what
 * `syncPhoneSystem` records). It mirrors `planDueSyncs` and `consumeSyncJobs`, without D1 and Queues.
 */
export function simulateFleet(scenario: FleetScenario): FleetResult {
  const random = seeded(scenario.seed ?? 1)
  const period = FLEET.cronPeriodMs
  const retryAfterFailureMs = 60 * 60 * 1000
  const n = scenario.phoneSystems
  const next = new Float64Array(n)
  const lastSynced = new Float64Array(n)
  const maxGap = new Float64Array(n)
  const tenantOf = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    next[i] = scenario.start === 'all-due' ? 0 : Math.floor(random() * scenario.intervalMs)
    tenantOf[i] = i % scenario.tenants
  }
  // In service, a phone system spread over the interval was last synced one interval before its next sync.
  for (let i = 0; i < n; i++) lastSynced[i] = scenario.start === 'all-due' ? 0 : next[i]! - scenario.intervalMs
  const backoff = new Map<number, { until: number; strikes: number; throttledAt: number }>()
  let appWide: { until: number; strikes: number; throttledAt: number } | null = null
  const queue: Array<{ ps: number; dueBy: number }> = []
  const runs: RunRecord[] = []
  let syncs = 0
  let failures = 0
  let skipped = 0
  const order = Array.from({ length: n }, (_, i) => i)

  const throttledAt = (tenant: number, at: number) =>
    scenario.throttled?.find((t) => t.tenant === tenant && t.from <= at && at < t.to)

  for (let run = 0; run < scenario.runs; run++) {
    const now = run * period
    const down = scenario.outage && run >= scenario.outage[0] && run <= scenario.outage[1]
    if (!down) {
      const limit = runLimit(appWide, now)
      const blocked = (ps: number) => (backoff.get(tenantOf[ps]!)?.until ?? 0) > now
      // The planner's query: due, tenant not backed off, oldest first, limited.
      const due = order.filter((ps) => next[ps]! <= now)
      const sendable = due.filter((ps) => !blocked(ps)).sort((a, b) => next[a]! - next[b]!)
      const oldest = sendable.length > limit ? next[sendable[limit]!]! : null
      const sent = sendable.slice(0, limit)
      for (const ps of sent) {
        next[ps] = now + FLEET.leaseMs
        queue.push({ ps, dueBy: now + FLEET.leaseMs })
      }
      runs.push({
        run,
        at: now,
        report: planReport({
          due: sendable.length,
          sent: sent.length,
          oldestDueAt: oldest,
          backedOff: due.length - sendable.length,
          limit,
          now,
        }),
        sendBatches: chunks(sent).length,
      })
    }
    // The consumers, through the period: messages in order, spread evenly over it.
    const take = queue.splice(0, scenario.consumerPerPeriod)
    take.forEach(({ ps, dueBy }, k) => {
      const at = now + Math.floor(((k + 1) * period) / (take.length + 1))
      // The claim's dueBy: a phone system synced since (its next sync moved past the lease) is skipped.
      if (next[ps]! > dueBy) {
        skipped++
        return
      }
      const tenant = tenantOf[ps]!
      const held = backoff.get(tenant)
      if (held && held.until > at) {
        // Backed off after it was sent: deferred to the backoff's end.
        next[ps] = held.until
        return
      }
      const throttle = throttledAt(tenant, at)
      if (throttle) {
        failures++
        const strikes = (held?.strikes ?? 0) + 1
        backoff.set(tenant, { until: at + backoffMs(strikes, throttle.retryAfterMs, random), strikes, throttledAt: at })
        next[ps] = at + retryAfterFailureMs
        const recent = [...backoff.values()].filter((b) => b.throttledAt > at - APP_WIDE.windowMs).length
        if (recent >= APP_WIDE.tenants) {
          const strikesApp = (appWide && appWide.until > at - APP_WIDE.windowMs ? appWide.strikes : 0) + 1
          appWide = { until: at + backoffMs(strikesApp, 0, random), strikes: strikesApp, throttledAt: at }
        }
        return
      }
      syncs++
      backoff.delete(tenant)
      maxGap[ps] = Math.max(maxGap[ps]!, at - lastSynced[ps]!)
      lastSynced[ps] = at
      next[ps] = scheduledAfter(scenario.intervalMs, at, random)
    })
  }
  // A phone system not synced lately counts its wait so far.
  const end = scenario.runs * period
  const gaps = Array.from({ length: n }, (_, i) => Math.max(maxGap[i]!, Math.min(end, next[i]!) - lastSynced[i]!))
  return { runs, maxGapMs: gaps.reduce((a, b) => Math.max(a, b), 0), gaps, skipped, syncs, failures }
}
