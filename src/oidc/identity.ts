/**
 * Who signed in, as the gateway uses it from here on (authorization, the
 * handoff assertion, a flow's stored result): the verified ID token's claims
 * that identify a work account, nothing else.
 */
import { isGuid } from '../lib/ids'

export interface Identity {
  /** The Entra tenant (lowercase GUID). */
  tid: string
  /** The user's object id in that tenant (lowercase GUID): with `tid`, the stable identity. */
  oid: string
  sub: string
  /** `preferred_username`, lowercase (the UPN for work accounts). */
  upn: string | null
  email: string | null
  name: string | null
  /**
   * Directory role template ids the user holds (the `wids` claim, emitted when
   * the app's manifest sets groupMembershipClaims to DirectoryRole or All).
   * Read for the connect flow only; never stored with a flow or handed off.
   */
  directoryRoles?: string[]
}

/**
 * Text claims are optional and bounded: a missing or absurd value is no value. The bound applies to
 * what is kept (`lower` first): lowercasing may lengthen a string (U+0130 becomes two code units), and
 * what is kept goes into the sign-in audit, whose consumer refuses anything longer (audit/queue-consumer.ts).
 */
function text(value: unknown, lower = false): string | null {
  if (typeof value !== 'string') return null
  const kept = lower ? value.toLowerCase() : value
  return kept.length > 0 && kept.length <= 256 ? kept : null
}

/** The identity in verified ID-token claims, or null when `tid` or `oid` is not a GUID or `sub` is missing or absurd. */
export function identityFromClaims(claims: Record<string, unknown>): Identity | null {
  if (!isGuid(claims.tid) || !isGuid(claims.oid)) return null
  // Entra's `sub` is 43 characters; a bound keeps every identity small enough to travel sealed in a completion code.
  const sub = text(claims.sub)
  if (sub === null) return null
  return {
    tid: claims.tid,
    oid: claims.oid,
    sub,
    upn: text(claims.preferred_username, true),
    email: text(claims.email, true),
    name: text(claims.name),
    directoryRoles: Array.isArray(claims.wids) ? claims.wids.filter(isGuid) : [],
  }
}

/** What a person would recognize their account by, for pages. */
export function accountLabel(identity: Identity): string {
  return identity.upn ?? identity.email ?? identity.name ?? identity.oid
}

/** Only who signed in: what a sign-in flow keeps between its steps (not the directory roles). */
export function signedIn(identity: Identity): Identity {
  const { tid, oid, sub, upn, email, name } = identity
  return { tid, oid, sub, upn, email, name }
}
