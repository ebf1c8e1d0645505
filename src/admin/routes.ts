/**
 * The admin API (DESIGN section 5), on the primary host only. Each route is
 * declared once (registry.ts): the handler reads validated input, calls the
 * functions next to this file, and writes JSON; the OpenAPI document comes
 * from the same declarations.
 */
import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { AppError } from '../errors'
import { hostCache } from '../hosts/resolve'
import { JSON_HEADERS } from '../http/html'
import { originFor } from '../http/origin'
import { portalOf, syncPhoneSystem } from '../sync/sync'
import { createApiKey, listApiKeys, revokeApiKey } from './api-keys'
import { readAuditLog } from './audit-log'
import { authenticate } from './auth'
import {
  attachHostname,
  detachHostname,
  getHostname,
  hostnameJson,
  listHostnames,
  reconcileRedirectUris,
  refreshHostname,
  requireHostname,
  updateHostname,
} from './hostnames'
import { deleteIntegration, getIntegration, putIntegration } from './integrations'
import { createOrg, listOrgs, orgJson, updateOrg } from './orgs'
import {
  createPhoneSystem,
  deletePhoneSystem,
  getPhoneSystem,
  getSsoUsersPage,
  listPhoneSystems,
  phoneSystemJson,
  putSsoUsers,
  updatePhoneSystem,
} from './phone-systems'
import { AdminRoutes } from './registry'
import {
  attachHostnameSchema,
  createApiKeySchema,
  createOrgSchema,
  createPhoneSystemSchema,
  putIntegrationSchema,
  replaceSsoUsersSchema,
  updateHostnameSchema,
  updateOrgSchema,
  updatePhoneSystemSchema,
} from './schemas'
import { orgInScope } from './scope'

export const adminApi = new Hono<AppEnv>()
export const adminRoutes = new AdminRoutes(adminApi)
const SUBTREE = 'ops or partner (own subtree)' as const

adminApi.use('*', async (c, next) => {
  // Elsewhere than the primary host the API does not exist.
  if (c.var.site.kind !== 'primary') throw new AppError('page_not_found', 'Not found')
  c.set('api', true)
  // The API's description is public; everything else needs a key.
  if (!(c.req.method === 'GET' && c.req.path === '/api/v1/openapi.json')) c.set('principal', await authenticate(c))
  await next()
  for (const [name, value] of Object.entries(JSON_HEADERS)) c.res.headers.set(name, value)
})

/** A path parameter the route pattern guarantees. */
function param(c: { req: { param(name: string): string | undefined } }, name: string): string {
  const value = c.req.param(name)
  if (value === undefined) throw new AppError('not_found', 'No such API route')
  return value
}
const id = (c: { req: { param(name: string): string | undefined } }) => param(c, 'id')

// ---------------------------------------------------------------- organizations
adminRoutes.add({
  method: 'post',
  path: '/orgs',
  summary: 'Create a partner (ops) or a customer (ops, or a partner under itself)',
  access: SUBTREE,
  body: createOrgSchema,
  success: { status: 201, description: 'The organization' },
  errors: [400, 403, 404, 413, 415],
  handler: async (c, input) => c.json(orgJson(await createOrg(c.env.DB, c.var.principal, input, Date.now())), 201),
})

adminRoutes.add({
  method: 'get',
  path: '/orgs',
  summary: 'List the organizations the key reaches',
  access: SUBTREE,
  query: [{ name: 'parentId', description: 'Only the customers of this partner (empty: only partners)' }],
  success: { status: 200, description: '{orgs: [...]}' },
  errors: [],
  handler: async (c) => {
    const parentId = c.req.query('parentId')
    const orgs = await listOrgs(c.env.DB, c.var.principal, {
      parentId: parentId === undefined ? undefined : parentId || null,
    })
    return c.json({ orgs: orgs.map(orgJson) })
  },
})

adminRoutes.add({
  method: 'get',
  path: '/orgs/:id',
  summary: 'Read an organization',
  access: SUBTREE,
  success: { status: 200, description: 'The organization' },
  errors: [404],
  handler: async (c) => c.json(orgJson(await orgInScope(c.env.DB, c.var.principal, id(c)))),
})

adminRoutes.add({
  method: 'patch',
  path: '/orgs/:id',
  summary: 'Rename or rebrand an organization',
  access: SUBTREE,
  body: updateOrgSchema,
  success: { status: 200, description: 'The organization' },
  errors: [400, 404],
  handler: async (c, input) => {
    const org = await updateOrg(c.env.DB, c.var.principal, id(c), input, Date.now())
    // Branding is part of every cached host answer of this isolate.
    hostCache(c.var.config).clear()
    return c.json(orgJson(org))
  },
})

// ---------------------------------------------------------------- API keys
adminRoutes.add({
  method: 'post',
  path: '/orgs/:id/api-keys',
  summary: 'Issue a partner key (ops for any partner, a partner for itself); the key is shown only in this answer',
  access: SUBTREE,
  body: createApiKeySchema,
  success: { status: 201, description: '{key, id, prefix, ...}' },
  errors: [400, 404],
  handler: async (c, input) =>
    c.json(await createApiKey(c.env.DB, c.var.principal, id(c), input.label, Date.now()), 201),
})

adminRoutes.add({
  method: 'get',
  path: '/orgs/:id/api-keys',
  summary: "List a partner's keys (prefixes, never the keys)",
  access: SUBTREE,
  success: { status: 200, description: '{apiKeys: [...]}' },
  errors: [404],
  handler: async (c) => c.json({ apiKeys: await listApiKeys(c.env.DB, c.var.principal, id(c)) }),
})

adminRoutes.add({
  method: 'delete',
  path: '/api-keys/:id',
  summary: 'Revoke a key (at once, for every isolate)',
  access: SUBTREE,
  success: { status: 200, description: 'The revoked key' },
  errors: [404],
  handler: async (c) => c.json(await revokeApiKey(c.env.DB, c.var.principal, id(c), Date.now())),
})

// ---------------------------------------------------------------- hostnames
adminRoutes.add({
  method: 'post',
  path: '/orgs/:id/hostnames',
  summary: 'Attach a login hostname (a provider subdomain, or a custom domain through Cloudflare for SaaS)',
  access: SUBTREE,
  body: attachHostnameSchema,
  success: { status: 201, description: '{hostname, status, verification, ...}' },
  errors: [400, 404, 409, 502, 503, 504],
  handler: async (c, input) => {
    const row = await attachHostname(
      c.env.DB,
      c.var.config,
      c.var.principal,
      id(c),
      input,
      Date.now(),
      new URL(c.req.url),
    )
    return c.json(hostnameJson(row), 201)
  },
})

adminRoutes.add({
  method: 'get',
  path: '/orgs/:id/hostnames',
  summary: "List an organization's hostnames with their status",
  access: SUBTREE,
  success: { status: 200, description: '{hostnames: [...]}' },
  errors: [404],
  handler: async (c) =>
    c.json({ hostnames: (await listHostnames(c.env.DB, c.var.principal, id(c))).map(hostnameJson) }),
})

adminRoutes.add({
  method: 'get',
  path: '/hostnames/:hostname',
  summary: 'Read a hostname',
  access: SUBTREE,
  success: { status: 200, description: 'The hostname' },
  errors: [400, 404],
  handler: async (c) =>
    c.json(hostnameJson(await getHostname(c.env.DB, c.var.principal, requireHostname(param(c, 'hostname'))))),
})

adminRoutes.add({
  method: 'patch',
  path: '/hostnames/:hostname',
  summary: 'Switch a hostname between the central and the direct callback (registering or removing its redirect URI)',
  access: SUBTREE,
  body: updateHostnameSchema,
  success: { status: 200, description: 'The hostname' },
  errors: [400, 404, 409, 502, 503, 504],
  handler: async (c, input) =>
    c.json(
      hostnameJson(
        await updateHostname(
          c.env.DB,
          c.var.config,
          c.var.principal,
          param(c, 'hostname'),
          input,
          Date.now(),
          new URL(c.req.url),
        ),
      ),
    ),
})

adminRoutes.add({
  method: 'delete',
  path: '/hostnames/:hostname',
  summary: 'Detach a hostname',
  access: SUBTREE,
  success: { status: 204, description: 'Detached' },
  errors: [400, 404, 502, 503, 504],
  handler: async (c) => {
    await detachHostname(c.env.DB, c.var.config, c.var.principal, param(c, 'hostname'), Date.now(), new URL(c.req.url))
    return c.body(null, 204)
  },
})

adminRoutes.add({
  method: 'post',
  path: '/hostnames/:hostname/check',
  summary: "Re-read the hostname status from Cloudflare now, and retry registering a direct host's redirect URI",
  access: SUBTREE,
  success: { status: 200, description: 'The hostname' },
  errors: [400, 404, 502, 503, 504],
  handler: async (c) => {
    const row = await getHostname(c.env.DB, c.var.principal, requireHostname(param(c, 'hostname')))
    return c.json(
      hostnameJson(await refreshHostname(c.env.DB, c.var.config, c.var.principal, row, Date.now(), new URL(c.req.url))),
    )
  },
})

// ---------------------------------------------------------------- phone systems and SSO lists
adminRoutes.add({
  method: 'post',
  path: '/orgs/:id/phone-systems',
  summary: 'Create a phone system',
  access: SUBTREE,
  body: createPhoneSystemSchema,
  success: { status: 201, description: 'The phone system' },
  errors: [400, 404],
  handler: async (c, input) =>
    c.json(phoneSystemJson(await createPhoneSystem(c.env.DB, c.var.principal, id(c), input, Date.now())), 201),
})

adminRoutes.add({
  method: 'get',
  path: '/orgs/:id/phone-systems',
  summary: "List an organization's phone systems",
  access: SUBTREE,
  success: { status: 200, description: '{phoneSystems: [...]}' },
  errors: [404],
  handler: async (c) =>
    c.json({ phoneSystems: (await listPhoneSystems(c.env.DB, c.var.principal, id(c))).map(phoneSystemJson) }),
})

adminRoutes.add({
  method: 'get',
  path: '/phone-systems/:id',
  summary: 'Read a phone system',
  access: SUBTREE,
  success: { status: 200, description: 'The phone system' },
  errors: [404],
  handler: async (c) => c.json(phoneSystemJson(await getPhoneSystem(c.env.DB, c.var.principal, id(c)))),
})

adminRoutes.add({
  method: 'patch',
  path: '/phone-systems/:id',
  summary:
    'Rename a phone system, change its URLs, or choose where Sync reads its list (app assignments, or one group)',
  access: SUBTREE,
  body: updatePhoneSystemSchema,
  success: { status: 200, description: 'The phone system' },
  errors: [400, 404],
  handler: async (c, input) =>
    c.json(phoneSystemJson(await updatePhoneSystem(c.env.DB, c.var.principal, id(c), input, Date.now()))),
})

adminRoutes.add({
  method: 'post',
  path: '/phone-systems/:id/sync',
  summary:
    "Sync the SSO list from the phone system's Microsoft 365 tenant (Graph), atomically; a failed pull changes nothing",
  access: SUBTREE,
  success: { status: 200, description: '{added, removed, updated, unchanged, total, graphRequests, ...}' },
  errors: [404, 409, 502, 503, 504],
  handler: async (c) => {
    const ps = await getPhoneSystem(c.env.DB, c.var.principal, id(c))
    const outcome = await syncPhoneSystem(c.env.DB, c.var.config, c.var.principal, ps, Date.now())
    // Sync also registers the redirect URIs of the portal's direct hosts that are not registered yet.
    const redirectUris = await reconcileRedirectUris(
      c.env.DB,
      c.var.config,
      await portalOf(c.env.DB, ps.orgId),
      new URL(c.req.url),
      Date.now(),
    )
    return c.json({ ...outcome, redirectUris })
  },
})

adminRoutes.add({
  method: 'delete',
  path: '/phone-systems/:id',
  summary: 'Delete a phone system and its SSO list',
  access: SUBTREE,
  success: { status: 204, description: 'Deleted' },
  errors: [404],
  handler: async (c) => {
    await deletePhoneSystem(c.env.DB, c.var.principal, id(c), Date.now())
    return c.body(null, 204)
  },
})

adminRoutes.add({
  method: 'put',
  path: '/phone-systems/:id/sso-users',
  summary: "Replace a phone system's SSO list, atomically",
  access: SUBTREE,
  body: replaceSsoUsersSchema,
  success: { status: 200, description: '{added, removed, updated, unchanged, total}' },
  errors: [400, 404, 409, 413, 415],
  handler: async (c, input) => c.json(await putSsoUsers(c.env.DB, c.var.principal, id(c), input.users, Date.now())),
})

adminRoutes.add({
  method: 'get',
  path: '/phone-systems/:id/sso-users',
  summary: "Page through a phone system's SSO list (the seed's eye icon)",
  access: SUBTREE,
  query: [
    { name: 'q', description: 'Search name, UPN or email (substring; long values match exactly)' },
    { name: 'cursor', description: 'nextCursor of the previous page' },
    { name: 'limit', description: '1 to 1000, default 100' },
  ],
  success: { status: 200, description: '{users, nextCursor}' },
  errors: [400, 404],
  handler: async (c) =>
    c.json(
      await getSsoUsersPage(c.env.DB, c.var.principal, id(c), {
        q: c.req.query('q'),
        cursor: c.req.query('cursor'),
        limit: c.req.query('limit'),
      }),
    ),
})

// ---------------------------------------------------------------- Microsoft integration of a portal
adminRoutes.add({
  method: 'put',
  path: '/orgs/:id/microsoft-integration',
  summary:
    "Set a portal's own Entra app (client id, secret, home tenant, allowed tenants); the secret is never returned",
  access: SUBTREE,
  body: putIntegrationSchema,
  success: { status: 200, description: 'The integration, without its secret' },
  errors: [400, 404, 409],
  handler: async (c, input) =>
    c.json(await putIntegration(c.env.DB, c.var.config, c.var.principal, id(c), input, Date.now())),
})

adminRoutes.add({
  method: 'get',
  path: '/orgs/:id/microsoft-integration',
  summary: "Read a portal's Microsoft integration (never its secret)",
  access: SUBTREE,
  success: { status: 200, description: 'The integration, without its secret' },
  errors: [404],
  handler: async (c) => c.json(await getIntegration(c.env.DB, c.var.principal, id(c))),
})

adminRoutes.add({
  method: 'delete',
  path: '/orgs/:id/microsoft-integration',
  summary: "Remove a portal's integration: its hosts sign in with the provider's app again",
  access: SUBTREE,
  success: { status: 204, description: 'Removed' },
  errors: [404],
  handler: async (c) => {
    await deleteIntegration(c.env.DB, c.var.principal, id(c), Date.now())
    return c.body(null, 204)
  },
})

// ---------------------------------------------------------------- audit log and the document itself
adminRoutes.add({
  method: 'get',
  path: '/audit-log',
  summary: 'Read the audit log of admin changes, newest first',
  access: SUBTREE,
  query: [
    { name: 'orgId', description: 'Only changes of this organization' },
    { name: 'action', description: 'Only this action, e.g. hostname.attach' },
    { name: 'actor', description: 'Only changes by this actor (ops, key:…, system)' },
    { name: 'since', description: 'ISO 8601 time: only changes at or after it' },
    { name: 'cursor', description: 'nextCursor of the previous page' },
    { name: 'limit', description: '1 to 500, default 100' },
  ],
  success: { status: 200, description: '{entries, nextCursor}' },
  errors: [400, 404],
  handler: async (c) =>
    c.json(
      await readAuditLog(c.env.DB, c.var.principal, {
        orgId: c.req.query('orgId'),
        action: c.req.query('action'),
        actor: c.req.query('actor'),
        since: c.req.query('since'),
        cursor: c.req.query('cursor'),
        limit: c.req.query('limit'),
      }),
    ),
})

adminRoutes.add({
  method: 'get',
  path: '/openapi.json',
  summary: 'This API as an OpenAPI 3.1 document',
  access: 'public',
  success: { status: 200, description: 'The OpenAPI document' },
  errors: [],
  handler: (c) => c.json(adminRoutes.openApi(`${originFor(c.var.config.primaryHost, new URL(c.req.url))}/api/v1`)),
})
