import { redirectUrisOf } from '../../hostnames/redirect-uris'
import {
  deleteIntegration,
  getIntegration,
  integrationSchema,
  putIntegration,
  putIntegrationSchema,
} from '../../integrations/microsoft'
import { byId, SUBTREE } from '../params'
import type { AdminRoutes } from '../registry'

export function integrationRoutes(routes: AdminRoutes): void {
  routes.add({
    method: 'put',
    path: '/orgs/:id/microsoft-integration',
    summary:
      "Set a portal's own Entra app (client id, secret, home tenant, allowed tenants); the secret is never returned",
    access: SUBTREE,
    params: byId,
    body: putIntegrationSchema,
    response: integrationSchema,
    success: { status: 200, description: 'The integration, without its secret' },
    errors: [400, 404, 409, 502, 503, 504],
    handler: async (c, { params, body }) =>
      putIntegration(c.env.DB, c.var.config, redirectUrisOf(c.env), c.var.principal, params.id, body, Date.now()),
  })

  routes.add({
    method: 'get',
    path: '/orgs/:id/microsoft-integration',
    summary: "Read a portal's Microsoft integration (never its secret)",
    access: SUBTREE,
    params: byId,
    response: integrationSchema,
    success: { status: 200, description: 'The integration, without its secret' },
    errors: [400, 404],
    handler: async (c, { params }) => getIntegration(c.env.DB, c.var.principal, params.id),
  })

  routes.add({
    method: 'delete',
    path: '/orgs/:id/microsoft-integration',
    summary: "Remove a portal's integration: its hosts sign in with the provider's app again",
    access: SUBTREE,
    params: byId,
    success: { status: 204, description: 'Removed' },
    errors: [400, 404],
    handler: async (c, { params }) => {
      await deleteIntegration(c.env.DB, c.var.config, redirectUrisOf(c.env), c.var.principal, params.id, Date.now())
    },
  })
}
