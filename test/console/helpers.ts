/**
 * Console journeys for tests: a staff member signs in through the real flow
 * (the Entra stand-in's picker, `/sso/callback` on the primary host), then
 * reads pages and posts forms as a browser does (same-origin, with the
 * session's CSRF token from the page).
 */
import { SELF } from 'cloudflare:test'
import { expect } from 'vitest'
import { TEST_OPS_ADMIN } from '../bindings'
import {
  addEntraUser,
  apiJson,
  cookieFrom,
  entraControl,
  newTenantId,
  PRIMARY,
  pickAccount,
  type TestUser,
  uniqueLabel,
} from '../fixtures'

export const SESSION_COOKIE = '__Host-console'
export const ORIGIN = `https://${PRIMARY}`

export interface StaffSession {
  user: TestUser
  cookie: string
  csrf: string
}

/** Signs `user` in to the console; the answer of the callback (303 to /admin for staff, a page otherwise). */
export async function consoleCallback(user: TestUser): Promise<{ res: Response; cookie: string | null }> {
  const start = await SELF.fetch(`${ORIGIN}/admin/login`, { redirect: 'manual' })
  expect(start.status, await start.clone().text()).toBe(302)
  const flowCookie = cookieFrom(start)!
  const callback = await pickAccount(new URL(start.headers.get('location')!), user)
  const res = await SELF.fetch(callback, { redirect: 'manual', headers: { cookie: `__Host-sso_flow=${flowCookie}` } })
  return { res, cookie: cookieFrom(res, SESSION_COOKIE) }
}

/** A signed-in staff session: its cookie and the CSRF token its pages carry. */
export async function signInToConsole(user: TestUser): Promise<StaffSession> {
  const { res, cookie } = await consoleCallback(user)
  expect(res.status, await res.clone().text()).toBe(303)
  expect(res.headers.get('location')).toBe('/admin')
  expect(cookie).toBeTruthy()
  const home = await consoleGet({ cookie: cookie!, csrf: '', user }, '/admin')
  const csrf = /name="_csrf" value="([^"]+)"/.exec(home.html)?.[1]
  expect(csrf, home.html).toBeTruthy()
  return { user, cookie: cookie!, csrf: csrf! }
}

/** A new Entra user in a tenant of its own (or `tid`) who is `role` staff of `orgId` (through the ops key). */
export async function newStaff(orgId: string, role: 'admin' | 'viewer', tid = newTenantId()): Promise<TestUser> {
  const user = await addEntraUser(tid, `Staff ${uniqueLabel('n')}`)
  await apiJson('POST', `/orgs/${orgId}/admins`, { tid: user.tid, upn: user.upn, role }, 201)
  return user
}

/** The ops admin of OPS_ADMINS, registered with the Entra stand-in. */
export async function opsAdmin(): Promise<TestUser> {
  const user: TestUser = {
    ...TEST_OPS_ADMIN,
    upn: 'ops.admin@provider.example',
    email: 'ops.admin@provider.example',
    name: 'Olive Ops',
  }
  await entraControl('users', user)
  return user
}

export async function consoleGet(session: StaffSession | null, path: string): Promise<{ res: Response; html: string }> {
  const res = await SELF.fetch(`${ORIGIN}${path}`, {
    redirect: 'manual',
    headers: session ? { cookie: `${SESSION_COOKIE}=${session.cookie}` } : {},
  })
  return { res, html: await res.text() }
}

/** Posts a console form as the browser would: same origin, form-encoded, with the session's CSRF token. */
export async function consolePost(
  session: StaffSession | null,
  path: string,
  fields: Record<string, string> = {},
  options: { origin?: string | null; csrf?: string | null } = {},
): Promise<{ res: Response; html: string }> {
  const body = new URLSearchParams(fields)
  const csrf = options.csrf === undefined ? session?.csrf : options.csrf
  if (csrf) body.set('_csrf', csrf)
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (session) headers.cookie = `${SESSION_COOKIE}=${session.cookie}`
  const origin = options.origin === undefined ? ORIGIN : options.origin
  if (origin) headers.origin = origin
  const res = await SELF.fetch(`${ORIGIN}${path}`, { method: 'POST', redirect: 'manual', headers, body })
  return { res, html: await res.text() }
}
