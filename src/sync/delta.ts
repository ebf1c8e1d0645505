/**
 * Incremental sync: what a Sync changes on a phone system's list, read from
 * Graph's changes since the last sync when it can be, in full otherwise.
 *
 * A delta sync reads the app's assignments (they have no delta), the
 * membership changes of the groups read last time (`groups/delta`) and the
 * users changed in the tenant (`users/delta`): four requests when nothing
 * changed, a few more per 200 changed users. It touches only the users
 * those changes name. It pulls in full instead, and takes new links first
 * (`$deltatoken=latest`, so a change made while it pages is replayed next
 * time, and applying it twice is harmless) when there are no links yet, the
 * list was changed by other means (PUT, SCIM) since, the links are near
 * their seven days, the source or the assigned groups changed, Graph asks
 * for a resync (expired link, 410), or more members arrived than fetching
 * them by id is worth.
 *
 * Nothing is written here: the caller writes the plan and the state
 * statements in one batch.
 *
 * @see https://learn.microsoft.com/graph/delta-query-overview
 */
import type { Config } from '../config'
import { AppError } from '../errors'
import { newId } from '../lib/ids'
import type { EntraClient } from '../oidc/clients'
import { MAX_SSO_USERS } from '../sso/list'
import { planReplace, type ReplacePlan } from '../sso/plan'
import { readSsoList } from '../sso/store'
import { GraphResyncRequired } from '../upstream/graph'
import {
  DELTA_LINK_LIFETIME_MS,
  type DeltaLinks,
  DeltaTooLong,
  latestLinks,
  readMemberChanges,
  readUserChanges,
} from './delta-links'
import { candidatesOf, decide, disabledChanges, incomingOf, settle } from './delta-plan'
import {
  type DeltaScope,
  type DeltaState,
  deltaStateStatements,
  fullStateStatements,
  readDeltaState,
  readStoredDirect,
  readStoredFacts,
  readTakenAddresses,
  sameScope,
} from './delta-store'
import {
  FETCH_BY_ID_MAX,
  type GraphSession,
  type GraphUser,
  openGraph,
  type PullOptions,
  type PullStats,
  pullSsoList,
  readAssignments,
  usersById,
} from './pull'

export const SYNC_MODES = ['full', 'delta'] as const
export type SyncMode = (typeof SYNC_MODES)[number]

/** Why a sync pulled in full. */
export const FULL_REASONS = [
  'first',
  'list_changed',
  'links_expired',
  'source_changed',
  'groups_changed',
  'resync_required',
  'many_new_users',
  'many_changes',
] as const
export type FullReason = (typeof FULL_REASONS)[number]

/** Links this close to Graph's seven days are not trusted: a full pull takes new ones. */
const LINK_MARGIN_MS = 60 * 60 * 1000

export interface ListUpdate {
  mode: SyncMode
  fullReason: FullReason | null
  plan: ReplacePlan
  /** The delta state to record, in the same batch as the list. */
  stateStatements: D1PreparedStatement[]
  stats: PullStats
  /** D1 statements run while reading (the write's come on top). */
  reads: number
}

interface SyncedPhoneSystem {
  id: string
  entraTenantId: string
  ssoListVersion: number
  syncSource: 'app_assignments' | 'group'
  syncGroupId: string | null
}

/** Why the stored state cannot be used before asking Graph anything (null: try a delta sync). */
export function whyFullBefore(
  state: DeltaState | null,
  ps: SyncedPhoneSystem,
  clientId: string,
  now: number,
): FullReason | null {
  if (!state) return 'first'
  if (state.listVersion !== ps.ssoListVersion) return 'list_changed'
  if (now - state.linksAt > DELTA_LINK_LIFETIME_MS - LINK_MARGIN_MS) return 'links_expired'
  // Links taken by another app (the portal's app changed, an organization moved) are not this app's to follow.
  if (state.scope.source !== ps.syncSource || state.scope.app !== clientId) return 'source_changed'
  if (
    ps.syncSource === 'group' &&
    !sameScope(state.scope, { source: 'group', app: clientId, groups: [String(ps.syncGroupId).toLowerCase()] })
  )
    return 'source_changed'
  return null
}

export async function pullListUpdate(
  d1: D1Database,
  config: Config,
  client: EntraClient,
  ps: SyncedPhoneSystem,
  now: number,
  options: PullOptions = {},
): Promise<ListUpdate> {
  const state = await readDeltaState(d1, config, ps.id)
  // D1 statements read so far, a delta attempt given up on included.
  const reads = { n: 1 }
  let reason = whyFullBefore(state, ps, client.clientId, now)
  const graph = await openGraph(config, client, ps.entraTenantId, options)
  if (reason === null && state) {
    try {
      const update = await deltaUpdate(d1, config, client, ps, state, graph, now, reads)
      if (typeof update !== 'string') return update
      reason = update
    } catch (error) {
      if (error instanceof GraphResyncRequired) reason = 'resync_required'
      else if (error instanceof DeltaTooLong) reason = 'many_changes'
      else throw error
    }
  }
  try {
    return await fullUpdate(d1, config, client, ps, graph, now, reason ?? 'first', reads)
  } catch (error) {
    // A full pull follows no stored link: Graph asking for a resync of it is Graph failing, said as such
    // (never an internal error: a 500 at the Sync button, an unexpected retry in the sync queue).
    if (error instanceof GraphResyncRequired)
      throw new AppError(
        'graph_unavailable',
        `Microsoft Graph answered ${error.status} ${error.code || 'Gone'} to a full read; nothing was changed. Retry.`,
        { cause: error },
      )
    throw error
  }
}

async function fullUpdate(
  d1: D1Database,
  config: Config,
  client: EntraClient,
  ps: SyncedPhoneSystem,
  graph: GraphSession,
  now: number,
  reason: FullReason,
  reads: { n: number },
): Promise<ListUpdate> {
  let links: DeltaLinks = { users: '', groups: [] }
  const linksAt = Date.now()
  const pulled = await pullSsoList(
    config,
    client,
    ps.entraTenantId,
    { kind: ps.syncSource, groupId: ps.syncGroupId },
    {
      session: graph,
      // The links come first: what changes while the members are paged is in the next round (a replay at worst).
      beforeMembers: async (session, groupIds) => {
        links = await latestLinks(session, groupIds)
      },
    },
  )
  const scope: DeltaScope = { source: ps.syncSource, app: client.clientId, groups: pulled.sources.groupIds }
  const existing = await readSsoList(d1, ps.id)
  const plan = planReplace(existing, pulled.users, () => newId('usr'), now, { keepStoredExtension: true })
  return {
    mode: 'full',
    fullReason: reason,
    plan,
    stateStatements: await fullStateStatements(d1, config, ps.id, scope, links, linksAt, pulled.sources),
    stats: pulled.stats,
    reads: reads.n + 1,
  }
}

/** A delta sync's update, or why it must pull in full after all. */
async function deltaUpdate(
  d1: D1Database,
  config: Config,
  client: EntraClient,
  ps: SyncedPhoneSystem,
  state: DeltaState,
  graph: GraphSession,
  now: number,
  reads: { n: number },
): Promise<ListUpdate | FullReason> {
  const linksAt = Date.now()
  let direct = new Set<string>()
  if (ps.syncSource === 'app_assignments') {
    const assigned = await readAssignments(graph, client, ps.entraTenantId)
    // A group newly assigned (or unassigned) has no link of its own: its members are read whole.
    if (!sameScope(state.scope, { source: 'app_assignments', app: client.clientId, groups: assigned.groupIds }))
      return 'groups_changed'
    direct = assigned.userIds
  }
  const members = await readMemberChanges(graph, state.links.groups, state.scope.groups)
  const users = await readUserChanges(graph, state.links.users)
  const storedDirect = ps.syncSource === 'app_assignments' ? await readStoredDirect(d1, ps.id) : new Set<string>()
  if (ps.syncSource === 'app_assignments') reads.n++

  const changes = { direct, storedDirect, members: members.changes, users: users.changes }
  const candidates = candidatesOf(changes)
  const facts = await readStoredFacts(d1, ps, candidates)
  reads.n += facts.statements
  const decisions = decide(changes, facts, candidates)

  const unknown = [...decisions.standing].filter(([, s]) => s.kind === 'unknown').map(([id]) => id)
  if (unknown.length > FETCH_BY_ID_MAX) return 'many_new_users'
  const fetched = new Map<string, GraphUser>()
  await usersById(graph, unknown, (items) => {
    for (const user of items) fetched.set(user.id.toLowerCase(), user)
  })
  settle(decisions, fetched)

  const upns: string[] = []
  const emails: string[] = []
  for (const standing of decisions.standing.values()) {
    if (standing.kind !== 'listed' || !standing.changed) continue
    if (standing.fields.upn) upns.push(standing.fields.upn)
    if (standing.fields.email) emails.push(standing.fields.email)
  }
  const taken = await readTakenAddresses(d1, ps.id, candidates, { upns, emails })
  reads.n += taken.statements
  const incoming = incomingOf(decisions, taken)
  const plan = planReplace([...facts.listed.values()], incoming, () => newId('usr'), now, {
    keepStoredExtension: true,
  })
  // The plan saw only the candidates: the list's counts are the stored size moved by what it adds and removes.
  const total = facts.size + plan.counts.added - plan.counts.removed
  if (total > MAX_SSO_USERS) {
    throw new AppError(
      'sync_too_large',
      `This phone system's list in Microsoft 365 now has more than ${MAX_SSO_USERS.toLocaleString('en')} users, the most one SSO list may hold: nothing was changed. ` +
        'Sync from a group with fewer members (syncSource "group"), or assign fewer users to the sign-in app.',
    )
  }
  plan.counts.total = total
  plan.counts.unchanged = total - plan.counts.added - plan.counts.updated
  const disabled = disabledChanges(decisions, facts)
  graph.stats.disabled = [...decisions.standing.values()].filter((s) => s.kind === 'disabled').length
  return {
    mode: 'delta',
    fullReason: null,
    plan,
    stateStatements: await deltaStateStatements(
      d1,
      config,
      ps.id,
      state.scope,
      { users: users.link, groups: members.links },
      linksAt,
      {
        memberAdds: decisions.memberAdds,
        memberRemoves: decisions.memberRemoves,
        disabledAdd: disabled.add,
        disabledRemove: disabled.remove,
      },
    ),
    stats: graph.stats,
    reads: reads.n,
  }
}
