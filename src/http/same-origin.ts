import type { MiddlewareHandler } from 'hono'
import { csrf } from 'hono/csrf'
import { HTTPException } from 'hono/http-exception'
import { AppError, type ErrorCode } from '../errors'

/**
 * Refuses form posts from other sites with Hono's `csrf()` (the browser's
 * Sec-Fetch-Site must say same-origin, or its Origin must be this origin),
 * answered as our own error and page rather than Hono's bare 403.
 *
 * @see https://hono.dev/docs/middleware/builtin/csrf
 */
export function sameOriginForms(code: ErrorCode, message: string): MiddlewareHandler {
  const check = csrf()
  return async (c, next) => {
    try {
      await check(c, next)
    } catch (error) {
      // Only the check itself throws here: Hono answers a handler's errors before they reach a middleware.
      if (error instanceof HTTPException && error.status === 403) throw new AppError(code, message)
      throw error
    }
  }
}
