/**
 * Planning a full replace of a phone system's SSO list: which stored records
 * survive (keeping their id, which is the `sub` phone systems see), which are
 * rewritten, which go, which are new. Pure: the caller applies the plan.
 *
 * Matching follows the identity rules of ARCHITECTURE §2: an incoming entry
 * with an `oid` is the stored record with that `oid`; failing that it may
 * adopt a stored record that has no `oid` yet and the same UPN (or email).
 * A stored record that has an `oid` is never matched on UPN or email: a
 * reused UPN belongs to a different person.
 */

import type { SsoUser, SsoUserFields } from './types'

/** What a plan needs of a stored record. */
export type StoredSsoUser = SsoUserFields & Pick<SsoUser, 'id' | 'createdAt'>

/** A row to write: a stored record's id and creation time kept, or new ones. */
export type PlannedRow = StoredSsoUser & { sortKey: string }

export interface ReplaceCounts {
  added: number
  removed: number
  updated: number
  unchanged: number
  total: number
}

export interface ReplacePlan {
  /** Ids to delete: records that are gone, and records rewritten below. */
  deleteIds: string[]
  /** Rows to insert: new records and rewritten ones (same id, same createdAt). */
  insertRows: PlannedRow[]
  counts: ReplaceCounts
}

export type DuplicateField = 'oid' | 'upn' | 'email'

export class DuplicateSsoUserError extends Error {
  override readonly name = 'DuplicateSsoUserError'
  constructor(
    readonly index: number,
    readonly field: DuplicateField,
    readonly firstIndex: number,
  ) {
    super(`entry ${index} repeats the ${field} of entry ${firstIndex}`)
  }
}

/** What the list is sorted and searched by: the name a person would look for. */
export function sortKeyOf(user: SsoUserFields): string {
  return (user.displayName || user.upn || user.email || user.oid || '').toLowerCase()
}

function sameFields(a: SsoUserFields, b: SsoUserFields): boolean {
  return (
    a.oid === b.oid &&
    a.upn === b.upn &&
    a.email === b.email &&
    a.displayName === b.displayName &&
    a.extension === b.extension
  )
}

/** Throws `DuplicateSsoUserError` when two entries share an oid, UPN or email. */
export function assertNoDuplicates(incoming: readonly SsoUserFields[]): void {
  const seen: Record<DuplicateField, Map<string, number>> = { oid: new Map(), upn: new Map(), email: new Map() }
  incoming.forEach((user, index) => {
    for (const field of ['oid', 'upn', 'email'] as const) {
      const value = user[field]
      if (value === null) continue
      const first = seen[field].get(value)
      if (first !== undefined) throw new DuplicateSsoUserError(index, field, first)
      seen[field].set(value, index)
    }
  })
}

export interface PlanOptions {
  /**
   * Sync: Microsoft 365 does not know phone extensions, so an incoming record
   * without one keeps the extension its stored twin has.
   */
  keepStoredExtension?: boolean
}

export function planReplace(
  existing: readonly StoredSsoUser[],
  incoming: readonly SsoUserFields[],
  newId: () => string,
  now: number,
  options: PlanOptions = {},
): ReplacePlan {
  assertNoDuplicates(incoming)

  const byOid = new Map<string, StoredSsoUser>()
  const byUpnWithoutOid = new Map<string, StoredSsoUser>()
  const byEmailWithoutOid = new Map<string, StoredSsoUser>()
  for (const row of existing) {
    if (row.oid !== null) byOid.set(row.oid, row)
    else {
      if (row.upn !== null) byUpnWithoutOid.set(row.upn, row)
      if (row.email !== null) byEmailWithoutOid.set(row.email, row)
    }
  }

  const claimed = new Set<string>()
  const take = (row: StoredSsoUser | undefined): StoredSsoUser | undefined => {
    if (!row || claimed.has(row.id)) return undefined
    claimed.add(row.id)
    return row
  }

  const counts: ReplaceCounts = { added: 0, removed: 0, updated: 0, unchanged: 0, total: incoming.length }
  const deleteIds: string[] = []
  const insertRows: PlannedRow[] = []

  for (const candidate of incoming) {
    let user = candidate
    const match =
      (user.oid !== null ? take(byOid.get(user.oid)) : undefined) ??
      (user.upn !== null ? take(byUpnWithoutOid.get(user.upn)) : undefined) ??
      (user.email !== null ? take(byEmailWithoutOid.get(user.email)) : undefined)
    if (match && options.keepStoredExtension && user.extension === null && match.extension !== null) {
      user = { ...user, extension: match.extension }
    }

    if (!match) {
      counts.added++
      insertRows.push({ ...user, id: newId(), createdAt: now, sortKey: sortKeyOf(user) })
    } else if (sameFields(match, user)) {
      counts.unchanged++
    } else {
      counts.updated++
      deleteIds.push(match.id)
      insertRows.push({ ...user, id: match.id, createdAt: match.createdAt, sortKey: sortKeyOf(user) })
    }
  }

  for (const row of existing) {
    if (!claimed.has(row.id)) {
      counts.removed++
      deleteIds.push(row.id)
    }
  }
  return { deleteIds, insertRows, counts }
}
