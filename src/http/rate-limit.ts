/**
 * Rate limits (ARCHITECTURE §8) through the Workers rate limiting binding: the
 * limits themselves (requests per period, per key) are the `[[ratelimits]]`
 * entries of wrangler.toml. Over the limit a request is answered 429 with
 * `Retry-After`, before it reads a body or touches D1.
 *
 * @see https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/
 */
import type { Context, MiddlewareHandler } from 'hono'
import { AppError } from '../errors'
import { log } from '../log'
import type { Site } from '../tenancy/site'
import type { AppEnv } from './context'

/** The longest period the binding allows (10 or 60 s): a client that waits this long has a fresh allowance. */
export const RETRY_AFTER_SECONDS = 60

const warnedMissing = new Set<string>()

export type RateLimitBinding = 'SIGNIN_RATE_LIMIT' | 'ADMIN_RATE_LIMIT'

/**
 * The client as a rate-limit key: its address as Cloudflare's edge sets it
 * (a client cannot supply its own: the edge overwrites the header). An IPv6
 * client holds at least a /64, so it counts as its /64, not per address.
 * Without the header (local runs) every request shares one key.
 */
export function clientIp(c: Context): string {
  const address = c.req.header('cf-connecting-ip')
  if (!address) return 'unknown'
  return address.includes(':') ? ipv6Prefix64(address) : address
}

/** The first four groups of an IPv6 address, expanded (`2001:db8::1` -> `2001:db8:0:0::/64`). */
export function ipv6Prefix64(address: string): string {
  const [head = '', tail] = address.toLowerCase().split('%')[0]!.split('::')
  const headGroups = head ? head.split(':') : []
  const tailGroups = tail === undefined ? [] : tail ? tail.split(':') : []
  // An embedded IPv4 tail (::ffff:192.0.2.1) is two groups, all in the lower 64 bits.
  const tailLength = tailGroups.reduce((n, group) => n + (group.includes('.') ? 2 : 1), 0)
  const zeros = tail === undefined ? [] : Array<string>(Math.max(0, 8 - headGroups.length - tailLength)).fill('0')
  const groups = [...headGroups, ...zeros, ...tailGroups].slice(0, 4)
  return `${groups.map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`
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

/**
 * Middleware: one request of the client's IP against `binding`, spent before
 * the host is looked up, so a flood of fresh host names is refused without
 * reaching D1. `knownSite` (memory only, never D1) brands the 429 page when
 * the isolate already knows the host.
 */
export function limitPerClientIp(
  binding: RateLimitBinding,
  knownSite: (c: Context<AppEnv>) => Site | null | undefined,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    try {
      await spendAllowance(c, binding, `ip:${clientIp(c)}`)
    } catch (error) {
      const site = knownSite(c)
      if (site && !(site.kind === 'tenant' && site.status === 'moved')) c.set('site', site)
      throw error
    }
    await next()
  }
}
