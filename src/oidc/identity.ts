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
}

/** Text claims are optional and bounded: a missing or absurd value is no value. */
function text(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : null
}

/** The identity in verified ID-token claims, or null when `tid` or `oid` is not a GUID. */
export function identityFromClaims(claims: Record<string, unknown>): Identity | null {
  if (!isGuid(claims.tid) || !isGuid(claims.oid)) return null
  return {
    tid: claims.tid,
    oid: claims.oid,
    sub: String(claims.sub),
    upn: text(claims.preferred_username)?.toLowerCase() ?? null,
    email: text(claims.email)?.toLowerCase() ?? null,
    name: text(claims.name),
  }
}

/** What a person would recognize their account by, for pages. */
export function accountLabel(identity: Identity): string {
  return identity.upn ?? identity.email ?? identity.name ?? identity.oid
}
