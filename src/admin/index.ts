/**
 * The admin API (ARCHITECTURE §5), on the primary host only. Each route is
 * declared once (`registry.ts`) in `routes/`: the handler reads validated
 * input, calls the domain services, and returns what they answer; the
 * OpenAPI document comes from the same declarations.
 */
import { type Context, Hono } from 'hono'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { AppError } from '../errors'
import type { AppEnv } from '../http/context'
import { JSON_HEADERS } from '../http/headers'
import { clientIp, spendAllowance } from '../http/rate-limit'
import { authenticate } from './auth'
import { AdminRoutes } from './registry'
import { auditRoutes } from './routes/audit'
import { healthRoutes } from './routes/health'
import { hostnameRoutes } from './routes/hostnames'
import { integrationRoutes } from './routes/integrations'
import { keyRoutes } from './routes/keys'
import { orgRoutes } from './routes/orgs'
import { phoneSystemRoutes } from './routes/phone-systems'
import { scimTokenRoutes } from './routes/scim-tokens'
import { signInRoutes } from './routes/sign-ins'
import { staffRoutes } from './routes/staff'
import { tenantRoutes } from './routes/tenants'

export const adminApi = new Hono<AppEnv>()
export const adminRoutes = new AdminRoutes(adminApi)

adminApi.use('*', async (c, next) => {
  // Elsewhere than the primary host the API does not exist.
  if (c.var.site.kind !== 'primary') throw new AppError('page_not_found', 'Not found')
  c.set('api', true)
  // The API's description is public; everything else needs a key.
  if (!(c.req.method === 'GET' && c.req.path === '/api/v1/openapi.json')) c.set('principal', await authenticated(c))
  await next()
  for (const [name, value] of Object.entries(JSON_HEADERS)) c.res.headers.set(name, value)
})

/**
 * The caller, within its allowances: the client address's first (before any
 * key is looked up, so a spent address learns nothing about the keys it
 * tries), then the organization's (all of a partner's keys share one, so
 * minting keys buys no load; ops has its own).
 */
async function authenticated(c: Context<AppEnv>): Promise<Principal> {
  await spendAllowance(c, 'ADMIN_RATE_LIMIT', `ip:${clientIp(c)}`)
  const principal = await authenticate(c)
  await spendAllowance(c, 'ADMIN_RATE_LIMIT', principal.kind === 'ops' ? 'ops' : `org:${principal.orgId}`)
  return principal
}

orgRoutes(adminRoutes)
keyRoutes(adminRoutes)
hostnameRoutes(adminRoutes)
phoneSystemRoutes(adminRoutes)
scimTokenRoutes(adminRoutes)
integrationRoutes(adminRoutes)
auditRoutes(adminRoutes)
signInRoutes(adminRoutes)
tenantRoutes(adminRoutes)
staffRoutes(adminRoutes)
healthRoutes(adminRoutes)

adminRoutes.add({
  method: 'get',
  path: '/openapi.json',
  summary: 'This API as an OpenAPI 3.1 document',
  access: 'public',
  response: z.looseObject({ openapi: z.literal('3.1.0') }),
  success: { status: 200, description: 'The OpenAPI document' },
  errors: [],
  handler: (c) =>
    adminRoutes.openApi(`${c.var.config.origin(c.var.config.primaryHost)}/api/v1`) as { openapi: '3.1.0' },
})
