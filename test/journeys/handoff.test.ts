import { env, SELF } from 'cloudflare:test'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { TEST_SIGNING_KEYS } from '../bindings'
import { assertionFrom, PRIMARY, seedSignInTenant, signIn } from '../fixtures'

async function jwks() {
  const res = await SELF.fetch(`https://${PRIMARY}/.well-known/jwks.json`)
  return { res, body: await res.json<{ keys: Array<Record<string, string>> }>() }
}

describe('GET /.well-known/jwks.json', () => {
  it('publishes the public part of every configured key, current first, with a short cache lifetime', async () => {
    const { res, body } = await jwks()
    expect(res.status).toBe(200)
    expect(body.keys.map((k) => k.kid)).toEqual(TEST_SIGNING_KEYS.map((k) => k.kid))
    for (const key of body.keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
      expect(key).not.toHaveProperty('d')
    }
    const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1])
    expect(maxAge).toBeGreaterThan(0)
    expect(maxAge).toBeLessThanOrEqual(600)
  })

  it('answers on tenant hosts too, identically', async () => {
    const tenant = await seedSignInTenant()
    const onTenant = await (await SELF.fetch(`https://${tenant.hostname}/.well-known/jwks.json`)).json()
    expect(onTenant).toEqual((await jwks()).body)
  })
})

describe('the handoff', () => {
  it('posts a 60-second ES256 assertion with an explicit typ to the handoff URL, verifiable with the published JWKS', async () => {
    const tenant = await seedSignInTenant()
    const result = await signIn(tenant.hostname, tenant.user)
    const { jwt, claims, action } = assertionFrom(result.html)
    expect(action).toBe('https://pbx.example/sso')
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', kid: TEST_SIGNING_KEYS[0]!.kid, typ: 'sso-handoff+jwt' })

    const { payload } = await jwtVerify(jwt, createLocalJWKSet((await jwks()).body as never), {
      algorithms: ['ES256'],
      typ: 'sso-handoff+jwt',
      issuer: `https://${PRIMARY}`,
      audience: tenant.phoneSystemId,
    })
    expect(payload).toEqual({
      iss: `https://${PRIMARY}`,
      aud: tenant.phoneSystemId,
      sub: expect.stringMatching(/^usr_/),
      email: tenant.user.email,
      name: tenant.user.name,
      ext: '100',
      tid: tenant.tenantId,
      oid: tenant.user.oid,
      iat: expect.any(Number),
      exp: expect.any(Number),
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22,}$/),
    })
    expect(payload.exp! - payload.iat!).toBe(60)
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(30)
    expect(claims.jti).toBe(payload.jti)
  })

  it('gives every assertion its own jti', async () => {
    const tenant = await seedSignInTenant()
    const first = assertionFrom((await signIn(tenant.hostname, tenant.user)).html).claims.jti
    const second = assertionFrom((await signIn(tenant.hostname, tenant.user)).html).claims.jti
    expect(first).not.toBe(second)
  })

  it('is a page, never a redirect: the assertion is in no URL; the script runs by nonce and the form may only go to the phone system', async () => {
    const tenant = await seedSignInTenant()
    const { res, html } = await signIn(tenant.hostname, tenant.user)
    expect(res.status).toBe(200)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    const csp = res.headers.get('content-security-policy')!
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1]
    expect(nonce).toBeDefined()
    expect(html).toContain(`<script nonce="${nonce}">document.getElementById('handoff').submit()</script>`)
    expect(csp).toContain('form-action https://pbx.example')
    expect(csp).not.toContain("form-action 'self'")
    expect(html).toMatch(/<button class="button" type="submit" id="continue">\s*Continue to HQ/)
  })
})

void env
