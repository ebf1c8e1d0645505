import type { ContentfulStatusCode } from 'hono/utils/http-status'

/**
 * Every error the gateway answers on purpose. `code` is stable (clients and
 * tests match on it), `message` is safe to show on the wire, `cause` stays
 * internal and only reaches the log.
 */
export const ERROR_CODES = {
  // Admin API
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  invalid_json: 400,
  invalid_request: 400,
  invalid_hostname: 400,
  primary_host_reserved: 400,
  hostname_reserved: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  hostname_taken: 409,
  flat_customer_cannot_own_hostname: 409,
  conflict: 409,
  hostname_taken_elsewhere: 409,
  // DESIGN 5: every Cloudflare failure answers 502 (a duplicate elsewhere 409).
  cloudflare_refused: 502,
  cloudflare_auth: 502,
  cloudflare_unavailable: 502,
  cloudflare_rate_limited: 502,
  cloudflare_timeout: 502,
  redirect_uri_limit: 409,
  graph_not_configured: 502,
  graph_permission: 502,
  graph_unavailable: 502,
  graph_throttled: 503,
  graph_timeout: 504,
  // DESIGN 5: any failed or partial pull answers 502/503/504.
  sync_app_not_installed: 502,
  sync_too_large: 502,
  // Browser pages
  host_not_found: 404,
  host_invalid: 400,
  host_not_ready: 503,
  page_not_found: 404,
  // Sign-in
  no_phone_systems: 503,
  flow_invalid: 400,
  tenant_not_allowed: 403,
  not_listed: 403,
  choice_invalid: 403,
  entra_access_denied: 403,
  entra_consent_required: 403,
  entra_wrong_tenant: 403,
  entra_app_not_in_tenant: 403,
  entra_not_assigned: 403,
  entra_conditional_access: 403,
  entra_code_rejected: 400,
  entra_redirect_uri: 400,
  entra_client_secret: 502,
  entra_error: 502,
  entra_unavailable: 502,
  entra_timeout: 504,
  id_token_invalid: 502,
  // Both
  misconfigured: 500,
  database_unavailable: 503,
  internal: 500,
} as const satisfies Record<string, ContentfulStatusCode>

export type ErrorCode = keyof typeof ERROR_CODES

export interface AppErrorOptions {
  cause?: unknown
  /** Field the error is about, for the admin API (`users[3].oid`). */
  field?: string
  /** Extra response headers (e.g. `Retry-After`). */
  headers?: Record<string, string>
  /** Pages: where "Start again" leads (the login page of the host the sign-in began on). */
  retryHref?: string
  /** Pages: a safe detail worth quoting to an administrator, e.g. "Microsoft error AADSTS50105". */
  detail?: string
}

export class AppError extends Error {
  override readonly name = 'AppError'
  readonly status: ContentfulStatusCode
  readonly field: string | undefined
  readonly headers: Record<string, string>
  readonly retryHref: string | undefined
  readonly detail: string | undefined

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.status = ERROR_CODES[code]
    this.field = options.field
    this.headers = options.headers ?? {}
    this.retryHref = options.retryHref
    this.detail = options.detail
  }
}

/** Configuration that cannot work; the message names the variable and what is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}
