/**
 * Review of the reshape, as an anonymous visitor and as a partner sending
 * hostile input: nothing answers 5xx, leaks a stack, or carries a secret.
 * (Upstream statuses 502/504 are fine only where an upstream really failed;
 * none is involved in these requests.)
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { TEST_ADMIN_KEY, TEST_CLIENT_SECRET, TEST_FLOW_KEY } from '../bindings'
import {
  api,
  apiJson,
  createPartner,
  FLOW_COOKIE,
  PRIMARY,
  pickAccount,
  seedSignInTenant,
  startLogin,
  withCookie,
} from '../fixtures'

function noLeak(text: string) {
  for (const secret of [TEST_ADMIN_KEY, TEST_CLIENT_SECRET, TEST_FLOW_KEY, '"d":', 'at async', 'node_modules']) {
    expect(text).not.toContain(secret)
  }
}

describe('review: hostile requests to the sign-in routes', () => {
  it.each([
    ['/sso/complete?code=%E0%A4%A'],
    ['/sso/complete?code=a&code=b'],
    ['/sso/callback?state=%ED%A0%80&code=x'],
    ['/sso/callback?state=a&state=b&code=c&code=d'],
    ['/sso/callback?error=%00%ff&error_description=AADSTS99999999999999999999&state=x'],
    ['/sso/login?x=%ZZ'],
    ['/%2e%2e/sso/login'],
    ['/.well-known/jwks.json?%'],
    ['/api/v1/orgs/%E0%A4%A'],
    ['/api/v1/openapi.json?x=%'],
  ])('GET %s on the primary host answers below 500', async (path) => {
    const res = await SELF.fetch(`https://${PRIMARY}${path}`, { redirect: 'manual' })
    const text = await res.text()
    expect(res.status, text.slice(0, 300)).toBeLessThan(500)
    noLeak(text)
  })

  it.each([
    ['a garbage flow cookie', `${FLOW_COOKIE}=${'x'.repeat(4000)}`],
    ['a malformed percent-encoded flow cookie', `${FLOW_COOKIE}=%E0%A4%A`],
    ['a JWE-shaped flow cookie', `${FLOW_COOKIE}=a.b.c.d.e`],
    ['two flow cookies', `${FLOW_COOKIE}=a; ${FLOW_COOKIE}=b`],
  ])('/sso/complete and /sso/choose with %s are refused below 500', async (_name, cookie) => {
    const tenant = await seedSignInTenant()
    const complete = await SELF.fetch(`https://${tenant.hostname}/sso/complete?code=abc`, {
      headers: { cookie },
      redirect: 'manual',
    })
    expect(complete.status).toBe(400)
    noLeak(await complete.text())
    const choose = await SELF.fetch(`https://${tenant.hostname}/sso/choose`, {
      method: 'POST',
      headers: {
        cookie,
        'content-type': 'application/x-www-form-urlencoded',
        origin: `https://${tenant.hostname}`,
        'sec-fetch-site': 'same-origin',
      },
      body: 'token=abc&phoneSystem=ps_x',
    })
    expect(choose.status).toBeGreaterThanOrEqual(400)
    expect(choose.status).toBeLessThan(500)
    noLeak(await choose.text())
  })

  it("a real callback with its code repeated is refused below 500 (it only burns the sender's own flow)", async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callback = await pickAccount(authorizeUrl, tenant.user)
    callback.searchParams.append('code', 'second-code')
    const res = await SELF.fetch(callback, withCookie(null))
    const text = await res.text()
    expect(res.status, text.slice(0, 300)).toBeLessThan(500)
    expect(res.headers.get('location')).toBeNull()
  })

  it('a real callback with its state repeated (first the real one) is refused below 500', async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callback = await pickAccount(authorizeUrl, tenant.user)
    callback.searchParams.append('state', 'another-state')
    const res = await SELF.fetch(callback, withCookie(null))
    const text = await res.text()
    expect(res.status, text.slice(0, 300)).toBeLessThan(500)
    expect(res.headers.get('location')).toBeNull()
  })
})

describe('review: hostile input to the admin API (partner key)', () => {
  it.each<[string, string, unknown?, Record<string, string>?]>([
    ['GET', '/audit-log?since=2026-02-31T00:00:00Z'],
    ['GET', '/audit-log?since=2026-01-01T00:00:00%2B99:99'],
    ['GET', '/audit-log?cursor=999999999999999'],
    ['GET', '/audit-log?limit=0000000001&limit=9999'],
    ['GET', '/audit-log?__proto__=x&constructor=y&orgId=__proto__'],
    ['GET', '/orgs?parentId=%00'],
    ['GET', '/orgs?parentId=__proto__'],
    ['GET', '/hostnames/%E2%80%AE.localhost'],
    ['GET', '/hostnames/xn--.localhost'],
    ['GET', '/hostnames/xn--ls8h.localhost'],
    ['GET', `/hostnames/${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.localhost`],
    ['GET', '/hostnames/a%2Fb'],
    ['GET', '/hostnames/%5B%3A%3A1%5D'],
    ['POST', '/orgs', '[]'],
    ['POST', '/orgs', 'null'],
    ['POST', '/orgs', '{"__proto__":{"kind":"partner"},"name":"x","kind":"customer"}'],
    ['POST', '/orgs', '{"name":"x","kind":"customer","branding":{"logoUrl":"https://x.example/\\ud800"}}'],
    ['POST', '/orgs', '{"name":"\\ud800","kind":"customer"}'],
    ['POST', '/orgs', `{"name":"x","kind":"customer","parentId":"${'x'.repeat(70)}"}`],
    ['POST', '/orgs', '{"name":"x"', { 'content-type': 'application/json' }],
    ['POST', '/orgs', '{"name":"x","kind":"customer"}', { 'content-type': 'application/JSON; charset=utf-8' }],
  ])('%s %s with a partner key answers below 500', async (method, path, rawBody, headers) => {
    const partner = await createPartner()
    const { key } = await apiJson('POST', `/orgs/${partner.id}/api-keys`, {}, 201)
    const res = await api(method, path, undefined, {
      key,
      ...(rawBody !== undefined ? { rawBody: rawBody as string } : {}),
      headers: { ...(rawBody !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    })
    const text = await res.text()
    expect(res.status, text.slice(0, 300)).toBeLessThan(500)
    noLeak(text)
  })

  it('a sso-users page with a forged cursor or an odd query answers below 500', async () => {
    const partner = await createPartner()
    const ps = await apiJson(
      'POST',
      `/orgs/${partner.id}/phone-systems`,
      {
        name: 'P',
        webClientUrl: 'https://p.example/',
        handoffUrl: 'https://p.example/h',
        entraTenantId: crypto.randomUUID(),
      },
      201,
    )
    const forged = (value: unknown) =>
      btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    for (const query of [
      `cursor=${forged(['\ud800', '\udfff'])}`,
      `cursor=${forged([{}, []])}`,
      `cursor=${forged(['a'.repeat(1500), 'b'])}`,
      'cursor=%%%',
      `q=${encodeURIComponent('%_\\'.repeat(20))}`,
      `q=${encodeURIComponent('é'.repeat(40))}`,
      `q=${encodeURIComponent('\u0000')}`,
      'limit=1000&q=a&q=b',
    ]) {
      const res = await api('GET', `/phone-systems/${ps.id}/sso-users?${query}`)
      const text = await res.text()
      expect(res.status, `${query}: ${text.slice(0, 300)}`).toBeLessThan(500)
    }
  })
})
