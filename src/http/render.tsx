/**
 * Rendering answers: a JSX page with its security headers, and the one place
 * that turns errors into HTTP answers: JSON `{"error":{"code","message"}}`
 * for the admin API, a page that says what happened and what to do for
 * browsers. Both `Cache-Control: no-store`; never a stack trace, never a
 * secret (those go to the log, without values).
 */
import type { Context } from 'hono'
import type { JSX } from 'hono/jsx/jsx-runtime'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { AppError, ConfigError, errorSpec, isDatabaseOutage } from '../errors'
import { log } from '../log'
import { StatusPage } from '../pages/status'
import type { AppEnv } from './context'
import { JSON_HEADERS, newNonce, type PagePolicy, pageHeaders } from './headers'

/** From here on, an error page's "Start again" leads to the login page of `hostname`. */
export function startAgainOn(c: Context<AppEnv>, hostname: string): void {
  c.set('retryHref', `${c.var.config.origin(hostname)}/`)
}

/** Renders a JSX page with its doctype and the security headers. */
export async function renderPage(
  c: Context,
  status: ContentfulStatusCode,
  page: JSX.Element,
  policy: PagePolicy,
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  const html = `<!doctype html>${await page.toString()}`
  return c.body(html, status, { ...pageHeaders(policy), ...extraHeaders })
}

function toAppError(error: unknown, correlationId: string): AppError {
  if (error instanceof AppError) {
    const level = errorSpec(error.code).log
    if (level) {
      log(level, error.message, { code: error.code, detail: error.detail, correlationId, cause: describe(error.cause) })
    }
    return error
  }
  if (isDatabaseOutage(error)) {
    log('error', 'database unavailable', { correlationId, error: describe(error) })
    return new AppError('database_unavailable', 'The database is unavailable just now; try again in a minute.', {
      headers: { 'Retry-After': '30' },
    })
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

/** What an error page may show of the request: the host's branding, once it is known. */

export async function renderError(error: unknown, c: Context<AppEnv>): Promise<Response> {
  const correlationId = c.get('correlationId') ?? crypto.randomUUID()
  const appError = toAppError(error, correlationId)
  c.set('outcome', appError.code)

  if (c.get('api')) {
    const body: { error: { code: string; message: string; field?: string; correlationId?: string } } = {
      error: { code: appError.code, message: appError.message },
    }
    if (appError.field) body.error.field = appError.field
    if (appError.status >= 500) body.error.correlationId = correlationId
    return c.json(body, appError.status, { ...JSON_HEADERS, ...appError.headers })
  }

  const page = errorSpec(appError.code).page
  const branding = page.branded ? c.get('site')?.branding : undefined
  const nonce = newNonce()
  return renderPage(
    c,
    appError.status,
    <StatusPage
      nonce={nonce}
      title={page.title}
      message={page.message}
      action={page.action}
      correlationId={page.reference ? correlationId : undefined}
      branding={branding}
      detail={appError.detail}
      retryHref={page.retry ? c.get('retryHref') : undefined}
    />,
    { nonce },
    appError.headers,
  )
}
