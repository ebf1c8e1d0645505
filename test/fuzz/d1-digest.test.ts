/**
 * The fuzz tests' "D1 did not change" is only as good as the digest: it must
 * see a new row, a changed column and a deleted row in any table, and ignore
 * only api_keys.last_used_at.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { createCustomer, createPartner, partnerWithKey } from '../fixtures'
import { changedTables, d1Digest } from './d1-digest'

describe('the D1 digest of the fuzz tests', () => {
  it('is stable, and names the table a row was added to, changed in or deleted from', async () => {
    const partner = await createPartner('Digest partner')
    const start = await d1Digest()
    expect(changedTables(start, await d1Digest())).toEqual([])

    const customer = await createCustomer(partner.id, { name: 'Digest customer' })
    const added = await d1Digest()
    const [before, after] = changedTables(start, added)
      .map((t) => /^organizations \((\d+) -> (\d+) rows\)$/.exec(t))
      .find((m) => m !== null)!
      .slice(1)
      .map(Number)
    expect(after).toBe(before! + 1)

    await env.DB.prepare('UPDATE organizations SET name = ? WHERE id = ?').bind('Renamed', customer.id).run()
    const renamed = await d1Digest()
    expect(changedTables(added, renamed)).toEqual([expect.stringMatching(/^organizations /)])

    await env.DB.prepare('DELETE FROM organizations WHERE id = ?').bind(customer.id).run()
    expect(changedTables(renamed, await d1Digest())).toEqual([expect.stringMatching(/^organizations /)])
  })

  it('ignores only when a partner key was last used', async () => {
    const { key } = await partnerWithKey('Digest key')
    const before = await d1Digest()
    await env.DB.prepare('UPDATE api_keys SET last_used_at = ?')
      .bind(Date.now() + 1)
      .run()
    expect(changedTables(before, await d1Digest())).toEqual([])
    await env.DB.prepare("UPDATE api_keys SET label = 'changed' WHERE revoked_at IS NULL").run()
    expect(changedTables(before, await d1Digest())).toEqual([expect.stringMatching(/^api_keys /)])
    expect(key).toBeTruthy()
  })
})
