/** Reading the audit log (append-only, written with every change): filtered, paged, scoped like everything else. */
import { and, desc, eq, gte, inArray, lt } from 'drizzle-orm'
import { getDb } from '../db/client'
import { auditLog } from '../db/schema'
import { AppError } from '../errors'
import type { Principal } from './audit'
import { iso } from './json'
import { orgInScope, reachableOrgIds } from './scope'

export interface AuditQuery {
  orgId?: string | undefined
  action?: string | undefined
  actor?: string | undefined
  since?: string | undefined
  cursor?: string | undefined
  limit?: string | undefined
}

function bad(field: string, message: string): AppError {
  return new AppError('invalid_request', `"${field}" ${message}`, { field })
}

export async function readAuditLog(d1: D1Database, principal: Principal, query: AuditQuery) {
  const limit = query.limit === undefined ? 100 : Number(query.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw bad('limit', 'must be a whole number from 1 to 500')
  const conditions = []
  if (query.orgId !== undefined) {
    await orgInScope(d1, principal, query.orgId)
    conditions.push(eq(auditLog.orgId, query.orgId))
  } else {
    const reachable = await reachableOrgIds(d1, principal)
    if (reachable !== null) conditions.push(inArray(auditLog.orgId, reachable))
  }
  if (query.action !== undefined) conditions.push(eq(auditLog.action, query.action))
  if (query.actor !== undefined) conditions.push(eq(auditLog.actor, query.actor))
  if (query.since !== undefined) {
    const since = Date.parse(query.since)
    if (!Number.isFinite(since) || !/^\d{4}-\d{2}-\d{2}/.test(query.since))
      throw bad('since', 'must be an ISO 8601 time such as 2026-11-29T08:00:00Z')
    conditions.push(gte(auditLog.at, since))
  }
  if (query.cursor !== undefined) {
    if (!/^\d{1,15}$/.test(query.cursor)) throw bad('cursor', 'is not a cursor this API returned')
    conditions.push(lt(auditLog.id, Number(query.cursor)))
  }
  const rows = await getDb(d1)
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.id))
    .limit(limit + 1)
    .all()
  const page = rows.slice(0, limit)
  return {
    entries: page.map((row) => ({
      id: row.id,
      at: iso(row.at),
      actor: row.actor,
      organizationId: row.orgId,
      action: row.action,
      targetType: row.targetType,
      targetId: row.targetId,
      summary: row.summary,
    })),
    nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
  }
}
