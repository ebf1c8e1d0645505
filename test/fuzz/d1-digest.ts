/**
 * A digest of everything the gateway keeps in D1, to check that a request
 * changed nothing: every table of `sqlite_master` (but D1's own bookkeeping:
 * `d1_migrations`, `_cf_*`, `sqlite_*`), every row in rowid order, every
 * column but the few listed in EXCLUDED_COLUMNS, hashed (SHA-256) per table.
 * One D1 batch per digest, so a fuzz run pays one round trip before and one
 * after its request.
 */
import { env } from 'cloudflare:test'

/**
 * Columns a refused (4xx) request may legitimately change, and why. Nothing
 * else is excluded: every other column of every table is compared.
 */
export const EXCLUDED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  // A partner key's last use is recorded by authentication itself, before the route
  // runs (src/orgs/api-keys.ts principalForKey: at most once a minute per key), so the
  // first request of a minute with a partner key changes it whatever it answers.
  // It is not the request's effect, and nothing but that column may change.
  api_keys: ['last_used_at'],
}

export interface D1Digest {
  /** SHA-256 of all the tables' hashes, in table-name order. */
  all: string
  /** SHA-256 of each table's rows, and its row count. */
  tables: Record<string, { hash: string; rows: number }>
}

let tableNames: Promise<string[]> | undefined

/** The gateway's tables (the schema does not change during a test, so it is read once). */
export function gatewayTables(db: D1Database = env.DB): Promise<string[]> {
  tableNames ??= db
    .prepare(
      `SELECT name FROM sqlite_master
        WHERE type = 'table'
          AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
          AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'
          AND name <> 'd1_migrations'
        ORDER BY name`,
    )
    .all<{ name: string }>()
    .then(({ results }) => results.map((r) => r.name))
  return tableNames
}

async function sha256Hex(text: string): Promise<string> {
  const bytes = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** The digest of D1 now. */
export async function d1Digest(db: D1Database = env.DB): Promise<D1Digest> {
  const names = await gatewayTables(db)
  // Table names come from sqlite_master, never from a request; quoted all the same.
  const results = await db.batch(names.map((name) => db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`)))
  const tables: D1Digest['tables'] = {}
  for (const [i, name] of names.entries()) {
    const excluded = EXCLUDED_COLUMNS[name] ?? []
    const rows = (results[i]!.results as Record<string, unknown>[]).map((row) => {
      const kept: Record<string, unknown> = {}
      for (const [column, value] of Object.entries(row)) if (!excluded.includes(column)) kept[column] = value
      return kept
    })
    tables[name] = { hash: await sha256Hex(JSON.stringify(rows)), rows: rows.length }
  }
  const all = await sha256Hex(names.map((name) => `${name}:${tables[name]!.hash}`).join('\n'))
  return { all, tables }
}

/** The tables whose rows differ between two digests, with their row counts before -> after. */
export function changedTables(before: D1Digest, after: D1Digest): string[] {
  if (before.all === after.all) return []
  const names = new Set([...Object.keys(before.tables), ...Object.keys(after.tables)])
  return [...names]
    .filter((name) => before.tables[name]?.hash !== after.tables[name]?.hash)
    .map((name) => `${name} (${before.tables[name]?.rows ?? 0} -> ${after.tables[name]?.rows ?? 0} rows)`)
}
