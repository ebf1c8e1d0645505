/**
 * Small crypto helpers on WebCrypto and jose. Everything secret that the
 * gateway hands to a browser or keeps in D1 for a sign-in goes through
 * `seal` (JWE, dir + A256GCM under FLOW_KEY): encrypted and integrity-protected.
 */
import { base64url, type JWTPayload } from 'jose'

/** A random, URL-safe token with `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)))
}

/**
 * A bearer credential the gateway issues (a partner API key, a SCIM token): `kind` and 32 random bytes,
 * shown once; `visiblePrefix` (the kind and 8 characters) is what listings show to tell them apart.
 */
export function issueBearerSecret(kind: string): { secret: string; visiblePrefix: string } {
  const secret = `${kind}${randomToken(32)}`
  return { secret, visiblePrefix: secret.slice(0, kind.length + 8) }
}

/** How finely a credential's last use is recorded: a write at most once a minute, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000

/** Whether a use at `now` is worth writing down as the credential's last use. */
export function lastUseWorthRecording(lastUsedAt: number | null, now: number): boolean {
  return lastUsedAt === null || now - lastUsedAt >= LAST_USED_RESOLUTION_MS
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

/**
 * The protected header of every sealed value, base64url: `{"alg":"dir","enc":"A256GCM"}`. `seal` writes a
 * compact JWE (RFC 7516) on WebCrypto, the same bytes jose's `EncryptJWT` writes, so that the sign-in
 * Worker does not carry jose's JWE code for every other algorithm (about 5 KiB gzip); test/lib/crypto.test.ts
 * checks that jose opens what `seal` writes and the other way round.
 */
const SEALED_HEADER = 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0'

function sealKey(key: Uint8Array): Promise<CryptoKey> {
  // WebCrypto would quietly take a 16-byte key as AES-128: A256GCM is 32 bytes or nothing.
  if (key.length !== 32) throw new Error('a sealing key is 32 bytes')
  return aesKey(key)
}

/** Encrypts `payload` for `key` (32 bytes), valid for `ttlSeconds`, for `audience` only. */
export async function seal(
  payload: JWTPayload,
  key: Uint8Array,
  audience: string,
  ttlSeconds: number,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000)
  const claims = { ...payload, iat, aud: audience, exp: iat + ttlSeconds }
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(SEALED_HEADER) },
      await sealKey(key),
      new TextEncoder().encode(JSON.stringify(claims)),
    ),
  )
  // WebCrypto appends the 16-byte tag to the ciphertext; the compact form carries it as a part of its own.
  const tag = sealed.length - 16
  const b64 = base64url.encode
  return `${SEALED_HEADER}..${b64(iv)}.${b64(sealed.subarray(0, tag))}.${b64(sealed.subarray(tag))}`
}

/**
 * The payload of a `seal`ed value, or null when it is forged, tampered with, expired or meant for another
 * audience. Only `seal`'s own header opens (no other algorithm, no compression, no key in the token).
 */
export async function unseal<T extends object>(
  token: string,
  key: Uint8Array,
  audience: string,
): Promise<(T & JWTPayload) | null> {
  const parts = token.split('.')
  if (parts.length !== 5 || parts[0] !== SEALED_HEADER || parts[1] !== '') return null
  try {
    const iv = base64url.decode(parts[2]!)
    const ciphertext = base64url.decode(parts[3]!)
    const tag = base64url.decode(parts[4]!)
    if (iv.length !== 12 || tag.length !== 16) return null
    const both = new Uint8Array(ciphertext.length + 16)
    both.set(ciphertext)
    both.set(tag, ciphertext.length)
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(SEALED_HEADER) },
      await sealKey(key),
      both,
    )
    const payload: unknown = JSON.parse(new TextDecoder().decode(plain))
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null
    const { aud, exp, iat, nbf } = payload as JWTPayload
    const now = Math.floor(Date.now() / 1000)
    if (aud !== audience) return null
    if (typeof exp !== 'number' || exp <= now) return null
    if (typeof iat !== 'number') return null
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now)) return null
    return payload as T & JWTPayload
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
