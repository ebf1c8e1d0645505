/**
 * What an attacker tries with the flow: replaying callbacks, planting or
 * swapping cookies, finishing a sign-in on another host or in another
 * browser, using stale states and codes.
 */
import { SELF } from 'cloudflare:test'
import { base64url, EncryptJWT, jwtDecrypt } from 'jose'
import { describe, expect, it, vi } from 'vitest'
import { TEST_FLOW_KEY } from '../bindings'
import {
  api,
  apiJson,
  cookieFrom,
  entraControl,
  FLOW_COOKIE,
  HANDOFF_FIELD,
  PRIMARY,
  pickAccount,
  seedSignInTenant,
  signIn,
  startLogin,
  withCookie,
} from '../fixtures'
import { flowsOf } from '../flows'

async function expectRefused(res: Response, status = 400) {
  const html = await res.text()
  expect(res.status).toBe(status)
  expect(html).not.toContain(HANDOFF_FIELD)
  return html
}

/** Runs a central flow up to the callback's 303; returns what an attacker or a browser could hold at that point. */
async function centralUpToComplete(hostname: string, user: Parameters<typeof pickAccount>[1]) {
  const { cookie, authorizeUrl } = await startLogin(hostname)
  const callbackUrl = await pickAccount(authorizeUrl, user)
  const central = await SELF.fetch(callbackUrl, withCookie(null))
  expect(central.status).toBe(303)
  expect(central.headers.get('cache-control')).toBe('no-store')
  expect(central.headers.get('referrer-policy')).toBe('no-referrer')
  return { cookie, callbackUrl, completeUrl: new URL(central.headers.get('location')!) }
}

function withCode(url: URL, code: string): URL {
  const changed = new URL(url)
  changed.searchParams.set('code', code)
  return changed
}

describe('replays', () => {
  it('a central callback replayed (with or without cookies) is refused by the gateway itself: the state is used up', async () => {
    const tenant = await seedSignInTenant()
    const first = await signIn(tenant.hostname, tenant.user)
    expect(first.res.status).toBe(200)
    const tokenCalls = async () => (await entraControl('hits', undefined, 'GET'))[`token:${tenant.tenantId}`] ?? 0
    const before = await tokenCalls()
    for (const cookie of [null, first.cookie]) {
      const html = await expectRefused(await SELF.fetch(first.callbackUrl, withCookie(cookie)))
      // The gateway's own answer, not Entra refusing a redeemed code: the code never went to Entra again.
      expect(html).toContain('This sign-in has expired')
    }
    expect(await tokenCalls()).toBe(before)
  })

  it('a central callback is refused when the host the sign-in started on was detached meanwhile', async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
    expect((await api('DELETE', `/hostnames/${tenant.hostname}`)).status).toBe(204)
    const res = await SELF.fetch(callbackUrl, withCookie(null))
    expect(res.headers.get('location')).toBeNull()
    const html = await expectRefused(res)
    expect(html).toContain('This sign-in has expired')
  })

  it('a direct callback replayed with the cookies it had is refused', async () => {
    const tenant = await seedSignInTenant({ callbackMode: 'direct' })
    const first = await signIn(tenant.hostname, tenant.user)
    expect(first.res.status).toBe(200)
    expect(first.callbackUrl.hostname).toBe(tenant.hostname)
    const html = await expectRefused(await SELF.fetch(first.callbackUrl, withCookie(first.cookie)))
    expect(html).toContain('This sign-in has expired')
  })

  it('a completion code works once', async () => {
    const tenant = await seedSignInTenant()
    const { cookie, completeUrl } = await centralUpToComplete(tenant.hostname, tenant.user)
    expect((await SELF.fetch(completeUrl, withCookie(cookie))).status).toBe(200)
    await expectRefused(await SELF.fetch(completeUrl, withCookie(cookie)))
  })

  it('a completion code is sealed to its flow and identity: one re-sealed for another user, or without one, is refused', async () => {
    const tenant = await seedSignInTenant()
    const { cookie, completeUrl } = await centralUpToComplete(tenant.hostname, tenant.user)
    const key = base64url.decode(TEST_FLOW_KEY)
    const code = completeUrl.searchParams.get('code')!
    const { payload } = await jwtDecrypt(code, key, { audience: `flow-completion:${tenant.hostname}` })
    // Only FLOW_KEY can seal a code (this test holds it); without it, a code cannot be changed in place.
    const flipped = `${code.slice(0, -3)}${code.at(-3) === 'A' ? 'B' : 'A'}${code.slice(-2)}`
    await expectRefused(await SELF.fetch(withCode(completeUrl, flipped), withCookie(cookie)))
    // A code in the shape of the previous release (flow id and randomness, no identity), as during a deploy.
    const { i: _identity, ...withoutIdentity } = payload as { i: unknown }
    const reSealed = await new EncryptJWT({ ...withoutIdentity })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(key)
    await expectRefused(await SELF.fetch(withCode(completeUrl, reSealed), withCookie(cookie)))
    // Neither refusal used the flow up: the genuine code still finishes it, once.
    expect((await SELF.fetch(completeUrl, withCookie(cookie))).status).toBe(200)
  })

  it('the final answer deletes the flow cookie', async () => {
    const tenant = await seedSignInTenant()
    const { cookie, completeUrl } = await centralUpToComplete(tenant.hostname, tenant.user)
    const res = await SELF.fetch(completeUrl, withCookie(cookie))
    const header = res.headers.getSetCookie().find((h) => h.startsWith(`${FLOW_COOKIE}=`))
    expect(header).toMatch(/Max-Age=0/i)
  })
})

describe('binding the result to the browser and the host', () => {
  it('a completion link opened in another browser (no flow cookie) is refused', async () => {
    const tenant = await seedSignInTenant()
    const { completeUrl } = await centralUpToComplete(tenant.hostname, tenant.user)
    const html = await expectRefused(await SELF.fetch(completeUrl, withCookie(null)))
    expect(html).toContain('make sure your browser accepts cookies')
  })

  it("login CSRF: the attacker's completion link in a victim's browser (with the victim's own flow cookie) is refused", async () => {
    const tenant = await seedSignInTenant()
    const attacker = await centralUpToComplete(tenant.hostname, tenant.user)
    const victim = await startLogin(tenant.hostname)
    await expectRefused(await SELF.fetch(attacker.completeUrl, withCookie(victim.cookie)))
    // and the attacker's code is not burnt for nothing: it still finishes in the attacker's browser
    expect((await SELF.fetch(attacker.completeUrl, withCookie(attacker.cookie))).status).toBe(200)
  })

  it('a planted flow cookie of another flow cannot finish a direct callback', async () => {
    const tenant = await seedSignInTenant({ callbackMode: 'direct' })
    const attacker = await startLogin(tenant.hostname)
    const attackerCallback = await pickAccount(attacker.authorizeUrl, tenant.user)
    const victim = await startLogin(tenant.hostname)
    await expectRefused(await SELF.fetch(attackerCallback, withCookie(victim.cookie)))
  })

  it('a direct callback without the flow cookie is refused', async () => {
    const tenant = await seedSignInTenant({ callbackMode: 'direct' })
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callback = await pickAccount(authorizeUrl, tenant.user)
    await expectRefused(await SELF.fetch(callback, withCookie(null)))
  })

  it('a sign-in started on one host cannot be finished on another', async () => {
    const a = await seedSignInTenant()
    const b = await seedSignInTenant()
    const flowA = await centralUpToComplete(a.hostname, a.user)
    const onB = new URL(flowA.completeUrl)
    onB.hostname = b.hostname
    // A's cookie is sealed for A: B cannot read it...
    await expectRefused(await SELF.fetch(onB, withCookie(flowA.cookie)))
    // ...and with B's own flow cookie the code belongs to another flow.
    const flowB = await startLogin(b.hostname)
    await expectRefused(await SELF.fetch(onB, withCookie(flowB.cookie)))
    // A's code still finishes on A.
    expect((await SELF.fetch(flowA.completeUrl, withCookie(flowA.cookie))).status).toBe(200)
  })

  it("a central flow's callback sent to a tenant host instead of the primary is refused", async () => {
    const tenant = await seedSignInTenant()
    const { cookie, authorizeUrl } = await startLogin(tenant.hostname)
    const callback = await pickAccount(authorizeUrl, tenant.user)
    expect(callback.hostname).toBe(PRIMARY)
    callback.hostname = tenant.hostname
    await expectRefused(await SELF.fetch(callback, withCookie(cookie)))
  })

  it('a sign-in cannot finish after its host moved to another organization (the cookie is bound to the organization)', async () => {
    const tenant = await seedSignInTenant()
    const flow = await centralUpToComplete(tenant.hostname, tenant.user)
    const other = await seedSignInTenant()
    await apiJson('DELETE', `/hostnames/${tenant.hostname}`, undefined, 204)
    await apiJson('POST', `/orgs/${other.orgId}/hostnames`, { hostname: tenant.hostname }, 201)
    await expectRefused(await SELF.fetch(flow.completeUrl, withCookie(flow.cookie)))
  })

  it('a tampered flow cookie is refused', async () => {
    const tenant = await seedSignInTenant()
    const { cookie, completeUrl } = await centralUpToComplete(tenant.hostname, tenant.user)
    const parts = cookie.split('.')
    const tag = parts[4]!
    parts[4] = (tag[0] === 'A' ? 'B' : 'A') + tag.slice(1)
    await expectRefused(await SELF.fetch(completeUrl, withCookie(parts.join('.'))))
  })
})

describe('stale and malformed answers', () => {
  it('a callback whose iss parameter (RFC 9207) names another issuer is refused, without a session', async () => {
    const tenant = await seedSignInTenant()
    const { cookie, authorizeUrl } = await startLogin(tenant.hostname)
    const callback = await pickAccount(authorizeUrl, tenant.user)
    callback.searchParams.set('iss', 'https://login.evil.example/v2.0')
    const res = await SELF.fetch(callback, withCookie(null))
    expect(res.status).toBe(502)
    expect(await res.text()).toContain('Your sign-in could not be verified')
    expect((await flowsOf(tenant.hostname)).map((flow) => flow.completedAt)).toEqual([null])
    void cookie
  })

  it('a flow older than 10 minutes is refused at the callback', async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callback = await pickAccount(authorizeUrl, tenant.user)
    // The same flow, sealed genuinely but 11 minutes ago (the state carries its own expiry).
    const key = base64url.decode(TEST_FLOW_KEY)
    const { payload } = await jwtDecrypt(callback.searchParams.get('state')!, key)
    const past = Math.floor(Date.now() / 1000) - 660
    callback.searchParams.set(
      'state',
      await new EncryptJWT({ ...payload })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .setIssuedAt(past)
        .setExpirationTime(past + 600)
        .encrypt(key),
    )
    await expectRefused(await SELF.fetch(callback, withCookie(null)))
    expect(await flowsOf(tenant.hostname)).toEqual([])
  })

  it('a completion code older than 60 seconds is refused', async () => {
    const tenant = await seedSignInTenant()
    const { cookie, completeUrl } = await centralUpToComplete(tenant.hostname, tenant.user)
    // The code carries its own expiry (sealed, 60 s); the flow itself is still young.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 })
    try {
      await expectRefused(await SELF.fetch(completeUrl, withCookie(cookie)))
    } finally {
      vi.useRealTimers()
    }
    // Refused because of its age alone: in time, the same code still completes.
    expect((await SELF.fetch(completeUrl, withCookie(cookie))).status).toBe(200)
  })

  it.each([
    ['no state', '/sso/callback?code=abc'],
    ['an unknown state', '/sso/callback?code=abc&state=not-a-state'],
    ['a 10 KiB state', `/sso/callback?code=abc&state=${'x'.repeat(10_240)}`],
    ['nothing at all', '/sso/callback'],
  ])('a callback with %s is refused', async (_name, path) => {
    const html = await expectRefused(await SELF.fetch(`https://${PRIMARY}${path}`, withCookie(null)))
    expect(html).toContain('This sign-in has expired')
  })

  it.each([
    ['no code', '/sso/complete'],
    ['a made-up code', '/sso/complete?code=made-up'],
    ['a code over 8 KiB', `/sso/complete?code=${'x'.repeat(8193)}`],
  ])('/sso/complete with %s is refused', async (_name, path) => {
    const tenant = await seedSignInTenant()
    const { cookie } = await startLogin(tenant.hostname)
    await expectRefused(await SELF.fetch(`https://${tenant.hostname}${path}`, withCookie(cookie)))
  })

  it('a cookie from the primary host is useless on a tenant host', async () => {
    const tenant = await seedSignInTenant()
    const primaryLogin = await SELF.fetch(`https://${PRIMARY}/sso/login`, { redirect: 'manual' })
    const primaryCookie = cookieFrom(primaryLogin)!
    const { completeUrl } = await centralUpToComplete(tenant.hostname, tenant.user)
    await expectRefused(await SELF.fetch(completeUrl, withCookie(primaryCookie)))
  })
})
