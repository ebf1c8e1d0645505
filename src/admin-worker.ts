/**
 * The admin Worker, deployed (wrangler.admin.toml): on the primary host only,
 * `/api/*` (admin API), `/admin*` (console) and `/connect/*` (tenant proof),
 * whose routes are more specific than the sign-in Worker's; the cron; the
 * consumers of the sign-in audit queue and of the sync queue (SYNC_JOBS); the
 * `EntraAppRegistrar` Durable Object. Locally, src/index.ts runs it together
 * with the sign-in Worker as one.
 */
import type { AppEnv } from './http/context'
import { adminBackground, mountAdmin } from './workers/admin'
import { gatewayApp } from './workers/chain'

const app = gatewayApp('whole', mountAdmin)

/** The Durable Object class behind REDIRECT_URIS (wrangler.admin.toml): Workers find it among the main module's exports. */
export { EntraAppRegistrar } from './hostnames/registrar'

export default {
  fetch: app.fetch,
  ...adminBackground,
} satisfies ExportedHandler<AppEnv['Bindings'], unknown>
