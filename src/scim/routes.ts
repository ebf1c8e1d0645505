/**
 * The SCIM 2.0 service provider (RFC 7644) Entra's provisioning service
 * pushes a phone system's users to: its "Tenant URL" is
 * `https://{PRIMARY_HOST}/scim/v2/phone-systems/{id}` and its "Secret token"
 * a SCIM token of that phone system (scim/tokens.ts). On the primary host
 * only (404 elsewhere), in the admin Worker.
 *
 * Every answer is `application/scim+json` (bodies are accepted as that or
 * `application/json`), every error in SCIM's shape (scim/errors.ts). Order
 * of a request: token (401 with `WWW-Authenticate: Bearer`), the token's
 * allowance (429), then the body, bounded as admin JSON is (413).
 *
 * @see https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
 */
import { type Context, Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { PhoneSystemRow, ScimUserRow } from '../db/schema'
import { AppError, errorSpec, isDatabaseOutage } from '../errors'
import { readBodyText, requireJsonShapeBound } from '../http/body'
import type { AppEnv } from '../http/context'
import { JSON_HEADERS } from '../http/headers'
import { clientIp, spendAllowance } from '../http/rate-limit'
import { iso } from '../lib/time'
import { log } from '../log'
import { isScimPushed } from '../phone-systems/sync-source'
import { notFound, SCIM_CONTENT_TYPE, ScimError, scimErrorBody } from './errors'
import { parseEqualityFilter } from './filter'
import { GROUP_SCHEMA, type GroupInput, groupChanges, normalizeGroup } from './group'
import { applyPatch, parsePatchBody } from './patch'
import {
  changeGroup,
  createGroup,
  createUser,
  deleteGroup,
  deleteUser,
  findGroup,
  findUser,
  type GroupWithMembers,
  listGroups,
  listUsers,
  notScimPushed,
  type Page,
  replaceUser,
} from './store'
import { scimTenantUrl, tokenFor } from './tokens'
import { normalizeUser, USER_SCHEMA } from './user'

const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'
/** The most resources one page holds, whatever `count` asks (RFC 7644 §3.4.2.4 lets the provider cap it). */
export const MAX_PAGE_SIZE = 100

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i

export const scimApp = new Hono<AppEnv>()

function answer(c: Context, body: unknown, status: ContentfulStatusCode, headers: Record<string, string> = {}) {
  return c.body(JSON.stringify(body), status, { ...JSON_HEADERS, 'Content-Type': SCIM_CONTENT_TYPE, ...headers })
}

scimApp.onError((error, c) => {
  let scim: ScimError
  if (error instanceof ScimError) scim = error
  else if (error instanceof AppError) {
    // The shared parts (the body bound, the rate limit) speak AppError: their status and message, in SCIM's shape.
    scim = new ScimError(errorSpec(error.code).status, error.message, undefined, error.headers)
  } else if (isDatabaseOutage(error)) {
    log('error', 'database unavailable', { correlationId: c.get('correlationId') })
    scim = new ScimError(503, 'The database is unavailable just now; retry later', undefined, { 'Retry-After': '30' })
  } else {
    log('error', 'unhandled SCIM error', { correlationId: c.get('correlationId'), error: String(error) })
    scim = new ScimError(500, `Internal error (reference ${c.get('correlationId')})`)
  }
  c.set('outcome', scim.scimType ?? `scim_${scim.status}`)
  return answer(c, scimErrorBody(scim), scim.status, scim.headers)
})

interface Caller {
  phoneSystem: PhoneSystemRow
  base: string
}

function unauthorized(): ScimError {
  return new ScimError(401, 'Send the phone system\'s SCIM token as "Authorization: Bearer <token>"', undefined, {
    'WWW-Authenticate': 'Bearer realm="scim"',
  })
}

/**
 * The phone system the token reaches: the path's, or 401 alike for a missing, unknown, revoked or
 * another phone system's token (a token cannot even learn which phone system ids exist).
 */
async function caller(c: Context<AppEnv>): Promise<Caller> {
  const phoneSystemId = c.req.param('ps') ?? ''
  // The address's allowance first, as the admin API's: a spent address has no further token looked up.
  await spendAllowance(c, 'ADMIN_RATE_LIMIT', `ip:${clientIp(c)}`)
  const match = BEARER.exec(c.req.header('authorization') ?? '')
  if (!match) throw unauthorized()
  const found = await tokenFor(c.env.DB, phoneSystemId, match[1]!, Date.now())
  if (!found) throw unauthorized()
  // Then the token's own: one phone system's provisioning cannot spend another's.
  await spendAllowance(c, 'ADMIN_RATE_LIMIT', `scim:${found.token.id}`)
  const { phoneSystem } = found
  return { phoneSystem, base: scimTenantUrl(c.var.config.origin(c.var.config.primaryHost), phoneSystemId) }
}

/** A write needs the list to be SCIM's now. */
function writable(phoneSystem: PhoneSystemRow): PhoneSystemRow {
  if (!isScimPushed(phoneSystem)) throw notScimPushed()
  return phoneSystem
}

async function readBody(c: Context<AppEnv>): Promise<unknown> {
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/(scim\+)?json\s*(;|$)/i.test(type)) {
    throw new ScimError(415, 'Send the body as "Content-Type: application/scim+json" (or application/json)')
  }
  const text = await readBodyText(c, 'json')
  requireJsonShapeBound(text, 'json')
  try {
    return JSON.parse(text)
  } catch {
    throw new ScimError(400, 'The body is not valid JSON', 'invalidSyntax')
  }
}

function whole(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined
  if (!/^-?\d{1,15}$/.test(value)) throw new ScimError(400, `"${name}" must be an integer`, 'invalidValue')
  return Number(value)
}

/** `startIndex` (1-based; below 1 is 1) and `count` (negative is 0, RFC 7644 §3.4.2.4; capped at MAX_PAGE_SIZE). */
export function pageOf(startIndex: string | undefined, count: string | undefined): Page {
  return {
    startIndex: Math.max(1, whole(startIndex, 'startIndex') ?? 1),
    count: Math.min(MAX_PAGE_SIZE, Math.max(0, whole(count, 'count') ?? MAX_PAGE_SIZE)),
  }
}

function listResponse(c: Context, page: Page, total: number, resources: unknown[]) {
  return answer(
    c,
    {
      schemas: [LIST_RESPONSE],
      totalResults: total,
      startIndex: page.startIndex,
      itemsPerPage: resources.length,
      Resources: resources,
    },
    200,
  )
}

function userView(base: string, row: ScimUserRow): Record<string, unknown> {
  const { schemas, ...attributes } = row.resource
  return {
    schemas: Array.isArray(schemas) && schemas.length > 0 ? schemas : [USER_SCHEMA],
    ...attributes,
    id: row.id,
    ...(row.externalId !== null ? { externalId: row.externalId } : {}),
    userName: row.userName,
    active: row.active,
    meta: {
      resourceType: 'User',
      created: iso(row.createdAt),
      lastModified: iso(row.updatedAt),
      location: `${base}/Users/${row.id}`,
      version: `W/"${row.version}"`,
    },
  }
}

function groupView(base: string, row: GroupWithMembers, withMembers: boolean): Record<string, unknown> {
  return {
    schemas: [GROUP_SCHEMA],
    id: row.id,
    ...(row.externalId !== null ? { externalId: row.externalId } : {}),
    displayName: row.displayName,
    ...(withMembers ? { members: row.members.map((id) => ({ value: id, $ref: `${base}/Users/${id}` })) } : {}),
    meta: {
      resourceType: 'Group',
      created: iso(row.createdAt),
      lastModified: iso(row.updatedAt),
      location: `${base}/Groups/${row.id}`,
    },
  }
}

/** The path's resource id; one longer than any the gateway issues is nobody's (404 without a read). */
function resourceId(c: Context): string {
  const id = c.req.param('id') ?? ''
  if (id.length > 64) throw notFound('Resource')
  return id
}

/** Whether an answer leaves members out (`excludedAttributes=members`, as Entra asks for groups). */
function excludesMembers(c: Context): boolean {
  return (c.req.query('excludedAttributes') ?? '').split(',').some((name) => name.trim().toLowerCase() === 'members')
}

// Elsewhere than the primary host SCIM does not exist.
scimApp.use('*', async (c, next) => {
  if (c.var.site.kind !== 'primary') throw new AppError('page_not_found', 'Not found')
  await next()
})

const P = '/phone-systems/:ps'

// ---------------------------------------------------------------- Users

scimApp.get(`${P}/Users`, async (c) => {
  const { phoneSystem, base } = await caller(c)
  const filterText = c.req.query('filter')
  const filter = filterText ? parseEqualityFilter(filterText, ['userName', 'externalId', 'id'] as const) : null
  const page = pageOf(c.req.query('startIndex'), c.req.query('count'))
  const { total, rows } = await listUsers(c.env.DB, phoneSystem.id, filter, page)
  return listResponse(
    c,
    page,
    total,
    rows.map((row) => userView(base, row)),
  )
})

scimApp.get(`${P}/Users/:id`, async (c) => {
  const { phoneSystem, base } = await caller(c)
  const row = await findUser(c.env.DB, phoneSystem.id, resourceId(c))
  if (!row) throw notFound('User')
  return answer(c, userView(base, row), 200)
})

scimApp.post(`${P}/Users`, async (c) => {
  const { phoneSystem, base } = await caller(c)
  const { resource, facts } = normalizeUser(await readBody(c))
  const row = await createUser(c.env.DB, writable(phoneSystem), resource, facts, Date.now())
  return answer(c, userView(base, row), 201, { Location: `${base}/Users/${row.id}` })
})

scimApp.patch(`${P}/Users/:id`, async (c) => {
  const { phoneSystem, base } = await caller(c)
  const operations = parsePatchBody(await readBody(c))
  const before = await findUser(c.env.DB, phoneSystem.id, resourceId(c))
  if (!before) throw notFound('User')
  // The stored resource holds userName, active and externalId as normalized; the patch applies to it whole.
  const { resource, facts } = normalizeUser(applyPatch(before.resource, operations))
  const after = await replaceUser(c.env.DB, writable(phoneSystem), before, resource, facts, Date.now())
  return answer(c, userView(base, after), 200)
})

scimApp.put(`${P}/Users/:id`, async (c) => {
  const { phoneSystem, base } = await caller(c)
  const { resource, facts } = normalizeUser(await readBody(c))
  const before = await findUser(c.env.DB, phoneSystem.id, resourceId(c))
  if (!before) throw notFound('User')
  const after = await replaceUser(c.env.DB, writable(phoneSystem), before, resource, facts, Date.now())
  return answer(c, userView(base, after), 200)
})

scimApp.delete(`${P}/Users/:id`, async (c) => {
  const { phoneSystem } = await caller(c)
  if (!(await deleteUser(c.env.DB, writable(phoneSystem), resourceId(c), Date.now()))) throw notFound('User')
  return c.body(null, 204, { 'Cache-Control': 'no-store' })
})

// ---------------------------------------------------------------- Groups

scimApp.get(`${P}/Groups`, async (c) => {
  const { phoneSystem, base } = await caller(c)
  const filterText = c.req.query('filter')
  const filter = filterText ? parseEqualityFilter(filterText, ['displayName', 'externalId', 'id'] as const) : null
  const page = pageOf(c.req.query('startIndex'), c.req.query('count'))
  const withMembers = !excludesMembers(c)
  const { total, rows } = await listGroups(c.env.DB, phoneSystem.id, filter, page, withMembers)
  return listResponse(
    c,
    page,
    total,
    rows.map((row) => groupView(base, row, withMembers)),
  )
})

scimApp.get(`${P}/Groups/:id`, async (c) => {
  const { phoneSystem, base } = await caller(c)
  const withMembers = !excludesMembers(c)
  const row = await findGroup(c.env.DB, phoneSystem.id, resourceId(c), withMembers)
  if (!row) throw notFound('Group')
  return answer(c, groupView(base, row, withMembers), 200)
})

scimApp.post(`${P}/Groups`, async (c) => {
  const { phoneSystem, base } = await caller(c)
  const input: GroupInput = normalizeGroup(await readBody(c))
  const id = await createGroup(c.env.DB, writable(phoneSystem), input, Date.now())
  const row = (await findGroup(c.env.DB, phoneSystem.id, id, true))!
  return answer(c, groupView(base, row, true), 201, { Location: `${base}/Groups/${id}` })
})

// Entra expects 204 for a group PATCH (its documented requests), which RFC 7644 §3.5.2 allows.
scimApp.patch(`${P}/Groups/:id`, async (c) => {
  const { phoneSystem } = await caller(c)
  const changes = groupChanges(parsePatchBody(await readBody(c)))
  const existing = await findGroup(c.env.DB, phoneSystem.id, resourceId(c), false)
  if (!existing) throw notFound('Group')
  await changeGroup(c.env.DB, writable(phoneSystem), existing.id, changes, Date.now())
  return c.body(null, 204, { 'Cache-Control': 'no-store' })
})

scimApp.delete(`${P}/Groups/:id`, async (c) => {
  const { phoneSystem } = await caller(c)
  const existing = await findGroup(c.env.DB, phoneSystem.id, resourceId(c), false)
  if (!existing) throw notFound('Group')
  await deleteGroup(c.env.DB, writable(phoneSystem), existing.id)
  return c.body(null, 204, { 'Cache-Control': 'no-store' })
})

// ---------------------------------------------------------------- discovery (RFC 7644 §4)

scimApp.get(`${P}/ServiceProviderConfig`, async (c) => {
  await caller(c)
  return answer(
    c,
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults: MAX_PAGE_SIZE },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: false },
      authenticationSchemes: [
        { type: 'oauthbearertoken', name: 'Bearer token', description: "The phone system's SCIM token", primary: true },
      ],
    },
    200,
  )
})

scimApp.get(`${P}/ResourceTypes`, async (c) => {
  const { base } = await caller(c)
  const types = [
    { id: 'User', name: 'User', endpoint: '/Users', schema: USER_SCHEMA },
    { id: 'Group', name: 'Group', endpoint: '/Groups', schema: GROUP_SCHEMA },
  ].map((t) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    ...t,
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${t.id}` },
  }))
  return listResponse(c, { startIndex: 1, count: types.length }, types.length, types)
})

scimApp.get(`${P}/Schemas`, async (c) => {
  await caller(c)
  const schemas = [
    { id: USER_SCHEMA, name: 'User', attributes: [] },
    { id: GROUP_SCHEMA, name: 'Group', attributes: [] },
  ].map((s) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], ...s }))
  return listResponse(c, { startIndex: 1, count: schemas.length }, schemas.length, schemas)
})

scimApp.all('*', () => {
  throw new ScimError(404, 'No such SCIM endpoint')
})
