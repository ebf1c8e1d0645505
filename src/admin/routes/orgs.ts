import * as z from 'zod/mini'
import { orgInScope } from '../../access/scope'
import { idParam } from '../../lib/fields'
import {
  createOrg,
  createOrgSchema,
  finishMove,
  listOrgs,
  moveOrg,
  moveOrgSchema,
  orgSchema,
  orgView,
  updateOrg,
  updateOrgSchema,
} from '../../orgs/service'
import { byId, SUBTREE } from '../params'
import type { AdminRoutes } from '../registry'

export function orgRoutes(routes: AdminRoutes): void {
  routes.add({
    method: 'post',
    path: '/orgs',
    summary: 'Create a partner (ops) or a customer (ops, or a partner under itself)',
    access: SUBTREE,
    body: createOrgSchema,
    response: orgSchema,
    success: { status: 201, description: 'The organization' },
    errors: [400, 403, 404, 413, 415],
    handler: async (c, { body }) => orgView(await createOrg(c.env.DB, c.var.principal, body, Date.now())),
  })

  routes.add({
    method: 'get',
    path: '/orgs',
    summary: 'List the organizations the key reaches',
    access: SUBTREE,
    query: z.object({
      parentId: z.optional(
        z
          .union([z.literal(''), idParam])
          .check(z.describe('Only the customers of this partner (empty: only partners)')),
      ),
      q: z.optional(
        z
          .string()
          .check(z.maxLength(100, 'must be at most 100 characters'), z.describe('Only names that contain this text')),
      ),
    }),
    response: z.object({ orgs: z.array(orgSchema) }),
    success: { status: 200, description: '{orgs: [...]}' },
    errors: [400],
    handler: async (c, { query }) => {
      const parentId = query.parentId === undefined ? undefined : query.parentId || null
      const orgs = await listOrgs(c.env.DB, c.var.principal, { parentId, ...(query.q ? { q: query.q } : {}) })
      return { orgs: orgs.map(orgView) }
    },
  })

  routes.add({
    method: 'get',
    path: '/orgs/:id',
    summary: 'Read an organization',
    access: SUBTREE,
    params: byId,
    response: orgSchema,
    success: { status: 200, description: 'The organization' },
    errors: [400, 404],
    handler: async (c, { params }) => orgView(await orgInScope(c.env.DB, c.var.principal, params.id)),
  })

  routes.add({
    method: 'patch',
    path: '/orgs/:id',
    summary: 'Rename or rebrand an organization',
    access: SUBTREE,
    params: byId,
    body: updateOrgSchema,
    response: orgSchema,
    success: { status: 200, description: 'The organization' },
    errors: [400, 404],
    handler: async (c, { params, body }) =>
      orgView(await updateOrg(c.env.DB, c.var.config, c.var.principal, params.id, body, Date.now())),
  })

  routes.add({
    method: 'post',
    path: '/orgs/:id/move',
    summary:
      "Move a flat customer to a nested portal of its own; its partner's hosts keep serving it for keepPartnerHostsDays (default 30)",
    access: SUBTREE,
    params: byId,
    body: moveOrgSchema,
    response: orgSchema,
    success: { status: 200, description: 'The organization, nested, with partnerHostsUntil' },
    errors: [400, 404, 409, 413, 415],
    handler: async (c, { params, body }) =>
      orgView(await moveOrg(c.env.DB, c.var.config, c.var.principal, params.id, body, Date.now())),
  })

  routes.add({
    method: 'post',
    path: '/orgs/:id/move/finish',
    summary: "End a moved customer's transition now: its partner's hosts stop serving it, only its own do",
    access: SUBTREE,
    params: byId,
    response: orgSchema,
    success: { status: 200, description: 'The organization, partnerHostsUntil now' },
    errors: [400, 404, 409],
    handler: async (c, { params }) =>
      orgView(await finishMove(c.env.DB, c.var.config, c.var.principal, params.id, Date.now())),
  })
}
