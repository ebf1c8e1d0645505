/**
 * the sign-in allowance is keyed by the whole CF-Connecting-IP. Over
 * IPv6 one client (one home line, one VM) holds at least a /64, i.e. 2^64
 * addresses: each gets a fresh allowance, so the per-IP limit of /sso/* and
 * /connect/* (and the admin API's per-address bound on failed keys) does not
 * bound an IPv6 client at all. Failed before the fix (review 4).
 *
 * Fix: key IPv6 clients by their /64 (or /56) prefix, IPv4 by the address.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { PRIMARY, seedSignInTenant } from '../fixtures'

const tight = { ...env, SIGNIN_RATE_LIMIT: env.TIGHT_RATE_LIMIT, ADMIN_RATE_LIMIT: env.TIGHT_RATE_LIMIT }

describe('one IPv6 /64 is one client', () => {
  it('the fourth /sso/login of a minute from one /64 is refused, whichever address of it sends it', async () => {
    const { hostname } = await seedSignInTenant()
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`
    const statuses: number[] = []
    for (let i = 1; i <= 6; i++) {
      const res = await app.request(
        `https://${hostname}/sso/login`,
        { headers: { 'cf-connecting-ip': `${prefix}::${i.toString(16)}` }, redirect: 'manual' },
        tight,
      )
      statuses.push(res.status)
      await res.text()
    }
    expect(statuses).toEqual([302, 302, 302, 429, 429, 429])
  })

  it('key guesses from one /64 spend one allowance', async () => {
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:2`
    const statuses: number[] = []
    for (let i = 1; i <= 5; i++) {
      const res = await app.request(
        `https://${PRIMARY}/api/v1/orgs`,
        { headers: { 'cf-connecting-ip': `${prefix}::${i.toString(16)}` } },
        tight,
      )
      statuses.push(res.status)
      await res.text()
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429])
  })
})
