/**
 * Who is acting: the provider (the ops key, or an ops admin of the console),
 * a partner (a partner key, or a partner's staff: its partner and that
 * partner's customers, nested ones by the seed's impersonation, flat ones as
 * part of the partner's own portal), a customer's staff (that customer only),
 * or the gateway itself (scheduled jobs).
 */
export type Principal =
  | { kind: 'ops'; actor: string; person?: Person }
  | { kind: 'partner'; actor: string; orgId: string; keyId?: string; person?: Person }
  | { kind: 'customer'; actor: string; orgId: string; person?: Person }

/**
 * The signed-in person behind a console principal (absent for a key): rules
 * about a person's own access, such as not removing one's own admin record,
 * need to know whose records are whose.
 */
export interface Person {
  tid: string
  oid: string
  upn: string | null
}

export const OPS: Principal = { kind: 'ops', actor: 'ops' }

/** Changes the gateway makes by itself (hostname status from Cloudflare, scheduled syncs, ...). */
export const SYSTEM_ACTOR = 'system'

/** Whoever a change is recorded against. */
export type Actor = Principal | typeof SYSTEM_ACTOR

export function actorName(actor: Actor): string {
  return typeof actor === 'string' ? actor : actor.actor
}
