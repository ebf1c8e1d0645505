/**
 * Composition: request context, health, host resolution, then the admin API
 * (primary host only) and the public pages. Errors of every kind meet in one
 * `onError`.
 */
import { Hono } from 'hono'
import { adminApi } from './admin/routes'
import type { AppEnv } from './app-env'
import { getConfig } from './config'
import { AppError } from './errors'
import { renderError } from './http/errors'
import { JSON_HEADERS } from './http/html'
import { resolveSite } from './hosts/middleware'
import { publicPages } from './pages/routes'

const app = new Hono<AppEnv>()

app.use('*', async (c, next) => {
  c.set('correlationId', crypto.randomUUID())
  c.set('config', getConfig(c.env))
  await next()
})

// Before host resolution: a health probe must work on any host name the probe uses.
app.get('/healthz', async (c) => {
  try {
    await c.env.DB.prepare('SELECT 1').first()
    return c.json({ status: 'ok', database: 'ok' }, 200, JSON_HEADERS)
  } catch {
    return c.json({ status: 'unavailable', database: 'unreachable' }, 503, JSON_HEADERS)
  }
})

app.use('*', resolveSite)
app.route('/api/v1', adminApi)
app.route('/', publicPages)

app.notFound((c) => {
  throw c.get('api') ? new AppError('not_found', 'No such API route') : new AppError('page_not_found', 'Not found')
})
app.onError(renderError)

export { app }

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<AppEnv['Bindings']>
