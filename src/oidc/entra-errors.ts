/**
 * Entra's error answers mapped to our error codes, each with its own page
 * that says what happened and what to do. Only the AADSTS number and the
 * OAuth error name are ever shown, never Entra's free text, which arrives in
 * the URL and could be anybody's.
 *
 * @see https://learn.microsoft.com/entra/identity-platform/reference-error-codes
 */
import type { ErrorCode } from '../errors'

const AADSTS = /AADSTS(\d{4,7})/

export function aadstsCode(description: string | null | undefined): number | null {
  const match = description ? AADSTS.exec(description) : null
  return match ? Number(match[1]) : null
}

const BY_AADSTS: Record<number, ErrorCode> = {
  65001: 'entra_consent_required',
  65004: 'entra_access_denied',
  90094: 'entra_consent_required',
  50020: 'entra_wrong_tenant',
  700016: 'entra_app_not_in_tenant',
  // Client credentials of a multi-tenant app nobody installed in the tenant (no service principal there).
  7000229: 'entra_app_not_in_tenant',
  50105: 'entra_not_assigned',
  53003: 'entra_conditional_access',
  54005: 'entra_code_rejected',
  501481: 'entra_code_rejected',
  70008: 'entra_code_rejected',
  7000215: 'entra_client_secret',
  7000222: 'entra_client_secret',
  50011: 'entra_redirect_uri',
}

/** Our code for an Entra error (`error` + `error_description`), from the callback or the token endpoint. */
export function entraErrorCode(error: string | null, description: string | null): ErrorCode {
  const aadsts = aadstsCode(description)
  if (aadsts !== null && BY_AADSTS[aadsts]) return BY_AADSTS[aadsts]
  if (error === 'access_denied') return 'entra_access_denied'
  if (error === 'consent_required' || error === 'interaction_required') return 'entra_consent_required'
  if (error === 'invalid_client') return 'entra_client_secret'
  if (error === 'temporarily_unavailable' || error === 'server_error') return 'entra_unavailable'
  return 'entra_error'
}

/** A detail safe to print: the OAuth error name and the AADSTS number, both checked against a strict pattern. */
export function entraErrorDetail(error: string | null, description: string | null): string {
  const name = error && /^[a-z_]{1,64}$/.test(error) ? error : 'error'
  const aadsts = aadstsCode(description)
  return aadsts === null ? `Microsoft answered "${name}"` : `Microsoft error AADSTS${aadsts} (${name})`
}
