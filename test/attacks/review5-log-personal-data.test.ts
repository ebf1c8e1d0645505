/**
 * Review 5: no log line carries personal data: a user's UPN, object id
 * (oid) or tenant id (tid). The Analytics Engine points were checked for
 * this (test/ops/observability.test.ts), the log lines were not: the
 * "sign-in attempt" line, written for every sign-in step, logged the
 * user's tenant id. The D1 audit row (which keeps the tid for ops, behind
 * D1 access and its retention) and the correlation id that joins a line to
 * that row are what ops need; a log line is shipped and kept elsewhere.
 * This proves a whole sign-in and a refused one log none of them.
 */
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest'
import { seedSignInTenant, signIn } from '../fixtures'

let lines: string[]
const spies: MockInstance[] = []

beforeEach(() => {
  lines = []
  for (const method of ['log', 'warn', 'error', 'info', 'debug'] as const) {
    spies.push(
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => lines.push(args.map(String).join(' '))),
    )
  }
})
afterEach(() => {
  for (const spy of spies.splice(0)) spy.mockRestore()
})

function expectNoneOf(values: string[]) {
  expect(lines.length).toBeGreaterThan(0)
  const all = lines.join('\n').toLowerCase()
  for (const value of values) expect(all, `a log line carries ${value}`).not.toContain(value.toLowerCase())
}

describe('no UPN, oid or tid in a log line', () => {
  it('a central sign-in that succeeds', async () => {
    const tenant = await seedSignInTenant()
    lines.length = 0
    const { res } = await signIn(tenant.hostname, tenant.user)
    expect(res.status).toBe(200)
    expectNoneOf([tenant.user.upn, tenant.user.oid, tenant.tenantId])
  })

  it('a direct sign-in refused because the user is not listed', async () => {
    const tenant = await seedSignInTenant({ callbackMode: 'direct', listed: false })
    lines.length = 0
    const { res } = await signIn(tenant.hostname, tenant.user)
    expect(res.status).toBe(403)
    expectNoneOf([tenant.user.upn, tenant.user.oid, tenant.tenantId])
  })
})
