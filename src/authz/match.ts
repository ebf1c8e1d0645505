/**
 * Who may pass (ARCHITECTURE §3.5): the signed-in user must be on the SSO list of a
 * phone system reachable from the host. Identity is (`tid`, `oid`); a UPN or
 * email match counts only for a record that has no `oid`, and only within
 * the token's `tid`. A record that has an `oid` is never matched on a
 * mutable claim (the nOAuth lesson: `email` is not proof of identity).
 *
 * @see https://learn.microsoft.com/entra/identity-platform/migrate-off-email-claim-authorization
 */
import type { Identity } from '../oidc/identity'
import type { SsoUser } from '../sso/types'

/** A record as matching sees it (its times do not matter). */
export type SsoRecord = Omit<SsoUser, 'createdAt' | 'updatedAt'>

export type MatchKind = 'oid' | 'upn' | 'email'

/** How `record` matches `identity`, or null. The rule in one pure function; the SQL below only narrows. */
export function matchRecord(
  record: SsoRecord,
  identity: Pick<Identity, 'tid' | 'oid' | 'upn' | 'email'>,
): MatchKind | null {
  if (record.tid !== identity.tid) return null
  if (record.oid !== null) return record.oid === identity.oid ? 'oid' : null
  if (record.upn !== null && identity.upn !== null && record.upn === identity.upn.toLowerCase()) return 'upn'
  if (record.email !== null && identity.email !== null && record.email === identity.email.toLowerCase()) return 'email'
  return null
}

const RANK: Record<MatchKind, number> = { oid: 0, upn: 1, email: 2 }

/** One record per phone system (the strongest match), in the order given. */
export function bestPerPhoneSystem<T extends { record: SsoRecord; kind: MatchKind }>(matches: readonly T[]): T[] {
  const best = new Map<string, T>()
  for (const match of matches) {
    const current = best.get(match.record.phoneSystemId)
    if (!current || RANK[match.kind] < RANK[current.kind]) best.set(match.record.phoneSystemId, match)
  }
  return [...best.values()]
}
