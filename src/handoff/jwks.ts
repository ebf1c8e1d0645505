import { Hono } from 'hono/tiny'
import type { AppEnv } from '../http/context'
import { publishedJwks } from './keys'

/** Public keys of the handoff assertions, on every active host (integrators use the primary host's). */
export const handoffJwks = new Hono<AppEnv>().get('/.well-known/jwks.json', (c) =>
  c.json(publishedJwks(c.var.config), 200, {
    // Short, so a rotation reaches integrators within minutes (README: "Rotating signing keys").
    'Cache-Control': 'public, max-age=300',
    'Access-Control-Allow-Origin': '*',
    'X-Content-Type-Options': 'nosniff',
  }),
)
