/**
 * The directory side of the Graph stand-in: per tenant, users, groups with
 * members, and service principals with their app role assignments, served
 * with Graph's paging (`$top` up to 999, `@odata.nextLink`), `$select`, and
 * the permission each call needs. Faults per tenant: throttling (429 with
 * Retry-After), for a number of requests or for a window of time as Graph
 * does (every call answered 429 until it ends, Retry-After saying how long
 * is left), 503, a failure on a given page, a slow answer.
 */
import { randomUUID } from 'node:crypto'
import type http from 'node:http'
import type { EntraStandIn } from '../entra/server.ts'
import { readBody, sendJson } from '../http.ts'
import {
  type ChangeLog,
  type DeltaToken,
  decodeToken,
  EXPIRED_MESSAGE,
  encodeToken,
  MAX_DELTA_FILTER_IDS,
  MEMBERS_DELTA_PAGE,
  newChangeLog,
  parseIdFilter,
  recordMembers,
  recordUser,
  recordUserDeleted,
  tokenProblem,
  USERS_DELTA_PAGE,
} from './delta.ts'
import { type GraphCaller, GraphStandIn, graphError } from './server.ts'

export interface DirectoryUser {
  id: string
  userPrincipalName: string
  mail: string | null
  displayName: string
  accountEnabled: boolean
}

export interface DirectoryGroup {
  id: string
  displayName: string
  members: string[]
}

export interface Assignment {
  principalId: string
  principalType: 'User' | 'Group' | 'ServicePrincipal'
}

export interface TenantDirectory {
  users: Map<string, DirectoryUser>
  groups: Map<string, DirectoryGroup>
  /** appId -> service principal id and its assignments */
  servicePrincipals: Map<string, { id: string; assignments: Assignment[] }>
  /** Fail the request for this page number of any paged list (1-based), once. */
  failOnPage?: number
  /** The next N requests in this tenant answer 429 with Retry-After: 1. */
  throttle?: number
  /** Until then (ms), every request in this tenant answers 429; Retry-After: `retryAfter` s, else the time left. */
  throttledUntil?: number
  retryAfter?: number
  /** The next request in this tenant waits for this before it is answered (a slow Graph). */
  hold?: { released: Promise<void>; release: () => void; ms: number; taken: boolean }
  /** Requests made in this tenant (directory calls), for tests. */
  requests: number
  /** The next request to this path (e.g. `/v1.0/users/delta`) answers 500, once. */
  failOnPath?: string
  /** Change tracking (`users/delta`, `groups/delta`); changes made through the methods and control routes are recorded. */
  changes: ChangeLog
}

const MAX_PAGE = 999
const PERMISSIONS = {
  servicePrincipals: ['Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All'],
  users: ['User.Read.All', 'Directory.Read.All'],
  groups: ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All'],
}

export class GraphDirectoryStandIn extends GraphStandIn {
  readonly tenants = new Map<string, TenantDirectory>()
  /** Pages served, for tests and the benchmark. */
  pages = 0

  directory(tid: string): TenantDirectory {
    let dir = this.tenants.get(tid)
    if (!dir) {
      dir = { users: new Map(), groups: new Map(), servicePrincipals: new Map(), requests: 0, changes: newChangeLog() }
      this.tenants.set(tid, dir)
    }
    return dir
  }

  /** Creates or replaces a user, recorded for `users/delta` when it is new or differs. */
  putUser(tid: string, user: DirectoryUser): void {
    const dir = this.directory(tid)
    const id = user.id.toLowerCase()
    const before = dir.users.get(id)
    const after = { ...user, id }
    dir.users.set(id, after)
    if (!before || JSON.stringify(before) !== JSON.stringify(after)) recordUser(dir.changes, id)
  }

  /** Changes some of a user's properties (a rename, a disable), recorded for `users/delta`. */
  updateUser(tid: string, id: string, patch: Partial<Omit<DirectoryUser, 'id'>>): void {
    const user = this.directory(tid).users.get(id.toLowerCase())
    if (user) this.putUser(tid, { ...user, ...patch })
  }

  /** Deletes a user (soft, as the portal does): out of every group and assignment; `@removed` in `users/delta`. */
  deleteUser(tid: string, id: string): void {
    const dir = this.directory(tid)
    if (!dir.users.delete(id)) return
    recordUserDeleted(dir.changes, id)
    for (const group of dir.groups.values())
      if (group.members.includes(id))
        this.setMembers(
          tid,
          group.id,
          group.members.filter((m) => m !== id),
        )
    for (const sp of dir.servicePrincipals.values()) sp.assignments = sp.assignments.filter((a) => a.principalId !== id)
  }

  /** Sets a group (its members), recorded for `groups/delta` member by member. */
  putGroup(tid: string, group: DirectoryGroup): void {
    const dir = this.directory(tid)
    const id = group.id.toLowerCase()
    const members = group.members.map((m) => m.toLowerCase())
    const before = dir.groups.get(id)?.members ?? []
    dir.groups.set(id, { ...group, id, members })
    recordMembers(dir.changes, id, before, members)
  }

  setMembers(tid: string, groupId: string, members: string[]): void {
    const group = this.directory(tid).groups.get(groupId.toLowerCase())
    if (group) this.putGroup(tid, { ...group, members })
  }

  private page<T>(
    res: http.ServerResponse,
    url: URL,
    items: T[],
    select: (item: T) => Record<string, unknown>,
    dir: TenantDirectory,
  ): void {
    const top = Math.min(Number(url.searchParams.get('$top') ?? 100) || 100, MAX_PAGE)
    const skip = Number(url.searchParams.get('$skiptoken') ?? 0) || 0
    const pageNumber = Math.floor(skip / top) + 1
    if (dir.failOnPage !== undefined && pageNumber === dir.failOnPage) {
      dir.failOnPage = undefined
      sendJson(res, 500, graphError('generalException', `Failed to read page ${pageNumber}.`))
      return
    }
    this.pages++
    const slice = items.slice(skip, skip + top)
    const body: Record<string, unknown> = { '@odata.context': `${this.base}/v1.0/$metadata`, value: slice.map(select) }
    if (skip + top < items.length) {
      const next = new URL(url.href.replace('http://127.0.0.1', this.base))
      next.searchParams.set('$skiptoken', String(skip + top))
      next.searchParams.set('$top', String(top))
      body['@odata.nextLink'] = next.href
    }
    sendJson(res, 200, body)
  }

  private allowed(caller: GraphCaller, needs: string[]): boolean {
    return caller.roles.some((role) => needs.includes(role))
  }

  protected override async route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    caller: GraphCaller,
    url: URL,
    path: string,
  ): Promise<void> {
    const dir = this.directory(caller.tid)
    dir.requests++
    if (dir.hold && !dir.hold.taken) {
      dir.hold.taken = true
      setTimeout(dir.hold.release, dir.hold.ms).unref()
      await dir.hold.released
    }
    const now = Date.now()
    if (dir.throttledUntil !== undefined && now < dir.throttledUntil) {
      const retryAfter = dir.retryAfter ?? Math.ceil((dir.throttledUntil - now) / 1000)
      return sendJson(
        res,
        429,
        graphError('TooManyRequests', 'Too many requests. Please retry after the time given in Retry-After.'),
        { 'retry-after': String(retryAfter) },
      )
    }
    if (dir.throttle && dir.throttle > 0) {
      dir.throttle--
      return sendJson(res, 429, graphError('TooManyRequests', 'Too many requests.'), { 'retry-after': '1' })
    }
    if (this.fault(res, caller.tid)) return
    if (dir.failOnPath === path) {
      dir.failOnPath = undefined
      return sendJson(res, 500, graphError('generalException', 'An internal server error occurred.'))
    }
    const select = (url.searchParams.get('$select') ?? '').split(',').filter(Boolean)
    const pick = (obj: Record<string, unknown>) =>
      select.length ? Object.fromEntries(select.map((k) => [k, obj[k] ?? null])) : obj
    const denied = (permission: string) =>
      sendJson(
        res,
        403,
        graphError(
          'Authorization_RequestDenied',
          `Insufficient privileges to complete the operation. (needs ${permission})`,
        ),
      )

    let m = /^\/v1\.0\/servicePrincipals\(appId='([0-9a-fA-F-]{36})'\)$/.exec(path)
    if (m && req.method === 'GET') {
      if (!this.allowed(caller, PERMISSIONS.servicePrincipals)) return denied('Application.Read.All')
      const sp = dir.servicePrincipals.get(m[1]!.toLowerCase())
      if (!sp)
        return sendJson(
          res,
          404,
          graphError('Request_ResourceNotFound', `Resource 'servicePrincipals(appId='${m[1]}')' does not exist.`),
        )
      return sendJson(res, 200, pick({ id: sp.id, appId: m[1]!.toLowerCase(), displayName: 'Phone system SSO' }))
    }
    m = /^\/v1\.0\/servicePrincipals\/([0-9a-fA-F-]{36})\/appRoleAssignedTo$/.exec(path)
    if (m && req.method === 'GET') {
      if (!this.allowed(caller, PERMISSIONS.servicePrincipals)) return denied('Application.Read.All')
      const sp = [...dir.servicePrincipals.values()].find((s) => s.id === m![1]!.toLowerCase())
      if (!sp) return sendJson(res, 404, graphError('Request_ResourceNotFound', `Resource '${m[1]}' does not exist.`))
      return this.page(
        res,
        url,
        sp.assignments,
        (a) =>
          pick({ id: randomUUID(), principalId: a.principalId, principalType: a.principalType, resourceId: sp.id }),
        dir,
      )
    }
    m = /^\/v1\.0\/groups\/([0-9a-fA-F-]{36})\/members\/microsoft\.graph\.user$/.exec(path)
    if (m && req.method === 'GET') {
      if (!this.allowed(caller, PERMISSIONS.groups)) return denied('GroupMember.Read.All')
      const group = dir.groups.get(m[1]!.toLowerCase())
      if (!group)
        return sendJson(res, 404, graphError('Request_ResourceNotFound', `Resource '${m[1]}' does not exist.`))
      const members = group.members.map((id) => dir.users.get(id)).filter((u): u is DirectoryUser => u !== undefined)
      return this.page(res, url, members, (u) => pick({ ...u }), dir)
    }
    if ((path === '/v1.0/users/delta' || path === '/v1.0/groups/delta') && req.method === 'GET') {
      const kind = path === '/v1.0/users/delta' ? 'users' : 'groups'
      if (!this.allowed(caller, kind === 'users' ? PERMISSIONS.users : PERMISSIONS.groups))
        return denied(kind === 'users' ? 'User.Read.All' : 'GroupMember.Read.All')
      return this.delta(res, url, dir, kind)
    }
    if (path === '/v1.0/users' && req.method === 'GET') {
      if (!this.allowed(caller, PERMISSIONS.users)) return denied('User.Read.All')
      let users = [...dir.users.values()]
      const filter = url.searchParams.get('$filter')
      if (filter) {
        const ids = /^id in \(([^)]*)\)$/.exec(filter)?.[1]
        if (ids === undefined) return sendJson(res, 400, graphError('BadRequest', `Unsupported filter: ${filter}`))
        const wanted = new Set(ids.split(',').map((s) => s.trim().replace(/^'|'$/g, '').toLowerCase()))
        if (wanted.size > 15)
          return sendJson(
            res,
            400,
            graphError(
              'BadRequest',
              "Too many child clauses specified in search filter expression containing 'OR' operators: 16. Max allowed: 15.",
            ),
          )
        users = users.filter((u) => wanted.has(u.id))
      }
      return this.page(res, url, users, (u) => pick({ ...u }), dir)
    }
    return sendJson(
      res,
      400,
      graphError('BadRequest', `Resource not found for the segment '${path.split('/')[2] ?? ''}'.`),
    )
  }

  /**
   * One page of `users/delta` or `groups/delta` (see delta.ts): a new round
   * (query parameters, or `$deltatoken=latest`), or a link's token.
   */
  private async delta(
    res: http.ServerResponse,
    url: URL,
    dir: TenantDirectory,
    kind: 'users' | 'groups',
  ): Promise<void> {
    const log = dir.changes
    const now = Date.now()
    const raw = url.searchParams.get('$skiptoken') ?? url.searchParams.get('$deltatoken')
    let token: DeltaToken
    if (raw !== null && raw !== 'latest') {
      const decoded = decodeToken(raw)
      if (!decoded || decoded.k !== kind)
        return sendJson(res, 400, graphError('Request_BadRequest', 'The delta token is not valid.'))
      const problem = tokenProblem(log, decoded, now)
      if (problem) return sendJson(res, problem.status, graphError(problem.code, EXPIRED_MESSAGE))
      token = decoded
    } else {
      const filter = url.searchParams.get('$filter')
      let ids: string[] | undefined
      if (filter !== null) {
        if (kind === 'users') return sendJson(res, 400, graphError('Request_UnsupportedQuery', 'Unsupported Query.'))
        const parsed = parseIdFilter(filter)
        if (!parsed) return sendJson(res, 400, graphError('Request_UnsupportedQuery', 'Unsupported Query.'))
        if (parsed.length > MAX_DELTA_FILTER_IDS)
          return sendJson(
            res,
            400,
            graphError('Request_UnsupportedQuery', `There is a limit of ${MAX_DELTA_FILTER_IDS} filtered objects.`),
          )
        ids = parsed
      }
      token = { k: kind, v: -1, t: now, s: url.searchParams.get('$select') ?? undefined, f: ids }
      if (raw === 'latest') {
        // "Sync from now": no data, a link from the current state.
        return this.deltaPage(res, [], { ...token, v: log.version }, undefined)
      }
    }
    const upTo = token.u ?? log.version
    const offset = token.o ?? 0
    const select = (token.s ?? '').split(',').filter(Boolean)
    if (kind === 'users') {
      const changed: Array<Record<string, unknown>> = []
      const entries: Array<[string, number, boolean]> = []
      if (token.v < 0) for (const id of dir.users.keys()) entries.push([id, 0, false])
      else {
        for (const [id, version] of log.users)
          if (version > token.v && version <= upTo) entries.push([id, version, false])
        for (const [id, version] of log.deletedUsers)
          if (version > token.v && version <= upTo) entries.push([id, version, true])
      }
      entries.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
      for (const [id, , removed] of entries.slice(offset, offset + USERS_DELTA_PAGE)) {
        const user = dir.users.get(id)
        if (removed || !user) changed.push({ id, '@removed': { reason: 'changed' } })
        else
          changed.push(
            select.length
              ? {
                  id,
                  ...Object.fromEntries(
                    select.map((k) => [k, (user as unknown as Record<string, unknown>)[k] ?? null]),
                  ),
                }
              : { ...user },
          )
      }
      const more = offset + USERS_DELTA_PAGE < entries.length
      return this.deltaPage(res, changed, { ...token, u: upTo }, more ? offset + USERS_DELTA_PAGE : undefined)
    }
    // groups: membership changes of the groups in scope, as members@delta links, paged by link.
    const scope = token.f ?? [...dir.groups.keys()]
    const links: Array<[string, Record<string, unknown>]> = []
    for (const groupId of [...scope].sort()) {
      const group = dir.groups.get(groupId)
      if (!group) continue
      const typeOf = (id: string) => (dir.groups.has(id) ? '#microsoft.graph.group' : '#microsoft.graph.user')
      if (token.v < 0) {
        for (const id of group.members) links.push([groupId, { '@odata.type': typeOf(id), id }])
        if (group.members.length === 0) links.push([groupId, {}])
      } else {
        const changes = [...(log.members.get(groupId) ?? new Map()).entries()]
          .filter(([, c]) => c.version > token.v && c.version <= upTo)
          .sort((a, b) => a[1].version - b[1].version)
        for (const [id, c] of changes)
          links.push([
            groupId,
            { '@odata.type': typeOf(id), id, ...(c.removed ? { '@removed': { reason: 'deleted' } } : {}) },
          ])
      }
    }
    const pageLinks = links.slice(offset, offset + MEMBERS_DELTA_PAGE)
    const groups: Array<Record<string, unknown>> = []
    for (const [groupId, link] of pageLinks) {
      let entry = groups[groups.length - 1]
      if (!entry || entry.id !== groupId) {
        entry = { id: groupId, displayName: dir.groups.get(groupId)?.displayName ?? null }
        groups.push(entry)
      }
      if (!('id' in link)) continue
      if (!entry['members@delta']) entry['members@delta'] = []
      ;(entry['members@delta'] as unknown[]).push(link)
    }
    const more = offset + MEMBERS_DELTA_PAGE < links.length
    return this.deltaPage(res, groups, { ...token, u: upTo }, more ? offset + MEMBERS_DELTA_PAGE : undefined)
  }

  /** A delta page: `@odata.nextLink` while the round goes on (offset), else `@odata.deltaLink` from its snapshot. */
  private deltaPage(
    res: http.ServerResponse,
    value: Array<Record<string, unknown>>,
    token: DeltaToken,
    nextOffset: number | undefined,
  ): void {
    const body: Record<string, unknown> = { '@odata.context': `${this.base}/v1.0/$metadata#${token.k}`, value }
    if (nextOffset !== undefined) {
      body['@odata.nextLink'] =
        `${this.base}/v1.0/${token.k}/delta?$skiptoken=${encodeToken({ ...token, o: nextOffset })}`
    } else {
      const next: DeltaToken = { k: token.k, v: token.u ?? token.v, t: Date.now(), s: token.s, f: token.f }
      body['@odata.deltaLink'] = `${this.base}/v1.0/${token.k}/delta?$deltatoken=${encodeToken(next)}`
    }
    this.pages++
    sendJson(res, 200, body)
  }

  protected override async control(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    parts: string[],
  ): Promise<void> {
    if (parts[0] === 'tenants' && parts[1]) {
      const tid = parts[1].toLowerCase()
      const body = JSON.parse((await readBody(req)) || '{}') as {
        users?: DirectoryUser[]
        groups?: DirectoryGroup[]
        servicePrincipals?: Array<{ appId: string; id?: string; assignments: Assignment[] }>
        failOnPage?: number
        failOnPath?: string
        throttle?: number
        /** Every request answers 429 for this long; Retry-After `retryAfter` s, else the time left. */
        throttleFor?: { seconds: number; retryAfter?: number }
        /** Hold the next request until `release`, at most this many ms after it arrives. */
        holdMs?: number
        release?: boolean
        /** A group of `count` generated members (enabled), for lists at the limits. */
        bulkGroup?: { id: string; count: number }
        /** Deletes users (out of their groups and assignments, `@removed` in users/delta). */
        removeUsers?: string[]
        disableUsers?: string[]
        enableUsers?: string[]
        /** Renames and other property changes, recorded for users/delta. */
        updateUsers?: Array<{ id: string } & Partial<Omit<DirectoryUser, 'id'>>>
        /** Renames every user of the tenant (a suffix on the display name): a day of many changes. */
        renameAllUsers?: string
        addMembers?: Array<{ groupId: string; ids: string[] }>
        removeMembers?: Array<{ groupId: string; ids: string[] }>
        /** Expires every delta token issued so far: answered with `status` (410) and `code` (syncStateNotFound). */
        expireDeltaLinks?: true | { status?: number; code?: string }
      }
      const dir = this.directory(tid)
      if (body.throttleFor) {
        dir.throttledUntil = Date.now() + body.throttleFor.seconds * 1000
        dir.retryAfter = body.throttleFor.retryAfter
      }
      if (body.holdMs !== undefined) {
        let release = () => {}
        const released = new Promise<void>((resolve) => {
          release = resolve
        })
        dir.hold = { released, release, ms: body.holdMs, taken: false }
      }
      if (body.release) {
        dir.hold?.release()
        dir.hold = undefined
      }
      if (body.bulkGroup) {
        const members: string[] = []
        for (let i = 0; i < body.bulkGroup.count; i++) {
          const id = `${i.toString(16).padStart(8, '0')}-${randomUUID().slice(9)}`
          members.push(id)
          this.putUser(tid, {
            id,
            userPrincipalName: `member${i}@bulk.example`,
            mail: `member${i}@bulk.example`,
            displayName: `Member ${i}`,
            accountEnabled: true,
          })
        }
        this.putGroup(tid, { id: body.bulkGroup.id, displayName: 'Everyone', members })
      }
      for (const user of body.users ?? []) this.putUser(tid, user)
      for (const group of body.groups ?? []) this.putGroup(tid, group)
      for (const sp of body.servicePrincipals ?? []) {
        dir.servicePrincipals.set(sp.appId.toLowerCase(), {
          id: (sp.id ?? randomUUID()).toLowerCase(),
          assignments: sp.assignments,
        })
      }
      for (const id of body.removeUsers ?? []) this.deleteUser(tid, id.toLowerCase())
      for (const id of body.disableUsers ?? []) this.updateUser(tid, id, { accountEnabled: false })
      for (const id of body.enableUsers ?? []) this.updateUser(tid, id, { accountEnabled: true })
      for (const { id, ...patch } of body.updateUsers ?? []) this.updateUser(tid, id, patch)
      if (body.renameAllUsers)
        for (const user of [...dir.users.values()])
          this.updateUser(tid, user.id, { displayName: `${user.displayName}${body.renameAllUsers}` })
      for (const { groupId, ids } of body.addMembers ?? []) {
        const group = dir.groups.get(groupId.toLowerCase())
        if (group) this.setMembers(tid, group.id, [...group.members, ...ids.map((i) => i.toLowerCase())])
      }
      for (const { groupId, ids } of body.removeMembers ?? []) {
        const group = dir.groups.get(groupId.toLowerCase())
        const out = new Set(ids.map((i) => i.toLowerCase()))
        if (group)
          this.setMembers(
            tid,
            group.id,
            group.members.filter((m) => !out.has(m)),
          )
      }
      if (body.expireDeltaLinks) {
        // Every token issued until now answers as Graph answers an expired one.
        const how = body.expireDeltaLinks === true ? {} : body.expireDeltaLinks
        dir.changes.expiredBefore = Date.now() + 1
        dir.changes.expiredStatus = how.status
        dir.changes.expiredCode = how.code
      }
      if (body.failOnPage !== undefined) dir.failOnPage = body.failOnPage
      if (body.failOnPath !== undefined) dir.failOnPath = body.failOnPath
      if (body.throttle !== undefined) dir.throttle = body.throttle
      return sendJson(res, 200, { users: dir.users.size, groups: dir.groups.size, requests: dir.requests })
    }
    if (parts[0] === 'pages') return sendJson(res, 200, { pages: this.pages })
    return super.control(req, res, parts)
  }
}

export async function startGraphDirectoryStandIn(entra: EntraStandIn, port = 0): Promise<GraphDirectoryStandIn> {
  const graph = new GraphDirectoryStandIn(entra)
  await graph.listen(port)
  return graph
}
