import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** What a browser is told about an error: what happened and what to do. */
export interface PageCopy {
  title: string
  message: string
  action?: string
  /** Shows the tenant's branding; false for pages that must not reveal a tenant. */
  branded: boolean
  /** Whether a correlation id helps anyone (not on a plain 404). */
  reference: boolean
  /** Offers "Start again" on the login page the sign-in began on, when the request knows it. */
  retry?: boolean
}

export interface ErrorSpec {
  status: ContentfulStatusCode
  /** Failures an operator must hear about, and how loudly; absent: an answer working as designed. */
  log?: 'warn' | 'error'
  page: PageCopy
}

const NOT_FOUND: PageCopy = {
  title: 'Page not found',
  message: 'There is nothing at this address.',
  action: 'Check the address, or use the sign-in link your administrator gave you.',
  branded: false,
  reference: false,
}

const UNAVAILABLE: PageCopy = {
  title: 'Sign-in is temporarily unavailable',
  message: 'The sign-in service could not complete your request just now.',
  action:
    'Please try again in a minute. If it keeps happening, contact your administrator and quote the reference below.',
  branded: false,
  reference: true,
}

/** Errors of the administration surface: whoever meets them on a page is an administrator. */
const refused = (title: string, message: string, action?: string): PageCopy => ({
  title,
  message,
  ...(action ? { action } : {}),
  branded: false,
  reference: true,
})

/** An upstream (Cloudflare, Microsoft Graph) failed: nothing was changed. */
const UPSTREAM = refused(
  'A service the gateway depends on failed',
  'Cloudflare or Microsoft did not complete the request; nothing was changed.',
  'Try again in a few minutes. If it keeps happening, contact the provider and quote the reference below.',
)

const signIn = (title: string, message: string, action: string): PageCopy => ({
  title,
  message,
  action,
  branded: true,
  reference: true,
  retry: true,
})

/**
 * Every error the gateway answers on purpose: its status, whether ops hear
 * about it, and the page a browser sees. `code` is stable (clients and tests
 * match on it). A new code without a status, a page or a log decision does
 * not type-check.
 */
export const ERRORS = {
  // ---------------------------------------------------------------- requests to the admin API
  unauthorized: {
    status: 401,
    page: refused('Sign-in required', 'This request needs a valid API key or an administrator session.'),
  },
  forbidden: { status: 403, page: refused('Not allowed', 'Your access does not allow this.') },
  not_found: { status: 404, page: NOT_FOUND },
  method_not_allowed: { status: 405, page: refused('Not allowed', 'This address does not accept this method.') },
  invalid_json: { status: 400, page: refused('Bad request', 'The request body is not valid JSON.') },
  invalid_request: { status: 400, page: refused('Bad request', 'Something in the request is not valid.') },
  invalid_hostname: { status: 400, page: refused('Bad request', 'That is not a hostname that can be attached.') },
  primary_host_reserved: {
    status: 400,
    page: refused('Bad request', "The provider's primary login host cannot be attached."),
  },
  hostname_reserved: {
    status: 400,
    page: refused('Bad request', "That name is reserved for the provider's own services."),
  },
  unsupported_media_type: { status: 415, page: refused('Bad request', 'The request body must be JSON.') },
  payload_too_large: { status: 413, page: refused('Request too large', 'The request body is too large.') },
  rate_limited: {
    status: 429,
    page: {
      title: 'Too many requests',
      message: 'Too many requests came from your network in the last minute.',
      action: 'Wait a minute, then try again.',
      branded: true,
      reference: true,
      retry: true,
    },
  },
  hostname_taken: {
    status: 409,
    page: refused('Already attached', 'This hostname is already attached to an organization.'),
  },
  flat_customer_cannot_own_hostname: {
    status: 409,
    page: refused(
      'Not possible for a flat customer',
      "A flat customer lives inside its partner's portal and cannot own a hostname or its own Microsoft integration.",
      'Move the customer to a nested portal of its own first (POST /api/v1/orgs/{id}/move).',
    ),
  },
  already_nested: {
    status: 409,
    page: refused(
      'Already a portal of its own',
      'This customer is nested already: it has its own portal. Only a flat customer can be moved.',
    ),
  },
  partner_cannot_move: {
    status: 409,
    page: refused(
      'A partner cannot be moved',
      'A partner is a portal already; only a flat customer can be moved to a nested portal.',
    ),
  },
  no_transition: {
    status: 409,
    page: refused(
      "Not served by its partner's hosts",
      "This organization is not in a move's transition: its partner's hosts do not serve it, so there is nothing to end.",
    ),
  },
  staff_exists: {
    status: 409,
    page: refused('Already staff', 'This user is already staff of this organization.', 'Change their role instead.'),
  },
  self_lockout: {
    status: 409,
    page: refused(
      'That would lock you out',
      'This staff record is what makes you an admin of this organization: removing it or making it a viewer would take away your own access.',
      'Ask another admin of this organization, its partner or the provider to do it.',
    ),
  },
  not_staff: {
    status: 403,
    page: refused(
      'No access to the console',
      'You signed in with Microsoft, but your account is not staff of any organization in this console.',
      "Ask an admin of your organization's console (your partner, or the provider) to add you as staff by your user principal name. Then sign in again.",
    ),
  },
  session_expired: {
    status: 401,
    page: refused(
      'Your console session has ended',
      'You signed out, were idle for 30 minutes, or signed in more than 8 hours ago.',
      'Sign in again.',
    ),
  },
  conflict: { status: 409, page: refused('Changed meanwhile', 'Something changed at the same time.', 'Try again.') },
  tenant_claimed: {
    status: 409,
    page: refused(
      'Tenant already connected elsewhere',
      "This Microsoft 365 tenant is already connected to another partner's organizations.",
      'If it really belongs here, ask the provider to release it.',
    ),
  },
  tenant_not_connected: {
    status: 409,
    page: refused(
      'Microsoft 365 is not connected yet',
      "This phone system's Microsoft 365 tenant has not been connected by one of its administrators.",
      'Create a connect link and send it to an administrator of the tenant (Connect Microsoft 365).',
    ),
  },
  client_id_in_use: {
    status: 409,
    page: refused(
      'This Entra app is already in use',
      "The app (client id) is the provider's own, or another portal's Microsoft integration already uses it.",
      'Register an app of your own in Microsoft Entra ID and use its client id.',
    ),
  },
  hostname_taken_elsewhere: {
    status: 409,
    page: refused('Already in use', 'This hostname already exists at Cloudflare, in this zone or in another account.'),
  },
  // ARCHITECTURE §5: every Cloudflare failure answers 502 (a duplicate elsewhere 409).
  cloudflare_refused: { status: 502, page: UPSTREAM },
  cloudflare_auth: { status: 502, log: 'error', page: UPSTREAM },
  cloudflare_unavailable: { status: 502, page: UPSTREAM },
  cloudflare_rate_limited: { status: 502, page: UPSTREAM },
  cloudflare_timeout: { status: 502, page: UPSTREAM },
  redirect_uri_limit: {
    status: 409,
    page: refused(
      'Too many redirect URIs',
      "The Entra app already has Entra's maximum of 256 redirect URIs.",
      'Use the central callback for this hostname.',
    ),
  },
  graph_not_configured: { status: 502, page: UPSTREAM },
  graph_permission: {
    status: 502,
    page: refused(
      'Microsoft 365 refused the permission',
      "Microsoft Graph refused the gateway's app in this Microsoft 365 tenant; nothing was changed.",
      "An administrator of that tenant must grant consent again: create a connect link (Connect Microsoft 365) and send it to them, or redo the integration's Reprovision Account step.",
    ),
  },
  graph_unavailable: { status: 502, page: UPSTREAM },
  graph_throttled: { status: 503, page: UPSTREAM },
  graph_timeout: { status: 504, page: UPSTREAM },
  // ARCHITECTURE §5: any failed or partial pull answers 502/503/504.
  sync_app_not_installed: { status: 502, page: UPSTREAM },
  // ARCHITECTURE §8: the cap is refused while pulling; the list stays as it was.
  sync_too_large: {
    status: 422,
    page: refused(
      'Too many users to sync',
      "The phone system's list in Microsoft 365 has more users than one SSO list may hold (50,000); nothing was changed.",
      'Sync from a group with fewer members, or assign fewer users to the sign-in app.',
    ),
  },
  // A SCIM-pushed list (src/scim/) has no Graph pull to run, and no other writer.
  too_many_scim_tokens: {
    status: 409,
    page: refused(
      'Too many SCIM tokens',
      'This phone system already has as many active SCIM tokens as it may have.',
      'Revoke one that is no longer used (Entra keeps only the one in its provisioning settings), then create the new one.',
    ),
  },
  list_pushed_by_scim: {
    status: 409,
    page: refused(
      'This list is pushed by SCIM',
      "This phone system's SSO list is pushed by Microsoft Entra's provisioning (SCIM): Sync does not pull it, and it cannot be replaced here.",
      "Change it in Microsoft Entra (the enterprise app's users and groups), or choose app assignments or a group as the Sync source first.",
    ),
  },
  sync_in_progress: {
    status: 409,
    page: refused(
      'Sync already under way',
      'A sync of this phone system is already running; nothing was started.',
      'Wait for it to finish, then look at its result.',
    ),
  },
  // ---------------------------------------------------------------- hosts and pages
  host_not_found: { status: 404, page: NOT_FOUND },
  page_not_found: { status: 404, page: NOT_FOUND },
  host_invalid: {
    status: 400,
    page: {
      title: 'Bad request',
      message: 'This address is not a valid host name.',
      action: 'Check the address, or use the sign-in link your administrator gave you.',
      branded: false,
      reference: false,
    },
  },
  host_not_ready: {
    status: 503,
    page: {
      title: 'This domain is being set up',
      message: 'Sign-in on this address is not available yet: its administrator is still connecting it.',
      action: 'Try again later, or use the sign-in link your administrator gave you until then.',
      branded: false,
      reference: false,
    },
  },
  // ---------------------------------------------------------------- sign-in
  no_phone_systems: {
    status: 503,
    page: {
      title: 'Sign-in is not set up here yet',
      message: 'No phone system is connected to this sign-in page yet.',
      action: 'Your administrator must add a phone system to this organization and sync its Microsoft 365 users.',
      branded: true,
      reference: true,
    },
  },
  host_not_connected: {
    status: 503,
    page: {
      title: 'Microsoft 365 is not connected yet',
      message: "This organization's Microsoft 365 has not been connected to its phone system yet.",
      action:
        "An administrator of the organization's Microsoft 365 must open the connect link the phone system's provider sent them. Until then, nobody can sign in here.",
      branded: true,
      reference: true,
    },
  },
  flow_invalid: {
    status: 400,
    page: signIn(
      'This sign-in has expired',
      'This sign-in link has expired, was already used, or was opened in another browser.',
      'Start again from your sign-in page. If it keeps happening, make sure your browser accepts cookies for this site.',
    ),
  },
  tenant_not_allowed: {
    status: 403,
    page: signIn(
      'This account cannot sign in here',
      'You signed in with a Microsoft 365 account of an organization that has no phone system on this sign-in page.',
      "Start again and choose your work account for this organization, or use your own organization's sign-in link.",
    ),
  },
  not_listed: {
    status: 403,
    page: signIn(
      'Your account is not set up for SSO here',
      'You signed in with Microsoft, but your account is not on the single sign-on list of any phone system on this sign-in page.',
      "Ask your administrator to add you to the phone system's Microsoft 365 integration and then press Sync (System > Single sign-on). Then start again. If you have another work account, start again and pick that one.",
    ),
  },
  choice_invalid: {
    status: 403,
    page: signIn(
      'That choice is not available',
      'The phone system you chose is not one you are set up on, or the choice did not come from this sign-in page.',
      'Start again and choose from the list you are shown.',
    ),
  },
  entra_access_denied: {
    status: 403,
    page: signIn(
      'Sign-in was cancelled',
      'Microsoft sign-in did not complete: it was cancelled or access was denied.',
      'Start again when you are ready.',
    ),
  },
  entra_consent_required: {
    status: 403,
    page: signIn(
      'Your administrator must approve this app',
      "Your organization has not yet granted consent to the phone system's sign-in app in Microsoft Entra ID.",
      "Ask your Microsoft 365 administrator to grant admin consent for the phone system's Microsoft 365 integration (redo the integration's Reprovision Account step), then start again.",
    ),
  },
  entra_wrong_tenant: {
    status: 403,
    page: signIn(
      'This account belongs to another organization',
      "The Microsoft account you chose is not a member of this phone system's organization.",
      'Start again and pick your work account for this organization.',
    ),
  },
  entra_app_not_in_tenant: {
    status: 403,
    page: signIn(
      'The sign-in app is not set up in your organization',
      "The phone system's sign-in app is not installed in your organization's Microsoft Entra ID.",
      "Your Microsoft 365 administrator must activate (or reprovision) the phone system's Microsoft 365 integration, which installs the app, then start again.",
    ),
  },
  entra_not_assigned: {
    status: 403,
    page: signIn(
      'You are not assigned to the phone system',
      "Your organization only lets assigned users sign in to the phone system's app, and you are not one of them.",
      "Ask your administrator to add you to the phone system's Microsoft 365 integration (assign you to its app), then Sync, and start again.",
    ),
  },
  entra_conditional_access: {
    status: 403,
    page: signIn(
      "Blocked by your organization's policy",
      'A Conditional Access policy of your organization blocked this sign-in (for example: device, location or MFA rules).',
      'Contact your IT department and quote the Microsoft error below.',
    ),
  },
  entra_code_rejected: {
    status: 400,
    page: signIn(
      'This sign-in could not be completed',
      'Microsoft refused to finish this sign-in: its one-time code was already used, expired, or did not match.',
      'Start again from your sign-in page.',
    ),
  },
  entra_redirect_uri: {
    status: 400,
    log: 'error',
    page: signIn(
      'This sign-in address is not set up correctly',
      'Microsoft does not recognize this sign-in address (the URLs are not set correctly on the sign-in app).',
      'Your administrator must sync the Microsoft 365 integration for this domain (System > Single sign-on > Sync). Until then, use the main sign-in page.',
    ),
  },
  entra_client_secret: {
    status: 502,
    log: 'error',
    page: signIn(
      'Sign-in is temporarily unavailable',
      "The gateway's credentials for Microsoft sign-in were refused (invalid or expired).",
      "The provider's administrator must renew the secret of the sign-in app. Please try again later.",
    ),
  },
  entra_error: {
    status: 502,
    log: 'warn',
    page: signIn(
      'Microsoft sign-in failed',
      'Microsoft answered the sign-in with an error.',
      'Start again. If it keeps happening, contact your administrator and quote the details below.',
    ),
  },
  entra_unavailable: {
    status: 502,
    log: 'error',
    page: signIn(
      'Microsoft sign-in is not answering',
      'Microsoft sign-in could not be reached or answered with an error.',
      'Please try again in a minute.',
    ),
  },
  entra_timeout: {
    status: 504,
    log: 'error',
    page: signIn(
      'Microsoft sign-in is not answering',
      'Microsoft sign-in took too long to answer.',
      'Please try again in a minute.',
    ),
  },
  id_token_invalid: {
    status: 502,
    log: 'warn',
    page: signIn(
      'Your sign-in could not be verified',
      "The answer from Microsoft did not pass the gateway's checks, so you were not signed in.",
      'Start again. If it keeps happening, contact your administrator and quote the reference below.',
    ),
  },
  // ---------------------------------------------------------------- connecting a tenant
  connect_link_invalid: {
    status: 404,
    page: {
      title: 'This connect link is no longer valid',
      message: 'The link has expired, was already used, or was replaced by a newer one.',
      action: 'Ask whoever sent it (your phone system provider or partner) for a new connect link.',
      branded: false,
      reference: true,
    },
  },
  connect_not_admin: {
    status: 403,
    page: {
      title: 'An administrator must open this link',
      message:
        'Connecting Microsoft 365 needs an administrator of the organization: a Global, Privileged Role, Application or Cloud Application Administrator. The account you signed in with is not one.',
      action:
        'Nothing was changed, and the link still works: forward it to your Microsoft 365 administrator, or open it again and sign in with an administrator account.',
      branded: true,
      reference: true,
      retry: true,
    },
  },
  connect_declined: {
    status: 403,
    page: {
      title: 'Nothing was connected',
      message: 'Microsoft reports that consent was not granted, so the phone system was not connected.',
      action: 'Open the link again when you are ready to grant consent. Nothing was changed, and the link still works.',
      branded: true,
      reference: true,
      retry: true,
    },
  },
  connect_not_confirmed: {
    status: 502,
    page: {
      title: 'The connection could not be confirmed',
      message:
        'Microsoft reported the consent, but the gateway could not act as the app in your organization afterwards, so nothing was connected.',
      action:
        'Open the link again and grant consent. If it keeps happening, contact the provider and quote the reference below.',
      branded: true,
      reference: true,
      retry: true,
    },
  },
  // ---------------------------------------------------------------- both
  misconfigured: { status: 500, log: 'error', page: UNAVAILABLE },
  // D1 failed mid-request (see isDatabaseOutage): answered with Retry-After; a sign-in offers "Start again".
  database_unavailable: { status: 503, log: 'error', page: { ...UNAVAILABLE, retry: true } },
  // A sign-in flow's Durable Object did not answer (overloaded, reset, its location unreachable): Cloudflare marks
  // such errors retryable; the flow is unchanged, so starting again works.
  flow_store_unavailable: { status: 503, log: 'error', page: { ...UNAVAILABLE, retry: true } },
  internal: {
    status: 500,
    log: 'error',
    page: {
      title: 'Something went wrong',
      message: 'The sign-in service hit an unexpected error.',
      action: 'Please try again. If it keeps happening, contact your administrator and quote the reference below.',
      branded: false,
      reference: true,
    },
  },
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS

/** Read through this, so every entry is seen as a whole `ErrorSpec` (optional fields included). */
export function errorSpec(code: ErrorCode): ErrorSpec {
  return ERRORS[code]
}

export interface AppErrorOptions {
  cause?: unknown
  /** The input field the error is about (`users[3].oid`): the API names it, a form shows the error beside it. */
  field?: string
  /** Extra response headers (e.g. `Retry-After`). */
  headers?: Record<string, string>
  /** A safe detail worth quoting to an administrator, e.g. "Microsoft error AADSTS50105". */
  detail?: string
}

/**
 * An error answered on purpose: `message` is safe to show on the wire,
 * `cause` stays internal and only reaches the log.
 */
export class AppError extends Error {
  override readonly name = 'AppError'
  readonly status: ContentfulStatusCode
  readonly field: string | undefined
  readonly headers: Record<string, string>
  readonly detail: string | undefined

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.status = ERRORS[code].status
    this.field = options.field
    this.headers = options.headers ?? {}
    this.detail = options.detail
  }
}

/** Configuration that cannot work; the message names the variable and what is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/**
 * D1's own words (`D1_ERROR: …`, `D1 DB …`) for an outage a retry can outlive:
 * the database unreachable, overloaded or reset. Found wherever in the cause
 * chain (drizzle wraps them). A SQL or constraint error is not one of them:
 * that is a bug, and stays a 500.
 */
const D1_OUTAGE = /Network connection lost|is overloaded|\breset\b|transient issue|client disconnected/i

export function isDatabaseOutage(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (/\bD1[_ ]/.test(e.message) && D1_OUTAGE.test(e.message)) return true
  }
  return false
}

/** The code an error is answered with (what `renderError` shows), for logs and the sign-in audit. */
export function errorCodeOf(error: unknown): ErrorCode {
  if (error instanceof AppError) return error.code
  if (isDatabaseOutage(error)) return 'database_unavailable'
  if (error instanceof ConfigError) return 'misconfigured'
  return 'internal'
}
