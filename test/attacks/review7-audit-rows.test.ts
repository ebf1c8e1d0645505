/**
 * (finding) Every genuine sign-in step's audit row must land. The queue consumer drops (acks) a
 * message its schema refuses, so a row built from a value the consumer bounds more tightly than
 * the sender is lost without a trace but a log line: a user whose `preferred_username` is 256
 * characters that lowercase into more (U+0130 `İ` lowercases to two code units) signs in
 * without any row in the sign-in log.
 */
import { describe, expect, it } from 'vitest'
import { auditSettled, dbAll, entraControl, seedSignInTenant, signIn } from '../fixtures'

describe('the sign-in audit keeps the rows of a user with an awkward name', () => {
  it('stores the steps of a sign-in whose preferred_username grows when lowercased', async () => {
    const tenant = await seedSignInTenant({ listed: false })
    const upn = `${'İ'.repeat(230)}@contoso.example`
    expect(upn.length).toBeLessThanOrEqual(256)
    expect(upn.toLowerCase().length).toBeGreaterThan(320)
    const user = { oid: crypto.randomUUID(), tid: tenant.tenantId, upn, name: 'Long Name' }
    await entraControl('users', user)

    const result = await signIn(tenant.hostname, user)
    expect(result.res.status).toBe(403)
    await auditSettled()
    const rows = await dbAll<{ step: string; oid: string | null; account: string | null }>(
      'SELECT step, oid, account FROM sign_in_attempts WHERE hostname = ? ORDER BY id',
      tenant.hostname,
    )
    // The central callback and the completion on the tenant's host, both genuine steps.
    expect(rows.map((row) => row.step)).toEqual(['callback', 'complete'])
    expect(rows.every((row) => row.oid === user.oid)).toBe(true)
  })
})
