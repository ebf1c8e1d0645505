/**
 * Change tracking of the Graph stand-in (`users/delta`, `groups/delta`) as
 * Microsoft Graph does it for directory objects: a tenant's changes carry a
 * version (a counter bumped by every change), and a state token names the
 * version it was issued at. Tokens are opaque to the client (`$skiptoken` in
 * `@odata.nextLink`, `$deltatoken` in `@odata.deltaLink`), carry the query's
 * `$select` and `$filter`, and are not single use: following a link twice
 * answers the same changes again (a replay). `$deltatoken=latest` answers
 * no data and a link from now. A token older than seven days, or issued
 * before the tenant's links were expired through the control endpoint,
 * answers `syncStateNotFound` (410 unless told otherwise).
 *
 * Users: a changed user comes with every selected property (Graph's default
 * without `Prefer: return=minimal`), a deleted one as `{id, "@removed"}`.
 * Groups: membership changes come as `members@delta` entries
 * (`@odata.type`, `id`, `@removed` for a member taken out); only `id eq`
 * filters are accepted, 50 at most; a large change list is paged, the same
 * group appearing again on the next page with more members.
 *
 * @see https://learn.microsoft.com/graph/delta-query-overview
 * @see https://learn.microsoft.com/graph/delta-query-groups
 * @see https://learn.microsoft.com/graph/api/group-delta
 * @see https://learn.microsoft.com/graph/api/user-delta
 */
import { Buffer } from 'node:buffer'

/** Directory objects' delta tokens expire after seven days. */
export const DELTA_TOKEN_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000
/** Objects per page of `users/delta` (Graph caps directory objects at 200 whatever odata.maxpagesize asks). */
export const USERS_DELTA_PAGE = 200
/** Member links per page of `groups/delta`. */
export const MEMBERS_DELTA_PAGE = 500
/** Graph's limit of `id eq` clauses in one `groups/delta` filter. */
export const MAX_DELTA_FILTER_IDS = 50

export interface DeltaToken {
  /** Which collection. */
  k: 'users' | 'groups'
  /** Changes after this version (-1: the initial round, everything there is). */
  v: number
  /** Up to this version (the round's snapshot; set once the round started). */
  u?: number
  /** Offset into the round's list (skip tokens only). */
  o?: number
  /** Issued at (ms). */
  t: number
  /** `$select`, and the ids of a filtered groups/delta. */
  s?: string
  f?: string[]
}

export function encodeToken(token: DeltaToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url')
}

export function decodeToken(raw: string): DeltaToken | null {
  try {
    const token = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as DeltaToken
    if ((token.k !== 'users' && token.k !== 'groups') || typeof token.v !== 'number' || typeof token.t !== 'number')
      return null
    return token
  } catch {
    return null
  }
}

/** `id eq 'a' or id eq 'b'`: the only filter groups/delta takes; null for anything else. */
export function parseIdFilter(filter: string): string[] | null {
  const clauses = filter.split(/\s+or\s+/i).map((c) => c.trim())
  const ids: string[] = []
  for (const clause of clauses) {
    const m = /^id\s+eq\s+'([0-9a-fA-F-]{36})'$/.exec(clause)
    if (!m) return null
    ids.push(m[1]!.toLowerCase())
  }
  return ids
}

/** One change to a group's membership, as the tenant recorded it. */
export interface MemberChange {
  version: number
  removed: boolean
}

/** What a tenant records for change tracking (kept beside its directory). */
export interface ChangeLog {
  version: number
  /** Users changed (created, updated, disabled), by id: the version of their last change. */
  users: Map<string, number>
  /** Users deleted, by id: the version of the deletion. */
  deletedUsers: Map<string, number>
  /** Per group, per member: the last change to that membership. */
  members: Map<string, Map<string, MemberChange>>
  /** Tokens issued before this (ms) are expired; and how they answer. */
  expiredBefore?: number
  expiredStatus?: number
  expiredCode?: string
}

export function newChangeLog(): ChangeLog {
  return { version: 0, users: new Map(), deletedUsers: new Map(), members: new Map() }
}

export function recordUser(log: ChangeLog, id: string): void {
  log.version++
  log.users.set(id, log.version)
  log.deletedUsers.delete(id)
}

export function recordUserDeleted(log: ChangeLog, id: string): void {
  log.version++
  log.deletedUsers.set(id, log.version)
  log.users.delete(id)
}

/** Records the difference between a group's old and new member lists. */
export function recordMembers(log: ChangeLog, groupId: string, before: readonly string[], after: readonly string[]) {
  const old = new Set(before)
  const now = new Set(after)
  let changes = log.members.get(groupId)
  if (!changes) {
    changes = new Map()
    log.members.set(groupId, changes)
  }
  for (const id of now) {
    if (old.has(id)) continue
    log.version++
    changes.set(id, { version: log.version, removed: false })
  }
  for (const id of old) {
    if (now.has(id)) continue
    log.version++
    changes.set(id, { version: log.version, removed: true })
  }
}

/** Why a token cannot be used: expired (Graph's `syncStateNotFound`), or not a token at all. */
export function tokenProblem(log: ChangeLog, token: DeltaToken, now: number): { status: number; code: string } | null {
  const expired =
    now - token.t > DELTA_TOKEN_LIFETIME_MS || (log.expiredBefore !== undefined && token.t < log.expiredBefore)
  if (!expired) return null
  return { status: log.expiredStatus ?? 410, code: log.expiredCode ?? 'syncStateNotFound' }
}

export const EXPIRED_MESSAGE =
  'The sync state generation is not found. The delta token is expired and data must be synchronized again.'
