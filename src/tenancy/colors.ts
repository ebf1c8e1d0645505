/**
 * Colour arithmetic for tenant branding: a partner picks any accent colour and
 * the page still meets WCAG 2.2 contrast (1.4.3, 4.5:1 for text), because the
 * text on the accent is whichever of black or white contrasts more. For every
 * sRGB colour one of the two reaches at least 4.58:1.
 *
 * @see https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio
 */

const HEX_COLOR = /^#[0-9a-f]{6}$/i

export function isHexColor(value: string): boolean {
  return HEX_COLOR.test(value)
}

function channel(value: number): number {
  const c = value / 255
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
}

/** WCAG relative luminance of `#rrggbb`. */
export function relativeLuminance(hex: string): number {
  if (!isHexColor(hex)) throw new TypeError(`"${hex}" is not a #rrggbb colour`)
  const n = Number.parseInt(hex.slice(1), 16)
  return 0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255)
}

export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number]
  return (hi + 0.05) / (lo + 0.05)
}

/** `#000000` or `#ffffff`, whichever is more readable on `background`. */
export function readableTextColor(background: string): '#000000' | '#ffffff' {
  return contrastRatio(background, '#000000') >= contrastRatio(background, '#ffffff') ? '#000000' : '#ffffff'
}
