import type { D1Migration } from 'cloudflare:test'
import type { Env as GatewayEnv } from '../src/env'

declare global {
  namespace Cloudflare {
    interface Env extends GatewayEnv {
      TEST_MIGRATIONS: D1Migration[]
      /** 3 requests a minute per key: the rate-limit tests put it in place of the real bindings. */
      TIGHT_RATE_LIMIT: RateLimit
    }
  }
}

/** Vite's `?raw` imports (a document read as text by a test). */
declare module '*?raw' {
  const text: string
  export default text
}
