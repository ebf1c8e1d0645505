/**
 * How an organization's pages look: its display name, logo and accent
 * colour, made safe on the way out (a row written around the API must not
 * inject CSS or load a logo over http). Pure.
 */
import { isHexColor } from './colors'

export const DEFAULT_ACCENT_COLOR = '#0f6cbd'

export interface Branding {
  displayName: string
  logoUrl: string | null
  accentColor: string
}

/** Neutral look for pages that must not reveal which tenant, if any, a host belongs to. */
export const NEUTRAL_BRANDING: Branding = { displayName: 'Sign-in', logoUrl: null, accentColor: DEFAULT_ACCENT_COLOR }

/** The provider's own look, on the primary host. */
export function providerBranding(displayName: string): Branding {
  return { displayName, logoUrl: null, accentColor: DEFAULT_ACCENT_COLOR }
}

/** An organization's branding as stored, with defaults and every value re-checked. */
export function brandingOf(org: {
  name: string
  displayName: string | null
  logoUrl: string | null
  accentColor: string | null
}): Branding {
  return {
    displayName: org.displayName ?? org.name,
    logoUrl: org.logoUrl && isSafeLogoUrl(org.logoUrl) ? org.logoUrl : null,
    accentColor: org.accentColor && isHexColor(org.accentColor) ? org.accentColor.toLowerCase() : DEFAULT_ACCENT_COLOR,
  }
}

/** Logos are shown on login pages: https only, no credentials, no odd characters. */
export function isSafeLogoUrl(value: string): boolean {
  if (value.length > 2048) return false
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  return url.protocol === 'https:' && url.username === '' && url.password === '' && url.href === value
}

/** Where a page with this branding loads images from: the logo's origin, or nowhere (its CSP img-src). */
export function logoOrigins(branding: Branding): string[] {
  return branding.logoUrl ? [new URL(branding.logoUrl).origin] : []
}
