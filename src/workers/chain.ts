/**
 * The one request chain every Worker of the gateway runs (ARCHITECTURE §1):
 * request log, health, configuration, the https redirect, rate limits, host
 * resolution, then the routes each Worker mounts, then one `notFound` and one
 * `onError`. The sign-in Worker, the admin Worker and the combined local
 * Worker (src/index.ts) differ only in what they mount: the combined one is
 * literally both route sets on this chain.
 *
 * One shortcut in front of it (`fromMemory`): a mount's memory page (the
 * login page, `GET /`) on a host the isolate already knows is answered
 * before Hono runs, through the same rules the chain applies (configuration,
 * the https rule, host resolution's cache and refusals, the correlation id
 * and the request log's rule for such pages, http/request-log.ts):
 * everything else, and every case the shortcut is not sure of, takes the
 * chain. The page is the hot path, and the chain's dispatch costs more than
 * the page itself (ARCHITECTURE §9).
 */
import { Hono } from 'hono/tiny'
import { type Config, type ConfigScope, getConfig } from '../config'
import type { Env } from '../env'
import { AppError, ConfigError } from '../errors'
import { knownRequestSite, knownSiteOf, resolveSite, siteIsOpen } from '../hosts/middleware'
import type { AppEnv } from '../http/context'
import { JSON_HEADERS } from '../http/headers'
import { limitPerClientIp } from '../http/rate-limit'
import { renderError } from '../http/render'
import { CORRELATION_HEADER, logMemoryPage, requestLog } from '../http/request-log'
import { isLoopbackHost } from '../lib/net'
import type { Site } from '../tenancy/site'

/**
 * A page a Worker can answer from memory alone: `GET path` on an open site the isolate already knows,
 * with no rate limit and nothing of the request read but its URL. The mount registers the same page as a
 * route too (for HEAD, and for every request the shortcut leaves to the chain).
 */
export interface MemoryPage {
  path: string
  answer(site: Site): Response | Promise<Response>
}

/** Adds a Worker's routes to the chain, after host resolution; `memoryPage`, if any, is also served by the shortcut. */
export type Mount = ((app: Hono<AppEnv>) => void) & { memoryPage?: MemoryPage }

/** Where plain http goes: https, but for loopback development (sign-in cookies are Secure, redirect URIs https). */
function httpsLocation(url: URL): string | null {
  if (url.protocol !== 'http:' || isLoopbackHost(url.hostname)) return null
  const secure = new URL(url)
  secure.protocol = 'https:'
  return secure.href
}

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

  app.use('*', async (c, next) => {
    const location = httpsLocation(new URL(c.req.url))
    if (location !== null) return c.body(null, 308, { Location: location, 'Cache-Control': 'no-store' })
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

  const pages = new Map<string, MemoryPage>()
  for (const { memoryPage } of mounts) if (memoryPage) pages.set(memoryPage.path, memoryPage)
  if (pages.size > 0) {
    const chain = app.fetch
    app.fetch = (request, env, executionCtx) =>
      fromMemory(request, env as Env, scope, pages, () => chain(request, env, executionCtx)) ??
      chain(request, env, executionCtx)
  }
  return app
}

/**
 * The shortcut: a memory page's answer when every rule of the chain lets it through without a read, or
 * undefined (the chain answers: errors, redirects, unknown or pending hosts, a page not rendered yet
 * that fails to render). The same correlation id header as through the chain; the request log's own rule
 * decides its line.
 */
function fromMemory(
  request: Request,
  env: Env,
  scope: ConfigScope,
  pages: Map<string, MemoryPage>,
  chain: () => Response | Promise<Response>,
): Response | Promise<Response> | undefined {
  if (request.method !== 'GET') return undefined
  const receivedAt = Date.now()
  const url = new URL(request.url)
  const page = pages.get(url.pathname)
  if (!page || httpsLocation(url) !== null) return undefined
  let config: Config
  try {
    config = getConfig(env, scope)
  } catch {
    return undefined
  }
  const site = knownSiteOf(config, url)
  if (!site || !siteIsOpen(site)) return undefined

  const correlationId = crypto.randomUUID()
  const answered = (res: Response) => {
    res.headers.set(CORRELATION_HEADER, correlationId)
    logMemoryPage({
      correlationId,
      method: request.method,
      hostname: url.hostname,
      route: page.path,
      status: res.status,
      receivedAt,
      outcome: undefined,
      orgId: site.kind === 'tenant' ? site.org.id : null,
    })
    return res
  }
  const res = page.answer(site)
  return res instanceof Response ? answered(res) : res.then(answered, chain)
}
