import { readSignInLog, signInLogQuerySchema, signInLogSchema } from '../../audit/sign-in-log'
import { byId, SUBTREE } from '../params'
import type { AdminRoutes } from '../registry'

export function signInRoutes(routes: AdminRoutes): void {
  routes.add({
    method: 'get',
    path: '/orgs/:id/sign-in-attempts',
    summary:
      "Read an organization's sign-in log (a partner's includes its customers'), newest first, 50 a page: result, reason, host, user, phone system",
    access: SUBTREE,
    params: byId,
    query: signInLogQuerySchema,
    response: signInLogSchema,
    success: { status: 200, description: '{attempts, nextCursor}' },
    errors: [400, 404],
    handler: async (c, { params, query }) => readSignInLog(c.env.DB, c.var.principal, params.id, query),
  })
}
