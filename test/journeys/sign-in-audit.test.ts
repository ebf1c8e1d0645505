import { describe, expect, it } from 'vitest'
import { auditSettled, dbAll, seedSignInTenant, signIn } from '../fixtures'

describe('the sign-in audit', () => {
  it('records every step with result, reason, host, organization, phone system, tid, oid and correlation id; never a code or state', async () => {
    const tenant = await seedSignInTenant()
    const ok = await signIn(tenant.hostname, tenant.user)
    const refused = await signIn(tenant.hostname, tenant.user, 'bad_signature')
    expect(refused.res.status).toBe(502)
    await auditSettled()
    const rows = await dbAll<any>('SELECT * FROM sign_in_attempts WHERE hostname = ? ORDER BY at, id', tenant.hostname)
    expect(rows.map((r) => [r.step, r.result, r.reason])).toEqual([
      ['callback', 'pending', 'central_callback'],
      ['complete', 'success', 'handoff'],
      ['callback', 'failure', 'id_token_invalid'],
    ])
    expect(rows[1]).toMatchObject({
      org_id: tenant.orgId,
      phone_system_id: tenant.phoneSystemId,
      tid: tenant.tenantId,
      oid: tenant.user.oid,
    })
    for (const row of rows) expect(row.correlation_id).toMatch(/^[0-9a-f-]{36}$/)
    // Each step's own event id, which keeps a redelivered row single.
    expect(new Set(rows.map((row) => row.event_id)).size).toBe(3)
    for (const row of rows) expect(row.event_id).toMatch(/^[0-9a-f-]{36}$/)
    const everything = JSON.stringify(rows)
    for (const secret of [
      ok.callbackUrl.searchParams.get('code')!,
      ok.callbackUrl.searchParams.get('state')!,
      ok.cookie,
    ]) {
      expect(everything).not.toContain(secret)
    }
  })
})
