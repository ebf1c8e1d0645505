/**
 * The handoff assertion (ARCHITECTURE §3.6): a short-lived JWT the phone system's web
 * client verifies before it lets the user in. ES256 with a `kid`, an explicit
 * `typ` so it cannot be mistaken for another kind of JWT (RFC 8725 3.11),
 * `iss` the primary host's origin (one issuer, one JWKS URL for integrators),
 * `aud` the phone system id, `sub` the SSO user id, at most 60 s of life and
 * a unique `jti` for the receiver's replay check.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8725#section-3.11
 */
import { SignJWT } from 'jose'
import type { Config } from '../config'
import { randomToken } from '../lib/crypto'
import type { Identity } from '../oidc/identity'
import type { SsoUser } from '../sso/types'
import { ASSERTION_ALG, currentSigningKey } from './keys'

export const ASSERTION_TYPE = 'sso-handoff+jwt'
export const ASSERTION_TTL_SECONDS = 60

export interface AssertionInput {
  issuer: string
  phoneSystemId: string
  record: Pick<SsoUser, 'id' | 'email' | 'displayName' | 'extension'>
  identity: Identity
  now?: number
}

export interface AssertionClaims {
  iss: string
  aud: string
  sub: string
  email: string | null
  name: string | null
  ext: string | null
  tid: string
  oid: string
  iat: number
  exp: number
  jti: string
}

/** The claims, pure: what the list says wins over what the token says for name, email and extension. */
export function assertionClaims(input: AssertionInput): AssertionClaims {
  const iat = Math.floor((input.now ?? Date.now()) / 1000)
  return {
    iss: input.issuer,
    aud: input.phoneSystemId,
    sub: input.record.id,
    email: input.record.email ?? input.identity.email,
    name: input.record.displayName ?? input.identity.name,
    ext: input.record.extension,
    tid: input.identity.tid,
    oid: input.identity.oid,
    iat,
    exp: iat + ASSERTION_TTL_SECONDS,
    jti: randomToken(16),
  }
}

export async function signAssertion(config: Config, input: AssertionInput): Promise<string> {
  const { kid, key } = await currentSigningKey(config)
  const { iss, aud, sub, iat, exp, jti, ...rest } = assertionClaims(input)
  return new SignJWT({ ...rest })
    .setProtectedHeader({ alg: ASSERTION_ALG, kid, typ: ASSERTION_TYPE })
    .setIssuer(iss)
    .setAudience(aud)
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key)
}
