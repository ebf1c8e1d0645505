/**
 * The admin Worker's routes (ARCHITECTURE §1), all on the primary host: the
 * admin API (`/api/v1`), the console (`/admin`), the tenant proof
 * (`/connect/*`) and SCIM provisioning (`/scim/v2`, src/scim/); its handlers beyond fetch (the cron, the sign-in audit
 * queue's consumer). The `EntraAppRegistrar` Durable Object is exported by
 * the entries (admin-worker.ts, index.ts).
 */
import { adminApi } from '../admin/index'
import { consumeSignInAudit } from '../audit/queue-consumer'
import { getConfig } from '../config'
import { connectRoutes } from '../connect/routes'
import { consoleApp } from '../console/app'
import { redirectUrisOf } from '../hostnames/redirect-uris'
import type { AppEnv } from '../http/context'
import { runScheduledJobs } from '../jobs/scheduled'
import { scimApp } from '../scim/routes'
import { consumeSyncJobs, SYNC_QUEUES } from '../sync/fleet-queue'
import type { Mount } from './chain'

export const mountAdmin: Mount = (app) => {
  app.route('/api/v1', adminApi)
  app.route('/admin', consoleApp)
  app.route('/', connectRoutes)
  app.route('/scim/v2', scimApp)
}

/**
 * What the admin Worker runs besides requests: the cron's jobs, and its two queues' consumers, told
 * apart by the queue's name: scheduled syncs (SYNC_JOBS) and the sign-in audit into D1.
 */
export const adminBackground = {
  scheduled(_controller, env, ctx) {
    runScheduledJobs(env, ctx)
  },
  async queue(batch, env) {
    if (SYNC_QUEUES.includes(batch.queue)) {
      await consumeSyncJobs(batch, env, getConfig(env), redirectUrisOf(env))
      return
    }
    return consumeSignInAudit(batch, env)
  },
} satisfies Pick<ExportedHandler<AppEnv['Bindings'], unknown>, 'scheduled' | 'queue'>
