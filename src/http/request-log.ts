/**
 * One JSON line per request (ARCHITECTURE §11), the first middleware of the
 * app: its correlation id (also on the answer's `X-Correlation-Id`, on error
 * pages and in the sign-in audit), host, method, route pattern, status,
 * duration and outcome (`ok`, or the error code the request ended with).
 * Only the route's pattern is logged, never the path or query as sent: a
 * query carries codes, states and tokens; headers and cookies are never read.
 */
import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { log } from '../log'
import type { AppEnv } from './context'

export const CORRELATION_HEADER = 'X-Correlation-Id'

export const requestLog: MiddlewareHandler<AppEnv> = async (c, next) => {
  const receivedAt = Date.now()
  const correlationId = crypto.randomUUID()
  c.set('receivedAt', receivedAt)
  c.set('correlationId', correlationId)
  await next()
  c.res.headers.set(CORRELATION_HEADER, correlationId)
  const status = c.res.status
  const site = c.get('site')
  log(status >= 500 ? 'error' : 'info', 'request', {
    correlationId,
    method: c.req.method,
    // A visitor chooses the Host header: a DNS name is at most 253 characters, so nothing longer is kept.
    host: new URL(c.req.url).hostname.slice(0, 253),
    route: routePath(c) || null,
    status,
    durationMs: Date.now() - receivedAt,
    outcome: c.get('outcome') ?? (status >= 400 ? `http_${status}` : 'ok'),
    orgId: site?.kind === 'tenant' ? site.org.id : null,
    ...c.get('logFields'),
  })
}
