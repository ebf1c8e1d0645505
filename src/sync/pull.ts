/**
 * Pulling a phone system's SSO list from Microsoft Graph, app-only, in the
 * customer's tenant. The default source is who may use the sign-in app
 * there: the users and groups assigned to its service principal
 * (`appRoleAssignedTo`), groups expanded to their direct user members; or
 * the members of one configured group. Disabled accounts are left out. Only
 * the fields we store are selected, pages are as large as Graph allows (999),
 * and any failure throws: a pull is all or nothing. What it holds in memory
 * is bounded while it pages: past `MAX_SSO_USERS` it stops (422
 * `sync_too_large`), and all its waits for throttling share one budget.
 *
 * @see https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignedto
 * @see https://learn.microsoft.com/graph/api/group-list-members
 * @see https://learn.microsoft.com/graph/paging
 */
import type { Config } from '../config'
import { AppError } from '../errors'
import { isGuid } from '../lib/ids'
import type { EntraClient } from '../oidc/clients'
import { MAX_SSO_USERS } from '../sso/list'
import type { SsoUserFields } from '../sso/types'
import { appOnlyToken, type GraphCall, graphRequest, ThrottleBudget } from '../upstream/graph'

export const PAGE_SIZE = 999

/**
 * The Microsoft Graph application permissions Sync uses in a customer's
 * tenant, with what each is for: what an administrator consents to when
 * connecting (the connect page lists them).
 */
export const SYNC_PERMISSIONS = [
  { name: 'Application.Read.All', use: 'find the sign-in app in your organization and who is assigned to it' },
  { name: 'GroupMember.Read.All', use: 'read the members of the groups assigned to it' },
  { name: 'User.Read.All', use: 'read the name, user principal name, email and status of those users' },
] as const
/** Stops a runaway pagination (a loop of nextLinks); 1,000 pages of 999 is a million users. */
const MAX_PAGES = 1_000
/**
 * The most Graph requests one pull makes, whatever the tenant holds (a
 * thousand empty groups assigned to the app would otherwise cost a thousand
 * requests, past the 1,000 subrequests of one invocation). 50,000 users in
 * groups take about 55.
 */
export const MAX_REQUESTS_PER_PULL = 300
/**
 * The most one pull waits out throttling (429/503 Retry-After), all calls
 * together: Graph asking for more than is left ends the pull at once (503
 * `graph_throttled`, its Retry-After passed on), so a tenant throttled for
 * minutes cannot hold a sync, or a scheduled run, for minutes.
 */
export const SYNC_THROTTLE_BUDGET_MS = 30_000
/** Retries of one call after a 429/503, inside the budget. */
const RETRIES_PER_CALL = 5
/** Up to this many directly assigned users are fetched by id (15 per request); more, and the tenant's users are paged. */
export const FETCH_BY_ID_MAX = 150
export const USER_FIELDS = 'id,userPrincipalName,mail,displayName,accountEnabled'

export interface GraphUser {
  id: string
  userPrincipalName?: string | null
  mail?: string | null
  displayName?: string | null
  accountEnabled?: boolean | null
}

interface Page<T> {
  value: T[]
  '@odata.nextLink'?: string
}

export interface PullSource {
  kind: 'app_assignments' | 'group'
  groupId: string | null
}

export interface PullStats {
  requests: number
  pages: number
  assignedUsers: number
  assignedGroups: number
  disabled: number
}

export interface PullResult {
  users: SsoUserFields[]
  stats: PullStats
  /** What the list was made of, for the next sync to apply changes to (delta.ts). */
  sources: PulledSources
}

/** Who is on a phone system's list and why: users assigned directly, and the direct user members of each group. */
export interface PulledSources {
  /** The groups read (assigned to the app, or the one configured), lowercase, sorted. */
  groupIds: string[]
  direct: string[]
  members: Map<string, string[]>
  /** Members (or direct assignees) whose accounts are disabled. */
  disabled: string[]
}

export interface PullOptions {
  /** The throttling budget (default: `SYNC_THROTTLE_BUDGET_MS`, real waits). */
  throttle?: ThrottleBudget
  /**
   * Called once the groups to read are known and before any member is read
   * (delta.ts takes its delta links there, so a change made while the pull
   * pages is replayed by the next sync rather than lost).
   */
  beforeMembers?: (graph: GraphSession, groupIds: string[]) => Promise<void>
  /** A session already open (its requests and throttling budget carry on). */
  session?: GraphSession
}

/** Graph requests of one sync: one token, one request counter, one throttling budget, one request cap. */
export interface GraphSession {
  config: Config
  token: string
  stats: PullStats
  call(permission: string, extra?: Partial<GraphCall>): GraphCall
  /** Every page from `path` on (`@odata.nextLink`), within the caps. */
  each<T>(path: string, permission: string, onPage: (items: T[]) => void): Promise<void>
  /** One page, raw (delta rounds read their own links). */
  page<T>(path: string, permission: string, extra?: Partial<GraphCall>): Promise<T | null>
}

export async function openGraph(
  config: Config,
  client: EntraClient,
  tenant: string,
  options: PullOptions = {},
): Promise<GraphSession> {
  if (options.session) return options.session
  const counter = { requests: 0 }
  const stats: PullStats = { requests: 0, pages: 0, assignedUsers: 0, assignedGroups: 0, disabled: 0 }
  const budget = options.throttle ?? new ThrottleBudget('the sync', SYNC_THROTTLE_BUDGET_MS)
  const call = (permission: string, extra: Partial<GraphCall> = {}): GraphCall => ({
    permission,
    counter,
    retries: RETRIES_PER_CALL,
    maxRetryAfterMs: budget.limitMs,
    budget,
    ...extra,
  })
  const token = await appOnlyToken(config, client, tenant, call('User.Read.All'))
  const page = async <T>(path: string, permission: string, extra: Partial<GraphCall> = {}): Promise<T | null> => {
    if (counter.requests >= MAX_REQUESTS_PER_PULL) throw tooManyRequests(stats)
    try {
      return await graphRequest<T>(config, token, 'GET', path, call(permission, extra))
    } finally {
      stats.pages++
      stats.requests = counter.requests
    }
  }
  async function each<T>(path: string, permission: string, onPage: (items: T[]) => void): Promise<void> {
    let next: string | undefined = path
    for (let n = 0; next; n++) {
      if (n >= MAX_PAGES)
        throw new AppError(
          'graph_unavailable',
          `Microsoft Graph kept paging past ${MAX_PAGES} pages (a loop of nextLinks); nothing was changed`,
        )
      const result: Page<T> | null = await page<Page<T>>(next, permission)
      onPage(result?.value ?? [])
      next = result?.['@odata.nextLink']
    }
  }
  return { config, token, stats, call, each, page }
}

const thousands = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')

/** The cap, refused while paging: nothing more is read, nothing is written. */
function tooManyRequests(stats: PullStats): AppError {
  const groups =
    stats.assignedGroups > 0 ? ` (${thousands(stats.assignedGroups)} groups are assigned to the sign-in app)` : ''
  return new AppError(
    'sync_too_large',
    `Reading this list from Microsoft Graph would take more than ${MAX_REQUESTS_PER_PULL} requests${groups}: ` +
      'the sync stopped, and nothing was changed. Assign fewer groups to the sign-in app (one group holding the others' +
      '\' members), or sync from one group (syncSource "group").',
  )
}

function tooLarge(seen: number): AppError {
  return new AppError(
    'sync_too_large',
    `This phone system's list in Microsoft 365 has more than ${thousands(MAX_SSO_USERS)} users, the most one SSO list may hold: ` +
      `the sync stopped after counting ${thousands(seen)}, and nothing was changed. ` +
      'Sync from a group with fewer members (syncSource "group"), or assign fewer users to the sign-in app.',
  )
}

export async function pullSsoList(
  config: Config,
  client: EntraClient,
  tenant: string,
  source: PullSource,
  options: PullOptions = {},
): Promise<PullResult> {
  const graph = await openGraph(config, client, tenant, options)
  const { stats, each } = graph
  // Enabled users only; disabled ones are remembered by id, so each is counted once and none is kept.
  const users = new Map<string, GraphUser>()
  const disabled = new Set<string>()
  const addUsers = (items: GraphUser[]) => {
    for (const user of items) {
      const id = user.id.toLowerCase()
      if (user.accountEnabled === false) {
        users.delete(id)
        disabled.add(id)
      } else if (!disabled.has(id)) users.set(id, user)
    }
    // Disabled accounts count as well once there are twice as many users in all: memory stays bounded either way.
    if (users.size > MAX_SSO_USERS || users.size + disabled.size > 2 * MAX_SSO_USERS)
      throw tooLarge(users.size + disabled.size)
  }
  const members = new Map<string, string[]>()
  const membersOf = (groupId: string) => {
    const ids: string[] = []
    members.set(groupId, ids)
    return each<GraphUser>(
      `/v1.0/groups/${encodeURIComponent(groupId)}/members/microsoft.graph.user?$select=${USER_FIELDS}&$top=${PAGE_SIZE}`,
      'GroupMember.Read.All',
      (items) => {
        for (const user of items) ids.push(user.id.toLowerCase())
        addUsers(items)
      },
    )
  }
  let direct: string[] = []

  if (source.kind === 'group') {
    if (!source.groupId)
      throw new AppError('invalid_request', 'The phone system syncs from a group but names none', {
        field: 'syncGroupId',
      })
    const groupId = source.groupId.toLowerCase()
    await options.beforeMembers?.(graph, [groupId])
    await membersOf(groupId)
  } else {
    const { userIds, groupIds } = await readAssignments(graph, client, tenant)
    direct = [...userIds]
    await options.beforeMembers?.(graph, groupIds)
    for (const groupId of groupIds) await membersOf(groupId)

    const missing = [...userIds].filter((id) => !users.has(id))
    if (missing.length > 0 && missing.length <= FETCH_BY_ID_MAX) {
      await usersById(graph, missing, addUsers)
    } else if (missing.length > 0) {
      const wanted = new Set(missing)
      await each<GraphUser>(`/v1.0/users?$select=${USER_FIELDS}&$top=${PAGE_SIZE}`, 'User.Read.All', (items) =>
        addUsers(items.filter((u) => wanted.has(u.id.toLowerCase()))),
      )
    }
  }

  const out: SsoUserFields[] = []
  const seenUpn = new Set<string>()
  const seenEmail = new Set<string>()
  stats.disabled = disabled.size
  for (const user of users.values()) {
    let upn = user.userPrincipalName?.toLowerCase() ?? null
    let email = user.mail?.toLowerCase() ?? null
    // Entra keeps UPNs unique, not mail: a second holder of an address keeps its oid and loses only the address.
    if (upn !== null && seenUpn.has(upn)) upn = null
    if (email !== null && seenEmail.has(email)) email = null
    if (upn !== null) seenUpn.add(upn)
    if (email !== null) seenEmail.add(email)
    out.push({
      oid: user.id.toLowerCase(),
      upn,
      email,
      displayName: user.displayName?.slice(0, 256) ?? null,
      extension: null,
    })
  }
  return {
    users: out,
    stats,
    sources: {
      groupIds: [...members.keys()].sort(),
      direct,
      members,
      disabled: [...disabled],
    },
  }
}

/**
 * Who is assigned to the sign-in app in the tenant (`appRoleAssignedTo`,
 * which has no delta: read whole every sync): users directly, and groups.
 */
export async function readAssignments(
  graph: GraphSession,
  client: EntraClient,
  tenant: string,
): Promise<{ userIds: Set<string>; groupIds: string[] }> {
  const sp = await graph.page<{ id: string }>(
    `/v1.0/servicePrincipals(appId='${client.clientId}')?$select=id,appId`,
    'Application.Read.All',
    { notFoundIsNull: true },
  )
  if (!sp) {
    throw new AppError(
      'sync_app_not_installed',
      `The sign-in app (${client.clientId}) is not installed in tenant ${tenant}: activate the phone system's Microsoft 365 integration and add a user to it, then Sync.`,
    )
  }
  const userIds = new Set<string>()
  const groupIds = new Set<string>()
  await graph.each<{ principalId: string; principalType: string }>(
    `/v1.0/servicePrincipals/${encodeURIComponent(sp.id)}/appRoleAssignedTo?$select=principalId,principalType&$top=${PAGE_SIZE}`,
    'Application.Read.All',
    (items) => {
      for (const a of items) {
        // Object ids are GUIDs: anything else would be interpolated into the filters and paths that follow.
        const id = typeof a?.principalId === 'string' ? a.principalId.toLowerCase() : ''
        if (!isGuid(id)) continue
        if (a.principalType === 'User') userIds.add(id)
        else if (a.principalType === 'Group') groupIds.add(id)
      }
      if (userIds.size > MAX_SSO_USERS) throw tooLarge(userIds.size)
    },
  )
  graph.stats.assignedUsers = userIds.size
  graph.stats.assignedGroups = groupIds.size
  return { userIds, groupIds: [...groupIds].sort() }
}

/** Users by id, 15 per request (Graph's limit of clauses in one `in` filter). */
export async function usersById(graph: GraphSession, ids: readonly string[], onPage: (users: GraphUser[]) => void) {
  for (let i = 0; i < ids.length; i += 15) {
    const list = ids
      .slice(i, i + 15)
      .map((id) => `'${id}'`)
      .join(',')
    await graph.each<GraphUser>(
      `/v1.0/users?$filter=${encodeURIComponent(`id in (${list})`)}&$select=${USER_FIELDS}&$top=${PAGE_SIZE}`,
      'User.Read.All',
      onPage,
    )
  }
}
