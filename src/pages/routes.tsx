import { type Context, Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { publishedJwks } from '../handoff/keys'
import { logoOrigins, type Site } from '../hosts/resolve'
import { newNonce, pageHeaders } from '../http/html'
import { LoginPage } from './login'

export const publicPages = new Hono<AppEnv>()

/**
 * The login page is the hot path: it is rendered once per cached site object
 * (so at most once per host per cache TTL) with a placeholder where the CSP
 * nonce goes, and each request only swaps in a fresh nonce. The placeholder
 * is random per isolate, so tenant text can never contain it.
 */
let nonceSlot: string | undefined // random values are not allowed at global scope in Workers
const rendered = new WeakMap<Site, { html: string; imageOrigins: string[] }>()

async function loginTemplate(site: Site): Promise<{ html: string; imageOrigins: string[] }> {
  let template = rendered.get(site)
  if (!template) {
    nonceSlot ??= `nonce-slot-${crypto.randomUUID()}`
    const page = <LoginPage nonce={nonceSlot} branding={site.branding} primary={site.kind === 'primary'} />
    template = {
      html: `<!doctype html>${await page.toString()}`,
      imageOrigins: logoOrigins(site.branding),
    }
    rendered.set(site, template)
  }
  return template
}

const showLogin = async (c: Context<AppEnv>) => {
  const template = await loginTemplate(c.var.site)
  const nonce = newNonce()
  // The slot occurs once, in the <style> tag of <head>.
  return c.body(
    template.html.replace(nonceSlot!, nonce),
    200,
    pageHeaders({ nonce, imageOrigins: template.imageOrigins, cache: 'no-cache' }),
  )
}

publicPages.get('/', showLogin)
publicPages.get('/sso/webclient', showLogin)

/** Public keys of the handoff assertions, on every active host (integrators use the primary host's). */
publicPages.get('/.well-known/jwks.json', (c) =>
  c.json(publishedJwks(c.var.config), 200, {
    // Short, so a rotation reaches integrators within minutes (README: "Rotating signing keys").
    'Cache-Control': 'public, max-age=300',
    'Access-Control-Allow-Origin': '*',
    'X-Content-Type-Options': 'nosniff',
  }),
)
