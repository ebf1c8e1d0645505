import { env, SELF } from 'cloudflare:test'
import { expect } from 'vitest'
import { apiJson, createCustomer, createPartner, uniqueLabel, ZONE } from '../helpers'

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
}

export async function addEntraUser(tid: string, name = 'Ann Example'): Promise<TestUser> {
  const label = uniqueLabel('u')
  const user = {
    oid: crypto.randomUUID(),
    tid,
    upn: `${label}@contoso.example`,
    email: `${label}@contoso.example`,
    name,
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

export function withCookie(cookie: string | null): RequestInit {
  return { redirect: 'manual', headers: cookie ? { cookie: `${FLOW_COOKIE}=${cookie}` } : {} }
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
