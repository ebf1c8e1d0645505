/**
 * How a phone system's web client verifies the gateway's handoff assertion.
 * This is the reference integrators copy (README: "Verifying the handoff
 * assertion"); it depends on jose only and runs in Node, browsers' servers,
 * Workers alike.
 *
 * Rules, all required:
 * 1. the JWT is signed ES256 by a key in the gateway's JWKS
 *    (`{gateway origin}/.well-known/jwks.json`, matched by `kid`);
 * 2. header `typ` is `sso-handoff+jwt` (no other JWT of the gateway's passes);
 * 3. `iss` is exactly the gateway's origin;
 * 4. `aud` is exactly this phone system's id;
 * 5. `exp` has not passed and `iat` is not in the future (10 s of clock skew),
 *    and the token lives at most 60 s;
 * 6. `jti` has not been seen before (keep seen ids until their `exp`);
 * 7. `sub` (the SSO user id), `tid` and `oid` are present: `tid` + `oid` is
 *    the person, stable across renames; `email`, `name`, `ext` are for display
 *    and for finding the extension.
 */
import { errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose'

export const ASSERTION_TYPE = 'sso-handoff+jwt'
const CLOCK_SKEW_SECONDS = 10
const MAX_LIFETIME_SECONDS = 60

export interface HandoffIdentity {
  sub: string
  tid: string
  oid: string
  email: string | null
  name: string | null
  ext: string | null
  jti: string
  exp: number
}

export interface VerifyOptions {
  /** The gateway's origin, e.g. https://login.provider.example */
  issuer: string
  /** This phone system's id at the gateway. */
  audience: string
  /** The gateway's JWKS, e.g. createRemoteJWKSet(new URL('/.well-known/jwks.json', issuer)). */
  jwks: JWTVerifyGetKey
  /** Replay memory: jti -> exp (seconds). */
  seen: Map<string, number>
  now?: () => number
}

export class HandoffRejected extends Error {
  override readonly name = 'HandoffRejected'
}

function text(payload: JWTPayload, claim: string): string | null {
  const value = payload[claim]
  return typeof value === 'string' ? value : null
}

export async function verifyHandoffAssertion(jwt: string, options: VerifyOptions): Promise<HandoffIdentity> {
  const nowMs = options.now?.() ?? Date.now()
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(jwt, options.jwks, {
      algorithms: ['ES256'],
      typ: ASSERTION_TYPE,
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(nowMs),
      requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp', 'jti', 'tid', 'oid'],
    }))
  } catch (error) {
    const reason = error instanceof errors.JOSEError ? error.code : 'ERR_INVALID'
    throw new HandoffRejected(`assertion refused (${reason})`)
  }
  const now = Math.floor(nowMs / 1000)
  const { iat, exp, jti, sub } = payload as Required<Pick<JWTPayload, 'iat' | 'exp' | 'jti' | 'sub'>>
  if (iat > now + CLOCK_SKEW_SECONDS) throw new HandoffRejected('assertion refused (issued in the future)')
  if (exp - iat > MAX_LIFETIME_SECONDS) throw new HandoffRejected('assertion refused (lives longer than 60 s)')
  const tid = text(payload, 'tid')
  const oid = text(payload, 'oid')
  if (!tid || !oid) throw new HandoffRejected('assertion refused (no tid or oid)')

  for (const [id, expiry] of options.seen) if (expiry + CLOCK_SKEW_SECONDS < now) options.seen.delete(id)
  if (options.seen.has(jti)) throw new HandoffRejected('assertion refused (already used)')
  options.seen.set(jti, exp)

  return {
    sub,
    tid,
    oid,
    email: text(payload, 'email'),
    name: text(payload, 'name'),
    ext: text(payload, 'ext'),
    jti,
    exp,
  }
}
