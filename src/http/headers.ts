/**
 * Response headers, in one place: the CSP and friends of every HTML answer,
 * the JSON answers', and what a redirect that carries sign-in state needs.
 */
import { randomToken } from '../lib/crypto'

/** A fresh nonce for the page's inline stylesheet (and script, where it has one). */
export function newNonce(): string {
  return randomToken(16)
}

export interface PagePolicy {
  nonce: string
  /** Origins images may come from (the tenant's logo); none by default. */
  imageOrigins?: string[]
  /** Where forms on the page may post; the page's own origin by default. */
  formAction?: string[]
  cache?: 'no-store' | 'no-cache'
  /** Allow the page's one inline script (by the same nonce). */
  script?: boolean
}

/**
 * Security headers for every HTML answer: a CSP that allows only the nonce'd
 * inline style (and images from the tenant's logo origin), no framing, no
 * referrer leaks, no MIME sniffing, HSTS.
 *
 * HSTS deliberately has no includeSubDomains: a partner's custom domain is
 * theirs, and we must not pin HTTPS on names below it that we do not serve.
 */
export function pageHeaders(policy: PagePolicy): Record<string, string> {
  return pageHeadersFor(policy)(policy.nonce)
}

/**
 * `pageHeaders` with everything but the nonce worked out once: what a page served many times
 * (the login page) keeps, so that each answer only puts its fresh nonce into the CSP.
 */
export function pageHeadersFor(policy: Omit<PagePolicy, 'nonce'>): (nonce: string) => Record<string, string> {
  const img = policy.imageOrigins && policy.imageOrigins.length > 0 ? policy.imageOrigins.join(' ') : "'none'"
  const formAction = policy.formAction ? policy.formAction.join(' ') : "'self'"
  const cacheControl = policy.cache ?? 'no-store'
  const rest = `img-src ${img}; form-action ${formAction}; base-uri 'none'; frame-ancestors 'none'`
  return (nonce) => ({
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': policy.script
      ? `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; ${rest}`
      : `default-src 'none'; style-src 'nonce-${nonce}'; ${rest}`,
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Strict-Transport-Security': 'max-age=31536000',
    'Cache-Control': cacheControl,
  })
}

/** Headers for JSON answers (admin API, health). */
export const JSON_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Strict-Transport-Security': 'max-age=31536000',
  'Referrer-Policy': 'no-referrer',
}

/** Redirects that carry sign-in state: never cached, never leaking a Referer. */
export const NO_STORE_REDIRECT: Record<string, string> = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
}
