/**
 * What a sign-in attempt's reason means to the admin reading the sign-in
 * log, once: the code in plain words and, for a failure, what the user was
 * told to do (the error page's own action, `errors.ts`) and where in the
 * console the admin fixes it. Pure: the page renders it, tests read it.
 */
import { ERRORS, type ErrorCode, errorSpec } from '../errors'

/** The console page of the attempt's organization where a failure is fixed. */
export type FixPage = '/phone-systems' | '/hostnames'

export interface ReasonExplained {
  code: string
  /** In plain words, about the user (third person: the admin reads it). */
  label: string
  /** A failure's remedy as its error page words it for the user. */
  action: string | null
  /** The admin's part, when there is one in the console: the page and the link's words. */
  fix: { page: FixPage; label: string } | null
}

const PHONE_SYSTEMS_LIST = { page: '/phone-systems', label: "Check the phone system's SSO list, then Sync" } as const
const CONNECT = { page: '/phone-systems', label: "Connect the phone system's Microsoft 365 (admin consent)" } as const

interface Known {
  label: string
  fix?: { page: FixPage; label: string }
}

/** Outcomes that are not failures: the steps of a sign-in that went on. */
const STEPS: Record<string, Known> = {
  handoff: { label: 'Signed in: handed off to the phone system' },
  chooser: { label: 'Shown the choice of phone systems' },
  central_callback: { label: 'Back from Microsoft, continuing on the sign-in host' },
  console: { label: 'Signed in to the console' },
}

/** The failures a sign-in meets after Microsoft answered (the steps the log keeps). */
const FAILURES: Partial<Record<ErrorCode, Known>> = {
  not_listed: { label: 'Not on the SSO list of any phone system here', fix: PHONE_SYSTEMS_LIST },
  tenant_not_allowed: {
    label: 'Tenant not allowed: their Microsoft 365 organization has no phone system here',
    fix: { page: '/phone-systems', label: "Add a phone system for the user's tenant, or connect its Microsoft 365" },
  },
  entra_consent_required: {
    label: 'Admin consent missing in their Microsoft 365',
    fix: CONNECT,
  },
  entra_app_not_in_tenant: { label: 'The sign-in app is not installed in their Microsoft 365', fix: CONNECT },
  entra_not_assigned: {
    label: 'Not assigned to the sign-in app in their Microsoft 365',
    fix: PHONE_SYSTEMS_LIST,
  },
  host_not_connected: { label: "Microsoft 365 of this host's phone systems is not connected yet", fix: CONNECT },
  no_phone_systems: {
    label: 'No phone system serves this sign-in host',
    fix: { page: '/phone-systems', label: 'Add a phone system' },
  },
  entra_redirect_uri: {
    label: 'Microsoft does not know this host as a sign-in address',
    fix: { page: '/hostnames', label: "Check the hostname's callback (redirect URI)" },
  },
  choice_invalid: { label: 'Chose a phone system they were not offered' },
  flow_invalid: { label: 'The sign-in expired, was used twice, or moved to another browser' },
  entra_access_denied: { label: 'Cancelled at Microsoft, or access denied' },
  entra_wrong_tenant: { label: 'Signed in with an account of another organization' },
  entra_conditional_access: { label: "Blocked by a Conditional Access policy of the user's organization" },
  entra_code_rejected: { label: "Microsoft refused the sign-in's one-time code" },
  entra_client_secret: { label: "Microsoft refused the gateway's credentials (the provider must renew them)" },
  entra_error: { label: 'Microsoft answered with an error' },
  entra_unavailable: { label: 'Microsoft sign-in did not answer' },
  entra_timeout: { label: 'Microsoft sign-in took too long to answer' },
  id_token_invalid: { label: "Microsoft's answer failed the gateway's checks" },
  rate_limited: { label: "Too many requests from the user's network" },
  database_unavailable: { label: "The gateway's database did not answer" },
  flow_store_unavailable: { label: "The sign-in's flow store did not answer" },
  internal: { label: 'The gateway failed unexpectedly' },
}

const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERRORS, code)

export function explainReason(code: string): ReasonExplained {
  const step = Object.hasOwn(STEPS, code) ? STEPS[code] : undefined
  if (step) return { code, label: step.label, action: null, fix: null }
  if (!isErrorCode(code)) return { code, label: code, action: null, fix: null }
  const known = FAILURES[code]
  const page = errorSpec(code).page
  return { code, label: known?.label ?? page.title, action: page.action ?? null, fix: known?.fix ?? null }
}

/**
 * The reasons an organization's log filter offers: the steps, then the
 * failures, each by its words. Console sign-ins happen on the primary host,
 * which belongs to no organization, so no organization's log has them.
 */
export const FILTER_REASONS: ReadonlyArray<{ code: string; label: string }> = [
  ...Object.entries(STEPS)
    .filter(([code]) => code !== 'console')
    .map(([code, known]) => ({ code, label: known.label })),
  ...Object.entries(FAILURES).map(([code, known]) => ({ code, label: known!.label })),
]
