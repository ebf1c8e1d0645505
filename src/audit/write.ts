/**
 * The audit log of changes (append-only: a trigger refuses updates and
 * deletes). Every change writes its row in the same D1 batch as the change
 * itself, so a change without its audit row cannot happen.
 */
import { type Actor, actorName } from '../access/principal'
import { getDb } from '../db/client'
import { auditLog } from '../db/schema'
import { toStatement } from '../db/statements'

export interface AuditEntry {
  orgId: string | null
  action: string
  targetType: 'organization' | 'hostname' | 'phone_system' | 'sso_list' | 'api_key' | 'microsoft_integration'
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
