/**
 * The one request chain every Worker of the gateway runs (ARCHITECTURE §1):
 * request log, health, configuration, the https redirect, rate limits, host
 * resolution, then the routes each Worker mounts, then one `notFound` and one
 * `onError`. The sign-in Worker, the admin Worker and the combined local
 * Worker (src/index.ts) differ only in what they mount: the combined one is
 * literally both route sets on this chain.
 */
import { Hono } from 'hono/tiny'
import { type ConfigScope, getConfig } from '../config'
import { AppError, ConfigError } from '../errors'
import { knownRequestSite, resolveSite } from '../hosts/middleware'
import type { AppEnv } from '../http/context'
import { JSON_HEADERS } from '../http/headers'
import { limitPerClientIp } from '../http/rate-limit'
import { renderError } from '../http/render'
import { requestLog } from '../http/request-log'
import { isLoopbackHost } from '../lib/net'

/** Adds a Worker's routes to the chain, after host resolution. */
export type Mount = (app: Hono<AppEnv>) => void

/**
 * A gateway app: the chain with `mounts` in order. `scope` is which
 * configuration the Worker needs (src/config.ts `ConfigScope`): the sign-in
 * Worker does without the admin-only secrets.
 */
export function gatewayApp(scope: ConfigScope, ...mounts: Mount[]): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.use('*', requestLog)

  // Before everything else but the request log, even configuration: a health probe must answer on any host name,
  // and say what is wrong (the configuration message names a variable, never a secret's value).
  app.get('/healthz', async (c) => {
    let configuration = 'ok'
    try {
      getConfig(c.env, scope)
    } catch (error) {
      configuration = error instanceof ConfigError ? `invalid: ${error.message}` : 'invalid'
    }
    let database = 'ok'
    try {
      await c.env.DB.prepare('SELECT 1').first()
    } catch {
      database = 'unreachable'
    }
    const healthy = configuration === 'ok' && database === 'ok'
    return c.json(
      { status: healthy ? 'ok' : 'unavailable', database, configuration },
      healthy ? 200 : 503,
      JSON_HEADERS,
    )
  })

  app.use('*', async (c, next) => {
    c.set('config', getConfig(c.env, scope))
    await next()
  })

  // Sign-in cookies are Secure and redirect URIs https: plain http is for loopback development only.
  app.use('*', async (c, next) => {
    const url = new URL(c.req.url)
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      url.protocol = 'https:'
      return c.body(null, 308, { Location: url.href, 'Cache-Control': 'no-store' })
    }
    await next()
  })

  // Per client IP on the anonymous surfaces, before the host costs a lookup; the admin API
  // limits per address and per organization (admin/index.ts).
  // The console's sign-in page and its start are anonymous; signed-in requests are limited per session (console/app.tsx).
  app.use('/admin/login', limitPerClientIp('SIGNIN_RATE_LIMIT', knownRequestSite))
  app.use('/sso/*', limitPerClientIp('SIGNIN_RATE_LIMIT', knownRequestSite))
  app.use('/connect/*', limitPerClientIp('SIGNIN_RATE_LIMIT', knownRequestSite))
  app.use('*', resolveSite)
  for (const mount of mounts) mount(app)

  app.notFound((c) => {
    throw c.get('api') ? new AppError('not_found', 'No such API route') : new AppError('page_not_found', 'Not found')
  })
  app.onError(renderError)
  return app
}
