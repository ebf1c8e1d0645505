/**
 * What the query-plan test (query-plans.test.ts) needs: a D1 binding that
 * records every statement with its bound values, on the primary and through
 * read sessions, and SQLite's `EXPLAIN QUERY PLAN` of each, read against the
 * test's D1 with the same values, judged by one rule (`fullScans`).
 */
import { env } from 'cloudflare:test'

/** One statement as the code under test sent it: its SQL and the values bound to it. */
export interface Recorded {
  sql: string
  params: unknown[]
}

/** A prepared statement whose `bind` is recorded; everything else is the real statement's. */
function recordedStatement(real: D1PreparedStatement, sql: string, into: Recorded[]): D1PreparedStatement {
  const entry: Recorded = { sql, params: [] }
  into.push(entry)
  let bound = false
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'bind') {
        return (...values: unknown[]) => {
          // Bound once: this entry; bound again (a statement reused with other values): one more.
          if (bound) into.push({ sql, params: values })
          else entry.params = values
          bound = true
          return target.bind(...values)
        }
      }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * `env.DB` recording every statement prepared through it or through a
 * session it opens (`withSession`), with the values bound: the sign-in reads
 * through sessions, writes on the primary, and a plan depends on neither.
 */
export function tracingD1(into: Recorded[], base: D1Database = env.DB): D1Database {
  const session = (real: D1DatabaseSession): D1DatabaseSession =>
    new Proxy(real, {
      get(target, prop) {
        if (prop === 'prepare') return (sql: string) => recordedStatement(target.prepare(sql), sql, into)
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  return new Proxy(base, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => recordedStatement(target.prepare(sql), sql, into)
      if (prop === 'withSession')
        return (constraint?: D1SessionConstraint | D1SessionBookmark) => session(target.withSession(constraint))
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

export interface PlanRow {
  id: number
  parent: number
  detail: string
}

/** SQLite's plan for `statement`, with its own bound values (the planner may use them). Never runs the statement. */
export async function planOf(statement: Recorded): Promise<PlanRow[]> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
    .bind(...statement.params)
    .all<PlanRow>()
  return results
}

/** The tables of the schema (not views, not SQLite's or D1's own). */
export async function schemaTables(): Promise<Set<string>> {
  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'",
  ).all<{ name: string }>()
  return new Set(results.map((r) => r.name))
}

/** What the names in a statement's plan stand for: tables of the schema (by name or alias) and its CTEs. */
export interface Names {
  tables: Map<string, string>
  ctes: Set<string>
  /** `json_each` / `json_tree` over a value, by name or alias (`FROM json_each(?4) j`). */
  jsonValues: Set<string>
}

/**
 * The names `sql` gives its tables (`FROM sso_users u`, `JOIN "phone_systems" AS ps`) and its CTEs
 * (`WITH ids AS (…)`, `, more AS (…)`): SQLite's plan names a table by its alias when it has one.
 */
export function namesIn(sql: string, tables: Set<string>): Names {
  const names: Names = {
    tables: new Map([...tables].map((t) => [t, t])),
    ctes: new Set(),
    jsonValues: new Set(['json_each', 'json_tree']),
  }
  for (const [, , alias] of sql.matchAll(/\bjson_(each|tree)\s*\([^)]*\)\s+(?:as\s+)?"?(\w+)"?/gi))
    if (alias && !/^(where|on|join|left|inner|cross|order|group|limit|using)$/i.test(alias)) names.jsonValues.add(alias)
  const ref = /\b(?:from|join|update|into)\s+"?(\w+)"?(?:\s+(?:as\s+)?"?(\w+)"?)?/gi
  for (const [, table = '', alias] of sql.matchAll(ref)) {
    if (
      tables.has(table) &&
      alias &&
      !/^(where|on|set|left|inner|cross|join|order|group|limit|values|using|natural)$/i.test(alias)
    )
      names.tables.set(alias, table)
  }
  for (const [, cte = ''] of sql.matchAll(
    /(?:\bwith(?:\s+recursive)?|,)\s+"?(\w+)"?(?:\s*\([^)]*\))?\s+as\s*(?:not\s+)?(?:materialized\s*)?\(/gi,
  ))
    if (!tables.has(cte)) names.ctes.add(cte)
  return names
}

/**
 * The plan rows that read a whole table of the schema: `SCAN <name>` with no
 * index named, where the name is a table or an alias of one. Fails closed:
 * a scanned name that is neither a table nor one of these is counted too.
 * Not counted, each bounded by something other than the fleet's size:
 * `SCAN CONSTANT ROW` (no table), `SCAN (subquery-N)` and a CTE's name (rows
 * the query already bounded with an index), a `json_each` or `json_tree`
 * virtual table, by name or alias (a JSON value the statement binds, such as
 * a Sync's new list: its own rows, not the table's), and `tinyTables` (a handful of rows whatever the fleet's
 * size; each allowance says why where it is given).
 */
export function fullScans(plan: PlanRow[], names: Names, tinyTables: ReadonlySet<string>): string[] {
  const found: string[] = []
  for (const row of plan) {
    const match = /^SCAN (\S+)(?: AS \S+)?(.*)$/.exec(row.detail)
    if (!match) continue
    const [, name = '', rest = ''] = match
    if (name === 'CONSTANT' || name.startsWith('(') || names.ctes.has(name)) continue
    if (names.jsonValues.has(name) && /VIRTUAL TABLE/.test(rest)) continue
    const table = names.tables.get(name)
    if (table && tinyTables.has(table)) continue
    if (table && /USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY|USING PRIMARY KEY/.test(rest)) continue
    found.push(row.detail)
  }
  return found
}

/**
 * The plan rows that walk a whole index of a table (`SCAN t USING INDEX i`,
 * by name or alias): as many rows as the table, unless a LIMIT stops the walk
 * early, which the caller must show case by case.
 */
export function indexScans(plan: PlanRow[], names: Names): string[] {
  return plan
    .map((row) => row.detail)
    .filter((detail) => {
      const match = /^SCAN (\S+)(?: AS \S+)? USING (COVERING )?INDEX/.exec(detail)
      return match !== null && names.tables.has(match[1]!)
    })
}
