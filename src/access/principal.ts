/**
 * Who is acting: the ops key (every organization), a partner key (its
 * partner and that partner's customers: nested ones by the seed's
 * impersonation, flat ones as part of the partner's own portal), or the
 * gateway itself (scheduled jobs).
 */
export type Principal = { kind: 'ops'; actor: 'ops' } | { kind: 'partner'; actor: string; keyId: string; orgId: string }

export const OPS: Principal = { kind: 'ops', actor: 'ops' }

/** Changes the gateway makes by itself (hostname status from Cloudflare, scheduled syncs, ...). */
export const SYSTEM_ACTOR = 'system'

/** Whoever a change is recorded against. */
export type Actor = Principal | typeof SYSTEM_ACTOR

export function actorName(actor: Actor): string {
  return typeof actor === 'string' ? actor : actor.actor
}
