/**
 * The Graph side of incremental sync: taking delta links (`$deltatoken=latest`,
 * "sync from now") and reading what changed since a link was taken.
 *
 * - Users (`users/delta`, the fields we store): renames, disables and
 *   deletions (`@removed`) anywhere in the tenant; the caller keeps those of
 *   users on its lists.
 * - Group membership (`groups/delta`, `$select=members`, filtered to the
 *   groups read, 50 ids per filter as Graph allows): `members@delta` entries,
 *   `@removed` for a member taken out. Only `#microsoft.graph.user` members
 *   count: a group assignment grants its direct members, nested groups are
 *   not expanded (Entra's own rule).
 *
 * Delta links carry state tokens that read the tenant's directory: they are
 * never logged or returned, and stored sealed (delta-store.ts). An expired
 * link throws `GraphResyncRequired` (graph.ts); the caller pulls in full.
 *
 * @see https://learn.microsoft.com/graph/delta-query-overview
 * @see https://learn.microsoft.com/graph/api/group-delta
 * @see https://learn.microsoft.com/graph/api/user-delta
 */
import { AppError } from '../errors'
import { isGuid } from '../lib/ids'
import { isGraphLink } from '../upstream/graph'
import { type GraphSession, type GraphUser, USER_FIELDS } from './pull'

/** Graph's limit of `id eq` clauses in one groups/delta filter. */
export const MAX_DELTA_FILTER_IDS = 50
/** How long Graph serves a directory object's delta link. */
export const DELTA_LINK_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000

/** The links of one phone system's sources: users, and its groups 50 at a time. */
export interface DeltaLinks {
  users: string
  groups: string[]
}

export interface UserChange {
  id: string
  /** Deleted (soft or for good): off every list. */
  removed: boolean
  /** The properties Graph sent (all selected ones by default; absent ones are unchanged). */
  user?: GraphUser
}

export interface MemberChange {
  groupId: string
  userId: string
  removed: boolean
}

interface DeltaPage<T> {
  value?: T[]
  '@odata.nextLink'?: string
  '@odata.deltaLink'?: string
}

function groupFilters(groupIds: readonly string[]): string[] {
  const filters: string[] = []
  for (let i = 0; i < groupIds.length; i += MAX_DELTA_FILTER_IDS) {
    const clause = groupIds
      .slice(i, i + MAX_DELTA_FILTER_IDS)
      .map((id) => `id eq '${id}'`)
      .join(' or ')
    filters.push(`/v1.0/groups/delta?$filter=${encodeURIComponent(clause)}&$select=members`)
  }
  return filters
}

/**
 * A delta round longer than this many pages (200 changed users each) costs
 * more than reading the list whole (about 55 requests for 50,000 users): the
 * caller gives up on it and pulls in full, within the same request cap.
 */
export const MAX_DELTA_PAGES = 100

/** Thrown when a round runs past `MAX_DELTA_PAGES`: the caller pulls in full instead. */
export class DeltaTooLong extends Error {
  override readonly name = 'DeltaTooLong'
}

/** Follows a delta round to its end: every page's items, and the link for the next round. */
async function round<T>(
  graph: GraphSession,
  first: string,
  permission: string,
  onPage: (items: T[]) => void,
): Promise<string> {
  let next: string | undefined = first
  for (let n = 0; next; n++) {
    if (n >= MAX_DELTA_PAGES) throw new DeltaTooLong(`a delta round of more than ${MAX_DELTA_PAGES} pages`)
    const page: DeltaPage<T> | null = await graph.page<DeltaPage<T>>(next, permission)
    onPage(page?.value ?? [])
    const delta = page?.['@odata.deltaLink']
    if (delta !== undefined) {
      // Stored (sealed) and followed next sync: a link anywhere but GRAPH_BASE is refused now, never kept.
      if (typeof delta !== 'string' || !isGraphLink(graph.config, delta))
        throw new AppError(
          'graph_unavailable',
          'Microsoft Graph sent a delta link to another host; nothing was changed',
        )
      return delta
    }
    next = page?.['@odata.nextLink']
  }
  throw new AppError(
    'graph_unavailable',
    'Microsoft Graph ended a delta round without a delta link; nothing was changed',
  )
}

/** Links from now on ("sync from now": no data read), for the users and the given groups. */
export async function latestLinks(graph: GraphSession, groupIds: readonly string[]): Promise<DeltaLinks> {
  const users = await round(
    graph,
    `/v1.0/users/delta?$select=${USER_FIELDS}&$deltatoken=latest`,
    'User.Read.All',
    () => {},
  )
  const groups: string[] = []
  for (const filter of groupFilters(groupIds))
    groups.push(await round(graph, `${filter}&$deltatoken=latest`, 'GroupMember.Read.All', () => {}))
  return { users, groups }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * The properties of a users/delta entry that a list stores, each only when Graph sent it with its type
 * (absent: unchanged). Anything else, or a property of the wrong type, is not read: a hostile or broken
 * answer changes no field to something a full pull could not store, and never throws mid-sync.
 */
function userFields(item: Record<string, unknown>): Partial<GraphUser> {
  const out: Partial<GraphUser> = {}
  for (const key of ['userPrincipalName', 'mail', 'displayName'] as const) {
    const value = item[key]
    if (value === null || typeof value === 'string') out[key] = value
  }
  const enabled = item.accountEnabled
  if (enabled === null || typeof enabled === 'boolean') out.accountEnabled = enabled
  return out
}

/** The users changed since `link`: the last word on each, and the next link. */
export async function readUserChanges(
  graph: GraphSession,
  link: string,
): Promise<{ changes: Map<string, UserChange>; link: string }> {
  const changes = new Map<string, UserChange>()
  const next = await round<unknown>(graph, link, 'User.Read.All', (items) => {
    for (const item of items) {
      // Anything but an object with a string id is no change (and never a crash that stops every sync).
      // An object id is a GUID: anything else would be interpolated into the next requests' filters.
      if (!isObject(item) || typeof item.id !== 'string' || !isGuid(item.id.toLowerCase())) continue
      const id = item.id.toLowerCase()
      // The same user may come more than once in a round (replays): a later entry is the newer state.
      if (item['@removed'] !== undefined) changes.set(id, { id, removed: true })
      else changes.set(id, { id, removed: false, user: { ...changes.get(id)?.user, ...userFields(item), id } })
    }
  })
  return { changes, link: next }
}

/**
 * The membership changes (user members only) of `groupIds` since `links`, in order, and the next links.
 * The links are filtered to those groups; an entry for any other group (or malformed) changes nobody.
 */
export async function readMemberChanges(
  graph: GraphSession,
  links: readonly string[],
  groupIds: readonly string[],
): Promise<{ changes: MemberChange[]; links: string[] }> {
  const wanted = new Set(groupIds.map((id) => id.toLowerCase()))
  const changes: MemberChange[] = []
  const next: string[] = []
  for (const link of links) {
    next.push(
      await round<unknown>(graph, link, 'GroupMember.Read.All', (groups) => {
        for (const group of groups) {
          if (!isObject(group) || typeof group.id !== 'string') continue
          const groupId = group.id.toLowerCase()
          const members = group['members@delta']
          if (!wanted.has(groupId) || !Array.isArray(members)) continue
          for (const member of members as unknown[]) {
            if (
              !isObject(member) ||
              member['@odata.type'] !== '#microsoft.graph.user' ||
              typeof member.id !== 'string' ||
              !isGuid(member.id.toLowerCase())
            )
              continue
            changes.push({ groupId, userId: member.id.toLowerCase(), removed: member['@removed'] !== undefined })
          }
        }
      }),
    )
  }
  return { changes, links: next }
}
