const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz' // Crockford base32, lowercase

/** A prefixed random id (`org_…`), 100 bits of randomness. */
export function newId(prefix: 'org' | 'ps' | 'usr' | 'key'): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20))
  let out = `${prefix}_`
  for (const byte of bytes) out += ALPHABET[byte & 31]
  return out
}
