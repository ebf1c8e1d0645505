/**
 * The one place that turns errors into HTTP answers: JSON
 * `{"error":{"code","message"}}` for the admin API, a page that says what
 * happened and what to do for browsers. Both `Cache-Control: no-store`;
 * never a stack trace, never a secret (those go to the log, without values).
 */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import { AppError, ConfigError, type ErrorCode } from '../errors'
import { log } from '../log'
import { StatusPage } from '../pages/status'
import { JSON_HEADERS, newNonce, renderPage } from './html'

interface PageCopy {
  title: string
  message: string
  action?: string
  /** Shows the tenant's branding; false for pages that must not reveal a tenant. */
  branded: boolean
  /** Whether a correlation id helps anyone (not on a plain 404). */
  reference: boolean
}

const UNAVAILABLE: PageCopy = {
  title: 'Sign-in is temporarily unavailable',
  message: 'The sign-in service could not complete your request just now.',
  action:
    'Please try again in a minute. If it keeps happening, contact your administrator and quote the reference below.',
  branded: false,
  reference: true,
}

const PAGE_COPY: Partial<Record<ErrorCode, PageCopy>> = {
  host_not_found: {
    title: 'Page not found',
    message: 'There is nothing at this address.',
    action: 'Check the address, or use the sign-in link your administrator gave you.',
    branded: false,
    reference: false,
  },
  page_not_found: {
    title: 'Page not found',
    message: 'There is nothing at this address.',
    action: 'Check the address, or use the sign-in link your administrator gave you.',
    branded: false,
    reference: false,
  },
  host_invalid: {
    title: 'Bad request',
    message: 'This address is not a valid host name.',
    action: 'Check the address, or use the sign-in link your administrator gave you.',
    branded: false,
    reference: false,
  },
  host_not_ready: {
    title: 'This domain is being set up',
    message: 'Sign-in on this address is not available yet: its administrator is still connecting it.',
    action: 'Try again later, or use the sign-in link your administrator gave you until then.',
    branded: false,
    reference: false,
  },
  no_phone_systems: {
    title: 'Sign-in is not set up here yet',
    message: 'No phone system is connected to this sign-in page yet.',
    action: 'Your administrator must add a phone system to this organization and sync its Microsoft 365 users.',
    branded: true,
    reference: true,
  },
  flow_invalid: {
    title: 'This sign-in has expired',
    message: 'This sign-in link has expired, was already used, or was opened in another browser.',
    action:
      'Start again from your sign-in page. If it keeps happening, make sure your browser accepts cookies for this site.',
    branded: true,
    reference: true,
  },
  tenant_not_allowed: {
    title: 'This account cannot sign in here',
    message:
      'You signed in with a Microsoft 365 account of an organization that has no phone system on this sign-in page.',
    action:
      "Start again and choose your work account for this organization, or use your own organization's sign-in link.",
    branded: true,
    reference: true,
  },
  not_listed: {
    title: 'Your account is not set up for SSO here',
    message:
      'You signed in with Microsoft, but your account is not on the single sign-on list of any phone system on this sign-in page.',
    action:
      "Ask your administrator to add you to the phone system's Microsoft 365 integration and then press Sync (System > Single sign-on). Then start again. If you have another work account, start again and pick that one.",
    branded: true,
    reference: true,
  },
  choice_invalid: {
    title: 'That choice is not available',
    message:
      'The phone system you chose is not one you are set up on, or the choice did not come from this sign-in page.',
    action: 'Start again and choose from the list you are shown.',
    branded: true,
    reference: true,
  },
  entra_access_denied: {
    title: 'Sign-in was cancelled',
    message: 'Microsoft sign-in did not complete: it was cancelled or access was denied.',
    action: 'Start again when you are ready.',
    branded: true,
    reference: true,
  },
  entra_consent_required: {
    title: 'Your administrator must approve this app',
    message: "Your organization has not yet granted consent to the phone system's sign-in app in Microsoft Entra ID.",
    action:
      "Ask your Microsoft 365 administrator to grant admin consent for the phone system's Microsoft 365 integration (redo the integration's Reprovision Account step), then start again.",
    branded: true,
    reference: true,
  },
  entra_wrong_tenant: {
    title: 'This account belongs to another organization',
    message: "The Microsoft account you chose is not a member of this phone system's organization.",
    action: 'Start again and pick your work account for this organization.',
    branded: true,
    reference: true,
  },
  entra_app_not_in_tenant: {
    title: 'The sign-in app is not set up in your organization',
    message: "The phone system's sign-in app is not installed in your organization's Microsoft Entra ID.",
    action:
      "Your Microsoft 365 administrator must activate (or reprovision) the phone system's Microsoft 365 integration, which installs the app, then start again.",
    branded: true,
    reference: true,
  },
  entra_not_assigned: {
    title: 'You are not assigned to the phone system',
    message:
      "Your organization only lets assigned users sign in to the phone system's app, and you are not one of them.",
    action:
      "Ask your administrator to add you to the phone system's Microsoft 365 integration (assign you to its app), then Sync, and start again.",
    branded: true,
    reference: true,
  },
  entra_conditional_access: {
    title: "Blocked by your organization's policy",
    message:
      'A Conditional Access policy of your organization blocked this sign-in (for example: device, location or MFA rules).',
    action: 'Contact your IT department and quote the Microsoft error below.',
    branded: true,
    reference: true,
  },
  entra_code_rejected: {
    title: 'This sign-in could not be completed',
    message: 'Microsoft refused to finish this sign-in: its one-time code was already used, expired, or did not match.',
    action: 'Start again from your sign-in page.',
    branded: true,
    reference: true,
  },
  entra_redirect_uri: {
    title: 'This sign-in address is not set up correctly',
    message: 'Microsoft does not recognize this sign-in address (the URLs are not set correctly on the sign-in app).',
    action:
      'Your administrator must sync the Microsoft 365 integration for this domain (System > Single sign-on > Sync). Until then, use the main sign-in page.',
    branded: true,
    reference: true,
  },
  entra_client_secret: {
    title: 'Sign-in is temporarily unavailable',
    message: "The gateway's credentials for Microsoft sign-in were refused (invalid or expired).",
    action: "The provider's administrator must renew the secret of the sign-in app. Please try again later.",
    branded: true,
    reference: true,
  },
  entra_error: {
    title: 'Microsoft sign-in failed',
    message: 'Microsoft answered the sign-in with an error.',
    action: 'Start again. If it keeps happening, contact your administrator and quote the details below.',
    branded: true,
    reference: true,
  },
  entra_unavailable: {
    title: 'Microsoft sign-in is not answering',
    message: 'Microsoft sign-in could not be reached or answered with an error.',
    action: 'Please try again in a minute.',
    branded: true,
    reference: true,
  },
  entra_timeout: {
    title: 'Microsoft sign-in is not answering',
    message: 'Microsoft sign-in took too long to answer.',
    action: 'Please try again in a minute.',
    branded: true,
    reference: true,
  },
  id_token_invalid: {
    title: 'Your sign-in could not be verified',
    message: "The answer from Microsoft did not pass the gateway's checks, so you were not signed in.",
    action: 'Start again. If it keeps happening, contact your administrator and quote the reference below.',
    branded: true,
    reference: true,
  },
  misconfigured: UNAVAILABLE,
  database_unavailable: UNAVAILABLE,
  internal: {
    title: 'Something went wrong',
    message: 'The sign-in service hit an unexpected error.',
    action: 'Please try again. If it keeps happening, contact your administrator and quote the reference below.',
    branded: false,
    reference: true,
  },
}

/** Failures an operator must hear about, and how loudly; the other AppErrors are answers working as designed. */
const LOG_LEVELS: Partial<Record<ErrorCode, 'warn' | 'error'>> = {
  internal: 'error',
  misconfigured: 'error',
  database_unavailable: 'error',
  entra_client_secret: 'error',
  entra_unavailable: 'error',
  entra_timeout: 'error',
  entra_redirect_uri: 'error',
  entra_error: 'warn',
  id_token_invalid: 'warn',
}

function toAppError(error: unknown, correlationId: string): AppError {
  if (error instanceof AppError) {
    const level = LOG_LEVELS[error.code]
    if (level)
      log(level, error.message, { code: error.code, detail: error.detail, correlationId, cause: describe(error.cause) })
    return error
  }
  if (error instanceof ConfigError) {
    log('error', `configuration error: ${error.message}`, { correlationId })
    return new AppError('misconfigured', 'The gateway is not configured correctly')
  }
  log('error', 'unhandled error', { correlationId, error: describe(error) })
  return new AppError('internal', 'Internal error')
}

function describe(error: unknown): unknown {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack }
  return error === undefined ? undefined : String(error)
}

export async function renderError(error: unknown, c: Context<AppEnv>): Promise<Response> {
  const correlationId = c.get('correlationId') ?? crypto.randomUUID()
  const appError = toAppError(error, correlationId)

  if (c.get('api')) {
    const body: { error: { code: string; message: string; field?: string; correlationId?: string } } = {
      error: { code: appError.code, message: appError.message },
    }
    if (appError.field) body.error.field = appError.field
    if (appError.status >= 500) body.error.correlationId = correlationId
    return c.json(body, appError.status, { ...JSON_HEADERS, ...appError.headers })
  }

  const copy = PAGE_COPY[appError.code] ?? PAGE_COPY.internal!
  const site = c.get('site')
  const branding = copy.branded && site ? site.branding : undefined
  const nonce = newNonce()
  return renderPage(
    c,
    appError.status,
    <StatusPage
      nonce={nonce}
      title={copy.title}
      message={copy.message}
      action={copy.action}
      correlationId={copy.reference ? correlationId : undefined}
      branding={branding}
      detail={appError.detail}
      retryHref={appError.retryHref}
    />,
    { nonce },
    appError.headers,
  )
}
