/**
 * The gateway's side of the handoff assertion, on its own: which key signs,
 * what is published, how rotation keeps assertions verifiable. (The demo web
 * client's verifier is tested apart, in test/dev/.)
 */
import { env } from 'cloudflare:test'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config'
import { assertionClaims, signAssertion } from '../../src/handoff/assertion'
import { publishedJwks } from '../../src/handoff/keys'
import { TEST_SIGNING_KEYS } from '../bindings'

const [first, second] = TEST_SIGNING_KEYS as [(typeof TEST_SIGNING_KEYS)[0], (typeof TEST_SIGNING_KEYS)[0]]
const configWith = (keys: unknown[]) => parseConfig({ ...env, SIGNING_KEYS: JSON.stringify(keys) })
const ISSUER = 'https://login.provider.example'

const input = {
  issuer: ISSUER,
  phoneSystemId: 'ps_1',
  record: { id: 'usr_1', email: 'list@x.com', displayName: 'List Name', extension: '7' },
  identity: { tid: 't', oid: 'o', sub: 's', upn: 'u@x.com', email: 'token@x.com', name: 'Token Name' },
}

describe('signAssertion', () => {
  it('signs ES256 with the first key of SIGNING_KEYS, its kid and the explicit typ; 60 s of life', async () => {
    const config = configWith([first, second])
    const jwt = await signAssertion(config, input)
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', kid: first.kid, typ: 'sso-handoff+jwt' })
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(publishedJwks(config)), {
      issuer: ISSUER,
      audience: 'ps_1',
      algorithms: ['ES256'],
      typ: 'sso-handoff+jwt',
    })
    expect(payload.exp! - payload.iat!).toBe(60)
    expect(payload).toMatchObject({ sub: 'usr_1', tid: 't', oid: 'o', ext: '7' })
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  it('after a rotation signs with the new first key, and what the old key signed still verifies', async () => {
    const before = await signAssertion(configWith([first, second]), input)
    const rotated = configWith([second, first])
    const after = await signAssertion(rotated, input)
    expect(decodeProtectedHeader(after).kid).toBe(second.kid)
    const jwks = createLocalJWKSet(publishedJwks(rotated))
    await expect(jwtVerify(after, jwks, { issuer: ISSUER, audience: 'ps_1' })).resolves.toBeDefined()
    await expect(jwtVerify(before, jwks, { issuer: ISSUER, audience: 'ps_1' })).resolves.toBeDefined()
  })

  it('is not verifiable once its key is no longer published', async () => {
    const jwt = await signAssertion(configWith([first, second]), input)
    const withoutIt = createLocalJWKSet(publishedJwks(configWith([second])))
    await expect(jwtVerify(jwt, withoutIt, { issuer: ISSUER, audience: 'ps_1' })).rejects.toThrow()
  })
})

describe('publishedJwks', () => {
  it('publishes every configured key, current first, public parts only', () => {
    const { keys } = publishedJwks(configWith([first, second]))
    expect(keys.map((k) => k.kid)).toEqual([first.kid, second.kid])
    for (const key of keys) {
      expect(key).not.toHaveProperty('d')
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    }
  })
})

describe('assertionClaims', () => {
  it('the list wins for name, email and extension; the token for tid and oid', () => {
    const claims = assertionClaims({
      issuer: 'https://login.provider.example',
      phoneSystemId: 'ps_1',
      record: {
        id: 'usr_1',
        email: 'list@x.com',
        displayName: 'List Name',
        extension: '7',
      },
      identity: { tid: 't', oid: 'o', sub: 's', upn: 'u@x.com', email: 'token@x.com', name: 'Token Name' },
      now: 1_000_000,
    })
    expect(claims).toMatchObject({
      sub: 'usr_1',
      email: 'list@x.com',
      name: 'List Name',
      ext: '7',
      iat: 1000,
      exp: 1060,
    })
  })
})
