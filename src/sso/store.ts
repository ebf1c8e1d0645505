/**
 * D1 side of the SSO list: read it, replace it atomically, page through it.
 *
 * A replace is ONE `D1Database.batch()` (one transaction): a guard that the
 * list is still the version the plan was made from, the version bump, the
 * deletes, the inserts and the audit entry. Rows travel as JSON arrays bound
 * to a single parameter and expanded with `json_each`, so a statement binds a
 * handful of parameters whatever the list size (D1 allows 100 per statement)
 * and a 50,000-user list takes a few dozen statements, not thousands.
 *
 * @see https://developers.cloudflare.com/d1/platform/limits/
 */

import { guard, isGuardFailure } from '../db/statements'
import { AppError } from '../errors'
import { newId } from '../lib/ids'
import {
  type PlannedRow,
  type PlanOptions,
  planReplace,
  type ReplaceCounts,
  type ReplacePlan,
  type StoredSsoUser,
} from './plan'
import { fromRow, type SsoUser, type SsoUserFields, type SsoUserRow, ssoUserColumns } from './types'

/** Bytes of JSON per bound parameter; D1 allows 2 MB per value, we stay well under. */
export const JSON_CHUNK_BYTES = 512 * 1024

/** Splits items into JSON arrays of at most `maxBytes` each. */
export function jsonChunks<T>(items: readonly T[], maxBytes = JSON_CHUNK_BYTES): string[] {
  const chunks: string[] = []
  let parts: string[] = []
  let size = 2
  for (const item of items) {
    const json = JSON.stringify(item)
    if (parts.length > 0 && size + json.length + 1 > maxBytes) {
      chunks.push(`[${parts.join(',')}]`)
      parts = []
      size = 2
    }
    parts.push(json)
    size += json.length + 1
  }
  if (parts.length > 0) chunks.push(`[${parts.join(',')}]`)
  return chunks
}

/** The columns of an SSO user that a replace plan compares (`StoredSsoUser`), as D1 answers them. */
export const STORED_USER_COLUMNS = 'id, oid, upn, email, display_name, extension, created_at'
export type StoredUserSqlRow = Pick<
  SsoUserRow,
  'id' | 'oid' | 'upn' | 'email' | 'display_name' | 'extension' | 'created_at'
>

export function storedUserOf(r: StoredUserSqlRow): StoredSsoUser {
  return {
    id: r.id,
    oid: r.oid,
    upn: r.upn,
    email: r.email,
    displayName: r.display_name,
    extension: r.extension,
    createdAt: r.created_at,
  }
}

export async function readSsoList(d1: D1Database, phoneSystemId: string): Promise<StoredSsoUser[]> {
  const { results } = await d1
    .prepare(`SELECT ${STORED_USER_COLUMNS} FROM sso_users WHERE phone_system_id = ?`)
    .bind(phoneSystemId)
    .all<StoredUserSqlRow>()
  return results.map(storedUserOf)
}

const INSERT_FROM_JSON = `
INSERT INTO sso_users (id, phone_system_id, tid, oid, upn, email, display_name, extension, sort_key, created_at, updated_at)
SELECT json_extract(j.value, '$.id'), ?1, ?2,
       json_extract(j.value, '$.oid'), json_extract(j.value, '$.upn'), json_extract(j.value, '$.email'),
       json_extract(j.value, '$.displayName'), json_extract(j.value, '$.extension'),
       json_extract(j.value, '$.sortKey'), json_extract(j.value, '$.createdAt'), ?3
FROM json_each(?4) AS j`

export interface ReplaceContext {
  phoneSystemId: string
  tid: string
  /** `sso_list_version` the existing list was read at. */
  expectedVersion: number
  now: number
  /** Statements to run in the same transaction after the list is written (the audit entry). */
  alsoRun?: D1PreparedStatement[]
}

/** Statements that apply `plan`; exported for the statement-count benchmark. */
export function replaceStatements(d1: D1Database, plan: ReplacePlan, ctx: ReplaceContext): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [
    ...guard(
      d1,
      'EXISTS (SELECT 1 FROM phone_systems WHERE id = ? AND sso_list_version = ?)',
      ctx.phoneSystemId,
      ctx.expectedVersion,
    ),
    d1
      .prepare('UPDATE phone_systems SET sso_list_version = sso_list_version + 1, updated_at = ?2 WHERE id = ?1')
      .bind(ctx.phoneSystemId, ctx.now),
  ]
  for (const ids of jsonChunks(plan.deleteIds)) {
    statements.push(
      d1
        .prepare('DELETE FROM sso_users WHERE phone_system_id = ?1 AND id IN (SELECT value FROM json_each(?2))')
        .bind(ctx.phoneSystemId, ids),
    )
  }
  for (const rows of jsonChunks<PlannedRow>(plan.insertRows)) {
    statements.push(d1.prepare(INSERT_FROM_JSON).bind(ctx.phoneSystemId, ctx.tid, ctx.now, rows))
  }
  return [...statements, ...(ctx.alsoRun ?? [])]
}

/**
 * Replaces the whole list of a phone system with `incoming`, atomically.
 * Throws `AppError('conflict')` when the list changed between read and write;
 * in every failure D1 is left exactly as it was.
 */
export async function replaceSsoList(
  d1: D1Database,
  phoneSystem: { id: string; entraTenantId: string; ssoListVersion: number },
  incoming: readonly SsoUserFields[],
  options: {
    now: number
    /** Statements for the same transaction, given the counts (the audit entry, the sync status). */
    alsoRun?: (counts: ReplaceCounts) => D1PreparedStatement[]
    plan?: PlanOptions
  },
): Promise<ReplaceCounts & { statements: number }> {
  const existing = await readSsoList(d1, phoneSystem.id)
  const plan = planReplace(existing, incoming, () => newId('usr'), options.now, options.plan)
  const written = await writePlan(d1, phoneSystem, plan, {
    now: options.now,
    alsoRun: options.alsoRun ? options.alsoRun(plan.counts) : [],
  })
  // One read of the old list plus the batch.
  return { ...plan.counts, statements: written + 1 }
}

/**
 * Applies a plan made from the list at `phoneSystem.ssoListVersion` in one
 * batch, with `alsoRun` after it; answers the statements run. Throws
 * `AppError('conflict')` when the list changed meanwhile; in every failure
 * D1 is left exactly as it was.
 */
export async function writePlan(
  d1: D1Database,
  phoneSystem: { id: string; entraTenantId: string; ssoListVersion: number },
  plan: ReplacePlan,
  options: { now: number; alsoRun: D1PreparedStatement[] },
): Promise<number> {
  const statements = replaceStatements(d1, plan, {
    phoneSystemId: phoneSystem.id,
    tid: phoneSystem.entraTenantId,
    expectedVersion: phoneSystem.ssoListVersion,
    now: options.now,
    alsoRun: options.alsoRun,
  })
  try {
    await d1.batch(statements)
  } catch (error) {
    if (isGuardFailure(error)) {
      throw new AppError('conflict', 'The SSO list changed while it was being replaced; nothing was written. Retry.', {
        cause: error,
      })
    }
    throw error
  }
  return statements.length
}

export interface ListPageQuery {
  q?: string
  cursor?: { sortKey: string; id: string }
  limit: number
}

/** D1 refuses LIKE patterns over 50 bytes; longer searches become exact matches. */
const MAX_LIKE_PATTERN_BYTES = 50

function likePattern(q: string): string | null {
  const escaped = q.replace(/[\\%_]/g, (ch) => `\\${ch}`)
  const pattern = `%${escaped}%`
  return new TextEncoder().encode(pattern).length <= MAX_LIKE_PATTERN_BYTES ? pattern : null
}

/** The placeholders of a statement's parameters, bound in the order they are named (`?1`, `?2`, …). */
class Params {
  readonly values: unknown[] = []
  bind(value: unknown): string {
    this.values.push(value)
    return `?${this.values.length}`
  }
}

/** The conditions that pick a phone system's users, and those a search `q` matches (as the list page and its counts read them). */
function listConditions(params: Params, phoneSystemId: string, q: string | undefined): string[] {
  const where: string[] = [`phone_system_id = ${params.bind(phoneSystemId)}`]
  if (q) {
    const lower = q.toLowerCase()
    const pattern = likePattern(lower)
    const exact = params.bind(lower)
    if (pattern) {
      const like = params.bind(pattern)
      where.push(
        `(sort_key LIKE ${like} ESCAPE '\\' OR upn LIKE ${like} ESCAPE '\\' OR email LIKE ${like} ESCAPE '\\' OR oid = ${exact})`,
      )
    } else {
      where.push(`(upn = ${exact} OR email = ${exact} OR oid = ${exact} OR sort_key = ${exact})`)
    }
  }
  return where
}

/**
 * One page of a phone system's list in name order, keyset-paginated on
 * (sort_key, id) so pages stay stable while the list is being read.
 */
export async function listSsoUsers(
  d1: D1Database,
  phoneSystemId: string,
  query: ListPageQuery,
): Promise<{ users: SsoUser[]; next: { sortKey: string; id: string } | null }> {
  const params = new Params()
  const where = listConditions(params, phoneSystemId, query.q)
  if (query.cursor) {
    where.push(`(sort_key, id) > (${params.bind(query.cursor.sortKey)}, ${params.bind(query.cursor.id)})`)
  }
  const limit = params.bind(query.limit + 1)
  const { results } = await d1
    .prepare(
      `SELECT ${ssoUserColumns()}, sort_key
       FROM sso_users WHERE ${where.join(' AND ')} ORDER BY sort_key, id LIMIT ${limit}`,
    )
    .bind(...params.values)
    .all<SsoUserRow & { sort_key: string }>()
  const page = results.slice(0, query.limit)
  const last = page[page.length - 1]
  return {
    users: page.map(fromRow),
    next: results.length > query.limit && last ? { sortKey: last.sort_key, id: last.id } : null,
  }
}

/** How many users a phone system's list holds, and how many of them the search `q` matches (the same match as a page's). */
export async function countSsoUsers(
  d1: D1Database,
  phoneSystemId: string,
  q: string | undefined,
): Promise<{ total: number; matching: number }> {
  const params = new Params()
  const where = listConditions(params, phoneSystemId, q)
  const matching = where.length > 1 ? `SUM(CASE WHEN ${where.slice(1).join(' AND ')} THEN 1 ELSE 0 END)` : 'COUNT(*)'
  const row = await d1
    .prepare(`SELECT COUNT(*) AS total, ${matching} AS matching FROM sso_users WHERE ${where[0]}`)
    .bind(...params.values)
    .first<{ total: number; matching: number | null }>()
  return { total: row?.total ?? 0, matching: row?.matching ?? 0 }
}

/** The size of the list of each phone system of an organization that has users (a subquery, never a bound list). */
export async function listSizesOfOrg(d1: D1Database, orgId: string): Promise<Map<string, number>> {
  const { results } = await d1
    .prepare(
      `SELECT phone_system_id, COUNT(*) AS n FROM sso_users
       WHERE phone_system_id IN (SELECT id FROM phone_systems WHERE org_id = ?1)
       GROUP BY phone_system_id`,
    )
    .bind(orgId)
    .all<{ phone_system_id: string; n: number }>()
  return new Map(results.map((r) => [r.phone_system_id, r.n]))
}
