import { isLoopbackHost } from '../config'

export type Scheme = 'http' | 'https'

/** The request's scheme: URLs the gateway builds use it (http only ever under wrangler dev). */
export function requestScheme(url: URL): Scheme {
  return url.protocol === 'http:' ? 'http' : 'https'
}

/**
 * `scheme://hostname`, plus the request's port for loopback development
 * hosts only (wrangler dev listens on 8787). In production a port is never
 * added: redirect URIs are exactly `https://{host}/sso/callback`.
 */
export function originFor(hostname: string, requestUrl: URL): string {
  const scheme = requestScheme(requestUrl)
  const port = isLoopbackHost(hostname) && requestUrl.port ? `:${requestUrl.port}` : ''
  return `${scheme}://${hostname}${port}`
}
