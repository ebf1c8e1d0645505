/**
 * Review of the reshape, as an anonymous visitor: nothing in the request
 * chooses where the gateway sends a browser (URLs now come from
 * PUBLIC_SCHEME/PUBLIC_PORT), and no log line of a sign-in carries a code,
 * state, cookie, completion code, chooser token, assertion or secret.
 */
import { SELF } from 'cloudflare:test'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { TEST_CLIENT_SECRET, TEST_FLOW_KEY } from '../bindings'
import {
  assertionFrom,
  entraBase,
  PRIMARY,
  phoneSystemNamed,
  pickAccount,
  putList,
  seedSignInTenant,
  startLogin,
  withCookie,
} from '../fixtures'

describe('review: no open redirect', () => {
  it('/sso/login ignores every query parameter and forwarding header', async () => {
    const tenant = await seedSignInTenant()
    const res = await SELF.fetch(
      `https://${tenant.hostname}:4443/sso/login?redirect_uri=https://evil.example/cb&return_to=https://evil.example&state=x&tenant=common`,
      {
        redirect: 'manual',
        headers: {
          'x-forwarded-host': 'evil.example',
          'x-forwarded-proto': 'http',
          forwarded: 'host=evil.example;proto=http',
        },
      },
    )
    expect(res.status).toBe(302)
    const target = new URL(res.headers.get('location')!)
    expect(target.origin).toBe(new URL(entraBase()).origin)
    expect(target.searchParams.get('redirect_uri')).toBe(`https://${PRIMARY}/sso/callback`)
    expect(target.searchParams.getAll('state')).toHaveLength(1)
    expect(target.searchParams.get('state')).not.toBe('x')
    expect(target.pathname).toBe(`/${tenant.tenantId}/oauth2/v2.0/authorize`)
  })

  it("the central callback sends the browser to the flow's own host only, whatever the callback request says", async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callback = await pickAccount(authorizeUrl, tenant.user)
    const evil = new URL(callback)
    evil.port = '4443'
    evil.searchParams.set('redirect_uri', 'https://evil.example/')
    const res = await SELF.fetch(evil, {
      redirect: 'manual',
      headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
    })
    expect(res.status).toBe(303)
    const location = new URL(res.headers.get('location')!)
    expect(location.origin).toBe(`https://${tenant.hostname}`)
    expect(location.pathname).toBe('/sso/complete')
    expect([...location.searchParams.keys()]).toEqual(['code'])
  })

  it('the "Start again" link of an error page points at the flow\'s own host', async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callback = await pickAccount(authorizeUrl, tenant.user)
    await SELF.fetch(callback, withCookie(null))
    const replay = await SELF.fetch(callback, { redirect: 'manual', headers: { 'x-forwarded-host': 'evil.example' } })
    const html = await replay.text()
    expect(replay.status).toBe(400)
    expect(html).not.toContain('evil.example')
  })
})

describe('review: no secret in the log', () => {
  let lines: string[] = []
  beforeEach(() => {
    lines = []
    for (const level of ['log', 'warn', 'error', 'info'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(' '))
      })
    }
  })
  afterEach(() => vi.restoreAllMocks())

  it('a central sign-in through the chooser logs no state, code, cookie, token, assertion or secret', async () => {
    const tenant = await seedSignInTenant()
    const support = await phoneSystemNamed(tenant.orgId, 'Support', tenant.tenantId)
    await putList(support.id, [{ oid: tenant.user.oid }])
    const { cookie, authorizeUrl } = await startLogin(tenant.hostname)
    const callback = await pickAccount(authorizeUrl, tenant.user)
    const central = await SELF.fetch(callback, withCookie(null))
    const complete = new URL(central.headers.get('location')!)
    const chooser = await (await SELF.fetch(complete, withCookie(cookie))).text()
    const token = /name="token" value="([^"]+)"/.exec(chooser)![1]!
    // Hostile replays and forgeries on the way, so error paths log too.
    await SELF.fetch(callback, withCookie(cookie))
    await SELF.fetch(complete, withCookie(cookie))
    const chosen = await SELF.fetch(`https://${tenant.hostname}/sso/choose`, {
      method: 'POST',
      headers: {
        cookie: `__Host-sso_flow=${cookie}`,
        'content-type': 'application/x-www-form-urlencoded',
        origin: `https://${tenant.hostname}`,
        'sec-fetch-site': 'same-origin',
      },
      body: new URLSearchParams({ token, phoneSystem: support.id }).toString(),
    })
    const { jwt } = assertionFrom(await chosen.text())
    const secrets = [
      callback.searchParams.get('state')!,
      callback.searchParams.get('code')!,
      complete.searchParams.get('code')!,
      cookie,
      token,
      jwt,
      TEST_CLIENT_SECRET,
      TEST_FLOW_KEY,
    ]
    const all = lines.join('\n')
    expect(lines.length).toBeGreaterThan(0)
    for (const secret of secrets) expect(all).not.toContain(secret)
  })
})
