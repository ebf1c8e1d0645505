/**
 * Composition: request context, health, host resolution, then the admin API
 * (primary host only) and the public pages. Errors of every kind meet in one
 * `onError`.
 */
import { Hono } from 'hono'
import { refreshDueHostnames } from './admin/hostnames'
import { adminApi } from './admin/routes'
import type { AppEnv } from './app-env'
import { getConfig, isLoopbackHost } from './config'
import { AppError, ConfigError } from './errors'
import { deleteExpiredFlows } from './flows/store'
import { resolveSite } from './hosts/middleware'
import { renderError } from './http/errors'
import { JSON_HEADERS } from './http/html'
import { log } from './log'
import { publicPages } from './pages/routes'
import { signIn } from './signin/routes'
import { syncDuePhoneSystems } from './sync/sync'

const app = new Hono<AppEnv>()

// Before everything else, even configuration: a health probe must answer on any host name,
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
  c.set('correlationId', crypto.randomUUID())
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

app.use('*', resolveSite)
app.route('/api/v1', adminApi)
app.route('/', publicPages)
app.route('/', signIn)

app.notFound((c) => {
  throw c.get('api') ? new AppError('not_found', 'No such API route') : new AppError('page_not_found', 'Not found')
})
app.onError(renderError)

export { app }

export default {
  fetch: app.fetch,
  /** Cron (wrangler.toml [triggers]): housekeeping that must not wait for a request. */
  async scheduled(_controller, env, ctx) {
    const now = Date.now()
    ctx.waitUntil(
      deleteExpiredFlows(env.DB, now).then(
        (deleted) => log('info', 'expired sign-in flows deleted', { deleted }),
        (error: unknown) => log('error', 'flow cleanup failed', { error: String(error) }),
      ),
    )
    ctx.waitUntil(
      syncDuePhoneSystems(env.DB, getConfig(env), now).then(
        (result) => log('info', 'scheduled syncs', result),
        (error: unknown) => log('error', 'scheduled syncs failed', { error: String(error) }),
      ),
    )
    ctx.waitUntil(
      refreshDueHostnames(env.DB, getConfig(env), now).then(
        (result) => log('info', 'custom hostnames refreshed', result),
        (error: unknown) => log('error', 'custom hostname refresh failed', { error: String(error) }),
      ),
    )
  },
} satisfies ExportedHandler<AppEnv['Bindings']>
