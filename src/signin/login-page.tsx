import type { Context } from 'hono'
import type { AppEnv } from '../http/context'
import { newNonce, pageHeadersFor } from '../http/headers'
import { LoginPage } from '../pages/login'
import { logoOrigins } from '../tenancy/branding'
import type { Site } from '../tenancy/site'

/**
 * The login page (`GET /`, `GET /sso/webclient`) is the hot path: it is
 * rendered once per cached site object (so at most once per host per cache
 * TTL) with a placeholder where the CSP nonce goes, split there, and each
 * request only joins the two halves around a fresh nonce and puts the same
 * nonce in the CSP. The placeholder is random per isolate, so tenant text
 * can never contain it.
 */
let nonceSlot: string | undefined // random values are not allowed at global scope in Workers

interface LoginTemplate {
  /** The page before and after the nonce (the slot occurs once, in the <style> tag of <head>). */
  before: string
  after: string
  headers: (nonce: string) => Record<string, string>
}

const rendered = new WeakMap<Site, LoginTemplate>()

async function loginTemplate(site: Site): Promise<LoginTemplate> {
  let template = rendered.get(site)
  if (!template) {
    nonceSlot ??= `nonce-slot-${crypto.randomUUID()}`
    const page = <LoginPage nonce={nonceSlot} branding={site.branding} primary={site.kind === 'primary'} />
    const html = `<!doctype html>${await page.toString()}`
    const at = html.indexOf(nonceSlot)
    template = {
      before: html.slice(0, at),
      after: html.slice(at + nonceSlot.length),
      headers: pageHeadersFor({ imageOrigins: logoOrigins(site.branding), cache: 'no-cache' }),
    }
    rendered.set(site, template)
  }
  return template
}

/** The route (`GET /`, `GET /sso/webclient`). */
export function showLogin(c: Context<AppEnv>): Response | Promise<Response> {
  return loginAnswer(c.var.site)
}

/**
 * The login page of an open site, with a fresh nonce: what the route answers, and what the chain's
 * shortcut answers for `GET /` on a host the isolate knows (workers/chain.ts). Synchronous once the
 * site's page is rendered. A plain Response: the page has nothing of Hono's context to merge (no cookie,
 * no header set before).
 */
export function loginAnswer(site: Site): Response | Promise<Response> {
  const template = rendered.get(site)
  return template ? answer(template) : loginTemplate(site).then(answer)
}

function answer(template: LoginTemplate): Response {
  const nonce = newNonce()
  return new Response(template.before + nonce + template.after, { status: 200, headers: template.headers(nonce) })
}
