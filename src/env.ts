import type { SecretName } from './secrets'

/** The secrets (`secrets.ts`: the one list), each unset until ops set it; `config.ts` says which is missing. */
type Secrets = { [Name in SecretName]?: string }

/**
 * The Worker's bindings: D1, wrangler vars and secrets (ARCHITECTURE §5).
 * Values arrive as strings and are validated once by `config.ts`; nothing else
 * reads them raw. wrangler.toml declares the same bindings and vars in every
 * environment: `npm run typecheck` compares this interface with the types
 * `wrangler types` generates from it (`src/env.check.ts`).
 */
export interface Env extends Secrets {
  DB: D1Database
  /** One Durable Object per Entra app: serializes changes to its redirect URIs (`hostnames/registrar.ts`). */
  REDIRECT_URIS: DurableObjectNamespace
  /** One Durable Object per sign-in flow past its callback: single-use transitions (`signin/flow-object.ts`). */
  SIGNIN_FLOWS: DurableObjectNamespace
  PRIMARY_HOST: string
  PROVIDER_ZONE?: string
  PROVIDER_DISPLAY_NAME?: string
  /** `https` (default) or, for wrangler dev on loopback names only, `http`. */
  PUBLIC_SCHEME?: string
  /** wrangler dev's port, appended to every URL the gateway builds (development only). */
  PUBLIC_PORT?: string
  ENTRA_AUTHORITY?: string
  ENTRA_CLIENT_ID?: string
  /** Tenant where the provider's app is registered (for redirect URI registration through Graph). */
  ENTRA_HOME_TENANT_ID?: string
  /** Timeout of each request to Entra, ms (default 10000). */
  ENTRA_TIMEOUT_MS?: string
  CUSTOM_HOSTNAMES?: string
  CLOUDFLARE_API_BASE?: string
  CLOUDFLARE_ZONE_ID?: string
  /** What custom domains must be a CNAME to (the SaaS zone's fallback origin); the diagnosis checks it. */
  CUSTOM_HOSTNAME_CNAME_TARGET?: string
  /** DNS over HTTPS JSON endpoint the diagnosis reads DNS through (default https://cloudflare-dns.com/dns-query). */
  DOH_URL?: string
  GRAPH_BASE?: string
  HOST_CACHE_TTL_SECONDS?: string
  /** The console's ops staff: comma-separated `tid:oid` pairs of Entra users who reach every organization. */
  OPS_ADMINS?: string
  /** Hours between scheduled syncs of a phone system (default 6). */
  SYNC_INTERVAL_HOURS?: string
  /** Days a sign-in attempt row is kept (default 90). */
  SIGN_IN_ATTEMPTS_RETENTION_DAYS?: string
  /** Rate limit per client IP on `/sso/*` and `/connect/*` (`[[ratelimits]]` in wrangler.toml). */
  SIGNIN_RATE_LIMIT: RateLimit
  /** Rate limit on the admin API: per client address, then per organization (`[[ratelimits]]`). */
  ADMIN_RATE_LIMIT: RateLimit
  /**
   * The sign-in audit queue (`[[queues.producers]]`): steps send their rows, this Worker consumes them and
   * checks each (`audit/queue-consumer.ts`), so the binding needs no message type.
   */
  SIGNIN_AUDIT: Queue
  /**
   * Scheduled syncs (`sync/fleet-queue.ts`): the cron sends one message per due phone system, the
   * admin Worker's consumer syncs them. Only the admin Worker binds it (the sign-in Worker has no cron).
   */
  SYNC_JOBS?: Queue
  /** Workers Analytics Engine dataset (`[[analytics_engine_datasets]]`): sign-ins, syncs, hostname changes. */
  METRICS?: AnalyticsEngineDataset
}
