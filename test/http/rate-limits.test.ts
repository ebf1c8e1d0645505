/**
 * Rate limits (ARCHITECTURE §8): per client IP on /sso/* and /connect/*, per key on
 * the admin API (per IP for failed keys). The suite's own bindings allow a
 * million requests a minute; here TIGHT_RATE_LIMIT (3 a minute per key, a
 * real rate limiting binding simulated by workerd) stands in for them.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { TEST_ADMIN_KEY } from '../bindings'
import { dbAll, PRIMARY, partnerWithKey, seedSignInTenant, seedTenant } from '../fixtures'

const tight = { ...env, SIGNIN_RATE_LIMIT: env.TIGHT_RATE_LIMIT, ADMIN_RATE_LIMIT: env.TIGHT_RATE_LIMIT }
let ipCounter = 0
/** A client address no other test uses, so each test starts with a full allowance. */
const freshIp = () => `198.51.100.${++ipCounter}`

function get(url: string, headers: Record<string, string>, bindings = tight) {
  return app.request(url, { headers, redirect: 'manual' }, bindings)
}

describe('per client IP on the sign-in routes', () => {
  it('the fourth /sso/login of a minute from one address is a branded 429 page with Retry-After', async () => {
    const { hostname } = await seedSignInTenant()
    const ip = freshIp()
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) {
      statuses.push((await get(`https://${hostname}/sso/login`, { 'cf-connecting-ip': ip })).status)
    }
    expect(statuses).toEqual([302, 302, 302])
    const limited = await get(`https://${hostname}/sso/login`, { 'cf-connecting-ip': ip })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(limited.headers.get('cache-control')).toContain('no-store')
    const page = await limited.text()
    expect(page).toContain('Too many requests')
    expect(page).toContain('Wait a minute')
    expect(page).toContain('Acme Telecom')
    // No flow cookie was handed out for the refused request.
    expect(limited.headers.get('set-cookie')).toBeNull()
  })

  it('another address keeps its own allowance', async () => {
    const { hostname } = await seedSignInTenant()
    const flooder = freshIp()
    for (let i = 0; i < 4; i++) await get(`https://${hostname}/sso/login`, { 'cf-connecting-ip': flooder })
    expect((await get(`https://${hostname}/sso/login`, { 'cf-connecting-ip': flooder })).status).toBe(429)
    expect((await get(`https://${hostname}/sso/login`, { 'cf-connecting-ip': freshIp() })).status).toBe(302)
  })

  it('callbacks and connect links share the allowance: the flood is refused before any lookup', async () => {
    const ip = freshIp()
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) {
      statuses.push((await get(`https://${PRIMARY}/sso/callback?state=x&code=y`, { 'cf-connecting-ip': ip })).status)
    }
    expect(statuses.every((status) => status === 400)).toBe(true)
    const connect = await get(`https://${PRIMARY}/connect/anything`, { 'cf-connecting-ip': ip })
    expect(connect.status).toBe(429)
    expect(connect.headers.get('retry-after')).toBe('60')
  })

  it('the login page itself is not limited (it is static per host and cached)', async () => {
    const { hostname } = await seedTenant()
    const ip = freshIp()
    for (let i = 0; i < 5; i++) {
      expect((await get(`https://${hostname}/`, { 'cf-connecting-ip': ip })).status).toBe(200)
    }
  })
})

describe('per key on the admin API', () => {
  it("a partner over its organization's allowance gets the JSON 429 with Retry-After, from any address; ops keeps its own", async () => {
    const { key } = await partnerWithKey('Limited Partner')
    const headers = { authorization: `Bearer ${key}`, 'cf-connecting-ip': freshIp() }
    for (let i = 0; i < 3; i++) {
      expect((await get(`https://${PRIMARY}/api/v1/orgs`, headers)).status).toBe(200)
    }
    // Another address: its own allowance is fresh, the organization's is spent.
    const limited = await get(`https://${PRIMARY}/api/v1/orgs`, { ...headers, 'cf-connecting-ip': freshIp() })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(limited.headers.get('content-type')).toContain('application/json')
    expect(await limited.json()).toEqual({
      error: { code: 'rate_limited', message: 'Too many requests: wait a minute, then try again' },
    })
    const ops = await get(`https://${PRIMARY}/api/v1/orgs`, {
      authorization: `Bearer ${TEST_ADMIN_KEY}`,
      'cf-connecting-ip': freshIp(),
    })
    expect(ops.status).toBe(200)
  })

  it('a limited key records no use: the refusal comes before the key is looked up', async () => {
    const { partner, key } = await partnerWithKey('Quiet Partner')
    const headers = { authorization: `Bearer ${key}`, 'cf-connecting-ip': freshIp() }
    for (let i = 0; i < 3; i++) await get(`https://${PRIMARY}/api/v1/orgs`, headers)
    await env.DB.prepare('UPDATE api_keys SET last_used_at = 0 WHERE org_id = ?').bind(partner.id).run()
    const before = await dbAll('SELECT id, last_used_at FROM api_keys ORDER BY id')
    expect((await get(`https://${PRIMARY}/api/v1/orgs`, headers)).status).toBe(429)
    expect(await dbAll('SELECT id, last_used_at FROM api_keys ORDER BY id')).toEqual(before)
  })

  it('guessing keys from one address is bounded: once the address is spent, even the right key answers 429 (no oracle)', async () => {
    const ip = freshIp()
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) {
      const res = await get(`https://${PRIMARY}/api/v1/orgs`, {
        authorization: `Bearer sgk_guess_${i}_${'x'.repeat(40)}`,
        'cf-connecting-ip': ip,
      })
      statuses.push(res.status)
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429])
    const right = await get(`https://${PRIMARY}/api/v1/orgs`, {
      authorization: `Bearer ${TEST_ADMIN_KEY}`,
      'cf-connecting-ip': ip,
    })
    expect(right.status).toBe(429)
  })

  it('requests without any key are limited per address', async () => {
    const ip = freshIp()
    const statuses: number[] = []
    for (let i = 0; i < 4; i++)
      statuses.push((await get(`https://${PRIMARY}/api/v1/orgs`, { 'cf-connecting-ip': ip })).status)
    expect(statuses).toEqual([401, 401, 401, 429])
  })
})

describe('a limiter that is missing or failing lets sign-in through', () => {
  it('no binding: requests are served', async () => {
    const { hostname } = await seedSignInTenant()
    const { SIGNIN_RATE_LIMIT: _, ...withoutLimiter } = env
    const res = await get(`https://${hostname}/sso/login`, {}, withoutLimiter as typeof tight)
    expect(res.status).toBe(302)
  })

  it('a limiter that throws: requests are served', async () => {
    const { hostname } = await seedSignInTenant()
    const broken = {
      ...env,
      SIGNIN_RATE_LIMIT: {
        limit: async () => {
          throw new Error('limiter unavailable')
        },
      },
    }
    const res = await get(`https://${hostname}/sso/login`, {}, broken as typeof tight)
    expect(res.status).toBe(302)
  })
})
