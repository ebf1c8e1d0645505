/**
 * Applying Graph's changes to a phone system's list, pure: which users the
 * changes touch (the candidates), where each stands afterwards (on the list
 * with which fields, disabled, or gone), and which stored memberships change.
 * The caller reads only the candidates' stored rows and writes only what
 * this decides; everyone else on the list is left as it is.
 *
 * Who is on a list follows Entra's rule for app assignments: a user assigned
 * directly, or a direct user member of an assigned group, whose account is
 * enabled. Memberships are kept per group ('' for a direct assignment) so a
 * user leaving one group stays while another (or the assignment) still
 * grants them.
 */
import type { StoredSsoUser } from '../sso/plan'
import type { SsoUserFields } from '../sso/types'
import type { MemberChange, UserChange } from './delta-links'
import type { GraphUser } from './pull'

/** The pseudo-group of users assigned to the app directly. */
export const DIRECT = ''

export interface DeltaChanges {
  /** Users assigned directly now (the assignment read is whole every time). */
  direct: ReadonlySet<string>
  /** Users assigned directly at the last sync. */
  storedDirect: ReadonlySet<string>
  members: readonly MemberChange[]
  users: ReadonlyMap<string, UserChange>
}

/** What D1 holds about the candidates. */
export interface StoredFacts {
  /** Their stored memberships (groups, '' for direct). */
  memberships: ReadonlyMap<string, ReadonlySet<string>>
  /** Their rows on the list, by oid. */
  listed: ReadonlyMap<string, StoredSsoUser>
  /** Those known to be disabled (or not found in the tenant). */
  disabled: ReadonlySet<string>
}

/** The users the changes may move: on or off the list, or to other fields. */
export function candidatesOf(changes: DeltaChanges): string[] {
  const out = new Set<string>()
  for (const id of changes.direct) if (!changes.storedDirect.has(id)) out.add(id)
  for (const id of changes.storedDirect) if (!changes.direct.has(id)) out.add(id)
  for (const change of changes.members) out.add(change.userId)
  for (const id of changes.users.keys()) out.add(id)
  return [...out]
}

export type Standing =
  | { kind: 'listed'; fields: SsoUserFields; changed: boolean }
  | { kind: 'disabled' }
  | { kind: 'unknown' }
  | { kind: 'off' }

export interface Decisions {
  standing: Map<string, Standing>
  memberAdds: Array<[string, string]>
  memberRemoves: Array<[string, string]>
}

/** A Graph user as a list entry (what a full pull stores). */
export function fieldsOf(user: GraphUser, stored?: SsoUserFields): SsoUserFields {
  const pick = <K extends 'userPrincipalName' | 'mail' | 'displayName'>(key: K, fallback: string | null) =>
    user[key] === undefined ? fallback : (user[key] ?? null)
  return {
    oid: user.id.toLowerCase(),
    upn: pick('userPrincipalName', stored?.upn ?? null)?.toLowerCase() ?? null,
    email: pick('mail', stored?.email ?? null)?.toLowerCase() ?? null,
    displayName: pick('displayName', stored?.displayName ?? null)?.slice(0, 256) ?? null,
    extension: null,
  }
}

function sameFields(a: SsoUserFields, b: SsoUserFields): boolean {
  return a.upn === b.upn && a.email === b.email && a.displayName === b.displayName
}

/** Where each candidate stands after the changes; 'unknown' ones must be fetched by id (then `settle`). */
export function decide(changes: DeltaChanges, stored: StoredFacts, candidates: readonly string[]): Decisions {
  const standing = new Map<string, Standing>()
  const memberAdds: Array<[string, string]> = []
  const memberRemoves: Array<[string, string]> = []
  const byUser = new Map<string, MemberChange[]>()
  for (const change of changes.members) {
    const list = byUser.get(change.userId) ?? []
    list.push(change)
    byUser.set(change.userId, list)
  }
  for (const id of candidates) {
    const before = stored.memberships.get(id) ?? new Set<string>()
    const after = new Set([...before].filter((g) => g !== DIRECT))
    // In the order Graph reported them: a member removed and added again is a member.
    for (const change of byUser.get(id) ?? []) {
      if (change.removed) after.delete(change.groupId)
      else after.add(change.groupId)
    }
    if (changes.direct.has(id)) after.add(DIRECT)
    const change = changes.users.get(id)
    if (change?.removed) after.clear()
    for (const g of after) if (!before.has(g)) memberAdds.push([g, id])
    for (const g of before) if (!after.has(g)) memberRemoves.push([g, id])

    if (after.size === 0) {
      standing.set(id, { kind: 'off' })
      continue
    }
    const listed = stored.listed.get(id)
    if (change?.user) {
      const enabled = change.user.accountEnabled ?? (stored.disabled.has(id) ? false : listed ? true : undefined)
      if (enabled === false) standing.set(id, { kind: 'disabled' })
      else if (enabled === undefined || (!listed && change.user.userPrincipalName === undefined))
        standing.set(id, { kind: 'unknown' })
      else {
        const fields = fieldsOf(change.user, listed)
        standing.set(id, { kind: 'listed', fields, changed: !listed || !sameFields(listed, fields) })
      }
    } else if (listed) standing.set(id, { kind: 'listed', fields: listed, changed: false })
    else if (stored.disabled.has(id)) standing.set(id, { kind: 'disabled' })
    else standing.set(id, { kind: 'unknown' })
  }
  return { standing, memberAdds, memberRemoves }
}

/** Settles the 'unknown' candidates with what Graph answered by id (absent: not in the tenant, kept off). */
export function settle(decisions: Decisions, fetched: ReadonlyMap<string, GraphUser>): void {
  for (const [id, standing] of decisions.standing) {
    if (standing.kind !== 'unknown') continue
    const user = fetched.get(id)
    if (!user || user.accountEnabled === false) decisions.standing.set(id, { kind: 'disabled' })
    else decisions.standing.set(id, { kind: 'listed', fields: fieldsOf(user), changed: true })
  }
}

/**
 * The candidates' list entries afterwards, with an address held by someone
 * else (`taken`: by a user the changes do not touch, or by a candidate
 * listed first) left off: as in a full pull, Entra keeps UPNs unique, not
 * mail, and a second holder keeps its oid and loses only the address.
 */
export function incomingOf(
  decisions: Decisions,
  taken: { upns: ReadonlySet<string>; emails: ReadonlySet<string> },
): SsoUserFields[] {
  const listed = [...decisions.standing.values()].filter(
    (s): s is Extract<Standing, { kind: 'listed' }> => s.kind === 'listed',
  )
  // Unchanged entries first: they keep what they hold.
  listed.sort((a, b) => Number(a.changed) - Number(b.changed))
  const upns = new Set(taken.upns)
  const emails = new Set(taken.emails)
  return listed.map(({ fields }) => {
    const upn = fields.upn !== null && upns.has(fields.upn) ? null : fields.upn
    const email = fields.email !== null && emails.has(fields.email) ? null : fields.email
    if (upn !== null) upns.add(upn)
    if (email !== null) emails.add(email)
    return { ...fields, upn, email }
  })
}

/** The disabled set's changes: candidates now disabled, and those that no longer are. */
export function disabledChanges(decisions: Decisions, stored: StoredFacts): { add: string[]; remove: string[] } {
  const add: string[] = []
  const remove: string[] = []
  for (const [id, standing] of decisions.standing) {
    const was = stored.disabled.has(id)
    if (standing.kind === 'disabled' && !was) add.push(id)
    else if (standing.kind !== 'disabled' && was) remove.push(id)
  }
  return { add, remove }
}
