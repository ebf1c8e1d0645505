/**
 * Rate limits (DESIGN 8) through the Workers rate limiting binding: the
 * limits themselves (requests per period, per key) are the `[[ratelimits]]`
 * entries of wrangler.toml. Over the limit a request is answered 429 with
 * `Retry-After`, before it reads a body or touches D1 again.
 *
 * @see https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/
 */
import type { Context, MiddlewareHandler } from 'hono'
import { AppError } from '../errors'
import { log } from '../log'
import type { AppEnv } from './context'

/** The longest period the binding allows (10 or 60 s): a client that waits this long has a fresh allowance. */
export const RETRY_AFTER_SECONDS = 60

const warnedMissing = new Set<string>()

export type RateLimitBinding = 'SIGNIN_RATE_LIMIT' | 'ADMIN_RATE_LIMIT'

/**
 * The client's address as Cloudflare's edge sets it (a client cannot supply
 * its own: the edge overwrites the header). Without it (local runs) every
 * request shares one bucket.
 */
export function clientIp(c: Context): string {
  return c.req.header('cf-connecting-ip') ?? 'unknown'
}

/**
 * Counts one request against `binding` under `key`; throws 429 `rate_limited`
 * when the allowance is spent. A missing binding or a failing limiter lets
 * the request through (logged): sign-in stays up when the limiter is not.
 */
export async function spendAllowance(c: Context<AppEnv>, binding: RateLimitBinding, key: string): Promise<void> {
  const limiter = c.env[binding] as RateLimit | undefined
  if (!limiter) {
    if (!warnedMissing.has(binding)) {
      warnedMissing.add(binding)
      log('warn', `rate limit binding ${binding} is missing: requests are not limited`)
    }
    return
  }
  let allowed = true
  try {
    allowed = (await limiter.limit({ key })).success
  } catch (error) {
    log('warn', 'rate limiter failed: request let through', {
      binding,
      correlationId: c.var.correlationId,
      error: String(error),
    })
  }
  if (!allowed) {
    throw new AppError('rate_limited', 'Too many requests: wait a minute, then try again', {
      headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    })
  }
}

/** Middleware: one request of the client's IP against `binding`. */
export function limitPerClientIp(binding: RateLimitBinding): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await spendAllowance(c, binding, `ip:${clientIp(c)}`)
    await next()
  }
}
