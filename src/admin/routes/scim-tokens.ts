import * as z from 'zod/mini'
import { idParam } from '../../lib/fields'
import {
  createScimToken,
  createScimTokenSchema,
  issuedScimTokenSchema,
  listScimTokens,
  revokeScimToken,
  scimTokenSchema,
} from '../../scim/tokens'
import { byId, SUBTREE } from '../params'
import type { AdminRoutes } from '../registry'

const byToken = z.object({ id: idParam, tokenId: idParam })

export function scimTokenRoutes(routes: AdminRoutes): void {
  routes.add({
    method: 'post',
    path: '/phone-systems/:id/scim-tokens',
    summary:
      "Create a SCIM token for Entra provisioning (its Secret token; tenantUrl is its Tenant URL), shown only in this answer; the first one makes SCIM the list's source",
    access: SUBTREE,
    params: byId,
    body: createScimTokenSchema,
    response: issuedScimTokenSchema,
    success: { status: 201, description: '{token, tenantUrl, id, prefix, ...}' },
    errors: [400, 404],
    handler: async (c, { params, body }) =>
      createScimToken(
        c.env.DB,
        c.var.principal,
        params.id,
        body.label,
        c.var.config.origin(c.var.config.primaryHost),
        Date.now(),
      ),
  })

  routes.add({
    method: 'get',
    path: '/phone-systems/:id/scim-tokens',
    summary: "List a phone system's SCIM tokens (prefixes, never the tokens)",
    access: SUBTREE,
    params: byId,
    response: z.object({ scimTokens: z.array(scimTokenSchema) }),
    success: { status: 200, description: '{scimTokens: [...]}' },
    errors: [400, 404],
    handler: async (c, { params }) => ({ scimTokens: await listScimTokens(c.env.DB, c.var.principal, params.id) }),
  })

  routes.add({
    method: 'delete',
    path: '/phone-systems/:id/scim-tokens/:tokenId',
    summary: 'Revoke a SCIM token (at once); the list stays as SCIM last pushed it',
    access: SUBTREE,
    params: byToken,
    success: { status: 204, description: 'Revoked' },
    errors: [400, 404],
    handler: async (c, { params }) => {
      await revokeScimToken(c.env.DB, c.var.principal, params.id, params.tokenId, Date.now())
    },
  })
}
