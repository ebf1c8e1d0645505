/**
 * Where Entra sends the browser back (ARCHITECTURE §4), the one rule for every
 * caller: sign-in, the redirect URIs registered for direct hosts, the jobs
 * that repair them. Built from configuration and the hostname record only:
 * never from the Host header alone, X-Forwarded-* or a query parameter. Pure.
 */
import type { Config } from '../config'
import type { Site } from '../tenancy/site'

/** `https://{hostname}/sso/callback` (http and wrangler's port under development). */
export function callbackUri(config: Config, hostname: string): string {
  return `${config.origin(hostname)}/sso/callback`
}

export type CallbackRoute =
  /** The callback lands on the host the login started on (the primary host, or a confirmed direct host). */
  | { kind: 'here'; redirectUri: string }
  /** The callback lands on the primary host, which hands the result back with a one-time code. */
  | { kind: 'central'; redirectUri: string }

export function callbackRoute(config: Config, site: Site): CallbackRoute {
  const central = callbackUri(config, config.primaryHost)
  if (site.kind === 'primary') return { kind: 'here', redirectUri: central }
  // A direct host whose redirect URI is not confirmed on the Entra app would meet AADSTS50011: go central instead.
  if (site.callbackMode === 'direct' && site.redirectUriRegistered) {
    return { kind: 'here', redirectUri: callbackUri(config, site.hostname) }
  }
  return { kind: 'central', redirectUri: central }
}
