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
