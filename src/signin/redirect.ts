/**
 * Where Entra sends the browser back (DESIGN 4). Built from the hostname
 * record and configuration only: never from the Host header alone, never
 * from X-Forwarded-* or a query parameter. Pure.
 */
import type { Site } from '../hosts/resolve'
import { originFor } from '../http/origin'

export type CallbackRoute =
  /** The callback lands on the host the login started on (the primary host, or a confirmed direct host). */
  | { kind: 'here'; redirectUri: string }
  /** The callback lands on the primary host, which hands the result back with a one-time code. */
  | { kind: 'central'; redirectUri: string }

export function callbackRoute(site: Site, primaryHost: string, requestUrl: URL): CallbackRoute {
  const central = `${originFor(primaryHost, requestUrl)}/sso/callback`
  if (site.kind === 'primary') return { kind: 'here', redirectUri: central }
  // A direct host whose redirect URI is not confirmed on the Entra app would meet AADSTS50011: go central instead.
  if (site.callbackMode === 'direct' && site.redirectUriRegistered) {
    return { kind: 'here', redirectUri: `${originFor(site.hostname, requestUrl)}/sso/callback` }
  }
  return { kind: 'central', redirectUri: central }
}
