/**
 * SCIM as Entra's provisioning service calls it: the Tenant URL of a phone
 * system and its Secret token, `application/scim+json` both ways.
 */
import { SELF } from 'cloudflare:test'
import { expect } from 'vitest'
import { apiJson, PRIMARY, type SignInTenant, seedSignInTenant } from '../fixtures'

export const SCIM_TYPE = 'application/scim+json'

export interface ScimTenant extends SignInTenant {
  token: string
  tokenId: string
  tenantUrl: string
}

/** A sign-in tenant (its Entra user on no list yet) with a SCIM token for its phone system. */
export async function seedScimTenant(): Promise<ScimTenant> {
  const tenant = await seedSignInTenant({ listed: false })
  const issued = await apiJson('POST', `/phone-systems/${tenant.phoneSystemId}/scim-tokens`, {}, 201)
  return { ...tenant, token: issued.token, tokenId: issued.id, tenantUrl: issued.tenantUrl }
}

export interface ScimOptions {
  token?: string | null
  host?: string
  contentType?: string
  rawBody?: string
  headers?: Record<string, string>
}

/** A SCIM request to `{Tenant URL}{path}` (the phone system's), as Entra sends it. */
export async function scim(
  tenant: Pick<ScimTenant, 'phoneSystemId' | 'token'>,
  method: string,
  path: string,
  body?: unknown,
  options: ScimOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = { accept: SCIM_TYPE, ...options.headers }
  const token = options.token === undefined ? tenant.token : options.token
  if (token !== null) headers.authorization = `Bearer ${token}`
  let payload = options.rawBody
  if (body !== undefined) payload = JSON.stringify(body)
  if (payload !== undefined) headers['content-type'] = options.contentType ?? SCIM_TYPE
  return SELF.fetch(`https://${options.host ?? PRIMARY}/scim/v2/phone-systems/${tenant.phoneSystemId}${path}`, {
    method,
    headers,
    body: payload,
  })
}

/** The SCIM JSON body after checking status and content type. */
export async function scimJson<T = any>(res: Response, status: number): Promise<T> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/)
  return JSON.parse(text) as T
}

/** A SCIM error answer: its shape, status and scimType. */
export async function expectScimError(res: Response, status: number, scimType?: string): Promise<any> {
  const body = await scimJson(res, status)
  expect(body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status) })
  if (scimType) expect(body.scimType).toBe(scimType)
  else expect(body.scimType).toBeUndefined()
  expect(typeof body.detail).toBe('string')
  return body
}

/** Entra's Create User request body (its documented example, with this user's names). */
export function entraUser(userName: string, options: { email?: string; externalId?: string; active?: unknown } = {}) {
  return {
    schemas: [
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
    ],
    externalId: options.externalId ?? userName.split('@')[0],
    userName,
    active: options.active ?? true,
    emails: [{ primary: true, type: 'work', value: options.email ?? userName }],
    meta: { resourceType: 'User' },
    name: { formatted: 'Ann Example', familyName: 'Example', givenName: 'Ann' },
    roles: [],
  }
}

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
