/**
 * The admin Worker's routes (ARCHITECTURE §1), all on the primary host: the
 * admin API (`/api/v1`), the console (`/admin`) and the tenant proof
 * (`/connect/*`). Its scheduled jobs and the `EntraAppRegistrar` Durable
 * Object are exported by the entries (admin-worker.ts, index.ts).
 */
import { adminApi } from '../admin/index'
import { connectRoutes } from '../connect/routes'
import { consoleApp } from '../console/app'
import type { Mount } from './chain'

export const mountAdmin: Mount = (app) => {
  app.route('/api/v1', adminApi)
  app.route('/admin', consoleApp)
  app.route('/', connectRoutes)
}
