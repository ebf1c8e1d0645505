/**
 * The sign-in Worker, deployed (wrangler.toml [env.production], [env.staging]):
 * every host's login page and `/sso/*`, the JWKS, `/healthz`. What sign-in
 * does not need (admin API, console, tenant proof, cron, the Graph client
 * behind `EntraAppRegistrar`) is in the admin Worker (admin-worker.ts), so
 * this bundle stays small and starts fast (`npm run test:bundle` holds it
 * under 80 KiB gzip). Locally, src/index.ts runs both as one Worker.
 */

import type { AppEnv } from './http/context'
import { gatewayApp } from './workers/chain'
import { mountSignIn } from './workers/sign-in'

const app = gatewayApp('sign-in', mountSignIn)

/** The Durable Object class behind SIGNIN_FLOWS (wrangler.toml): one sign-in flow each, this Worker's own. */
export { SignInFlow } from './signin/flow-object'

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<AppEnv['Bindings']>
