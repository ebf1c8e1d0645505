import type { Principal } from './admin/audit'
import type { Config } from './config'
import type { Env } from './env'
import type { Site } from './hosts/resolve'
import type { AttemptFacts } from './signin/audit'

export interface AppVariables {
  config: Config
  /** Shown on error pages and in every log line of the request. */
  correlationId: string
  site: Site
  /** Set once a request is known to be an admin API call: errors answer JSON. */
  api: boolean
  principal: Principal
  /** What the sign-in audit records for this request (signin/audit.ts). */
  attempt: AttemptFacts
}

export type AppEnv = { Bindings: Env; Variables: AppVariables }
