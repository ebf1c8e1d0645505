/**
 * Figures of `npm run bench:signin`: a cell's runs summed up (rates,
 * percentiles per step, D1 calls and stand-in requests per sign-in) and the
 * tables printed from them.
 */

import type { KindCounts, StepCounts } from './counts.ts'
import { type CellRun, STEPS, type Step } from './driver.ts'

export interface Percentiles {
  p50: number
  p99: number
}

/** D1 calls per sign-in, from the bench entry's counts. */
export interface D1PerSignIn {
  reads: number
  writes: number
  sequentialReads: number
  sequentialWrites: number
  /** Calls still running (or started) after their response left: off the request path. */
  afterResponse: number
  statements: number
}

export interface StandInPerSignIn {
  discovery: number
  jwks: number
  authorize: number
  token: number
}

export interface CellSummary {
  name: string
  concurrency: number
  signIns: number
  failures: number
  failureSamples: string[]
  seconds: number
  perSecond: number
  whole: Percentiles
  steps: Partial<Record<Step, Percentiles>>
  d1?: D1PerSignIn
  /** D1 calls per sign-in by step (the queue's consumer, if any, under `queue`): reads/writes, sequential ones. */
  d1ByStep?: Record<string, { reads: number; writes: number; sequential: number }>
  standIn: StandInPerSignIn
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b)
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) }
}

export function addSteps(into: Record<string, StepCounts>, from: Record<string, StepCounts>): void {
  for (const [step, counts] of Object.entries(from)) {
    const target = into[step]
    if (!target) {
      into[step] = structuredClone(counts)
      continue
    }
    target.requests += counts.requests
    for (const kind of ['read', 'write'] as const)
      for (const key of Object.keys(counts[kind]) as Array<keyof KindCounts>) target[kind][key] += counts[kind][key]
  }
}

/** Stand-in request counts by kind (`discovery:{tenant}` and so on), summed over tenants. */
export function standInKinds(hits: Record<string, number>): StandInPerSignIn {
  const sum = (kind: string) =>
    Object.entries(hits)
      .filter(([key]) => key.startsWith(`${kind}:`))
      .reduce((s, [, n]) => s + n, 0)
  return { discovery: sum('discovery'), jwks: sum('jwks'), authorize: sum('authorize'), token: sum('token') }
}

export function summarize(
  name: string,
  concurrency: number,
  runs: CellRun[],
  d1Steps: Record<string, StepCounts> | undefined,
  standIn: StandInPerSignIn,
): CellSummary {
  const results = runs.flatMap((r) => r.results)
  const ok = results.filter((r) => r.ok)
  const seconds = runs.reduce((s, r) => s + r.seconds, 0)
  const per = (n: number) => (ok.length ? n / ok.length : Number.NaN)
  const steps: Partial<Record<Step, Percentiles>> = {}
  for (const step of STEPS) {
    const values = ok.map((r) => r.steps[step]).filter((v): v is number => v !== undefined)
    if (values.length) steps[step] = percentiles(values)
  }
  let d1: D1PerSignIn | undefined
  let d1ByStep: CellSummary['d1ByStep']
  if (d1Steps) {
    // Every step of the sign-ins and what runs for them off the request path (a queue consumer): not the
    // bench's own requests (seeding, counters), which carry no step.
    const all = Object.entries(d1Steps).filter(([step]) => step !== 'other')
    const total = (pick: (c: StepCounts) => number) => per(all.reduce((s, [, c]) => s + pick(c), 0))
    d1 = {
      reads: total((c) => c.read.total),
      writes: total((c) => c.write.total),
      sequentialReads: total((c) => c.read.sequential),
      sequentialWrites: total((c) => c.write.sequential),
      afterResponse: total((c) => c.read.afterResponse + c.write.afterResponse),
      statements: total((c) => c.read.statements + c.write.statements),
    }
    d1ByStep = Object.fromEntries(
      all.map(([step, c]) => [
        step,
        {
          reads: per(c.read.total),
          writes: per(c.write.total),
          sequential: per(c.read.sequential + c.write.sequential),
        },
      ]),
    )
  }
  return {
    name,
    concurrency,
    signIns: ok.length,
    failures: results.length - ok.length,
    failureSamples: [...new Set(results.filter((r) => !r.ok).map((r) => r.detail))].slice(0, 3),
    seconds,
    perSecond: ok.length / seconds,
    whole: percentiles(ok.map((r) => r.totalMs)),
    steps,
    d1,
    d1ByStep,
    standIn: {
      discovery: per(standIn.discovery),
      jwks: per(standIn.jwks),
      authorize: per(standIn.authorize),
      token: per(standIn.token),
    },
  }
}

const ms = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n < 10 ? n.toFixed(1) : n.toFixed(0))
const pair = (p: Percentiles | undefined) => (p ? `${ms(p.p50)}/${ms(p.p99)}` : '-')
const count = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(2).replace(/\.?0+$/, ''))

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

export function timingTable(cells: CellSummary[]): string {
  return table(
    ['cell', 'c', 'sign-ins/s', 'n', 'fail', 'whole p50/p99', ...STEPS.map((s) => `${s} p50/p99`)],
    cells.map((c) => [
      c.name,
      String(c.concurrency),
      c.perSecond.toFixed(1),
      String(c.signIns),
      String(c.failures),
      pair(c.whole),
      ...STEPS.map((s) => pair(c.steps[s])),
    ]),
  )
}

export function countsTable(cells: CellSummary[]): string {
  return table(
    [
      'cell',
      'c',
      'D1 reads',
      'D1 writes',
      'seq reads',
      'seq writes',
      'after resp.',
      'statements',
      'discovery',
      'JWKS',
      'authorize',
      'token',
    ],
    cells.map((c) => [
      c.name,
      String(c.concurrency),
      count(c.d1?.reads),
      count(c.d1?.writes),
      count(c.d1?.sequentialReads),
      count(c.d1?.sequentialWrites),
      count(c.d1?.afterResponse),
      count(c.d1?.statements),
      count(c.standIn.discovery),
      count(c.standIn.jwks),
      count(c.standIn.authorize),
      count(c.standIn.token),
    ]),
  )
}

/** One line per cell: D1 calls per sign-in by step, as reads/writes (sequential). */
export function d1ByStepLines(cells: CellSummary[]): string[] {
  return cells
    .filter((c) => c.d1ByStep)
    .map(
      (c) =>
        `${c.name} c=${c.concurrency}: ${Object.entries(c.d1ByStep!)
          .map(([step, n]) => `${step} ${count(n.reads)}r/${count(n.writes)}w (${count(n.sequential)} seq)`)
          .join(', ')}`,
    )
}
