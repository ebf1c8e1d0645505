import * as z from 'zod/mini'
import { healthOf } from '../../ops/health'
import type { AdminRoutes } from '../registry'

export function healthRoutes(routes: AdminRoutes): void {
  routes.add({
    method: 'get',
    path: '/health',
    summary:
      'The ops health view: configuration, D1, the last run of every scheduled job, the Entra client secret expiry (warned 30 days ahead), the signing keys and their ages',
    access: 'ops',
    response: z.looseObject({
      status: z.enum(['ok', 'warning', 'unavailable']),
      warnings: z.array(z.string()),
    }),
    success: {
      status: 200,
      description: '{status, warnings, configuration, database, scheduled, entraClientSecret, signingKeys}',
    },
    errors: [403],
    handler: (c) =>
      healthOf(c.env.DB, c.var.config, c.var.principal, { metrics: c.env.METRICS !== undefined }, Date.now()),
  })
}
