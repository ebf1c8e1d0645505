/**
 * Which Entra authority a sign-in goes to, and which issuer its ID token must
 * carry. Pure.
 *
 * @see https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
 * @see https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-the-issuer
 */

import { isGuid } from '../lib/ids'

/** The multi-tenant authority segment. Never `common`: that would also admit personal Microsoft accounts. */
export const MULTI_TENANT = 'organizations'

/**
 * The tenant to send a sign-in to: the one Entra tenant of the phone systems
 * reachable from the host, else `organizations`.
 */
export function authorityTenant(tenantIds: readonly string[]): string {
  const distinct = new Set(tenantIds.map((t) => t.toLowerCase()))
  if (distinct.size === 1) {
    const [only] = distinct
    if (isGuid(only)) return only
  }
  return MULTI_TENANT
}

/** The issuer a discovery document for `tenant` must publish (a template on `organizations`). */
export function discoveryIssuer(authority: string, tenant: string): string {
  return `${authority}/${isGuid(tenant) ? tenant : '{tenantid}'}/v2.0`
}

/**
 * The issuer an ID token must carry: for a tenant authority exactly
 * `{authority}/{tenant}/v2.0`; for `organizations` the template with the
 * token's own `tid`, which must then be a GUID. Never loosened: a token
 * without a usable `tid` gets an issuer no token can have.
 */
export function expectedTokenIssuer(authority: string, tenant: string, tokenTid: unknown): string {
  if (isGuid(tenant)) return `${authority}/${tenant}/v2.0`
  if (!isGuid(tokenTid)) return 'urn:invalid:issuer-without-tenant'
  return `${authority}/${tokenTid}/v2.0`
}
