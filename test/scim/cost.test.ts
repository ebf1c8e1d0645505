/**
 * What one SCIM request costs D1 (round trips and statements), as Entra's
 * provisioning sends them one after another: each is a fixed, small number
 * whatever the list's size, so a provisioning cycle of N users costs N times
 * that. Counted through a D1 binding that counts; durations are printed
 * (`--silent=false`) for information, never asserted.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { PRIMARY } from '../fixtures'
import { entraUser, PATCH_OP, seedScimTenant } from './helpers'

interface Counts {
  roundTrips: number
  statements: number
}

/** env.DB, counting each call that reaches D1 (a batch is one round trip of several statements). */
function countingD1(counts: Counts): D1Database {
  const statement = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target)
        if (typeof value !== 'function') return value
        if (prop === 'bind') return (...args: unknown[]) => statement(value.apply(target, args))
        if (prop === 'first' || prop === 'all' || prop === 'run' || prop === 'raw') {
          return (...args: unknown[]) => {
            counts.roundTrips++
            counts.statements++
            return value.apply(target, args)
          }
        }
        return value.bind(target)
      },
    })
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => statement(target.prepare(sql))
      if (prop === 'batch') {
        return (statements: D1PreparedStatement[]) => {
          counts.roundTrips++
          counts.statements += statements.length
          return target.batch(statements)
        }
      }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

const N = 20

describe('the D1 cost of a SCIM request', () => {
  it('create 2 round trips, query 2, update 3, disable 3, delete 3 (the token read carries its phone system)', async () => {
    const tenant = await seedScimTenant()
    const base = `https://${PRIMARY}/scim/v2/phone-systems/${tenant.phoneSystemId}`
    const headers = { authorization: `Bearer ${tenant.token}`, 'content-type': 'application/scim+json' }
    // The token's first use records it (one write, at most once a minute): not part of what is measured.
    await app.request(`${base}/Users?count=0`, { headers }, env)

    const measure = async (name: string, make: (i: number) => [string, RequestInit]) => {
      const counts: Counts = { roundTrips: 0, statements: 0 }
      const bindings = { ...env, DB: countingD1(counts) }
      const bodies: any[] = []
      const started = performance.now()
      for (let i = 0; i < N; i++) {
        const res = await app.request(...make(i), bindings)
        expect(res.status, name).toBeLessThan(300)
        bodies.push(res.status === 204 ? null : await res.json())
      }
      const ms = (performance.now() - started) / N
      const perRequest = { roundTrips: counts.roundTrips / N, statements: counts.statements / N }
      console.log(
        `${name}: ${perRequest.roundTrips} D1 round trips, ${perRequest.statements} statements, ${ms.toFixed(1)} ms`,
      )
      return { perRequest, bodies }
    }

    const create = await measure('POST /Users', (i) => [
      `${base}/Users`,
      { method: 'POST', headers, body: JSON.stringify(entraUser(`cost${i}@contoso.example`)) },
    ])
    const query = await measure('GET /Users?filter=userName eq', (i) => [
      `${base}/Users?filter=${encodeURIComponent(`userName eq "cost${i}@contoso.example"`)}`,
      { headers },
    ])
    const patch = (operations: (i: number) => unknown[]) => (i: number) =>
      [
        `${base}/Users/${create.bodies[i].id}`,
        { method: 'PATCH', headers, body: JSON.stringify({ schemas: [PATCH_OP], Operations: operations(i) }) },
      ] as [string, RequestInit]
    const update = await measure(
      'PATCH /Users (displayName, work email)',
      patch((i) => [
        { op: 'Replace', path: 'displayName', value: `Renamed ${i}` },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: `renamed${i}@contoso.example` },
      ]),
    )
    const disable = await measure(
      'PATCH /Users (active false)',
      patch(() => [{ op: 'Replace', path: 'active', value: false }]),
    )
    const remove = await measure('DELETE /Users', (i) => [
      `${base}/Users/${create.bodies[i].id}`,
      { method: 'DELETE', headers },
    ])

    expect(create.perRequest).toEqual({ roundTrips: 2, statements: 8 })
    expect(query.perRequest).toEqual({ roundTrips: 2, statements: 3 })
    expect(update.perRequest).toEqual({ roundTrips: 3, statements: 9 })
    expect(disable.perRequest).toEqual({ roundTrips: 3, statements: 9 })
    expect(remove.perRequest).toEqual({ roundTrips: 3, statements: 7 })
  })
})
