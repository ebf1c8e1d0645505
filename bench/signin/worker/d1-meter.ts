/**
 * Bench only: a D1 binding that counts the calls made through it, and can
 * delay each one to model a primary far away. Nothing here is in the
 * deployed bundle: `bench/signin/worker/entry.ts` puts it in front of the
 * gateway.
 *
 * One call is one round trip to D1: `first/all/run/raw` of a statement,
 * `batch` (one round trip for all its statements), `exec`, and the same on a
 * `withSession()` session. A call is a write when one of its statements
 * writes (by SQL verb), else a read.
 *
 * Sequential: a call that starts while no other call of the same request is
 * in flight, before the response left, and that finished before it left. Two
 * calls in a Promise.all count once; a call started for later (waitUntil,
 * or not awaited) and still running when the response leaves is not on the
 * request's critical path and counts as "after response".
 */

import type { StepCounts } from '../counts'

export type CallKind = 'read' | 'write'

/** One request (or one queue batch, one cron run): where its calls are counted and how many are in flight. */
export interface RequestMeter {
  counts: StepCounts
  inFlight: number
  /** The response has left (or there is no response to wait for: queue, cron, Durable Object alarm). */
  responded: boolean
}

export interface MeterOptions {
  /** The meter of the request making a call (null: a call outside any request, counted nowhere). */
  current(): RequestMeter | null
  /**
   * Milliseconds a call waits before it reaches D1: `primary` for writes and for reads on the binding itself,
   * `replica` for reads through a `withSession()` session, which D1 read replication may serve from a
   * replica near the Worker instead of the primary.
   */
  delayMs(where: 'primary' | 'replica'): number
}

const WRITE_VERB = /^(insert|update|delete|replace|create|drop|alter|begin|commit|rollback|savepoint|release|vacuum)\b/i
const WRITE_ANYWHERE = /\b(insert|update|delete|replace)\b/i

/** Whether a statement writes, by its verb (a WITH ... INSERT too). */
export function writes(sql: string): boolean {
  const text = sql.replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, '')
  if (WRITE_VERB.test(text)) return true
  return /^with\b/i.test(text) && WRITE_ANYWHERE.test(text)
}

async function metered<T>(
  options: MeterOptions,
  kind: CallKind,
  statements: number,
  call: () => Promise<T>,
  session = false,
): Promise<T> {
  const meter = options.current()
  if (!meter) return call()
  const counts = meter.counts[kind]
  counts.total++
  counts.statements += statements
  const onPath = meter.inFlight === 0 && !meter.responded
  meter.inFlight++
  const started = Date.now()
  try {
    const delay = options.delayMs(session && kind === 'read' ? 'replica' : 'primary')
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
    return await call()
  } finally {
    counts.ms += Date.now() - started
    meter.inFlight--
    if (meter.responded) counts.afterResponse++
    else if (onPath) counts.sequential++
  }
}

/** Statements made through a metered binding: the binding's own, with the SQL kept for classifying. */
class MeteredStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    readonly sql: string,
    private readonly options: MeterOptions,
    private readonly session: boolean,
  ) {}

  bind(...values: unknown[]): MeteredStatement {
    return new MeteredStatement(this.inner.bind(...values), this.sql, this.options, this.session)
  }

  private kind(): CallKind {
    return writes(this.sql) ? 'write' : 'read'
  }

  first(column?: string): Promise<unknown> {
    return metered(
      this.options,
      this.kind(),
      1,
      () => (column === undefined ? this.inner.first() : this.inner.first(column)),
      this.session,
    )
  }

  run(): Promise<D1Result> {
    return metered(this.options, this.kind(), 1, () => this.inner.run(), this.session)
  }

  all(): Promise<D1Result> {
    return metered(this.options, this.kind(), 1, () => this.inner.all(), this.session)
  }

  raw(rawOptions?: { columnNames?: boolean }): Promise<unknown[]> {
    return metered(
      this.options,
      this.kind(),
      1,
      () => (rawOptions?.columnNames ? this.inner.raw({ columnNames: true }) : this.inner.raw()),
      this.session,
    )
  }
}

function unwrap(statements: D1PreparedStatement[]): { inner: D1PreparedStatement[]; kind: CallKind } {
  let write = false
  const inner = statements.map((s) => {
    const statement = s as unknown as MeteredStatement
    if (!(statement instanceof MeteredStatement)) throw new Error('bench D1 meter: a batch of foreign statements')
    write ||= writes(statement.sql)
    return statement.inner
  })
  return { inner, kind: write ? 'write' : 'read' }
}

type Preparer = Pick<D1Database, 'prepare' | 'batch'>

function prepareOn(target: Preparer, options: MeterOptions, session: boolean) {
  return {
    prepare: (sql: string) =>
      new MeteredStatement(target.prepare(sql), sql, options, session) as unknown as D1PreparedStatement,
    batch: <T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> => {
      const { inner, kind } = unwrap(statements)
      return metered(options, kind, inner.length, () => target.batch<T>(inner), session)
    },
  }
}

/** `d1` behind a meter: the same API (D1Database, and the sessions `withSession` opens). */
export function meterD1(d1: D1Database, options: MeterOptions): D1Database {
  return {
    ...prepareOn(d1, options, false),
    exec: (sql: string) => metered(options, writes(sql) ? 'write' : 'read', 1, () => d1.exec(sql)),
    withSession: (constraint?: D1SessionBookmark | D1SessionConstraint) => {
      const session = d1.withSession(constraint)
      return { ...prepareOn(session, options, true), getBookmark: () => session.getBookmark() } as D1DatabaseSession
    },
    dump: () => d1.dump(),
  } as D1Database
}
