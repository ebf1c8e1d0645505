/**
 * The scheduled sync's policy (src/sync/fleet.ts), pure: backoff, the run's limit, the report; and
 * the planner run over a simulated fleet of the issue's 20,000 phone systems for 12 hours of cron
 * runs, with a model of the consumers' throughput: every phone system synced within its interval
 * (plus jitter and a small slack), no run over its limits, a backlog drained after an outage, a
 * throttled tenant backed off without delaying the others.
 */
import { describe, expect, it } from 'vitest'
import {
  APP_WIDE,
  BACKOFF,
  backoffMs,
  chunks,
  FLEET,
  type FleetScenario,
  planReport,
  runLimit,
  scheduledAfter,
  seeded,
  simulateFleet,
} from '../../src/sync/fleet'

const MIN = 60 * 1000
const HOUR = 60 * MIN
const INTERVAL = 6 * HOUR
/** A run every 5 minutes, plus a sync's own time in the queue: how late a phone system may be past its jittered time. */
const SLACK = 15 * MIN
/** The longest gap between two syncs the schedule promises: the interval, its 20% jitter, the slack. */
const PROMISED_GAP = INTERVAL * 1.2 + SLACK

/** Consumers: 10 invocations at once, 5 syncs each, a batch every 15 s (3 s a sync): 1,000 per 5-minute period. */
const CONSUMER_PER_PERIOD = FLEET.concurrency * FLEET.batchSize * 20

const fleet = (overrides: Partial<FleetScenario> = {}): FleetScenario => ({
  phoneSystems: 20_000,
  tenants: 15_000,
  intervalMs: INTERVAL,
  runs: (12 * HOUR) / FLEET.cronPeriodMs,
  consumerPerPeriod: CONSUMER_PER_PERIOD,
  start: 'spread',
  ...overrides,
})

/** Every run inside its limits: no more than the run's limit sent, in sendBatch calls of at most 100. */
function expectRunsWithinLimits(result: ReturnType<typeof simulateFleet>) {
  for (const { report, sendBatches } of result.runs) {
    expect(report.sent).toBeLessThanOrEqual(report.limit)
    expect(report.limit).toBeLessThanOrEqual(FLEET.perRun)
    expect(sendBatches).toBe(Math.ceil(report.sent / FLEET.sendBatchMax))
  }
}

describe('backoff', () => {
  it('doubles from 5 minutes per strike, capped at 2 hours, up to 25% longer, never shorter than Retry-After', () => {
    const none = () => 0
    expect([1, 2, 3, 4, 5, 6, 10].map((strikes) => backoffMs(strikes, 0, none) / MIN)).toEqual([
      5, 10, 20, 40, 80, 120, 120,
    ])
    expect(backoffMs(1, 0, () => 0.999_999)).toBe(Math.floor(BACKOFF.baseMs * (1 + 0.999_999 * BACKOFF.jitter)))
    expect(backoffMs(1, 3 * HOUR, none)).toBe(3 * HOUR)
    const random = seeded(7)
    for (let i = 0; i < 1000; i++) {
      const ms = backoffMs(3, 0, random)
      expect(ms).toBeGreaterThanOrEqual(20 * MIN)
      expect(ms).toBeLessThan(25 * MIN)
    }
  })

  it('an app-wide backoff halves the run per strike, never below one consumer batch; ended, the run is whole again', () => {
    const now = 1_000_000
    expect(runLimit(null, now)).toBe(FLEET.perRun)
    expect(runLimit({ until: now + 1, strikes: 1 }, now)).toBe(FLEET.perRun / 2)
    expect(runLimit({ until: now + 1, strikes: 2 }, now)).toBe(FLEET.perRun / 4)
    expect(runLimit({ until: now + 1, strikes: 20 }, now)).toBe(FLEET.batchSize)
    expect(runLimit({ until: now, strikes: 3 }, now)).toBe(FLEET.perRun)
  })
})

describe('a run', () => {
  it('reports the backlog, how late the oldest left is, and behind once that is 15 minutes or more', () => {
    const now = 100 * MIN
    expect(planReport({ due: 700, sent: 600, oldestDueAt: now - 15 * MIN, backedOff: 3, limit: 600, now })).toEqual({
      due: 700,
      sent: 600,
      backlog: 100,
      lateMs: 15 * MIN,
      backedOff: 3,
      limit: 600,
      behind: true,
    })
    // A few left for the next run, minutes late: the ripple of a busy period, not a fleet behind.
    expect(
      planReport({ due: 610, sent: 600, oldestDueAt: now - 4 * MIN, backedOff: 0, limit: 600, now }),
    ).toMatchObject({ backlog: 10, lateMs: 4 * MIN, behind: false })
    expect(planReport({ due: 20, sent: 20, oldestDueAt: null, backedOff: 0, limit: 600, now })).toMatchObject({
      backlog: 0,
      lateMs: 0,
      behind: false,
    })
  })

  it('sends in batches of at most 100 messages', () => {
    const ids = Array.from({ length: 601 }, (_, i) => i)
    expect(chunks(ids).map((part) => part.length)).toEqual([100, 100, 100, 100, 100, 100, 1])
    expect(chunks([])).toEqual([])
  })

  it('schedules the next sync one interval on, up to 20% later', () => {
    expect(scheduledAfter(INTERVAL, 10, () => 0)).toBe(10 + INTERVAL)
    expect(scheduledAfter(INTERVAL, 10, () => 0.5)).toBe(10 + INTERVAL + INTERVAL / 10)
  })
})

describe('20,000 phone systems on a 6-hour schedule, 12 hours of cron runs', () => {
  it('in service: each run sends about its share, never falls behind, and every phone system is synced within its interval', () => {
    const result = simulateFleet(fleet())
    expectRunsWithinLimits(result)
    expect(result.runs.every((run) => !run.report.behind)).toBe(true)
    const sent = result.runs.map((run) => run.report.sent)
    // 20,000 over 6 to 7.2 hours: about 250-280 a run, far from the 600 a run may send.
    expect(Math.max(...sent)).toBeLessThan(FLEET.perRun * 0.75)
    expect(sent.reduce((a, b) => a + b, 0) / sent.length).toBeGreaterThan(200)
    expect(result.maxGapMs).toBeLessThanOrEqual(PROMISED_GAP)
    // Two full rounds: each phone system synced at least once in 12 hours, most twice.
    expect(result.syncs).toBeGreaterThan(30_000)
    expect(result.failures).toBe(0)
  })

  it('all due at once (a new deployment): 600 a run, behind until the backlog drains in under 3 hours, then on time', () => {
    const result = simulateFleet(fleet({ start: 'all-due' }))
    expectRunsWithinLimits(result)
    expect(result.runs[0]!.report).toMatchObject({ due: 20_000, sent: FLEET.perRun, backlog: 20_000 - FLEET.perRun })
    expect(result.runs[3]!.report.behind).toBe(true)
    const drained = result.runs.findIndex((run, i) => i > 0 && run.report.backlog === 0)
    expect((drained * FLEET.cronPeriodMs) / HOUR).toBeLessThan(3)
    // From then on no phone system waits past one run: the jitter spreads the next rounds.
    const after = result.runs.slice(drained)
    expect(after.every((run) => !run.report.behind && run.report.lateMs <= FLEET.cronPeriodMs)).toBe(true)
    expect(result.maxGapMs).toBeLessThanOrEqual(PROMISED_GAP)
  })

  it('after 2 hours without cron runs the backlog drains within 2 hours, and nobody waits past interval + outage + drain', () => {
    const outage: [number, number] = [24, 47]
    const result = simulateFleet(fleet({ outage }))
    expectRunsWithinLimits(result)
    const back = result.runs.find((run) => run.run === outage[1] + 1)!
    expect(back.report.behind).toBe(true)
    expect(back.report.lateMs).toBeGreaterThan(110 * MIN)
    const caughtUp = result.runs.find((run) => run.run > outage[1] && run.report.backlog === 0)!
    expect(caughtUp.at - back.at).toBeLessThan(2 * HOUR)
    // Afterwards nobody waits past one run (the drained ones come due again together, and the jitter spreads them).
    const after = result.runs.filter((run) => run.at > caughtUp.at)
    expect(after.every((run) => !run.report.behind && run.report.lateMs <= FLEET.cronPeriodMs)).toBe(true)
    expect(result.maxGapMs).toBeLessThanOrEqual(PROMISED_GAP + 4 * HOUR)
  })

  it('a tenant Graph throttles for 4 hours backs off (growing, then retried once it answers); the others stay on time', () => {
    const throttledTenant = 7
    const result = simulateFleet(
      fleet({
        tenants: 2_000,
        throttled: [{ tenant: throttledTenant, from: 0, to: 4 * HOUR, retryAfterMs: 30_000 }],
      }),
    )
    expectRunsWithinLimits(result)
    expect(result.failures).toBeGreaterThan(0)
    // Backoffs 5, 10, 20, 40 … minutes: a handful of failed attempts in 4 hours, not one per run (48).
    expect(result.failures).toBeLessThan(20)
    const others = result.gaps.filter((_, ps) => ps % 2_000 !== throttledTenant)
    expect(Math.max(...others)).toBeLessThanOrEqual(PROMISED_GAP)
    expect(result.runs.every((run) => !run.report.behind)).toBe(true)
    // Its phone systems are synced again after the throttling ends (their gap bounded by it plus the cap).
    const throttled = result.gaps.filter((_, ps) => ps % 2_000 === throttledTenant)
    expect(Math.max(...throttled)).toBeLessThanOrEqual(PROMISED_GAP + 4 * HOUR + BACKOFF.capMs)
    expect(result.runs.some((run) => run.report.backedOff > 0)).toBe(true)
  })

  it(`${APP_WIDE.tenants} tenants throttled at once read as the app throttled: runs send half, then whole again`, () => {
    const throttled = Array.from({ length: 40 }, (_, tenant) => ({ tenant, from: 0, to: 20 * MIN, retryAfterMs: 0 }))
    const result = simulateFleet(fleet({ tenants: 40, phoneSystems: 4_000, throttled, runs: 48 }))
    expectRunsWithinLimits(result)
    const limits = result.runs.map((run) => run.report.limit)
    expect(Math.min(...limits)).toBeLessThan(FLEET.perRun)
    expect(limits.at(-1)).toBe(FLEET.perRun)
  })
})
