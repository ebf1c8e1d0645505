/**
 * `npm run bench:fleet [-- --scenario spread|all-due|outage|throttled]`: the scheduled sync's planner
 * (src/sync/fleet.ts) over a simulated fleet of 20,000 phone systems on a 6-hour interval, 12 hours
 * of cron runs every 5 minutes, with a model of the queue consumers' throughput (10 invocations at
 * once, 5 syncs each, a batch every 15 s). Prints per cron run (every sixth, and every one that left
 * a backlog): due, sent, backlog, backed off, how late the oldest left is, the run's limit; then the
 * longest gap between two syncs of one phone system. The same model test/sync/fleet.test.ts asserts.
 */
import { parseArgs } from 'node:util'
import { FLEET, type FleetScenario, simulateFleet } from '../src/sync/fleet.ts'

const HOUR = 60 * 60 * 1000
const { values } = parseArgs({ options: { scenario: { type: 'string', default: 'all' } } })

const base: FleetScenario = {
  phoneSystems: 20_000,
  tenants: 15_000,
  intervalMs: 6 * HOUR,
  runs: (12 * HOUR) / FLEET.cronPeriodMs,
  consumerPerPeriod: FLEET.concurrency * FLEET.batchSize * 20,
  start: 'spread',
}
const scenarios: Record<string, FleetScenario> = {
  spread: base,
  'all-due': { ...base, start: 'all-due' },
  outage: { ...base, outage: [24, 47] },
  throttled: { ...base, tenants: 2_000, throttled: [{ tenant: 7, from: 0, to: 4 * HOUR, retryAfterMs: 30_000 }] },
}

const hm = (ms: number) => `${Math.floor(ms / HOUR)}:${String(Math.floor((ms % HOUR) / 60_000)).padStart(2, '0')}`

for (const [name, scenario] of Object.entries(scenarios)) {
  if (values.scenario !== 'all' && values.scenario !== name) continue
  const started = performance.now()
  const result = simulateFleet(scenario)
  console.log(`\n## ${name}: ${scenario.phoneSystems} phone systems, ${scenario.runs} cron runs`)
  console.log('| run | at | due | sent | backlog | backed off | oldest late | limit |')
  console.log('| --: | --: | --: | --: | --: | --: | --: | --: |')
  for (const { run, at, report } of result.runs) {
    if (run % 6 !== 0 && report.backlog === 0) continue
    console.log(
      `| ${run} | ${hm(at)} | ${report.due} | ${report.sent} | ${report.backlog} | ${report.backedOff} | ${hm(report.lateMs)} | ${report.limit} |${report.behind ? ' behind' : ''}`,
    )
  }
  const behind = result.runs.filter((run) => run.report.behind).length
  console.log(
    `\nruns behind: ${behind} of ${result.runs.length}; syncs ${result.syncs}, failed ${result.failures}, skipped ${result.skipped}; ` +
      `longest gap between two syncs of one phone system: ${hm(result.maxGapMs)} (interval 6:00 + 20% jitter = 7:12); ` +
      `max sent in a run: ${Math.max(...result.runs.map((r) => r.report.sent))}; simulated in ${Math.round(performance.now() - started)} ms`,
  )
}
