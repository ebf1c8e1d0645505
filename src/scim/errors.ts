/**
 * SCIM's error answers (RFC 7644 §3.12): `{schemas: [Error], status: "400",
 * scimType?, detail}` with the HTTP status, as `application/scim+json`,
 * `Cache-Control: no-store`. Entra's provisioning service reads `status` and
 * `scimType` (a 409 `uniqueness` makes it match instead of retrying).
 *
 * @see https://datatracker.ietf.org/doc/html/rfc7644#section-3.12
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status'

export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error'
export const SCIM_CONTENT_TYPE = 'application/scim+json'

/** The `scimType` values of RFC 7644 §3.12 the gateway answers. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'

export class ScimError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly detail: string,
    readonly scimType?: ScimType,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail)
    this.name = 'ScimError'
  }
}

export const invalidValue = (detail: string) => new ScimError(400, detail, 'invalidValue')
export const invalidFilter = (detail: string) => new ScimError(400, detail, 'invalidFilter')
export const invalidPath = (detail: string) => new ScimError(400, detail, 'invalidPath')
export const notFound = (what: string) => new ScimError(404, `${what} not found`)

/** The body of an error answer. */
export function scimErrorBody(error: ScimError): Record<string, unknown> {
  return {
    schemas: [SCIM_ERROR_SCHEMA],
    status: String(error.status),
    ...(error.scimType ? { scimType: error.scimType } : {}),
    detail: error.detail,
  }
}
