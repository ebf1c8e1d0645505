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
  custom_hostnames_unavailable: 501,
  // Browser pages
  host_not_found: 404,
  host_invalid: 400,
  host_not_ready: 503,
  page_not_found: 404,
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
}

export class AppError extends Error {
  override readonly name = 'AppError'
  readonly status: ContentfulStatusCode
  readonly field: string | undefined
  readonly headers: Record<string, string>

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.status = ERROR_CODES[code]
    this.field = options.field
    this.headers = options.headers ?? {}
  }
}

/** Configuration that cannot work; the message names the variable and what is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}
