/**
 * The review's reproduction, as a regression test (ARCHITECTURE §8): anonymous
 * requests, however many, write nothing to D1 and reach no sign-in flow
 * object. Before: 100 GETs of /sso/callback left 100 sign_in_attempts rows
 * and every /sso/login a flow row. Every table's row count and content is
 * compared before and after, and the flow objects are counted.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import {
  auditSettled,
  HANDOFF_FIELD,
  PRIMARY,
  recordingD1,
  seedSignInTenant,
  signIn,
  startLogin,
  withCookie,
} from '../fixtures'
import { flowObjectCount } from '../flows'
import { d1Digest } from '../fuzz/d1-digest'

describe('anonymous requests write nothing', () => {
  it('100 forged callbacks, 100 logins, forged completions and choices leave D1 and the flow objects exactly as they were', async () => {
    const tenant = await seedSignInTenant()
    // Warm the tenant's discovery document, as any earlier visitor would have.
    expect((await SELF.fetch(`https://${tenant.hostname}/sso/login`, { redirect: 'manual' })).status).toBe(302)
    const before = await d1Digest()
    const objects = await flowObjectCount()
    const forged = 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA'
    const requests: (() => Promise<Response>)[] = []
    for (let i = 0; i < 100; i++) {
      requests.push(() => SELF.fetch(`https://${PRIMARY}/sso/callback?code=c${i}&state=${i % 2 ? forged : `s${i}`}`))
      requests.push(() => SELF.fetch(`https://${tenant.hostname}/sso/callback?error=access_denied&state=s${i}`))
      requests.push(() => SELF.fetch(`https://${tenant.hostname}/sso/login`, { redirect: 'manual' }))
    }
    for (let i = 0; i < 20; i++) {
      requests.push(() => SELF.fetch(`https://${tenant.hostname}/sso/complete?code=${forged}`))
      requests.push(() =>
        SELF.fetch(`https://${tenant.hostname}/sso/choose`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            origin: `https://${tenant.hostname}`,
            'sec-fetch-site': 'same-origin',
          },
          body: new URLSearchParams({ token: forged, phoneSystem: tenant.phoneSystemId }),
        }),
      )
      requests.push(() => SELF.fetch(`https://${PRIMARY}/connect/callback?code=c&state=${forged}`))
    }
    const statuses: number[] = []
    // In waves of 20, so the flood measures the gateway, not this machine's patience.
    for (let i = 0; i < requests.length; i += 20) {
      const wave = await Promise.all(requests.slice(i, i + 20).map((send) => send()))
      statuses.push(...wave.map((res) => res.status))
    }
    expect(statuses.filter((status) => status >= 500)).toEqual([])
    expect(statuses.filter((status) => status === 302)).toHaveLength(100)
    // A sign-in attempt row would come through the queue after the answer: wait for everything sent so far.
    await auditSettled()
    expect(await d1Digest()).toEqual(before)
    expect(await flowObjectCount()).toBe(objects)
  }, 120_000)

  it('a genuine flow cookie (anyone can get one) with forged completion codes and chooser tokens writes nothing', async () => {
    const tenant = await seedSignInTenant()
    const { cookie } = await startLogin(tenant.hostname)
    const before = await d1Digest()
    const objects = await flowObjectCount()
    const other = await startLogin(tenant.hostname)
    // A sealed value that is genuine but of another purpose and another flow: the other browser's state.
    const foreign = other.authorizeUrl.searchParams.get('state')!
    for (const code of ['forged', foreign, other.cookie]) {
      const complete = await SELF.fetch(
        `https://${tenant.hostname}/sso/complete?code=${encodeURIComponent(code)}`,
        withCookie(cookie),
      )
      expect(complete.status).toBe(400)
      const choose = await SELF.fetch(`https://${tenant.hostname}/sso/choose`, {
        method: 'POST',
        headers: {
          ...(withCookie(cookie).headers as Record<string, string>),
          'content-type': 'application/x-www-form-urlencoded',
          origin: `https://${tenant.hostname}`,
          'sec-fetch-site': 'same-origin',
        },
        body: new URLSearchParams({ token: code, phoneSystem: tenant.phoneSystemId }),
      })
      expect(choose.status).toBe(400)
    }
    await auditSettled()
    expect(await d1Digest()).toEqual(before)
    expect(await flowObjectCount()).toBe(objects)
  })

  it('a forged completion code or chooser token with a genuine cookie is refused before any flow is looked up', async () => {
    const tenant = await seedSignInTenant()
    const { cookie } = await startLogin(tenant.hostname)
    const statements: string[] = []
    const DB = recordingD1(statements)
    // Every way to an object of the flow namespace is recorded: a refused value must not reach one.
    const reached: string[] = []
    const SIGNIN_FLOWS = new Proxy(env.SIGNIN_FLOWS, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          reached.push(String(prop))
          return value.apply(target, args)
        }
      },
    })
    const bindings = { ...env, DB, SIGNIN_FLOWS }
    const complete = await app.request(
      `https://${tenant.hostname}/sso/complete?code=forged`,
      withCookie(cookie),
      bindings,
    )
    expect(complete.status).toBe(400)
    const choose = await app.request(
      `https://${tenant.hostname}/sso/choose`,
      {
        method: 'POST',
        headers: {
          ...(withCookie(cookie).headers as Record<string, string>),
          'content-type': 'application/x-www-form-urlencoded',
          origin: `https://${tenant.hostname}`,
          'sec-fetch-site': 'same-origin',
        },
        body: new URLSearchParams({ token: 'forged', phoneSystem: tenant.phoneSystemId }),
      },
      bindings,
    )
    expect(choose.status).toBe(400)
    expect(statements.filter((sql) => /sso_flows/.test(sql))).toEqual([])
    expect(reached).toEqual([])
  })

  it('a real sign-in finishes while forged callbacks flood in', async () => {
    const tenant = await seedSignInTenant()
    const flood = Array.from({ length: 50 }, (_, i) =>
      SELF.fetch(`https://${PRIMARY}/sso/callback?code=x&state=forged${i}`),
    )
    const result = await signIn(tenant.hostname, tenant.user)
    await Promise.all(flood)
    expect(result.res.status).toBe(200)
    expect(result.html).toContain(HANDOFF_FIELD)
    await auditSettled()
    const attempts = await env.DB.prepare('SELECT result FROM sign_in_attempts WHERE hostname = ? ORDER BY at, id')
      .bind(tenant.hostname)
      .all<{ result: string }>()
    expect(attempts.results.map((row) => row.result)).toEqual(['pending', 'success'])
  }, 60_000)
})
