/**
 * The combined Worker: both deployed Workers' routes on the one chain
 * (workers/chain.ts), for everything local: tests (vitest runs wrangler.toml's
 * top-level `main`), `npm start` and the browser tests, one process. Deployed,
 * the same routes run as two Workers: sign-in-worker.ts and admin-worker.ts
 * (ARCHITECTURE §1). The cron runs `jobs/scheduled.ts`, the queue consumers
 * `audit/queue-consumer.ts` and `sync/fleet-queue.ts`.
 */
import type { AppEnv } from './http/context'
import { adminBackground, mountAdmin } from './workers/admin'
import { gatewayApp } from './workers/chain'
import { mountSignIn } from './workers/sign-in'

const app = gatewayApp('whole', mountAdmin, mountSignIn)

/** The Durable Object class behind REDIRECT_URIS (wrangler.toml): Workers find it among the main module's exports. */
export { EntraAppRegistrar } from './hostnames/registrar'
/** The Durable Object class behind SIGNIN_FLOWS: one sign-in flow each. */
export { SignInFlow } from './signin/flow-object'
export { app }

export default {
  fetch: app.fetch,
  ...adminBackground,
} satisfies ExportedHandler<AppEnv['Bindings'], unknown>
