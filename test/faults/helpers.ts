/**
 * Shared by the fault drills: a D1 binding that fails on its Nth call (as D1
 * does: an Error whose message starts with `D1_ERROR`), table digests to
 * compare before and after, what a "retry later" answer must look like, and
 * the Cloudflare stand-in's control endpoint.
 */
import { env } from 'cloudflare:test'
import { expect } from 'vitest'
import { dbAll } from '../fixtures'

/** What D1 throws when the database cannot be reached mid-request. */
export const D1_OUTAGE_MESSAGE = 'D1_ERROR: Network connection lost.'

export type D1CallKind = 'prepare' | 'first' | 'all' | 'run' | 'raw' | 'batch' | 'exec'

export interface FailingD1 {
  d1: D1Database
  /** Every call made, in order (the one that failed included). */
  calls: Array<{ kind: D1CallKind; sql?: string }>
  /** Whether the failure was injected (false: the request made fewer than `failAt` calls). */
  fired: () => boolean
}

export interface FailingD1Options {
  /** 1-based index of the call that fails; null: never (counting only). */
  failAt: number | null
  /** `once`: only that call fails (a blip); `outage`: it and every later one. */
  mode?: 'once' | 'outage'
  /** Which calls count (and may fail); default: all of prepare, first, all, run, raw, batch, exec. */
  kinds?: D1CallKind[]
  /** What the failing call throws; default D1_OUTAGE_MESSAGE. */
  message?: string
}

const ALL_KINDS: D1CallKind[] = ['prepare', 'first', 'all', 'run', 'raw', 'batch', 'exec']

/**
 * Wraps `base` so its Nth counted call fails like D1 does. Statements are
 * wrapped too (bind keeps the wrapper), and a batch gets the real statements
 * back, so everything else behaves exactly as the real binding.
 */
export function failingD1(base: D1Database, options: FailingD1Options): FailingD1 {
  const kinds = new Set(options.kinds ?? ALL_KINDS)
  const mode = options.mode ?? 'once'
  const calls: FailingD1['calls'] = []
  let count = 0
  let fired = false
  const real = new WeakMap<object, D1PreparedStatement>()

  /** Counts a call; throws the D1 error when this is the one that fails. */
  function tick(kind: D1CallKind, sql?: string): void {
    if (!kinds.has(kind)) return
    count++
    calls.push({ kind, sql })
    const failAt = options.failAt
    if (failAt === null) return
    if (count === failAt || (mode === 'outage' && count > failAt)) {
      fired = true
      throw new Error(options.message ?? D1_OUTAGE_MESSAGE)
    }
  }

  function wrap(stmt: D1PreparedStatement, sql: string): D1PreparedStatement {
    const wrapped = {
      bind: (...values: unknown[]) => wrap(stmt.bind(...values), sql),
      first: async (column?: string) => {
        tick('first', sql)
        return column === undefined ? stmt.first() : stmt.first(column)
      },
      all: async () => {
        tick('all', sql)
        return stmt.all()
      },
      run: async () => {
        tick('run', sql)
        return stmt.run()
      },
      raw: async (opts?: { columnNames?: boolean }) => {
        tick('raw', sql)
        return opts?.columnNames ? stmt.raw({ columnNames: true }) : stmt.raw()
      },
    } as unknown as D1PreparedStatement
    real.set(wrapped as object, stmt)
    return wrapped
  }

  const d1 = {
    prepare: (query: string) => {
      tick('prepare', query)
      return wrap(base.prepare(query), query)
    },
    batch: async (statements: D1PreparedStatement[]) => {
      tick('batch', statements.length ? `batch of ${statements.length}` : 'empty batch')
      return base.batch(statements.map((s) => real.get(s as object) ?? s))
    },
    exec: async (query: string) => {
      tick('exec', query)
      return base.exec(query)
    },
    dump: () => base.dump(),
    // The sign-in's reads go through a session (http/read-session.ts): its calls count and fail like the binding's.
    withSession: (constraint?: string) => {
      const session = base.withSession(constraint as never)
      return {
        prepare: (query: string) => {
          tick('prepare', query)
          return wrap(session.prepare(query), query)
        },
        batch: async (statements: D1PreparedStatement[]) => {
          tick('batch', statements.length ? `batch of ${statements.length}` : 'empty batch')
          return session.batch(statements.map((s) => real.get(s as object) ?? s))
        },
        getBookmark: () => session.getBookmark(),
      }
    },
  } as unknown as D1Database
  return { d1, calls, fired: () => fired }
}

/** Rows of each query, as one comparable value. */
export async function digest(queries: Array<[string, ...unknown[]]>): Promise<string> {
  const parts: unknown[] = []
  for (const [sql, ...params] of queries) parts.push(await dbAll(sql, ...params))
  return JSON.stringify(parts)
}

/** What in `text` betrays internals: a D1 message, a stack frame, a source path. */
export function internalsIn(text: string): string[] {
  const found: string[] = []
  if (text.includes('D1_ERROR') || text.includes('Network connection lost')) found.push("D1's error message")
  if (/\n\s+at [\w.<>]+ \(/.test(text)) found.push('a stack trace')
  if (/\.ts:\d+/.test(text)) found.push('a source path')
  return found
}

/**
 * What is wrong with a browser's answer to a database outage, which must be a
 * 503 page that says to try again, with a reference (empty: nothing).
 */
export async function retryPageProblems(res: Response): Promise<{ problems: string[]; html: string }> {
  const html = await res.text()
  const problems: string[] = []
  if (res.status !== 503) {
    const title = /<h1[^>]*>([^<]*)<\/h1>/.exec(html)?.[1] ?? html.slice(0, 80)
    problems.push(`answered ${res.status} "${title}", not 503`)
  }
  if (!(res.headers.get('content-type') ?? '').includes('text/html')) problems.push('not an HTML page')
  if (!/try again/i.test(html)) problems.push('does not say to try again')
  if (!/Reference: <code>[0-9a-f-]{36}<\/code>/.test(html)) problems.push('no reference')
  problems.push(...retryAfterProblems(res))
  problems.push(...internalsIn(html).map((x) => `shows ${x}`))
  return { problems, html }
}

/** A 503 says when to come back: Retry-After in whole seconds. */
function retryAfterProblems(res: Response): string[] {
  if (res.status !== 503) return []
  return /^\d{1,4}$/.test(res.headers.get('retry-after') ?? '') ? [] : ['no Retry-After']
}

/** What is wrong with an API client's answer to a database outage, which must be a 503 JSON error saying to retry. */
export async function retryJsonProblems(res: Response): Promise<string[]> {
  const text = await res.text()
  const problems: string[] = []
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    return [`answered ${res.status}, not JSON: ${text.slice(0, 80)}`]
  }
  if (res.status !== 503) problems.push(`answered ${res.status} ${JSON.stringify(body.error?.code)}, not 503`)
  else if (body.error?.code !== 'database_unavailable') problems.push(`code ${JSON.stringify(body.error?.code)}`)
  problems.push(...retryAfterProblems(res))
  if (!/retry|try again/i.test(body.error?.message ?? '')) {
    problems.push(`message ${JSON.stringify(body.error?.message)} does not say to retry`)
  }
  problems.push(...internalsIn(text).map((x) => `shows ${x}`))
  return problems
}

/** A sweep's findings, one line per failing call: reported together once the sweep is done. */
export class Findings {
  readonly lines: string[] = []

  add(where: string, problems: string[]): void {
    if (problems.length) this.lines.push(`${where}: ${problems.join('; ')}`)
  }

  expectNone(): void {
    expect(this.lines, `\n${this.lines.join('\n')}`).toEqual([])
  }
}

// ---------------------------------------------------------------- the Cloudflare stand-in

export function cloudflareBase(): string {
  return env.CLOUDFLARE_API_BASE!.replace(/\/client\/v4$/, '')
}

export async function cloudflareControl(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${cloudflareBase()}/__control/${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
  expect(res.ok, `cloudflare control ${path}: ${res.status}`).toBe(true)
  return res.json()
}

/** A base URL where nothing listens: connection refused. */
export const REFUSED_BASE = 'http://127.0.0.1:9/client/v4'
