/**
 * the admin API's allowance (ARCHITECTURE §8: "per key … for the admin
 * API"). Each of these failed before the fix (review 4):
 *
 * 1. The per-key bucket is keyed by the SHA-256 of the raw Authorization
 *    header, while the key inside it is parsed with a case-insensitive
 *    `Bearer` (auth.ts `BEARER = /^Bearer …$/i`). One key therefore owns 64
 *    buckets ("Bearer", "bearer", "BEARER", "bEaReR", …): a partner gets 64×
 *    its allowance. Fix: key the bucket by the parsed key (match[1]), not by
 *    the header.
 * 2. Failed keys spend the address allowance only *after* the key was looked
 *    up, and every guess carries a fresh per-key bucket. Once the address is
 *    spent, guesses are still looked up in D1: a wrong one answers 429, a
 *    right one 200, so the "guessing is bounded per address" bound is an
 *    oracle, not a bound, and each refused guess still costs a D1 query.
 *    Fix: refuse before the lookup when the address is spent (e.g. spend the
 *    address allowance before `authenticate` for keys not seen succeeding, or
 *    keep a second limiter that is checked first).
 * 3. Keys are the only unit: a partner may mint any number of keys (no cap on
 *    POST /orgs/{id}/api-keys), each with a fresh allowance, so the partner's
 *    total load on D1 (one database, one writer, shared with every sign-in)
 *    is not bounded at all. Fix: a second, per-organization allowance spent
 *    after authentication (and/or a cap on live keys per organization).
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { PRIMARY, partnerWithKey } from '../fixtures'

const tight = { ...env, SIGNIN_RATE_LIMIT: env.TIGHT_RATE_LIMIT, ADMIN_RATE_LIMIT: env.TIGHT_RATE_LIMIT }
let counter = 0
const freshIp = () => `203.0.113.${100 + ++counter}`

function get(headers: Record<string, string>) {
  return app.request(`https://${PRIMARY}/api/v1/orgs`, { headers }, tight)
}

describe('admin allowance per key', () => {
  it('a key over its allowance stays limited when "Bearer" is spelled in another case', async () => {
    const { key } = await partnerWithKey('Case Partner')
    const ip = freshIp()
    for (let i = 0; i < 3; i++) {
      expect((await get({ authorization: `Bearer ${key}`, 'cf-connecting-ip': ip })).status).toBe(200)
    }
    expect((await get({ authorization: `Bearer ${key}`, 'cf-connecting-ip': ip })).status).toBe(429)
    // The same key, the same address, the same minute: only the scheme's case differs.
    const statuses: number[] = []
    for (const scheme of ['bearer', 'BEARER', 'bEARER', 'BeArEr']) {
      statuses.push((await get({ authorization: `${scheme} ${key}`, 'cf-connecting-ip': ip })).status)
    }
    expect(statuses).toEqual([429, 429, 429, 429])
  })

  it('an address that spent its allowance on failed keys has no further key looked up (no 200/429 oracle)', async () => {
    const { key } = await partnerWithKey('Oracle Partner')
    const ip = freshIp()
    const guesses: number[] = []
    for (let i = 0; i < 4; i++) {
      const res = await get({ authorization: `Bearer sgk_guess_${i}_${'y'.repeat(40)}`, 'cf-connecting-ip': ip })
      guesses.push(res.status)
    }
    expect(guesses).toEqual([401, 401, 401, 429])
    // The attacker's next "guess" happens to be right: it must be refused like the wrong ones,
    // otherwise 429 means "wrong" and 200 means "right", at an unbounded rate.
    const right = await get({ authorization: `Bearer ${key}`, 'cf-connecting-ip': ip })
    const wrong = await get({ authorization: `Bearer sgk_guess_x_${'y'.repeat(40)}`, 'cf-connecting-ip': ip })
    expect(wrong.status).toBe(429)
    expect(right.status).toBe(wrong.status)
  })
  it("minting more keys does not multiply a partner's allowance", async () => {
    const { partner, key } = await partnerWithKey('Minting Partner')
    const ip = freshIp()
    const minted: string[] = []
    for (let i = 0; i < 2; i++) {
      const res = await app.request(
        `https://${PRIMARY}/api/v1/orgs/${partner.id}/api-keys`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'cf-connecting-ip': ip, 'content-type': 'application/json' },
          body: '{}',
        },
        tight,
      )
      expect(res.status).toBe(201)
      minted.push(((await res.json()) as { key: string }).key)
    }
    expect((await get({ authorization: `Bearer ${key}`, 'cf-connecting-ip': ip })).status).toBe(200)
    expect((await get({ authorization: `Bearer ${key}`, 'cf-connecting-ip': ip })).status).toBe(429)
    // The organization has spent 3 requests of a 3-a-minute allowance: its other keys are spent too,
    // even from addresses of their own (whose allowance is fresh).
    const statuses: number[] = []
    for (const other of minted) {
      statuses.push((await get({ authorization: `Bearer ${other}`, 'cf-connecting-ip': freshIp() })).status)
    }
    expect(statuses).toEqual([429, 429])
  })
})
