import type { Context } from 'hono'
import type { AppEnv } from '../http/context'
import { newNonce, pageHeaders } from '../http/headers'
import { LoginPage } from '../pages/login'
import { logoOrigins } from '../tenancy/branding'
import type { Site } from '../tenancy/site'

/**
 * The login page (`GET /`, `GET /sso/webclient`) is the hot path: it is
 * rendered once per cached site object (so at most once per host per cache
 * TTL) with a placeholder where the CSP nonce goes, and each request only
 * swaps in a fresh nonce. The placeholder is random per isolate, so tenant
 * text can never contain it.
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

export async function showLogin(c: Context<AppEnv>): Promise<Response> {
  const template = await loginTemplate(c.var.site)
  const nonce = newNonce()
  // The slot occurs once, in the <style> tag of <head>.
  return c.body(
    template.html.replace(nonceSlot!, nonce),
    200,
    pageHeaders({ nonce, imageOrigins: template.imageOrigins, cache: 'no-cache' }),
  )
}
