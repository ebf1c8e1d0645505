/**
 * The audit log of changes (append-only: a trigger refuses updates and
 * deletes). Every change writes its row in the same D1 batch as the change
 * itself, so a change without its audit row cannot happen.
 */

import type { SQLWrapper } from 'drizzle-orm'
import { type Actor, actorName } from '../access/principal'
import { getDb } from '../db/client'
import { auditLog } from '../db/schema'
import { type ToSql, toStatement } from '../db/statements'
import { forgetCachedReads } from '../lib/ttl-cache'

export interface AuditEntry {
  orgId: string | null
  action: string
  targetType:
    | 'organization'
    | 'hostname'
    | 'phone_system'
    | 'sso_list'
    | 'api_key'
    | 'scim_token'
    | 'microsoft_integration'
    | 'tenant'
    | 'staff'
  targetId: string
  summary: Record<string, unknown>
}

/** The audit row for a change, to run in the same batch as the change itself. */
export function auditStatement(d1: D1Database, actor: Actor, entry: AuditEntry, now: number): D1PreparedStatement {
  return toStatement(
    d1,
    getDb(d1)
      .insert(auditLog)
      .values({ at: now, actor: actorName(actor), ...entry }),
  )
}

/**
 * Runs a change and its audit row in one D1 batch (one transaction): neither
 * lands without the other. `changes` are drizzle queries or prepared statements.
 */
export async function recordChange(
  d1: D1Database,
  actor: Actor,
  entry: AuditEntry,
  now: number,
  ...changes: Array<D1PreparedStatement | (ToSql & SQLWrapper)>
): Promise<void> {
  await d1.batch([
    ...changes.map((change) => ('toSQL' in change ? toStatement(d1, change) : change)),
    auditStatement(d1, actor, entry, now),
  ])
  // A recorded change may change what a portal reaches or signs in with: this isolate reads it again at once.
  forgetCachedReads()
}
