/**
 * SCIM tokens through the admin API: created (the secret once, with the
 * Tenant URL), listed without secrets, revoked at once; reached only within
 * a partner key's subtree; each change with its audit row.
 */
import { describe, expect, it } from 'vitest'
import { api, createCustomer, createPhoneSystem, dbAll, expectJson, partnerWithKey } from '../fixtures'
import { scim, scimJson } from './helpers'

async function partnerPhoneSystem() {
  const { partner, key } = await partnerWithKey()
  const customer = await createCustomer(partner.id)
  const ps = await createPhoneSystem(customer.id)
  return { partner, key, customer, ps }
}

describe('SCIM tokens', () => {
  it('a partner creates one for its customer: the token once, the Tenant URL, and an audit row without the secret', async () => {
    const { key, ps, customer } = await partnerPhoneSystem()
    const issued = await expectJson(
      await api('POST', `/phone-systems/${ps.id}/scim-tokens`, { label: 'Entra' }, { key }),
      201,
    )
    expect(issued).toMatchObject({
      id: expect.stringMatching(/^sct_/),
      phoneSystemId: ps.id,
      token: expect.stringMatching(/^scim_[A-Za-z0-9_-]{43}$/),
      prefix: issued.token.slice(0, 13),
      label: 'Entra',
      tenantUrl: `https://login.localhost/scim/v2/phone-systems/${ps.id}`,
      lastUsedAt: null,
      revokedAt: null,
    })
    const stored = await dbAll<{ secret_hash: string }>('SELECT secret_hash FROM scim_tokens WHERE id = ?', issued.id)
    expect(stored[0]!.secret_hash).not.toContain(issued.token)
    expect(stored[0]!.secret_hash).toMatch(/^[0-9a-f]{64}$|^[A-Za-z0-9_-]{43}$/)

    const listed = await expectJson(await api('GET', `/phone-systems/${ps.id}/scim-tokens`, undefined, { key }))
    expect(listed.scimTokens).toHaveLength(1)
    expect(listed.scimTokens[0]).not.toHaveProperty('token')
    expect(JSON.stringify(listed)).not.toContain(issued.token)

    const audit = await dbAll<{ action: string; org_id: string; summary: string }>(
      "SELECT action, org_id, summary FROM audit_log WHERE target_type = 'scim_token' AND target_id = ?",
      issued.id,
    )
    expect(audit.map((a) => [a.action, a.org_id])).toEqual([['scim_token.create', customer.id]])
    expect(audit[0]!.summary).not.toContain(issued.token)
    expect(JSON.parse(audit[0]!.summary).syncSource).toEqual({ before: 'app_assignments', after: 'scim' })

    // Used once: its last use shows in the list.
    await scimJson(await scim({ phoneSystemId: ps.id, token: issued.token }, 'GET', '/Users'), 200)
    const used = await expectJson(await api('GET', `/phone-systems/${ps.id}/scim-tokens`, undefined, { key }))
    expect(used.scimTokens[0].lastUsedAt).toEqual(expect.any(String))
  })

  it('revokes one (204): refused by SCIM at once, shown as revoked, with its audit row', async () => {
    const { key, ps } = await partnerPhoneSystem()
    const issued = await expectJson(await api('POST', `/phone-systems/${ps.id}/scim-tokens`, {}, { key }), 201)
    const res = await api('DELETE', `/phone-systems/${ps.id}/scim-tokens/${issued.id}`, undefined, { key })
    expect(res.status).toBe(204)
    expect((await scim({ phoneSystemId: ps.id, token: issued.token }, 'GET', '/Users')).status).toBe(401)
    const listed = await expectJson(await api('GET', `/phone-systems/${ps.id}/scim-tokens`, undefined, { key }))
    expect(listed.scimTokens[0].revokedAt).toEqual(expect.any(String))
    expect(
      await dbAll(
        "SELECT action FROM audit_log WHERE target_type = 'scim_token' AND target_id = ? ORDER BY id",
        issued.id,
      ),
    ).toEqual([{ action: 'scim_token.create' }, { action: 'scim_token.revoke' }])
    // Revoking again changes nothing; the phone system stays SCIM-pushed.
    expect((await api('DELETE', `/phone-systems/${ps.id}/scim-tokens/${issued.id}`, undefined, { key })).status).toBe(
      204,
    )
    expect((await expectJson(await api('GET', `/phone-systems/${ps.id}`, undefined, { key }))).sync.source).toBe('scim')
  })

  it("another partner's key: 404 for every token call, and nothing is created or revoked", async () => {
    const mine = await partnerPhoneSystem()
    const other = await partnerWithKey('Other')
    const issued = await expectJson(
      await api('POST', `/phone-systems/${mine.ps.id}/scim-tokens`, {}, { key: mine.key }),
      201,
    )
    for (const [method, path] of [
      ['POST', `/phone-systems/${mine.ps.id}/scim-tokens`],
      ['GET', `/phone-systems/${mine.ps.id}/scim-tokens`],
      ['DELETE', `/phone-systems/${mine.ps.id}/scim-tokens/${issued.id}`],
    ] as const) {
      const res = await api(method, path, method === 'POST' ? {} : undefined, { key: other.key })
      expect(res.status, `${method} ${path}`).toBe(404)
    }
    expect(await dbAll('SELECT revoked_at FROM scim_tokens WHERE phone_system_id = ?', mine.ps.id)).toEqual([
      { revoked_at: null },
    ])
  })

  it("a token id of another phone system cannot be revoked through this one's path: 404", async () => {
    const a = await partnerPhoneSystem()
    const b = await createPhoneSystem(a.customer.id)
    const issued = await expectJson(await api('POST', `/phone-systems/${b.id}/scim-tokens`, {}, { key: a.key }), 201)
    const res = await api('DELETE', `/phone-systems/${a.ps.id}/scim-tokens/${issued.id}`, undefined, { key: a.key })
    expect(res.status).toBe(404)
    expect(await dbAll('SELECT revoked_at FROM scim_tokens WHERE id = ?', issued.id)).toEqual([{ revoked_at: null }])
  })

  it('refuses a label that is not one (400) and writes nothing', async () => {
    const { key, ps } = await partnerPhoneSystem()
    const res = await api('POST', `/phone-systems/${ps.id}/scim-tokens`, { label: 'x'.repeat(101) }, { key })
    expect(res.status).toBe(400)
    const extra = await api('POST', `/phone-systems/${ps.id}/scim-tokens`, { label: 'ok', secret: 'mine' }, { key })
    expect(extra.status).toBe(400)
    expect(await dbAll('SELECT id FROM scim_tokens WHERE phone_system_id = ?', ps.id)).toEqual([])
  })
})
