/**
 * Identifiers: the gateway's own (`org_…`, random) and Entra's (GUIDs, which
 * are stored and compared lowercase). Pure.
 */

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz' // Crockford base32, lowercase

export type IdPrefix = 'org' | 'ps' | 'usr' | 'key' | 'cl' | 'cs' | 'stf' | 'sct' | 'grp'

/** A prefixed random id (`org_…`), 100 bits of randomness. */
export function newId(prefix: IdPrefix): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20))
  let out = `${prefix}_`
  for (const byte of bytes) out += ALPHABET[byte & 31]
  return out
}

/** A GUID in any case: what a person may type for a tenant, object or client id. */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const LOWERCASE_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * A GUID exactly as Entra puts it in a token and as D1 stores it: lowercase.
 * Claims are compared with this, so an uppercase `tid` is not a tenant id.
 */
export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && LOWERCASE_GUID.test(value)
}
