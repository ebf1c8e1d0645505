/**
 * Small crypto helpers on WebCrypto and jose. Everything secret that the
 * gateway hands to a browser or keeps in D1 for a sign-in goes through
 * `seal` (JWE, dir + A256GCM under FLOW_KEY): encrypted and integrity-protected.
 */
import { base64url, EncryptJWT, type JWTPayload, jwtDecrypt } from 'jose'

/** A random, URL-safe token with `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)))
}

/** SHA-256 of a string, base64url: how one-time values and keys are stored, so D1 never holds them. */
export async function sha256(value: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))))
}

/** Compares two secrets in time independent of where they differ (digests first, so lengths do not leak either). */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const digest = (value: string) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))
  const [da, db] = await Promise.all([digest(a), digest(b)])
  return crypto.subtle.timingSafeEqual(da, db)
}

/** Encrypts `payload` for `key` (32 bytes), valid for `ttlSeconds`, for `audience` only. */
export async function seal(
  payload: JWTPayload,
  key: Uint8Array,
  audience: string,
  ttlSeconds: number,
): Promise<string> {
  return new EncryptJWT(payload)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .setIssuedAt()
    .setAudience(audience)
    .setExpirationTime(`${ttlSeconds}s`)
    .encrypt(key)
}

/** The payload of a `seal`ed value, or null when it is forged, tampered with, expired or meant for another audience. */
export async function unseal<T extends object>(
  token: string,
  key: Uint8Array,
  audience: string,
): Promise<(T & JWTPayload) | null> {
  try {
    const { payload } = await jwtDecrypt<T & JWTPayload>(token, key, {
      audience,
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
      requiredClaims: ['exp', 'iat'],
    })
    return payload
  } catch {
    return null
  }
}

const aesKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>()

function aesKey(key: Uint8Array): Promise<CryptoKey> {
  let imported = aesKeys.get(key)
  if (!imported) {
    imported = crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt'])
    aesKeys.set(key, imported)
  }
  return imported
}

/**
 * AES-256-GCM for credentials at rest: `v1.` + base64url(iv | ciphertext).
 * `context` (e.g. the row it belongs to) is authenticated, so a ciphertext
 * copied into another row does not decrypt.
 */
export async function encryptSecret(plaintext: string, key: Uint8Array, context: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(context) },
    await aesKey(key),
    new TextEncoder().encode(plaintext),
  )
  const out = new Uint8Array(iv.length + sealed.byteLength)
  out.set(iv)
  out.set(new Uint8Array(sealed), iv.length)
  return `v1.${base64url.encode(out)}`
}

export async function decryptSecret(stored: string, key: Uint8Array, context: string): Promise<string> {
  if (!stored.startsWith('v1.')) throw new Error('unknown secret format')
  const bytes = base64url.decode(stored.slice(3))
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: bytes.slice(0, 12), additionalData: new TextEncoder().encode(context) },
    await aesKey(key),
    bytes.slice(12),
  )
  return new TextDecoder().decode(plain)
}
