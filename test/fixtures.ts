/**
 * The one fixtures module of the suite: the admin API with the ops key,
 * seeded tenants, the Entra and Graph stand-ins' control endpoints, and a
 * browser's sign-in journey (login, account picker, callback, completion).
 * Tests never share tenants, hostnames or Entra users, so they run in any order.
 */
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  SELF,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { expect } from 'vitest'
import worker from '../src/index'
import { FLEET } from '../src/sync/fleet'
import { TEST_ADMIN_KEY, TEST_CLIENT_ID } from './bindings'

// ---------------------------------------------------------------- the admin API and seeded organizations
export const PRIMARY = 'login.localhost'
export const ZONE = 'localhost'

/** A label no other test uses, so tests never collide on hostnames. */
export function uniqueLabel(prefix = 't'): string {
  return `${prefix}${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`
}

export interface ApiOptions {
  key?: string | null
  host?: string
  headers?: Record<string, string>
  rawBody?: string
}

/** Calls the admin API on the primary host with the ops key (unless told otherwise). */
export async function api(method: string, path: string, body?: unknown, options: ApiOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers }
  const key = options.key === undefined ? TEST_ADMIN_KEY : options.key
  if (key !== null) headers.authorization = `Bearer ${key}`
  let payload: string | undefined = options.rawBody
  if (body !== undefined) {
    payload = JSON.stringify(body)
    headers['content-type'] ??= 'application/json'
  }
  return SELF.fetch(`https://${options.host ?? PRIMARY}/api/v1${path}`, { method, headers, body: payload })
}

/** The JSON body of `res` after checking its status (the body is shown when the status is not the one expected). */
export async function expectJson<T = any>(res: Response, status = 200): Promise<T> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  return (text ? JSON.parse(text) : undefined) as T
}

export async function apiJson<T = any>(method: string, path: string, body?: unknown, expectStatus = 200): Promise<T> {
  const res = await api(method, path, body)
  if (res.status !== expectStatus) {
    throw new Error(`${method} ${path}: expected ${expectStatus}, got ${res.status}: ${await res.text()}`)
  }
  return (res.status === 204 ? undefined : await res.json()) as T
}

export async function createPartner(name = 'Partner', branding?: Record<string, unknown>) {
  return apiJson('POST', '/orgs', { name, kind: 'partner', ...(branding ? { branding } : {}) }, 201)
}

export async function createCustomer(
  parentId: string,
  options: { name?: string; structure?: 'nested' | 'flat'; branding?: Record<string, unknown> } = {},
) {
  return apiJson(
    'POST',
    '/orgs',
    {
      name: options.name ?? 'Customer',
      kind: 'customer',
      parentId,
      ...(options.structure ? { structure: options.structure } : {}),
      ...(options.branding ? { branding: options.branding } : {}),
    },
    201,
  )
}

/** A phone system in a fresh Entra tenant (tenants are claimed per partner subtree: tests never share one). */
export async function createPhoneSystem(
  orgId: string,
  entraTenantId: string = crypto.randomUUID(),
  name = 'Main office',
) {
  return apiJson(
    'POST',
    `/orgs/${orgId}/phone-systems`,
    {
      name,
      webClientUrl: 'https://pbx.example.net/webclient',
      handoffUrl: 'https://pbx.example.net/sso/handoff',
      entraTenantId,
    },
    201,
  )
}

/** A customer with an active subdomain: the usual starting point. */
export async function seedTenant(options: { branding?: Record<string, unknown> } = {}) {
  const partner = await createPartner()
  const customer = await createCustomer(partner.id, { name: 'Acme', branding: options.branding })
  const hostname = `${uniqueLabel('acme')}.${ZONE}`
  await apiJson('POST', `/orgs/${customer.id}/hostnames`, { hostname }, 201)
  return { partner, customer, hostname }
}

export async function dbAll<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]> {
  const { results } = await env.DB.prepare(sql)
    .bind(...params)
    .all<T>()
  return results
}

/**
 * Waits until every sign-in audit row sent so far is in D1. Sign-in steps send
 * their rows to the SIGNIN_AUDIT queue after answering (src/audit/queue.ts), so
 * a test that reads `sign_in_attempts` right after a request could come too
 * early. This sends a marker row through the same queue, waits for it (every
 * 25 ms, up to 5 s; the local queue delivers in order, one batch at a time), and
 * deletes it: the rows sent before it have landed by then, and a row absent now
 * was never sent.
 */
export async function auditSettled(): Promise<void> {
  const eventId = `settled-${crypto.randomUUID()}`
  await env.SIGNIN_AUDIT.send(
    {
      eventId,
      at: Date.now(),
      result: 'success',
      reason: 'audit_settled',
      step: 'callback',
      hostname: 'audit-settled.invalid',
      orgId: null,
      phoneSystemId: null,
      tid: null,
      oid: null,
      account: null,
      detail: null,
      correlationId: eventId,
    },
    { contentType: 'json' },
  )
  const marker = env.DB.prepare('SELECT 1 FROM sign_in_attempts WHERE event_id = ?').bind(eventId)
  for (let waited = 0; !(await marker.first()); waited += 25) {
    if (waited >= 5000) throw new Error('the sign-in audit queue delivered nothing within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  await env.DB.prepare('DELETE FROM sign_in_attempts WHERE event_id = ?').bind(eventId).run()
}

/** A phone system whose web client and handoff URLs are named after it (`support.pbx.example`), in `tenantId`. */
export async function phoneSystemNamed(orgId: string, name: string, tenantId: string) {
  return apiJson(
    'POST',
    `/orgs/${orgId}/phone-systems`,
    {
      name,
      webClientUrl: `https://${name.toLowerCase()}.pbx.example/`,
      handoffUrl: `https://${name.toLowerCase()}.pbx.example/sso`,
      entraTenantId: tenantId,
    },
    201,
  )
}

/** Replaces a phone system's SSO list. */
export async function putList(phoneSystemId: string, users: unknown[]) {
  return apiJson('PUT', `/phone-systems/${phoneSystemId}/sso-users`, { users })
}

/** A partner and one of its API keys. */
export async function partnerWithKey(name = 'Partner'): Promise<{ partner: any; key: string }> {
  const partner = await createPartner(name)
  const { key } = await apiJson('POST', `/orgs/${partner.id}/api-keys`, {}, 201)
  return { partner, key }
}

/**
 * Runs the scheduled handler as the cron would, and waits for every job (optionally with other
 * bindings); then delivers the sync jobs it sent to the queue consumer, as the queue would
 * (`drainSyncJobs`), so a test sees the scheduled syncs done when this returns.
 */
export async function runCron(bindings: Cloudflare.Env = env): Promise<void> {
  const queue = capturingQueue()
  const ctx = createExecutionContext()
  await worker.scheduled(
    createScheduledController({ cron: '*/5 * * * *' }),
    { ...bindings, SYNC_JOBS: queue.binding } as never,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  await drainSyncJobs(queue.sent, bindings)
}

/** A SYNC_JOBS producer that keeps what is sent, for the test to deliver (instead of the local queue, on its own time). */
export function capturingQueue(): { binding: Queue; sent: unknown[]; sendBatches: number[] } {
  const sent: unknown[] = []
  const sendBatches: number[] = []
  const binding = {
    send: async (body: unknown) => {
      sent.push(body)
    },
    sendBatch: async (messages: Iterable<MessageSendRequest>) => {
      const bodies = [...messages].map((message) => message.body)
      sendBatches.push(bodies.length)
      sent.push(...bodies)
    },
  } as unknown as Queue
  return { binding, sent, sendBatches }
}

export const SYNC_QUEUE = 'sso-gateway-sync'

/**
 * Delivers sync job messages to the Worker's queue handler in batches of the consumer's
 * `max_batch_size`, as the queue does, redelivering what the consumer retried (up to `maxAttempts`).
 * Answers each invocation's outcome.
 */
export async function drainSyncJobs(
  bodies: unknown[],
  bindings: Cloudflare.Env = env,
  maxAttempts = 3,
): Promise<Array<{ messages: number; acked: number; retried: number }>> {
  let pending = bodies.map((body, i) => ({ id: `sync-${i}`, body, attempts: 1 }))
  const invocations: Array<{ messages: number; acked: number; retried: number }> = []
  while (pending.length > 0) {
    const next: typeof pending = []
    for (let i = 0; i < pending.length; i += FLEET.batchSize) {
      const part = pending.slice(i, i + FLEET.batchSize)
      const batch = createMessageBatch(
        SYNC_QUEUE,
        part.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts, body: m.body })),
      )
      const ctx = createExecutionContext()
      await worker.queue(batch, bindings as never)
      await waitOnExecutionContext(ctx)
      const result = await getQueueResult(batch, ctx)
      const retried = new Set(result.retryMessages.map((m) => m.msgId))
      invocations.push({ messages: part.length, acked: result.explicitAcks.length, retried: retried.size })
      for (const m of part)
        if (retried.has(m.id) && m.attempts < maxAttempts) next.push({ ...m, attempts: m.attempts + 1 })
    }
    pending = next
  }
  return invocations
}

// ---------------------------------------------------------------- Entra stand-in and sign-in journeys
export const FLOW_COOKIE = '__Host-sso_flow'

export function entraBase(): string {
  return env.ENTRA_AUTHORITY!
}

/** A fresh Entra tenant id: tests never share tenants, so per-tenant misbehaviour and JWKS caches stay apart. */
export function newTenantId(): string {
  return crypto.randomUUID()
}

export async function entraControl(path: string, body?: unknown, method = 'POST'): Promise<any> {
  const res = await fetch(`${entraBase()}/__control/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  expect(res.ok, `stand-in control ${path}: ${res.status}`).toBe(true)
  return res.json()
}

export interface TestUser {
  oid: string
  tid: string
  upn: string
  email?: string
  name: string
  /** Directory role template ids (the ID token's `wids`). */
  wids?: string[]
}

/** Role template ids Entra puts in `wids`. */
export const ROLES = {
  globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  cloudApplicationAdministrator: '158c047a-c907-4556-b7ef-446551a6b5f7',
  userAdministrator: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
}

export async function addEntraUser(tid: string, name = 'Ann Example', wids?: string[]): Promise<TestUser> {
  const label = uniqueLabel('u')
  const user = {
    oid: crypto.randomUUID(),
    tid,
    upn: `${label}@contoso.example`,
    email: `${label}@contoso.example`,
    name,
    ...(wids ? { wids } : {}),
  }
  await entraControl('users', user)
  return user
}

export interface SignInTenant {
  hostname: string
  orgId: string
  tenantId: string
  user: TestUser
  phoneSystemId: string
}

/** Puts Entra users on a phone system's SSO list (replacing it), as a Sync would. */
export async function listUsers(
  phoneSystemId: string,
  users: TestUser[],
  extension = (i: number) => String(100 + i),
): Promise<void> {
  await apiJson('PUT', `/phone-systems/${phoneSystemId}/sso-users`, {
    users: users.map((u, i) => ({
      oid: u.oid,
      upn: u.upn,
      email: u.email,
      displayName: u.name,
      extension: extension(i),
    })),
  })
}

/** What the handoff page carries: the assertion form field. */
export const HANDOFF_FIELD = 'name="assertion"'

/** The assertion on a handoff page and its decoded header and claims (verification is tested on its own). */
export function assertionFrom(html: string): { jwt: string; header: any; claims: any; action: string } {
  const jwt = /<input type="hidden" name="assertion" value="([^"]+)"/.exec(html)?.[1]
  const action = /<form method="post" action="([^"]+)" id="handoff">/.exec(html)?.[1]
  if (!jwt || !action) throw new Error(`no handoff form on this page: ${html.slice(0, 300)}`)
  const decode = (part: string) => JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')))
  const [h, p] = jwt.split('.')
  return { jwt, header: decode(h!), claims: decode(p!), action: action.replace(/&amp;/g, '&') }
}

/**
 * A customer with an active subdomain, one phone system in a fresh Entra
 * tenant, and one Entra user there, on the phone system's SSO list.
 */
export async function seedSignInTenant(
  options: { callbackMode?: 'central' | 'direct'; listed?: boolean } = {},
): Promise<SignInTenant> {
  const partner = await createPartner()
  const customer = await createCustomer(partner.id, { name: 'Acme', branding: { displayName: 'Acme Telecom' } })
  const hostname = `${uniqueLabel('acme')}.${ZONE}`
  await apiJson(
    'POST',
    `/orgs/${customer.id}/hostnames`,
    { hostname, callbackMode: options.callbackMode ?? 'central' },
    201,
  )
  const tenantId = newTenantId()
  const ps = await apiJson(
    'POST',
    `/orgs/${customer.id}/phone-systems`,
    {
      name: 'HQ',
      webClientUrl: 'https://pbx.example/wc',
      handoffUrl: 'https://pbx.example/sso',
      entraTenantId: tenantId,
    },
    201,
  )
  const user = await addEntraUser(tenantId)
  if (options.listed ?? true) await listUsers(ps.id, [user])
  return { hostname, orgId: customer.id, tenantId, user, phoneSystemId: ps.id }
}

export function cookieFrom(res: Response, name = FLOW_COOKIE): string | null {
  for (const header of res.headers.getSetCookie()) {
    const [pair] = header.split(';')
    const eq = pair!.indexOf('=')
    if (pair!.slice(0, eq) === name) return pair!.slice(eq + 1)
  }
  return null
}

export interface Started {
  res: Response
  cookie: string
  authorizeUrl: URL
}

export async function startLogin(hostname: string): Promise<Started> {
  const res = await SELF.fetch(`https://${hostname}/sso/login`, { redirect: 'manual' })
  expect(res.status, await res.clone().text()).toBe(302)
  const cookie = cookieFrom(res)
  expect(cookie).toBeTruthy()
  return { res, cookie: cookie!, authorizeUrl: new URL(res.headers.get('location')!) }
}

/** Picks an account on the stand-in's picker (optionally asking for a fault); answers the redirect back to the gateway. */
export async function pickAccount(authorizeUrl: URL, user: TestUser | null, outcome = 'ok'): Promise<URL> {
  const page = await fetch(authorizeUrl)
  expect(page.status, await page.clone().text()).toBe(200)
  await page.text()
  const form = new URLSearchParams({ outcome })
  if (user) form.set('user', user.oid)
  const res = await fetch(authorizeUrl, {
    method: 'POST',
    body: form,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
  })
  expect(res.status, await res.clone().text()).toBe(302)
  return new URL(res.headers.get('location')!)
}

/** A request carrying one cookie (the flow cookie unless named), without following redirects. */
export function withCookie(cookie: string | null, name = FLOW_COOKIE): RequestInit {
  return { redirect: 'manual', headers: cookie ? { cookie: `${name}=${cookie}` } : {} }
}

/**
 * The cookie jar of one browser, by RFC 6265's storage model: a cookie is
 * keyed by name, host (these are host-only) and path, so a new Set-Cookie
 * replaces an old one only when all three match; Max-Age=0 deletes.
 */
export class CookieJar {
  private readonly entries = new Map<string, { name: string; value: string }>()

  store(host: string, res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';').map((part) => part.trim())
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq)
      const value = pair!.slice(eq + 1)
      const attribute = (key: string) =>
        attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1)
      const key = `${name}|${host}|${attribute('path') ?? '/'}`
      if (attribute('max-age') === '0') this.entries.delete(key)
      else this.entries.set(key, { name, value })
    }
  }

  cookies(host: string): Array<[string, string]> {
    return [...this.entries.entries()]
      .filter(([key]) => key.split('|')[1] === host)
      .map(([, { name, value }]) => [name, value])
  }

  header(host: string): string {
    return this.cookies(host)
      .map(([name, value]) => `${name}=${value}`)
      .join('; ')
  }
}

export interface SignInResult {
  /** The last gateway answer: a page (signed in, or an error). */
  res: Response
  html: string
  callbackUrl: URL
  cookie: string
  /** The central callback's answer (303 to /sso/complete), when there was one. */
  central: Response | null
}

/** The whole browser journey: login, account picker, callback, and /sso/complete for central flows. */
export async function signIn(hostname: string, user: TestUser | null, outcome = 'ok'): Promise<SignInResult> {
  const { cookie, authorizeUrl } = await startLogin(hostname)
  const callbackUrl = await pickAccount(authorizeUrl, user, outcome)
  const callbackCookie = callbackUrl.hostname === hostname ? cookie : null
  let res = await SELF.fetch(callbackUrl, withCookie(callbackCookie))
  let central: Response | null = null
  if (res.status === 303) {
    central = res
    const complete = new URL(res.headers.get('location')!)
    expect(complete.hostname).toBe(hostname)
    res = await SELF.fetch(complete, withCookie(cookie))
  }
  return { res, html: await res.text(), callbackUrl, cookie, central }
}

// ---------------------------------------------------------------- Graph stand-in directories (Sync)
export const SYNC_ROLES = ['Application.Read.All', 'User.Read.All', 'GroupMember.Read.All']

export interface DirUser {
  id: string
  userPrincipalName: string
  mail: string | null
  displayName: string
  accountEnabled: boolean
}

export function dirUser(n: number, tag = crypto.randomUUID().slice(0, 8), enabled = true): DirUser {
  return {
    id: crypto.randomUUID(),
    userPrincipalName: `User.${tag}.${n}@Contoso.example`,
    mail: `user.${tag}.${n}@contoso.example`,
    displayName: `User ${tag} ${n}`,
    accountEnabled: enabled,
  }
}

export async function graphControl(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${env.GRAPH_BASE}/__control/${path}`, { method: 'POST', body: JSON.stringify(body) })
  expect(res.ok, `graph control ${path}: ${res.status}`).toBe(true)
  return res.json()
}

/** Consents the provider's test app in `tid` with `roles` (what the integration's activation does). */
export async function consent(tid: string, roles = SYNC_ROLES, clientId = TEST_CLIENT_ID): Promise<void> {
  await entraControl(`apps/${clientId}/grants`, { tenantId: tid, roles })
}

/**
 * A tenant directory where the sign-in app is installed: `direct` users
 * assigned one by one, `grouped` users through one group, plus `others`
 * nobody assigned.
 */
export async function directory(
  tid: string,
  options: { direct?: DirUser[]; grouped?: DirUser[]; others?: DirUser[]; clientId?: string } = {},
) {
  const groupId = crypto.randomUUID()
  const direct = options.direct ?? []
  const grouped = options.grouped ?? []
  await graphControl(`tenants/${tid}`, {
    users: [...direct, ...grouped, ...(options.others ?? [])],
    groups: [{ id: groupId, displayName: 'Phone users', members: grouped.map((u) => u.id) }],
    servicePrincipals: [
      {
        appId: options.clientId ?? TEST_CLIENT_ID,
        assignments: [
          ...direct.map((u) => ({ principalId: u.id, principalType: 'User' })),
          ...(grouped.length ? [{ principalId: groupId, principalType: 'Group' }] : []),
        ],
      },
    ],
  })
  return { groupId }
}

// ---------------------------------------------------------------- connecting a tenant (the connect link)

export const CONNECT_COOKIE = '__Host-sso_connect'

/** Presses "Connect Microsoft 365" on the connect page: its form's POST, as a browser sends it. */
export function submitConnect(connectUrl: string): Promise<Response> {
  return SELF.fetch(connectUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      origin: new URL(connectUrl).origin,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: '',
  })
}

/** The connect form pressed and accepted: the Entra authorize URL it redirects to and the connect cookie. */
export async function pressConnect(connectUrl: string): Promise<{ authorizeUrl: URL; cookie: string }> {
  const res = await submitConnect(connectUrl)
  expect(res.status, await res.clone().text()).toBe(302)
  const cookie = cookieFrom(res, CONNECT_COOKIE)
  expect(cookie).toBeTruthy()
  return { authorizeUrl: new URL(res.headers.get('location')!), cookie: cookie! }
}

/** At the stand-in's admin consent page: `user` accepts (null: cancels); Entra's redirect back, not yet followed. */
export async function answerConsent(consentUrl: URL, user: TestUser | null): Promise<URL> {
  expect((await fetch(consentUrl)).status).toBe(200)
  const res = await fetch(consentUrl, {
    method: 'POST',
    body: new URLSearchParams(user ? { user: user.oid } : { outcome: 'cancel' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
  })
  expect(res.status, await res.clone().text()).toBe(302)
  return new URL(res.headers.get('location')!)
}

/** An administrator's connect up to Entra's consent answer, which is returned unsent with the connect cookie. */
export async function upToConsentAnswer(connectUrl: string, admin: TestUser): Promise<{ answer: URL; cookie: string }> {
  const { authorizeUrl, cookie } = await pressConnect(connectUrl)
  const afterSignIn = await SELF.fetch(await pickAccount(authorizeUrl, admin), withCookie(cookie, CONNECT_COOKIE))
  expect(afterSignIn.status, await afterSignIn.clone().text()).toBe(302)
  return { answer: await answerConsent(new URL(afterSignIn.headers.get('location')!), admin), cookie }
}

// ---------------------------------------------------------------- races

/**
 * A D1 binding whose batches wait until `open()`: a request that has read
 * and is about to write, held while the test changes things under it.
 * `atBatch` resolves when the first batch arrives.
 */
/** `env.DB` that records the SQL of every statement prepared through it (in `statements`). */
export function recordingD1(statements: string[]): D1Database {
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === 'prepare') {
        return (sql: string) => {
          statements.push(sql)
          return target.prepare(sql)
        }
      }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

export function slowD1(): { d1: D1Database; atBatch: Promise<void>; open: () => void } {
  let reached!: () => void
  let release!: () => void
  const atBatch = new Promise<void>((r) => {
    reached = r
  })
  const gate = new Promise<void>((r) => {
    release = r
  })
  const d1 = {
    prepare: (query: string) => env.DB.prepare(query),
    batch: async (statements: D1PreparedStatement[]) => {
      reached()
      await gate
      return env.DB.batch(statements)
    },
    exec: (query: string) => env.DB.exec(query),
    dump: () => env.DB.dump(),
    withSession: (constraint?: string) => env.DB.withSession(constraint),
  } as unknown as D1Database
  return { d1, atBatch, open: release }
}
