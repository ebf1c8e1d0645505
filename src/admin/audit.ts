import { getDb } from '../db/client'
import { auditLog } from '../db/schema'
import { toStatement } from '../db/statements'

/**
 * Who is calling the admin API: the ops key (every organization) or a
 * partner key (its partner and that partner's customers: nested ones by the
 * seed's impersonation, flat ones as part of the partner's own portal).
 */
export type Principal = { kind: 'ops'; actor: 'ops' } | { kind: 'partner'; actor: string; keyId: string; orgId: string }

export const OPS: Principal = { kind: 'ops', actor: 'ops' }

/** Changes the gateway makes by itself (hostname status from Cloudflare, …). */
export const SYSTEM_ACTOR = 'system'

export interface AuditEntry {
  orgId: string | null
  action: string
  targetType: 'organization' | 'hostname' | 'phone_system' | 'sso_list' | 'api_key' | 'microsoft_integration'
  targetId: string
  summary: Record<string, unknown>
}

/** The audit row for a change, to run in the same batch as the change itself. */
export function auditStatement(
  d1: D1Database,
  principal: Principal | typeof SYSTEM_ACTOR,
  entry: AuditEntry,
  now: number,
): D1PreparedStatement {
  const actor = typeof principal === 'string' ? principal : principal.actor
  return toStatement(
    d1,
    getDb(d1)
      .insert(auditLog)
      .values({ at: now, actor, ...entry }),
  )
}
