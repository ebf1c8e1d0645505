/**
 * The ID token is checked in two layers: oauth4webapi's claim checks on the
 * token response, then jose's signature and claim checks with ours (the
 * tenant). End to end, each layer hides the other; here each is fed one
 * hostile token on its own, so every check of each layer is pinned.
 */
import { env } from 'cloudflare:test'
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { getConfig } from '../../src/config'
import { checkTokenResponse, discover, verifyIdToken } from '../../src/oidc/entra'

const AUTHORITY = 'https://login.microsoftonline.com'
const TENANT = '7e1a0000-0000-4000-8000-00000000000a'
const OTHER = '7e1b0000-0000-4000-8000-00000000000b'
const CLIENT = '00000000-0000-4000-8000-00000000c11e'
const OID = '0a0a0000-0000-4000-8000-000000000001'

let signingKey: CryptoKey
let strangerKey: CryptoKey
let keys: ReturnType<typeof createLocalJWKSet>

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true })
  signingKey = pair.privateKey as CryptoKey
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
  keys = createLocalJWKSet({ keys: [jwk] })
  strangerKey = (await generateKeyPair('RS256')).privateKey as CryptoKey
})

const now = () => Math.floor(Date.now() / 1000)

function claims(over: JWTPayload = {}, tenant = TENANT): JWTPayload {
  return {
    iss: `${AUTHORITY}/${tenant}/v2.0`,
    aud: CLIENT,
    sub: 'subject',
    tid: tenant,
    oid: OID,
    iat: now(),
    nbf: now(),
    exp: now() + 3600,
    nonce: 'the-nonce',
    preferred_username: 'Ann@Contoso.example',
    ...over,
  }
}

function sign(payload: JWTPayload, key = signingKey, header: Record<string, unknown> = { alg: 'RS256', kid: 'k1' }) {
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key)
}

describe('verifyIdToken (jose and the tenant check): each check alone', () => {
  const expectations = { authority: AUTHORITY, tenant: TENANT, clientId: CLIENT }

  it('accepts a genuine token and reads the identity from it', async () => {
    await expect(verifyIdToken(await sign(claims()), keys, expectations)).resolves.toMatchObject({
      tid: TENANT,
      oid: OID,
      upn: 'ann@contoso.example',
    })
  })

  it('accepts a token that expired within the 60 s clock skew', async () => {
    const token = await sign(claims({ iat: now() - 600 + 30, nbf: now() - 600, exp: now() - 30 }))
    await expect(verifyIdToken(token, keys, expectations)).resolves.toMatchObject({ tid: TENANT })
  })

  it.each([
    ['an issuer of another tenant', claims({ iss: `${AUTHORITY}/${OTHER}/v2.0` })],
    ['an issuer of another authority', claims({ iss: `https://evil.example/${TENANT}/v2.0` })],
    ['another audience', claims({ aud: '99999999-9999-4999-8999-999999999999' })],
    ['an iat 20 minutes old, still unexpired', claims({ iat: now() - 1200, nbf: now() - 1200 })],
    ['an expiry 5 minutes ago (beyond the skew)', claims({ iat: now() - 900, nbf: now() - 900, exp: now() - 300 })],
    ['a not-before 5 minutes ahead', claims({ nbf: now() + 300 })],
    ['no oid', claims({ oid: undefined })],
    ['an oid that is not a GUID', claims({ oid: 'not-a-guid' })],
    ['no sub', claims({ sub: undefined })],
    // Bounded so that every identity fits the completion code it travels in (Entra's is 43 characters).
    ['a sub of 257 characters', claims({ sub: 's'.repeat(257) })],
    ["a tid other than the authority's, with the authority's issuer", claims({ tid: OTHER })],
  ])('refuses %s', async (_name, payload) => {
    await expect(verifyIdToken(await sign(payload), keys, expectations)).rejects.toMatchObject({
      code: 'id_token_invalid',
    })
  })

  it('refuses a token signed by a key the tenant never published', async () => {
    await expect(verifyIdToken(await sign(claims(), strangerKey), keys, expectations)).rejects.toMatchObject({
      code: 'id_token_invalid',
    })
  })

  it('refuses a token MACed with HS256, whatever the key', async () => {
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'))
    await expect(verifyIdToken(token, keys, expectations)).rejects.toMatchObject({ code: 'id_token_invalid' })
  })

  it('refuses HS256 by its algorithm allow-list alone, even were a key resolver to hand it the shared secret', async () => {
    const secret = new TextEncoder().encode('a shared secret of thirty-two bytes!')
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).sign(secret)
    const resolverWithTheSecret = async () => secret
    await expect(verifyIdToken(token, resolverWithTheSecret, expectations)).rejects.toMatchObject({
      code: 'id_token_invalid',
    })
  })

  it("on organizations, takes the issuer template with the token's own tid, and nothing else", async () => {
    const organizations = { ...expectations, tenant: 'organizations' }
    await expect(verifyIdToken(await sign(claims({}, OTHER)), keys, organizations)).resolves.toMatchObject({
      tid: OTHER,
    })
    const crossed = await sign(claims({ iss: `${AUTHORITY}/${TENANT}/v2.0` }, OTHER))
    await expect(verifyIdToken(crossed, keys, organizations)).rejects.toMatchObject({ code: 'id_token_invalid' })
  })
})

describe('checkTokenResponse (oauth4webapi): each check alone, whatever the signature', () => {
  function tokenResponse(idToken: string): Response {
    return new Response(
      JSON.stringify({ access_token: 'at', token_type: 'Bearer', expires_in: 3600, id_token: idToken }),
      {
        headers: { 'content-type': 'application/json' },
      },
    )
  }

  async function as(tenant: string) {
    return discover(getConfig(env), tenant)
  }

  function issuerOf(tenant: string) {
    return `${env.ENTRA_AUTHORITY}/${tenant}/v2.0`
  }

  it('passes a token whose claims are right even though nobody checked its signature yet (verifyIdToken does)', async () => {
    const token = await sign(claims({ iss: issuerOf(TENANT) }), strangerKey)
    await expect(
      checkTokenResponse(await as(TENANT), { clientId: CLIENT }, tokenResponse(token), 'the-nonce'),
    ).resolves.toBe(token)
  })

  it.each([
    ['another issuer', { iss: `https://evil.example/${TENANT}/v2.0` }],
    ['another audience', { aud: '99999999-9999-4999-8999-999999999999' }],
    ['an expiry an hour ago', { iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 }],
    ['an iat an hour ahead', { iat: now() + 3600, nbf: now() + 3600, exp: now() + 7200 }],
    ['another nonce', { nonce: 'someone-elses' }],
    ['no nonce', { nonce: undefined }],
    ['no iat', { iat: undefined }],
    ['no sub', { sub: undefined }],
  ])('refuses %s', async (_name, over) => {
    const token = await sign(claims({ iss: issuerOf(TENANT), ...over }))
    await expect(
      checkTokenResponse(await as(TENANT), { clientId: CLIENT }, tokenResponse(token), 'the-nonce'),
    ).rejects.toMatchObject({ code: 'id_token_invalid' })
  })

  it('refuses an ID token that is not RS256', async () => {
    const token = await new SignJWT(claims({ iss: issuerOf(TENANT) }))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'))
    await expect(
      checkTokenResponse(await as(TENANT), { clientId: CLIENT }, tokenResponse(token), 'the-nonce'),
    ).rejects.toBeDefined()
  })

  it("on organizations, refuses an issuer that is not the template filled with the token's own tid", async () => {
    const organizations = await as('organizations')
    const own = await sign(claims({ iss: issuerOf(OTHER) }, OTHER))
    await expect(
      checkTokenResponse(organizations, { clientId: CLIENT }, tokenResponse(own), 'the-nonce'),
    ).resolves.toBe(own)
    const crossed = await sign(claims({ iss: issuerOf(TENANT) }, OTHER))
    await expect(
      checkTokenResponse(organizations, { clientId: CLIENT }, tokenResponse(crossed), 'the-nonce'),
    ).rejects.toMatchObject({ code: 'id_token_invalid' })
  })
})
