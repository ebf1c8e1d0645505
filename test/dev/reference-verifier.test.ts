/**
 * The demo web client's verifier (dev/webclient/verify.ts) is what
 * integrators copy: it must accept the gateway's real assertions and refuse
 * every forgery and replay.
 */
import { SELF } from 'cloudflare:test'
import { createLocalJWKSet, generateKeyPair, importJWK, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { verifyHandoffAssertion } from '../../dev/webclient/verify'
import { TEST_SIGNING_KEYS } from '../bindings'
import { assertionFrom, PRIMARY, seedSignInTenant, signIn } from '../fixtures'

const ISSUER = `https://${PRIMARY}`

async function gatewayJwks() {
  return createLocalJWKSet(await (await SELF.fetch(`${ISSUER}/.well-known/jwks.json`)).json())
}

async function realAssertion() {
  const tenant = await seedSignInTenant()
  const { jwt } = assertionFrom((await signIn(tenant.hostname, tenant.user)).html)
  return { tenant, jwt }
}

async function forge(keyIndex: number | 'foreign', header: Record<string, unknown>, claims: Record<string, unknown>) {
  const key =
    keyIndex === 'foreign'
      ? (await generateKeyPair('ES256')).privateKey
      : await importJWK({ ...TEST_SIGNING_KEYS[keyIndex]!, alg: 'ES256' }, 'ES256')
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({
    tid: 't',
    oid: 'o',
    sub: 'usr_x',
    iss: ISSUER,
    aud: 'ps_x',
    iat: now,
    exp: now + 60,
    jti: crypto.randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'sso-handoff+jwt', ...header } as never)
    .sign(key)
}

describe('reference verifier (dev/webclient/verify.ts)', () => {
  it('accepts a real assertion once, and refuses its replay', async () => {
    const { tenant, jwt } = await realAssertion()
    const seen = new Map<string, number>()
    const options = { issuer: ISSUER, audience: tenant.phoneSystemId, jwks: await gatewayJwks(), seen }
    const who = await verifyHandoffAssertion(jwt, options)
    expect(who).toMatchObject({
      tid: tenant.tenantId,
      oid: tenant.user.oid,
      email: tenant.user.email,
      name: tenant.user.name,
      ext: '100',
    })
    await expect(verifyHandoffAssertion(jwt, options)).rejects.toThrow('already used')
  })

  it.each([
    ['another phone system (aud)', { audience: 'ps_someone_else' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['another issuer', { issuer: 'https://login.evil.example' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['after it expired', { now: () => Date.now() + 120_000 }, 'ERR_JWT_EXPIRED'],
  ])('refuses a real assertion for %s', async (_name, override, reason) => {
    const { tenant, jwt } = await realAssertion()
    const options = {
      issuer: ISSUER,
      audience: tenant.phoneSystemId,
      jwks: await gatewayJwks(),
      seen: new Map(),
      ...override,
    }
    await expect(verifyHandoffAssertion(jwt, options)).rejects.toThrow(reason)
  })

  it('refuses a real assertion whose payload was edited', async () => {
    const { tenant, jwt } = await realAssertion()
    const [h, p, s] = jwt.split('.')
    const claims = JSON.parse(atob(p!.replace(/-/g, '+').replace(/_/g, '/')))
    const edited = btoa(JSON.stringify({ ...claims, ext: '999' }))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '')
    const options = { issuer: ISSUER, audience: tenant.phoneSystemId, jwks: await gatewayJwks(), seen: new Map() }
    await expect(verifyHandoffAssertion(`${h}.${edited}.${s}`, options)).rejects.toThrow(
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    )
  })

  const base = { issuer: ISSUER, audience: 'ps_x' }
  it.each([
    ['without typ', 0, { typ: undefined }, {}, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['with another typ', 0, { typ: 'JWT' }, {}, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['signed by a key the gateway never published', 'foreign', {}, {}, 'ERR_JWKS_NO_MATCHING_KEY'],
    ['living longer than 60 s', 0, {}, { exp: Math.floor(Date.now() / 1000) + 3600 }, 'lives longer than 60 s'],
    ['without jti', 0, {}, { jti: undefined }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['without oid', 0, {}, { oid: undefined }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
  ] as const)('refuses a forged assertion %s', async (_name, key, header, claims, reason) => {
    const kid = key === 'foreign' ? 'nope' : TEST_SIGNING_KEYS[key]!.kid
    const jwt = await forge(key, { kid, ...header }, claims)
    await expect(verifyHandoffAssertion(jwt, { ...base, jwks: await gatewayJwks(), seen: new Map() })).rejects.toThrow(
      reason,
    )
  })

  it('refuses HS256 and alg none', async () => {
    const now = Math.floor(Date.now() / 1000)
    const claims = { tid: 't', oid: 'o', sub: 's', iss: ISSUER, aud: 'ps_x', iat: now, exp: now + 60, jti: 'j' }
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'sso-handoff+jwt' })
      .sign(new TextEncoder().encode('x'.repeat(32)))
    const none = `${btoa(JSON.stringify({ alg: 'none', typ: 'sso-handoff+jwt' }))}.${btoa(JSON.stringify(claims))}.`
    for (const jwt of [hs, none]) {
      await expect(
        verifyHandoffAssertion(jwt, { ...base, jwks: await gatewayJwks(), seen: new Map() }),
      ).rejects.toThrow('assertion refused')
    }
  })

  it('accepts an assertion signed by the second (published, not yet current) key: rotation works', async () => {
    const jwt = await forge(1, { kid: TEST_SIGNING_KEYS[1]!.kid }, {})
    await expect(
      verifyHandoffAssertion(jwt, { ...base, jwks: await gatewayJwks(), seen: new Map() }),
    ).resolves.toMatchObject({ sub: 'usr_x' })
  })
})
