/**
 * What a request carries through Hono's context, typed once for the whole
 * app. Every type here comes from a lower layer (tenancy, access, audit), so
 * the modules that read the context never import each other through it.
 */

import type { Acting, ConsoleSession, Membership } from '../access/membership'
import type { Principal } from '../access/principal'
import type { AttemptFacts } from '../audit/sign-in-attempts'
import type { Config } from '../config'
import type { Env } from '../env'
import type { Site } from '../tenancy/site'

export interface AppVariables {
  config: Config
  /** Shown on error pages and in every log line of the request. */
  correlationId: string
  /** When the request arrived (ms since the epoch), for its duration in the request log and the metrics. */
  receivedAt: number
  /** The error code a failed request ended with (`http/render.tsx`), for the request log. */
  outcome: string
  /** More fields for the request's log line (the sign-in step's, `signin/attempts.ts`). */
  logFields: Record<string, unknown>
  /** The request's D1 read session, once `http/read-session.ts` opened it (reads only). */
  readSession: D1DatabaseSession
  /** The host's site, once `hosts/middleware.ts` resolved it. */
  site: Site
  /** Set once a request is known to be an admin API call: errors answer JSON. */
  api: boolean
  /** The admin API's caller, once authenticated. */
  principal: Principal
  /** What the sign-in audit records for this request (`signin/attempts.ts`). */
  attempt: AttemptFacts
  /** Where an error page's "Start again" leads (the login page a sign-in began on, a connect link), once known. */
  retryHref: string
  /** The console's session, once `console/app.tsx` found one. */
  session: ConsoleSession
  /** The console user's staff memberships. */
  memberships: Membership[]
  /** A console form's fields (POST only), read within the form limit and checked for the CSRF token. */
  form: URLSearchParams
  /** Under `/admin/orgs/:orgId`: the organization, and the principal and role the user acts as there. */
  acting: Acting
}

export type AppEnv = { Bindings: Env; Variables: AppVariables }
