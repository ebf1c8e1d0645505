import { env, SELF } from 'cloudflare:test'
import { TEST_ADMIN_KEY } from './bindings'

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

export const TENANT_A = '11111111-1111-4111-8111-111111111111'
export const TENANT_B = '22222222-2222-4222-8222-222222222222'

export async function createPhoneSystem(orgId: string, entraTenantId = TENANT_A, name = 'Main office') {
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
