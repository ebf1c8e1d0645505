/**
 * The admin API (DESIGN section 5), on the primary host only. Handlers read
 * and validate input, call the functions next to this file, and write JSON.
 */
import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { AppError } from '../errors'
import { JSON_HEADERS } from '../http/html'
import { readJsonBody } from '../http/validate'
import { hostCache } from '../hosts/resolve'
import { authenticate } from './auth'
import { attachHostname, detachHostname, getHostname, hostnameJson, listHostnames, requireHostname } from './hostnames'
import { createOrg, getOrg, listOrgs, orgJson, updateOrg } from './orgs'
import {
  createPhoneSystem,
  deletePhoneSystem,
  getPhoneSystem,
  getSsoUsersPage,
  listPhoneSystems,
  phoneSystemJson,
  putSsoUsers,
} from './phone-systems'
import {
  attachHostnameSchema,
  createOrgSchema,
  createPhoneSystemSchema,
  replaceSsoUsersSchema,
  updateOrgSchema,
} from './schemas'

export const adminApi = new Hono<AppEnv>()

adminApi.use('*', async (c, next) => {
  // Elsewhere than the primary host the API does not exist.
  if (c.var.site.kind !== 'primary') throw new AppError('page_not_found', 'Not found')
  c.set('api', true)
  c.set('principal', await authenticate(c))
  await next()
  for (const [name, value] of Object.entries(JSON_HEADERS)) c.res.headers.set(name, value)
})

// Organizations
adminApi.post('/orgs', async (c) => {
  const input = await readJsonBody(c, createOrgSchema)
  const org = await createOrg(c.env.DB, c.var.principal, input, Date.now())
  return c.json(orgJson(org), 201)
})

adminApi.get('/orgs', async (c) => {
  const parentId = c.req.query('parentId')
  const orgs = await listOrgs(c.env.DB, { parentId: parentId === undefined ? undefined : parentId || null })
  return c.json({ orgs: orgs.map(orgJson) })
})

adminApi.get('/orgs/:id', async (c) => c.json(orgJson(await getOrg(c.env.DB, c.req.param('id')))))

adminApi.patch('/orgs/:id', async (c) => {
  const input = await readJsonBody(c, updateOrgSchema)
  const org = await updateOrg(c.env.DB, c.var.principal, c.req.param('id'), input, Date.now())
  // Branding is part of every cached host answer of this isolate.
  hostCache(c.var.config).clear()
  return c.json(orgJson(org))
})

// Hostnames
adminApi.post('/orgs/:id/hostnames', async (c) => {
  const input = await readJsonBody(c, attachHostnameSchema)
  const row = await attachHostname(c.env.DB, c.var.config, c.var.principal, c.req.param('id'), input, Date.now())
  return c.json(hostnameJson(row), 201)
})

adminApi.get('/orgs/:id/hostnames', async (c) => {
  const org = await getOrg(c.env.DB, c.req.param('id'))
  return c.json({ hostnames: (await listHostnames(c.env.DB, org.id)).map(hostnameJson) })
})

adminApi.get('/hostnames/:hostname', async (c) =>
  c.json(hostnameJson(await getHostname(c.env.DB, requireHostname(c.req.param('hostname'))))),
)

adminApi.delete('/hostnames/:hostname', async (c) => {
  await detachHostname(c.env.DB, c.var.config, c.var.principal, c.req.param('hostname'), Date.now())
  return c.body(null, 204)
})

adminApi.post('/hostnames/:hostname/check', async (c) => {
  // Provider subdomains and CUSTOM_HOSTNAMES=local hosts have nothing to re-read: their row is the truth.
  const row = await getHostname(c.env.DB, requireHostname(c.req.param('hostname')))
  return c.json(hostnameJson(row))
})

// Phone systems and their SSO lists
adminApi.post('/orgs/:id/phone-systems', async (c) => {
  const input = await readJsonBody(c, createPhoneSystemSchema)
  const row = await createPhoneSystem(c.env.DB, c.var.principal, c.req.param('id'), input, Date.now())
  return c.json(phoneSystemJson(row), 201)
})

adminApi.get('/orgs/:id/phone-systems', async (c) => {
  const org = await getOrg(c.env.DB, c.req.param('id'))
  return c.json({ phoneSystems: (await listPhoneSystems(c.env.DB, org.id)).map(phoneSystemJson) })
})

adminApi.get('/phone-systems/:id', async (c) => c.json(phoneSystemJson(await getPhoneSystem(c.env.DB, c.req.param('id')))))

adminApi.delete('/phone-systems/:id', async (c) => {
  await deletePhoneSystem(c.env.DB, c.var.principal, c.req.param('id'), Date.now())
  return c.body(null, 204)
})

adminApi.put('/phone-systems/:id/sso-users', async (c) => {
  const input = await readJsonBody(c, replaceSsoUsersSchema)
  const counts = await putSsoUsers(c.env.DB, c.var.principal, c.req.param('id'), input.users, Date.now())
  return c.json(counts)
})

adminApi.get('/phone-systems/:id/sso-users', async (c) =>
  c.json(
    await getSsoUsersPage(c.env.DB, c.req.param('id'), {
      q: c.req.query('q'),
      cursor: c.req.query('cursor'),
      limit: c.req.query('limit'),
    }),
  ),
)
