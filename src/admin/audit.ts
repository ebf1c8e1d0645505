import { getDb } from '../db/client'
import { auditLog } from '../db/schema'
import { toStatement } from '../db/statements'

/** Who is calling the admin API. Partner keys arrive with the partner-keys issue. */
export type Principal = { kind: 'ops'; actor: 'ops' }

export const OPS: Principal = { kind: 'ops', actor: 'ops' }

export interface AuditEntry {
  orgId: string | null
  action: string
  targetType: 'organization' | 'hostname' | 'phone_system' | 'sso_list' | 'api_key'
  targetId: string
  summary: Record<string, unknown>
}

/** The audit row for a change, to run in the same batch as the change itself. */
export function auditStatement(d1: D1Database, principal: Principal, entry: AuditEntry, now: number): D1PreparedStatement {
  return toStatement(
    d1,
    getDb(d1)
      .insert(auditLog)
      .values({ at: now, actor: principal.actor, ...entry }),
  )
}
