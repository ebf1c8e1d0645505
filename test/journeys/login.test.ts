import { env, SELF } from 'cloudflare:test'
import { base64url, EncryptJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { flowFromState } from '../../src/signin/flow'
import { TEST_FLOW_KEY } from '../bindings'
import {
  addEntraUser,
  apiJson,
  CookieJar,
  entraBase,
  entraControl,
  FLOW_COOKIE,
  HANDOFF_FIELD,
  newTenantId,
  PRIMARY,
  pickAccount,
  seedSignInTenant,
  signIn,
  startLogin,
  withCookie,
} from '../fixtures'
import { flowObject, flowObjectCount, flowsOf, storageOf } from '../flows'

describe('GET /sso/login', () => {
  it("redirects (302) to the discovered authorize endpoint of the host's one tenant, with PKCE S256, state and nonce", async () => {
    const tenant = await seedSignInTenant()
    const { res, authorizeUrl } = await startLogin(tenant.hostname)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(
      `${entraBase()}/${tenant.tenantId}/oauth2/v2.0/authorize`,
    )
    const p = authorizeUrl.searchParams
    expect([...p.keys()].sort()).toEqual(
      [
        'client_id',
        'code_challenge',
        'code_challenge_method',
        'nonce',
        'redirect_uri',
        'response_mode',
        'response_type',
        'scope',
        'state',
      ].sort(),
    )
    expect(p.get('client_id')).toBe(env.ENTRA_CLIENT_ID)
    expect(p.get('response_type')).toBe('code')
    expect(p.get('response_mode')).toBe('query')
    expect(p.get('scope')).toBe('openid profile email')
    expect(p.get('redirect_uri')).toBe(`https://${PRIMARY}/sso/callback`)
    expect(p.get('code_challenge_method')).toBe('S256')
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    // The state is the sealed flow (a JWE), short enough for any URL.
    expect(p.get('state')!.split('.')).toHaveLength(5)
    expect(p.get('state')!.length).toBeLessThan(1024)
    expect(p.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(p.get('nonce')).not.toBe(p.get('state'))
  })

  it('sets the flow cookie with __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, at most 600 s', async () => {
    const tenant = await seedSignInTenant()
    const { res } = await startLogin(tenant.hostname)
    const [header] = res.headers.getSetCookie().filter((h) => h.startsWith(`${FLOW_COOKIE}=`))
    const attributes = header!
      .split(';')
      .slice(1)
      .map((a) => a.trim().toLowerCase())
    expect(attributes).toContain('secure')
    expect(attributes).toContain('httponly')
    expect(attributes).toContain('samesite=lax')
    expect(attributes).toContain('path=/')
    expect(attributes.some((a) => a.startsWith('domain'))).toBe(false)
    const maxAge = Number(attributes.find((a) => a.startsWith('max-age='))?.split('=')[1])
    expect(maxAge).toBeGreaterThan(0)
    expect(maxAge).toBeLessThanOrEqual(600)
  })

  it('keeps the flow secret and writes nothing: the cookie and the state are JWEs, and no flow object exists yet', async () => {
    const tenant = await seedSignInTenant()
    const before = await flowObjectCount()
    const { cookie, authorizeUrl } = await startLogin(tenant.hostname)
    const state = authorizeUrl.searchParams.get('state')!
    expect(cookie.split('.')).toHaveLength(5)
    expect(cookie).not.toContain(state)
    // The verifier (behind the code challenge) and the nonce travel only inside the encrypted state.
    const plaintext = atob(state.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/'))
    expect(JSON.parse(plaintext)).toEqual({ alg: 'dir', enc: 'A256GCM' })
    expect(state).not.toContain(authorizeUrl.searchParams.get('nonce')!)
    const opened = await flowFromState(state, base64url.decode(TEST_FLOW_KEY))
    expect(opened).toMatchObject({ hostname: tenant.hostname, tenant: tenant.tenantId })
    expect(opened!.expiresAt - opened!.createdAt).toBeLessThanOrEqual(600_000)
    expect(await flowObjectCount()).toBe(before)
    expect(await storageOf(flowObject(opened!.id))).toEqual({ keys: [], alarm: null })
  })

  it('opens no state sealed under another key, for another purpose, or tampered with', async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const state = authorizeUrl.searchParams.get('state')!
    const key = base64url.decode(TEST_FLOW_KEY)
    expect(await flowFromState(state, new Uint8Array(32).fill(7))).toBeNull()
    const parts = state.split('.')
    parts[3] = `${parts[3]!.slice(0, -2)}${parts[3]!.endsWith('AA') ? 'AB' : 'AA'}`
    expect(await flowFromState(parts.join('.'), key)).toBeNull()
    // A genuine sealed value of another purpose (the flow cookie) is no state.
    const { cookie } = await startLogin(tenant.hostname)
    expect(await flowFromState(cookie, key)).toBeNull()
    expect(await flowFromState('x'.repeat(5000), key)).toBeNull()
  })

  it("opens no state-shaped payload sealed for a completion code, a chooser token or a cookie (audiences don't stand in for each other)", async () => {
    const key = base64url.decode(TEST_FLOW_KEY)
    const payload = {
      f: 'fid',
      h: PRIMARY,
      o: null,
      c: null,
      r: `https://${PRIMARY}/sso/callback`,
      t: 'organizations',
      v: 'v'.repeat(43),
      n: 'nonce',
      s: Date.now(),
    }
    const sealFor = (audience: string) =>
      new EncryptJWT(payload)
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('10m')
        .encrypt(key)
    expect(await flowFromState(await sealFor('flow-state'), key)).not.toBeNull()
    for (const audience of [`flow-completion:${PRIMARY}`, `flow-choice:${PRIMARY}`, `flow-cookie:${PRIMARY}`]) {
      expect(await flowFromState(await sealFor(audience), key), audience).toBeNull()
    }
  })

  it("the flow object's expiry is the state's own: ten minutes from the login, not from the callback", async () => {
    const tenant = await seedSignInTenant()
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.res.status).toBe(200)
    const [record] = await flowsOf(tenant.hostname)
    const { createdAt, expiresAt } = record!.flow
    // jose seals whole seconds: the expiry is at most the login plus 600 s, and no earlier than a second before.
    expect(expiresAt).toBeLessThanOrEqual(createdAt + 600_000)
    expect(expiresAt).toBeGreaterThan(createdAt + 599_000)
  })

  it('lets no query parameter or forwarding header choose where the user ends up', async () => {
    const tenant = await seedSignInTenant()
    const res = await SELF.fetch(
      `https://${tenant.hostname}/sso/login?redirect_uri=https://evil.example/cb&return_to=https://evil.example&tenant=organizations&state=fixed&prompt=none`,
      {
        redirect: 'manual',
        headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http', forwarded: 'host=evil.example' },
      },
    )
    expect(res.status).toBe(302)
    const location = res.headers.get('location')!
    expect(location).not.toContain('evil')
    const url = new URL(location)
    expect(url.searchParams.get('redirect_uri')).toBe(`https://${PRIMARY}/sso/callback`)
    expect(url.searchParams.get('state')).not.toBe('fixed')
    expect(url.searchParams.has('prompt')).toBe(false)
    expect(url.pathname).toBe(`/${tenant.tenantId}/oauth2/v2.0/authorize`)
  })

  it("uses organizations when the host's phone systems live in several tenants", async () => {
    const tenant = await seedSignInTenant()
    await apiJson(
      'POST',
      `/orgs/${tenant.orgId}/phone-systems`,
      {
        name: 'Branch',
        webClientUrl: 'https://pbx.example/b',
        handoffUrl: 'https://pbx.example/bh',
        entraTenantId: newTenantId(),
      },
      201,
    )
    const { authorizeUrl } = await startLogin(tenant.hostname)
    expect(authorizeUrl.pathname).toBe('/organizations/oauth2/v2.0/authorize')
  })

  it('starts on organizations on the primary host, with the central callback', async () => {
    const { authorizeUrl } = await startLogin(PRIMARY)
    expect(authorizeUrl.pathname).toBe('/organizations/oauth2/v2.0/authorize')
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`https://${PRIMARY}/sso/callback`)
  })

  it("uses the host's own callback in direct mode, its redirect URI registered through Graph when it was attached", async () => {
    const tenant = await seedSignInTenant({ callbackMode: 'direct' })
    const { authorizeUrl } = await startLogin(tenant.hostname)
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`https://${tenant.hostname}/sso/callback`)
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.central).toBeNull()
    expect(result.callbackUrl.hostname).toBe(tenant.hostname)
    expect(result.res.status).toBe(200)
    expect(result.html).toContain(HANDOFF_FIELD)
  })

  it('answers a 503 page when no phone system is reachable from the host', async () => {
    const tenant = await seedSignInTenant()
    await apiJson('DELETE', `/phone-systems/${tenant.phoneSystemId}`, undefined, 204)
    const res = await SELF.fetch(`https://${tenant.hostname}/sso/login`, { redirect: 'manual' })
    expect(res.status).toBe(503)
    const html = await res.text()
    expect(html).toContain('Sign-in is not set up here yet')
    expect(res.headers.getSetCookie()).toEqual([])
  })

  it('fetches discovery once per tenant, not per login', async () => {
    const tenant = await seedSignInTenant()
    await startLogin(tenant.hostname)
    await startLogin(tenant.hostname)
    await startLogin(tenant.hostname)
    const hits = await entraControl('hits', undefined, 'GET')
    expect(hits[`discovery:${tenant.tenantId}`]).toBe(1)
  })

  it('moves plain http to https on a real host', async () => {
    const tenant = await seedSignInTenant()
    const res = await SELF.fetch(`http://${tenant.hostname.replace(/localhost$/, 'provider.example')}/sso/login`, {
      redirect: 'manual',
    })
    expect(res.status).toBe(308)
    expect(res.headers.get('location')).toMatch(/^https:\/\//)
  })

  it('a second login replaces the first flow cookie: the first flow can no longer finish in this browser', async () => {
    const tenant = await seedSignInTenant()
    // A browser's cookie jar, kept by RFC 6265's rules: the second login's cookie lands where the first one was.
    const jar = new CookieJar()
    const first = await startLogin(tenant.hostname)
    jar.store(tenant.hostname, first.res)
    const second = await startLogin(tenant.hostname)
    jar.store(tenant.hostname, second.res)
    expect(jar.cookies(tenant.hostname)).toEqual([[FLOW_COOKIE, second.cookie]])

    const user = await addEntraUser(tenant.tenantId)
    const callback = await pickAccount(first.authorizeUrl, user)
    const central = await SELF.fetch(callback, withCookie(null))
    expect(central.status).toBe(303)
    const complete = await SELF.fetch(central.headers.get('location')!, {
      redirect: 'manual',
      headers: { cookie: jar.header(tenant.hostname) },
    })
    expect(complete.status).toBe(400)
    expect(await complete.text()).toContain('This sign-in has expired')
  })
})

describe('Entra discovery failures become retry pages, never a bare 500', () => {
  it.each([
    ['server_error', 502, 'Microsoft sign-in is not answering'],
    ['issuer_mismatch', 502, 'Microsoft sign-in is not answering'],
    ['invalid_json', 502, 'Microsoft sign-in is not answering'],
    ['missing_endpoints', 502, 'Microsoft sign-in is not answering'],
    ['hang_up', 502, 'Microsoft sign-in is not answering'],
    ['slow', 504, 'Microsoft sign-in is not answering'],
  ])('discovery %s: %i', async (behaviour, status, title) => {
    const tenant = await seedSignInTenant()
    await entraControl(`tenants/${tenant.tenantId}`, { discovery: behaviour })
    const res = await SELF.fetch(`https://${tenant.hostname}/sso/login`, { redirect: 'manual' })
    expect(res.status).toBe(status)
    const html = await res.text()
    expect(html).toContain(title)
    expect(html).toContain('try again')
    expect(html).toMatch(/Reference: <code>[0-9a-f-]{36}<\/code>/)
    expect(res.headers.getSetCookie()).toEqual([])
  })
})
