/**
 * Bench only: the peer the gateway's sign-in is measured against, a Worker
 * signing users in with `@hono/oidc-auth` as its README sets it up
 * (configured from OIDC_* bindings, the middleware on `/`, the callback on
 * OIDC_REDIRECT_URI). Bundled by bench/signin/gateway.ts with esbuild.
 */
import { getAuth, oidcAuthMiddleware, processOAuthCallback } from '@hono/oidc-auth'
import { Hono } from 'hono'

const app = new Hono()

app.get('/callback', (c) => processOAuthCallback(c))
app.use('/', oidcAuthMiddleware())
app.get('/', async (c) => {
  const auth = await getAuth(c)
  return c.text(`Hello <${auth?.email}>!`)
})

export default app
