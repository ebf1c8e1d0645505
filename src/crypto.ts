/**
 * Small crypto helpers on WebCrypto and jose. Everything secret that the
 * gateway hands to a browser or keeps in D1 for a sign-in goes through
 * `seal` (JWE, dir + A256GCM under FLOW_KEY): encrypted and integrity-protected.
 */
import { EncryptJWT, type JWTPayload, jwtDecrypt } from 'jose'

export function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** A random, URL-safe token with `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)))
}

/** SHA-256 of a string, base64url: how one-time values are stored, so D1 never holds them. */
export async function sha256(value: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))))
}

/** Encrypts `payload` for `key` (32 bytes), valid for `ttlSeconds`, for `audience` only. */
export async function seal(payload: JWTPayload, key: Uint8Array, audience: string, ttlSeconds: number): Promise<string> {
  return new EncryptJWT(payload)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .setIssuedAt()
    .setAudience(audience)
    .setExpirationTime(`${ttlSeconds}s`)
    .encrypt(key)
}

/** The payload of a `seal`ed value, or null when it is forged, tampered with, expired or meant for another audience. */
export async function unseal<T extends object>(token: string, key: Uint8Array, audience: string): Promise<(T & JWTPayload) | null> {
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
