/**
 * (holds): every sealed value has its own audience (state, flow
 * cookie per host, completion code per host, chooser token per host, connect
 * cookie per host). Genuine values of one browser's real sign-in, each
 * offered where another purpose is expected, are refused and write nothing.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { getConfig } from '../../src/config'
import { flowFromState, flowIdFromCookie } from '../../src/signin/flow'
import { auditSettled, FLOW_COOKIE, phoneSystemNamed, putList, seedSignInTenant, signIn, withCookie } from '../fixtures'
import { d1Digest } from '../fuzz/d1-digest'

describe('a sealed value of one purpose is no value of another', () => {
  it('state, cookie, completion code and chooser token swapped around are refused, writing nothing', async () => {
    const tenant = await seedSignInTenant()
    const second = await phoneSystemNamed(tenant.orgId, 'Support', tenant.tenantId)
    await putList(second.id, [{ oid: tenant.user.oid, extension: '901' }])
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.html).toContain('Choose a phone system')
    const token = /name="token" value="([^"]+)"/.exec(result.html)![1]!
    const code = new URL(result.central!.headers.get('location')!).searchParams.get('code')!
    const state = result.callbackUrl.searchParams.get('state')!
    const cookie = result.cookie
    const config = getConfig(env as never)

    // Direct checks: nothing but a state opens as a state, nothing but a cookie as a cookie.
    for (const value of [token, code, cookie]) expect(await flowFromState(value, config.flowKey)).toBeNull()
    const site = { kind: 'primary' as const, hostname: tenant.hostname, branding: {} as never }
    for (const value of [token, code, state]) expect(await flowIdFromCookie(value, site, config.flowKey)).toBeNull()

    // The sign-in's own audit rows land first (they follow its answers through the queue).
    await auditSettled()
    const before = await d1Digest()
    // The completion endpoint offered every other sealed value as its code.
    for (const value of [token, state, cookie]) {
      const res = await SELF.fetch(
        `https://${tenant.hostname}/sso/complete?code=${encodeURIComponent(value)}`,
        withCookie(cookie),
      )
      expect(res.status).toBe(400)
      await res.text()
    }
    // The chooser offered every other sealed value as its token, and the token as a cookie.
    const post = (tok: string, cookieValue: string) =>
      SELF.fetch(`https://${tenant.hostname}/sso/choose`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          cookie: `${FLOW_COOKIE}=${cookieValue}`,
          'content-type': 'application/x-www-form-urlencoded',
          origin: `https://${tenant.hostname}`,
          'sec-fetch-site': 'same-origin',
        },
        body: new URLSearchParams({ token: tok, phoneSystem: second.id }),
      })
    for (const [tok, cookieValue] of [
      [code, cookie],
      [state, cookie],
      [cookie, cookie],
      [token, token],
      [token, code],
    ] as const) {
      const res = await post(tok, cookieValue)
      expect(res.status).toBe(400)
      await res.text()
    }
    // The callback offered the code, token and cookie as its state.
    for (const value of [code, token, cookie]) {
      const res = await SELF.fetch(
        `${result.callbackUrl.origin}/sso/callback?code=x&state=${encodeURIComponent(value)}`,
      )
      expect(res.status).toBe(400)
      await res.text()
    }
    await auditSettled()
    expect(await d1Digest()).toEqual(before)
    // The genuine token still works: none of the above used it up.
    const chosen = await post(token, cookie)
    expect(chosen.status).toBe(200)
    await chosen.text()
  })
})
