import * as z from 'zod/mini'
import {
  apiKeySchema,
  createApiKey,
  createApiKeySchema,
  issuedApiKeySchema,
  listApiKeys,
  revokeApiKey,
} from '../../orgs/api-keys'
import { byId, SUBTREE } from '../params'
import type { AdminRoutes } from '../registry'

export function keyRoutes(routes: AdminRoutes): void {
  routes.add({
    method: 'post',
    path: '/orgs/:id/api-keys',
    summary: 'Issue a partner key (ops for any partner, a partner for itself); the key is shown only in this answer',
    access: SUBTREE,
    params: byId,
    body: createApiKeySchema,
    response: issuedApiKeySchema,
    success: { status: 201, description: '{key, id, prefix, ...}' },
    errors: [400, 404],
    handler: async (c, { params, body }) => createApiKey(c.env.DB, c.var.principal, params.id, body.label, Date.now()),
  })

  routes.add({
    method: 'get',
    path: '/orgs/:id/api-keys',
    summary: "List a partner's keys (prefixes, never the keys)",
    access: SUBTREE,
    params: byId,
    response: z.object({ apiKeys: z.array(apiKeySchema) }),
    success: { status: 200, description: '{apiKeys: [...]}' },
    errors: [400, 404],
    handler: async (c, { params }) => ({ apiKeys: await listApiKeys(c.env.DB, c.var.principal, params.id) }),
  })

  routes.add({
    method: 'delete',
    path: '/api-keys/:id',
    summary: 'Revoke a key (at once, for every isolate)',
    access: SUBTREE,
    params: byId,
    response: apiKeySchema,
    success: { status: 200, description: 'The revoked key' },
    errors: [400, 404],
    handler: async (c, { params }) => revokeApiKey(c.env.DB, c.var.principal, params.id, Date.now()),
  })
}
