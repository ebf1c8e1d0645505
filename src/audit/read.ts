/** Reading the audit log (append-only, written with every change): filtered, paged, scoped like everything else. */
import { and, desc, eq, gte, lt } from 'drizzle-orm'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { inSubtree, orgAndCustomers, orgInScope } from '../access/scope'
import { getDb } from '../db/client'
import { type AuditLogRow, auditLog } from '../db/schema'
import { idParam, wholeNumber } from '../lib/fields'
import { iso } from '../lib/time'

const ISO_TIME = /^\d{4}-\d{2}-\d{2}/

/** The filters of a read, as the API's query string and the console's form give them. */
export const auditQuerySchema = z.object({
  orgId: z.optional(idParam),
  /** An organization and its customers (a partner's whole log; a customer's own). */
  within: z.optional(idParam),
  action: z.optional(z.string().check(z.maxLength(64, 'must be at most 64 characters'))),
  actor: z.optional(z.string().check(z.maxLength(64, 'must be at most 64 characters'))),
  since: z.optional(
    z.pipe(
      z
        .string()
        .check(
          z.refine(
            (value) => ISO_TIME.test(value) && Number.isFinite(Date.parse(value)),
            'must be an ISO 8601 time such as 2026-11-29T08:00:00Z',
          ),
        ),
      z.transform((value: string) => Date.parse(value)),
    ),
  ),
  cursor: z.optional(
    z.pipe(
      z.string().check(z.regex(/^\d{1,15}$/, 'is not a cursor this API returned')),
      z.transform((value: string) => Number(value)),
    ),
  ),
  limit: wholeNumber(1, 500, 100),
})

export type AuditQuery = z.output<typeof auditQuerySchema>

export const auditEntrySchema = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  organizationId: z.nullable(z.string()),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  summary: z.nullable(z.record(z.string(), z.unknown())),
})

export const auditPageSchema = z.object({ entries: z.array(auditEntrySchema), nextCursor: z.nullable(z.string()) })

export function auditEntryView(row: AuditLogRow): z.output<typeof auditEntrySchema> {
  return {
    id: row.id,
    at: iso(row.at),
    actor: row.actor,
    organizationId: row.orgId,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    summary: row.summary,
  }
}

export async function readAuditLog(
  d1: D1Database,
  principal: Principal,
  query: AuditQuery,
): Promise<z.output<typeof auditPageSchema>> {
  const conditions = []
  if (query.within !== undefined) {
    await orgInScope(d1, principal, query.within)
    conditions.push(orgAndCustomers(query.within, auditLog.orgId))
  }
  if (query.orgId !== undefined) {
    await orgInScope(d1, principal, query.orgId)
    conditions.push(eq(auditLog.orgId, query.orgId))
  }
  if (query.within === undefined && query.orgId === undefined) conditions.push(inSubtree(principal, auditLog.orgId))
  if (query.action !== undefined) conditions.push(eq(auditLog.action, query.action))
  if (query.actor !== undefined) conditions.push(eq(auditLog.actor, query.actor))
  if (query.since !== undefined) conditions.push(gte(auditLog.at, query.since))
  if (query.cursor !== undefined) conditions.push(lt(auditLog.id, query.cursor))
  const rows = await getDb(d1)
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.id))
    .limit(query.limit + 1)
    .all()
  const page = rows.slice(0, query.limit)
  return {
    entries: page.map(auditEntryView),
    nextCursor: rows.length > query.limit ? String(page[page.length - 1]!.id) : null,
  }
}
