import type { SQLWrapper } from 'drizzle-orm'

export interface ToSql {
  toSQL(): { sql: string; params: unknown[] }
}

/**
 * A drizzle query as a plain D1 statement, so typed drizzle writes and raw
 * bulk statements can share one `D1Database.batch()` (one transaction).
 */
export function toStatement(d1: D1Database, query: ToSql & SQLWrapper): D1PreparedStatement {
  const { sql, params } = query.toSQL()
  return d1.prepare(sql).bind(...params)
}

/** SQLite's message for a UNIQUE or PRIMARY KEY violation, as D1 reports it. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && /UNIQUE constraint failed|PRIMARY KEY/i.test(error.message)
}

/**
 * Two statements that make a D1 batch fail (and roll back) unless `condition`
 * holds when the batch runs: a check inside the transaction, for the things
 * a read before it cannot promise (the row is still as it was read, nobody
 * claimed the tenant meanwhile). `condition` is a SQL expression with `?`
 * placeholders; `isGuardFailure` recognizes the failure.
 */
export function guard(d1: D1Database, condition: string, ...params: unknown[]): D1PreparedStatement[] {
  return [
    d1.prepare(`INSERT INTO batch_guard (ok) SELECT CASE WHEN ${condition} THEN 1 ELSE 0 END`).bind(...params),
    d1.prepare('DELETE FROM batch_guard'),
  ]
}

/** True when a batch failed on a `guard`. */
export function isGuardFailure(error: unknown): boolean {
  return error instanceof Error && /batch_guard/.test(error.message)
}
