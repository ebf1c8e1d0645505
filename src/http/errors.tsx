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
  action: 'Please try again in a minute. If it keeps happening, contact your administrator and quote the reference below.',
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

/** Failures an operator must hear about; the other AppErrors are answers working as designed. */
const LOGGED_CODES: ReadonlySet<ErrorCode> = new Set(['internal', 'misconfigured', 'database_unavailable'])

function toAppError(error: unknown, correlationId: string): AppError {
  if (error instanceof AppError) {
    if (LOGGED_CODES.has(error.code)) log('error', error.message, { code: error.code, correlationId, cause: describe(error.cause) })
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
    />,
    { nonce },
    appError.headers,
  )
}
