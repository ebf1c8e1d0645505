import * as z from 'zod/mini'
import { guid } from '../../lib/fields'
import { claimsPageSchema, claimsQuerySchema, listClaims, releaseTenant } from '../../tenancy/claims'
import type { AdminRoutes } from '../registry'

export function tenantRoutes(routes: AdminRoutes): void {
  routes.add({
    method: 'get',
    path: '/tenants',
    summary:
      'List the Microsoft 365 tenants claimed by a partner subtree (trusted by ops, or verified by an administrator), by tenant id, 50 a page',
    access: 'ops',
    query: claimsQuerySchema,
    response: claimsPageSchema,
    success: { status: 200, description: '{tenants, nextCursor}' },
    errors: [400, 403],
    handler: async (c, { query }) => listClaims(c.env.DB, c.var.principal, query),
  })

  routes.add({
    method: 'post',
    path: '/tenants/:tid/release',
    summary:
      'Release a Microsoft 365 tenant from the partner subtree it is connected to: every phone system naming it is unverified until connected again',
    access: 'ops',
    params: z.object({ tid: guid }),
    response: z.object({ tid: z.string(), partnerId: z.string(), status: z.enum(['trusted', 'verified']) }),
    success: { status: 200, description: 'The released claim' },
    errors: [400, 403, 404],
    handler: async (c, { params }) => releaseTenant(c.env.DB, c.var.principal, params.tid, Date.now()),
  })
}
