/**
 * What counts as "this machine" (the one place plain http is ever allowed)
 * and which URLs the gateway will call or send a browser to. Pure.
 */

/** Loopback names: where a plain-http stand-in or development server may live. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host)
}

/** https, or plain http to a loopback host (a local stand-in or the demo web client). */
export function isHttpsOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))
}

/** An absolute URL a browser may be sent to: https (or loopback http), no credentials, no fragment. */
export function isSafeClientUrl(value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  return !url.username && !url.password && !url.hash && isHttpsOrLoopback(url)
}
