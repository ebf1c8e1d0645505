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
      dir = { users: new Map(), groups: new Map(), servicePrincipals: new Map(), requests: 0 }
      this.tenants.set(tid, dir)
    }
    return dir
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
        throttle?: number
        /** Every request answers 429 for this long; Retry-After `retryAfter` s, else the time left. */
        throttleFor?: { seconds: number; retryAfter?: number }
        /** Hold the next request until `release`, at most this many ms after it arrives. */
        holdMs?: number
        release?: boolean
        /** A group of `count` generated members (enabled), for lists at the limits. */
        bulkGroup?: { id: string; count: number }
        removeUsers?: string[]
        disableUsers?: string[]
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
          dir.users.set(id, {
            id,
            userPrincipalName: `member${i}@bulk.example`,
            mail: `member${i}@bulk.example`,
            displayName: `Member ${i}`,
            accountEnabled: true,
          })
        }
        const id = body.bulkGroup.id.toLowerCase()
        dir.groups.set(id, { id, displayName: 'Everyone', members })
      }
      for (const user of body.users ?? []) dir.users.set(user.id.toLowerCase(), { ...user, id: user.id.toLowerCase() })
      for (const group of body.groups ?? [])
        dir.groups.set(group.id.toLowerCase(), { ...group, id: group.id.toLowerCase() })
      for (const sp of body.servicePrincipals ?? []) {
        dir.servicePrincipals.set(sp.appId.toLowerCase(), {
          id: (sp.id ?? randomUUID()).toLowerCase(),
          assignments: sp.assignments,
        })
      }
      for (const id of body.removeUsers ?? []) {
        dir.users.delete(id)
        for (const group of dir.groups.values()) group.members = group.members.filter((m) => m !== id)
        for (const sp of dir.servicePrincipals.values())
          sp.assignments = sp.assignments.filter((a) => a.principalId !== id)
      }
      for (const id of body.disableUsers ?? []) {
        const user = dir.users.get(id)
        if (user) user.accountEnabled = false
      }
      if (body.failOnPage !== undefined) dir.failOnPage = body.failOnPage
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
