/**
 * rate-limit.ts promises that over the limit a request is refused
 * "before it reads a body or touches D1 again", and the host cache bounds
 * unknown names so a flood "costs one D1 query per host per TTL". Review 4 found the
 * per-IP limiter mounted after `resolveSite`, while the production routes
 * send every subdomain of the provider zone (`*.provider.example/*`) and
 * every SaaS hostname (`*\/*`) to the Worker: a flood of fresh random names
 * (never in the negative cache) costs one D1 query per request, from one
 * address, whatever its allowance. Failed before the fix (review 4).
 *
 * Fix: spend the per-IP allowance before host resolution for /sso/* and
 * /connect/* (render the 429 unbranded when the host is unknown), and/or
 * spend it for every request whose host lookup misses the cache.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { uniqueLabel, ZONE } from '../fixtures'

function countingDb(): { db: D1Database; queries: () => number } {
  let n = 0
  const real = env.DB
  const db = new Proxy(real, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (prop === 'prepare') {
        return (sql: string) => {
          n++
          return target.prepare(sql)
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { db, queries: () => n }
}

describe('an address over its allowance costs no D1 query, whatever the Host', () => {
  it('20 /sso/login requests to fresh unknown subdomains from one address: at most its 3 allowed reach D1', async () => {
    const { db, queries } = countingDb()
    const bindings = { ...env, DB: db, SIGNIN_RATE_LIMIT: env.TIGHT_RATE_LIMIT }
    const ip = '192.0.2.77'
    const statuses: number[] = []
    for (let i = 0; i < 20; i++) {
      const res = await app.request(
        `https://${uniqueLabel('nobody')}.${ZONE}/sso/login`,
        { headers: { 'cf-connecting-ip': ip }, redirect: 'manual' },
        bindings,
      )
      statuses.push(res.status)
      await res.text()
    }
    expect(statuses.every((s) => s === 404 || s === 429)).toBe(true)
    expect(queries()).toBeLessThanOrEqual(3)
  })
})
