import { auditPageSchema, auditQuerySchema, readAuditLog } from '../../audit/read'
import { SUBTREE } from '../params'
import type { AdminRoutes } from '../registry'

export function auditRoutes(routes: AdminRoutes): void {
  routes.add({
    method: 'get',
    path: '/audit-log',
    summary: 'Read the audit log of admin changes, newest first',
    access: SUBTREE,
    query: auditQuerySchema,
    response: auditPageSchema,
    success: { status: 200, description: '{entries, nextCursor}' },
    errors: [400, 404],
    handler: async (c, { query }) => readAuditLog(c.env.DB, c.var.principal, query),
  })
}
