/**
 * The gateway's signing keys for handoff assertions (SIGNING_KEYS, current
 * first). The first key signs; every key is published, so a key can be
 * published before it signs and kept after it stops (rotation, README).
 */
import { type CryptoKey, importJWK, type JWK } from 'jose'
import type { Config, SigningJwk } from '../config'

export const ASSERTION_ALG = 'ES256'

const imported = new WeakMap<Config, Promise<{ kid: string; key: CryptoKey }>>()

/** The current signing key, imported once per configuration. */
export function currentSigningKey(config: Config): Promise<{ kid: string; key: CryptoKey }> {
  let key = imported.get(config)
  if (!key) {
    const jwk = config.signingKeys[0]!
    key = importJWK({ ...jwk, alg: ASSERTION_ALG }, ASSERTION_ALG).then((k) => ({ kid: jwk.kid, key: k as CryptoKey }))
    imported.set(config, key)
  }
  return key
}

/** The public half of a private JWK: never `d`. */
export function publicJwk(jwk: SigningJwk): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: jwk.kid, alg: ASSERTION_ALG, use: 'sig' }
}

/** `GET /.well-known/jwks.json`: every configured key, public parts only. */
export function publishedJwks(config: Config): { keys: JWK[] } {
  return { keys: config.signingKeys.map(publicJwk) }
}
