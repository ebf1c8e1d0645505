import { type Context, Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { newNonce, renderPage } from '../http/html'
import { LoginPage } from './login'

export const publicPages = new Hono<AppEnv>()

function logoOrigins(logoUrl: string | null): string[] {
  return logoUrl ? [new URL(logoUrl).origin] : []
}

const showLogin = async (c: Context<AppEnv>) => {
  const site = c.var.site
  const nonce = newNonce()
  return renderPage(c, 200, <LoginPage nonce={nonce} branding={site.branding} primary={site.kind === 'primary'} />, {
    nonce,
    imageOrigins: logoOrigins(site.branding.logoUrl),
    cache: 'no-cache',
  })
}

publicPages.get('/', showLogin)
publicPages.get('/sso/webclient', showLogin)
