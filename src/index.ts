/**
 * Composition: request context, health, host resolution, then the admin API
 * (primary host only), the sign-in routes and the JWKS. Errors of every kind
 * meet in one `onError`; the cron runs `jobs/scheduled.ts`.
 */
import { Hono } from 'hono'
import { adminApi } from './admin/index'
import { getConfig } from './config'
import { connectRoutes } from './connect/routes'
import { consoleApp } from './console/app'
import { consoleSignedIn } from './console/sign-in'
import { AppError, ConfigError } from './errors'
import { handoffJwks } from './handoff/jwks'
import { knownRequestSite, resolveSite } from './hosts/middleware'
import type { AppEnv } from './http/context'
import { JSON_HEADERS } from './http/headers'
import { limitPerClientIp } from './http/rate-limit'
import { renderError } from './http/render'
import { requestLog } from './http/request-log'
import { runScheduledJobs } from './jobs/scheduled'
import { isLoopbackHost } from './lib/net'
import { signInRoutes } from './signin/routes'

const app = new Hono<AppEnv>()

app.use('*', requestLog)

// Before everything else but the request log, even configuration: a health probe must answer on any host name,
// and say what is wrong (the configuration message names a variable, never a secret's value).
app.get('/healthz', async (c) => {
  let configuration = 'ok'
  try {
    getConfig(c.env)
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
  return c.json({ status: healthy ? 'ok' : 'unavailable', database, configuration }, healthy ? 200 : 503, JSON_HEADERS)
})

app.use('*', async (c, next) => {
  c.set('config', getConfig(c.env))
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
app.route('/api/v1', adminApi)
app.route('/admin', consoleApp)
app.route('/', handoffJwks)
app.route('/', connectRoutes)
app.route('/', signInRoutes({ consoleSignedIn }))

app.notFound((c) => {
  throw c.get('api') ? new AppError('not_found', 'No such API route') : new AppError('page_not_found', 'Not found')
})
app.onError(renderError)

/** The Durable Object class behind REDIRECT_URIS (wrangler.toml): Workers find it among the main module's exports. */
export { EntraAppRegistrar } from './hostnames/registrar'
/** The Durable Object class behind SIGNIN_FLOWS: one sign-in flow each. */
export { SignInFlow } from './signin/flow-object'
export { app }

export default {
  fetch: app.fetch,
  scheduled(_controller, env, ctx) {
    runScheduledJobs(env, ctx)
  },
} satisfies ExportedHandler<AppEnv['Bindings']>
