import { decode as decodePunycode } from 'punycode/punycode.es6.js'

/**
 * Hostname normalization: the one definition of "the same host" used by host
 * resolution, the admin API and configuration.
 *
 * Output is lowercase ASCII (IDN labels as punycode, UTS #46 mapping as the
 * WHATWG URL standard does it, which is what browsers send), without a port
 * or trailing dot. Anything that is not a DNS hostname is refused: IP
 * literals, wildcards, userinfo, paths, empty or over-long labels,
 * underscores, control characters.
 *
 * @see https://url.spec.whatwg.org/#concept-domain-to-ascii
 * @see https://www.rfc-editor.org/rfc/rfc1123#section-2.1
 */

export type HostnameProblem =
  | 'empty'
  | 'scheme'
  | 'path'
  | 'port'
  | 'userinfo'
  | 'wildcard'
  | 'ip_address'
  | 'invalid_character'
  | 'invalid_label'
  | 'too_long'
  | 'single_label'

export type HostnameResult = { ok: true; hostname: string } | { ok: false; problem: HostnameProblem }

export const HOSTNAME_PROBLEM_MESSAGES: Record<HostnameProblem, string> = {
  empty: 'is empty',
  scheme: 'must be a bare hostname without a scheme (phones.acme.com, not https://phones.acme.com)',
  path: 'must be a bare hostname without a path',
  port: 'must be a bare hostname without a port',
  userinfo: 'must be a bare hostname without user information',
  wildcard: 'must be a single hostname; wildcards are not allowed',
  ip_address: 'must be a hostname, not an IP address',
  invalid_character: 'contains a character that is not allowed in a hostname',
  invalid_label: 'has a label that is empty, longer than 63 characters, or starts or ends with a hyphen',
  too_long: 'is longer than 253 characters',
  single_label: 'must be a fully qualified domain name with at least two labels',
}

const MAX_HOSTNAME_LENGTH = 253
const MAX_INPUT_LENGTH = 1024
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const DOTTED_QUAD = /^\d{1,3}(?:\.\d{1,3}){3}$/
// Characters that would change how a URL parser splits the input, or are never
// part of a hostname. Checked before parsing so the parser sees a host and only a host.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this refuses
const FORBIDDEN = /[\u0000-\u0020\u007f/\\?#@%:[\]<>^|"'`{}]/

function fail(problem: HostnameProblem): HostnameResult {
  return { ok: false, problem }
}

/** Normalizes a name that has no port. */
function normalizeName(input: string): HostnameResult {
  if (input.length === 0) return fail('empty')
  if (input.length > MAX_INPUT_LENGTH) return fail('too_long')
  if (input.includes('*')) return fail('wildcard')
  if (FORBIDDEN.test(input)) return fail('invalid_character')

  let ascii: string
  try {
    ascii = new URL(`http://${input}/`).hostname
  } catch {
    // The URL parser refuses forbidden code points, bad punycode and malformed IPv4.
    return fail(/^[\d.]+$/.test(input) || /^0x/i.test(input) ? 'ip_address' : 'invalid_character')
  }
  // The URL standard reads any name whose last label is numeric as IPv4 and writes it back as a dotted quad.
  if (ascii.startsWith('[') || DOTTED_QUAD.test(ascii)) return fail('ip_address')
  if (ascii.endsWith('.')) ascii = ascii.slice(0, -1)
  if (ascii.length === 0) return fail('empty')
  if (ascii.length > MAX_HOSTNAME_LENGTH) return fail('too_long')

  const labels = ascii.split('.')
  for (const label of labels) {
    if (!LABEL.test(label)) return fail(label.includes('_') ? 'invalid_character' : 'invalid_label')
    if (label.startsWith('xn--') && !isValidPunycodeLabel(label)) return fail('invalid_label')
  }
  return { ok: true, hostname: ascii }
}

/**
 * An `xn--` label must decode to Unicode that encodes back to itself; not every
 * URL parser checks this, and a name that cannot round-trip is not a real IDN.
 */
function isValidPunycodeLabel(label: string): boolean {
  let unicode: string
  try {
    unicode = decodePunycode(label.slice(4))
  } catch {
    return false
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this refuses
  if (unicode.length === 0 || /^[\x00-\x7f]*$/.test(unicode) || /[\u0000-\u001f\u007f-\u009f]/.test(unicode))
    return false
  try {
    return new URL(`http://${unicode}/`).hostname === label
  } catch {
    return false
  }
}

/**
 * Normalizes the request's Host (or URL host): lowercases, drops a port and a
 * trailing dot, converts IDN to punycode. `null` when it is not a hostname.
 */
export function normalizeRequestHost(raw: string | null | undefined): string | null {
  if (!raw) return null
  if (raw.startsWith('[')) return null
  let name = raw
  const colon = raw.lastIndexOf(':')
  if (colon !== -1) {
    const port = raw.slice(colon + 1)
    if (!/^\d{0,5}$/.test(port) || Number(port) > 65535) return null
    name = raw.slice(0, colon)
  }
  const result = normalizeName(name)
  return result.ok ? result.hostname : null
}

/**
 * Parses a hostname typed by a partner or an operator: bare, fully qualified,
 * no port, path, scheme, wildcard or IP address. Surrounding whitespace is
 * forgiven; everything else is reported as a specific problem.
 */
export function parseHostnameInput(raw: string): HostnameResult {
  const input = raw.trim()
  if (input.length === 0) return fail('empty')
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return fail('scheme')
  if (input.includes('*')) return fail('wildcard')
  if (input.includes('/') || input.includes('?') || input.includes('#')) return fail('path')
  if (input.includes('@')) return fail('userinfo')
  if (input.startsWith('[') || (input.match(/:/g)?.length ?? 0) > 1) return fail('ip_address')
  if (input.includes(':')) return fail('port')
  const result = normalizeName(input)
  if (result.ok && !result.hostname.includes('.')) return fail('single_label')
  return result
}

/** True when `hostname` is exactly one label below `zone` (what a `*.zone` certificate covers). */
export function isDirectSubdomain(hostname: string, zone: string): boolean {
  if (!hostname.endsWith(`.${zone}`)) return false
  const label = hostname.slice(0, -(zone.length + 1))
  return label.length > 0 && !label.includes('.')
}

/** True when `hostname` is `zone` or any name below it. */
export function isWithinZone(hostname: string, zone: string): boolean {
  return hostname === zone || hostname.endsWith(`.${zone}`)
}
