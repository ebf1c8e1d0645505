import { describe, expect, it } from 'vitest'
import { api, apiJson, createCustomer, createPartner, dbAll } from '../fixtures'
import { consoleGet, consolePost, newStaff, opsAdmin, signInToConsole } from './helpers'

/** A whole key, as opposed to the prefixes and the `sgk_…` of the usage notes. */
const FULL_KEY = /sgk_[A-Za-z0-9_-]{20,}/

const keysOf = (orgId: string) =>
  dbAll<{ id: string; prefix: string; label: string | null; secret_hash: string; revoked_at: number | null }>(
    'SELECT id, prefix, label, secret_hash, revoked_at FROM api_keys WHERE org_id = ? ORDER BY created_at',
    orgId,
  )

describe('console: API keys', () => {
  it('shows a new key once, which works as a Bearer key until revoked in the console; the audit log names who', async () => {
    const partner = await createPartner()
    const admin = await newStaff(partner.id, 'admin')
    const session = await signInToConsole(admin)

    const created = await consolePost(session, `/admin/orgs/${partner.id}/api-keys`, { label: 'Billing system' })
    // Answered on the POST itself: a redirect would carry the key in a URL.
    expect(created.res.status, created.html).toBe(200)
    expect(created.res.headers.get('location')).toBeNull()
    expect(created.res.headers.get('cache-control')).toBe('no-store')
    expect(created.html).toContain('will not be shown again')
    expect(created.html).toContain('data-copy="sgk_')
    expect(created.html).toContain('Authorization: Bearer')
    expect(created.html).toContain('/api/v1')
    const key = FULL_KEY.exec(created.html)![0]

    const [row] = await keysOf(partner.id)
    expect(row!.label).toBe('Billing system')
    expect(row!.prefix).toBe(key.slice(0, 12))
    expect(row!.secret_hash).not.toContain(key)

    expect((await api('GET', `/orgs/${partner.id}`, undefined, { key })).status).toBe(200)

    const list = await consoleGet(session, `/admin/orgs/${partner.id}/api-keys`)
    expect(list.res.status).toBe(200)
    expect(list.html).toContain('Billing system')
    expect(list.html).toContain(`${row!.prefix}…`)
    expect(list.html).toContain('Active')
    expect(list.html).toContain(`by <code>staff:${admin.upn}</code>`)
    expect(list.html).not.toContain(key)
    expect(list.html).toContain(`aria-label="Revoke key ${row!.prefix}"`)

    const confirm = await consoleGet(session, `/admin/orgs/${partner.id}/api-keys/${row!.id}/revoke`)
    expect(confirm.res.status).toBe(200)
    expect(confirm.html).toContain('cannot be undone')
    expect(confirm.html).toContain(`action="/admin/orgs/${partner.id}/api-keys/${row!.id}/revoke"`)

    const revoked = await consolePost(session, `/admin/orgs/${partner.id}/api-keys/${row!.id}/revoke`)
    expect(revoked.res.status).toBe(303)
    expect(revoked.res.headers.get('location')).toBe(`/admin/orgs/${partner.id}/api-keys?done=revoked`)
    expect((await api('GET', `/orgs/${partner.id}`, undefined, { key })).status).toBe(401)
    const after = await consoleGet(session, `/admin/orgs/${partner.id}/api-keys?done=revoked`)
    expect(after.html).toContain('Key revoked')
    expect(after.html).toContain('Revoked')
    expect(after.html).not.toContain(`aria-label="Revoke key ${row!.prefix}"`)

    const audit = await consoleGet(session, `/admin/orgs/${partner.id}/audit`)
    expect(audit.res.status).toBe(200)
    expect(audit.html).toContain('api_key.create')
    expect(audit.html).toContain('api_key.revoke')
    expect(audit.html).toContain(`staff:${admin.upn}`)
    expect(audit.html).not.toContain(key)
    const entries = await dbAll<{ actor: string; action: string }>(
      'SELECT actor, action FROM audit_log WHERE target_id = ? ORDER BY id',
      row!.id,
    )
    expect(entries).toEqual([
      { actor: `staff:${admin.upn}`, action: 'api_key.create' },
      { actor: `staff:${admin.upn}`, action: 'api_key.revoke' },
    ])
  })

  it('creates a key without a label, and refuses a label that is too long beside its field', async () => {
    const partner = await createPartner()
    const session = await signInToConsole(await newStaff(partner.id, 'admin'))
    const tooLong = await consolePost(session, `/admin/orgs/${partner.id}/api-keys`, { label: 'x'.repeat(101) })
    expect(tooLong.res.status).toBe(400)
    expect(tooLong.html).toContain('id="f-label-error"')
    expect(tooLong.html).toContain('aria-invalid="true"')
    expect(tooLong.html).not.toMatch(FULL_KEY)
    expect(await keysOf(partner.id)).toHaveLength(0)
    const plain = await consolePost(session, `/admin/orgs/${partner.id}/api-keys`, { label: '  ' })
    expect(plain.res.status).toBe(200)
    expect(plain.html).toMatch(FULL_KEY)
    expect((await keysOf(partner.id))[0]!.label).toBeNull()
  })

  it('has no API keys page for a customer: 404, and no tab for it', async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const session = await signInToConsole(await newStaff(partner.id, 'admin'))
    expect((await consoleGet(session, `/admin/orgs/${customer.id}/api-keys`)).res.status).toBe(404)
    expect((await consolePost(session, `/admin/orgs/${customer.id}/api-keys`, { label: 'x' })).res.status).toBe(404)
    expect(await keysOf(customer.id)).toHaveLength(0)
    const overview = await consoleGet(session, `/admin/orgs/${customer.id}`)
    expect(overview.html).not.toContain(`/admin/orgs/${customer.id}/api-keys`)
    const partnerPage = await consoleGet(session, `/admin/orgs/${partner.id}`)
    expect(partnerPage.html).toContain(`/admin/orgs/${partner.id}/api-keys`)
  })

  it('lets a viewer see the keys but neither create nor revoke one (403, D1 unchanged)', async () => {
    const partner = await createPartner()
    const { id: keyId } = await apiJson('POST', `/orgs/${partner.id}/api-keys`, { label: 'Existing' }, 201)
    const viewer = await signInToConsole(await newStaff(partner.id, 'viewer'))
    const page = await consoleGet(viewer, `/admin/orgs/${partner.id}/api-keys`)
    expect(page.res.status).toBe(200)
    expect(page.html).toContain('Existing')
    expect(page.html).not.toContain('Create a key')
    expect(page.html).not.toContain('Revoke…')
    const confirm = await consoleGet(viewer, `/admin/orgs/${partner.id}/api-keys/${keyId}/revoke`)
    expect(confirm.html).not.toContain('method="post" action="/admin/orgs')
    expect(
      (await consolePost(viewer, `/admin/orgs/${partner.id}/api-keys`, { label: 'Viewer made this' })).res.status,
    ).toBe(403)
    expect((await consolePost(viewer, `/admin/orgs/${partner.id}/api-keys/${keyId}/revoke`)).res.status).toBe(403)
    const keys = await keysOf(partner.id)
    expect(keys).toHaveLength(1)
    expect(keys[0]!.revoked_at).toBeNull()
  })

  it("answers 404 for another partner's key, to its admins and to ops acting on another partner", async () => {
    const mine = await createPartner()
    const theirs = await createPartner()
    const { id: theirKey } = await apiJson('POST', `/orgs/${theirs.id}/api-keys`, {}, 201)
    const admin = await signInToConsole(await newStaff(mine.id, 'admin'))
    const ops = await signInToConsole(await opsAdmin())
    for (const session of [admin, ops]) {
      expect((await consoleGet(session, `/admin/orgs/${mine.id}/api-keys/${theirKey}/revoke`)).res.status).toBe(404)
      expect((await consolePost(session, `/admin/orgs/${mine.id}/api-keys/${theirKey}/revoke`)).res.status).toBe(404)
    }
    expect((await consolePost(admin, `/admin/orgs/${theirs.id}/api-keys/${theirKey}/revoke`)).res.status).toBe(404)
    expect((await keysOf(theirs.id))[0]!.revoked_at).toBeNull()
  })
})
