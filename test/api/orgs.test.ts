import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { api, apiJson, createCustomer, createPartner, dbAll, seedTenant } from '../fixtures'

async function count(table: string): Promise<number> {
  const [row] = await dbAll<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)
  return row!.n
}

describe('POST /api/v1/orgs', () => {
  it('creates a partner, answers 201 with its id, and audits the change', async () => {
    const res = await api('POST', '/orgs', {
      name: 'Northwind Reseller',
      kind: 'partner',
      branding: { displayName: 'Northwind', accentColor: '#00AA55', logoUrl: 'https://cdn.northwind.example/logo.svg' },
    })
    expect(res.status).toBe(201)
    const org = await res.json<any>()
    expect(org).toMatchObject({
      id: expect.stringMatching(/^org_[0-9a-z]{20}$/),
      kind: 'partner',
      parentId: null,
      structure: null,
      name: 'Northwind Reseller',
      branding: { displayName: 'Northwind', accentColor: '#00aa55', logoUrl: 'https://cdn.northwind.example/logo.svg' },
    })
    const audit = await dbAll<any>(
      'SELECT actor, action, target_type, target_id FROM audit_log WHERE target_id = ?',
      org.id,
    )
    expect(audit).toEqual([
      { actor: 'ops', action: 'organization.create', target_type: 'organization', target_id: org.id },
    ])
  })

  it('creates nested customers by default and flat ones on request', async () => {
    const partner = await createPartner()
    expect(await createCustomer(partner.id)).toMatchObject({
      kind: 'customer',
      parentId: partner.id,
      structure: 'nested',
    })
    expect(await createCustomer(partner.id, { structure: 'flat' })).toMatchObject({ structure: 'flat' })
  })

  describe('refuses a bad body with the exact code, naming the field, and writes nothing', () => {
    const cases: Array<[string, unknown, number, string, string | undefined, RegExp]> = [
      ['a missing name', { kind: 'partner' }, 400, 'invalid_request', 'name', /^"name" is required$/],
      ['an empty name', { name: '  ', kind: 'partner' }, 400, 'invalid_request', 'name', /^"name" must not be empty$/],
      ['a long name', { name: 'x'.repeat(201), kind: 'partner' }, 400, 'invalid_request', 'name', /at most 200/],
      [
        'a number for a name',
        { name: 42, kind: 'partner' },
        400,
        'invalid_request',
        'name',
        /^"name" must be a string$/,
      ],
      ['an unknown kind', { name: 'X', kind: 'reseller' }, 400, 'invalid_request', 'kind', /"partner" or "customer"/],
      [
        'an unknown field',
        { name: 'X', kind: 'partner', colour: 'red' },
        400,
        'invalid_request',
        'colour',
        /^"colour" is not a known field$/,
      ],
      [
        'a partner with a parent',
        { name: 'X', kind: 'partner', parentId: 'org_x' },
        400,
        'invalid_request',
        'parentId',
        /absent for a partner/,
      ],
      [
        'a partner with a structure',
        { name: 'X', kind: 'partner', structure: 'flat' },
        400,
        'invalid_request',
        'structure',
        /customers only/,
      ],
      [
        'a customer without parent',
        { name: 'X', kind: 'customer' },
        400,
        'invalid_request',
        'parentId',
        /is required for a customer/,
      ],
      [
        'a customer with an unknown parent',
        { name: 'X', kind: 'customer', parentId: 'org_nope' },
        400,
        'invalid_request',
        'parentId',
        /existing partner/,
      ],
      [
        'an unknown structure',
        { name: 'X', kind: 'customer', parentId: 'org_x', structure: 'tree' },
        400,
        'invalid_request',
        'structure',
        /"nested" or "flat"/,
      ],
      [
        'a colour name',
        { name: 'X', kind: 'partner', branding: { accentColor: 'red' } },
        400,
        'invalid_request',
        'branding.accentColor',
        /#rrggbb/,
      ],
      [
        'CSS in the colour',
        { name: 'X', kind: 'partner', branding: { accentColor: '#fff;}body{x' } },
        400,
        'invalid_request',
        'branding.accentColor',
        /#rrggbb/,
      ],
      [
        'an http logo',
        { name: 'X', kind: 'partner', branding: { logoUrl: 'http://cdn.example/logo.png' } },
        400,
        'invalid_request',
        'branding.logoUrl',
        /https:\/\//,
      ],
      [
        'a javascript: logo',
        { name: 'X', kind: 'partner', branding: { logoUrl: 'javascript:alert(1)' } },
        400,
        'invalid_request',
        'branding.logoUrl',
        /https:\/\//,
      ],
      [
        'a logo with credentials',
        { name: 'X', kind: 'partner', branding: { logoUrl: 'https://u:p@cdn.example/l.png' } },
        400,
        'invalid_request',
        'branding.logoUrl',
        /credentials/,
      ],
      [
        'an unknown branding field',
        { name: 'X', kind: 'partner', branding: { font: 'Comic Sans' } },
        400,
        'invalid_request',
        'branding.font',
        /not a known field/,
      ],
      [
        'an array body',
        [{ name: 'X', kind: 'partner' }],
        400,
        'invalid_request',
        undefined,
        /the body must be an object/,
      ],
    ]
    it.each(cases)('%s', async (_name, body, status, code, field, message) => {
      const before = await count('organizations')
      const res = await api('POST', '/orgs', body)
      expect(res.status).toBe(status)
      const { error } = await res.json<any>()
      expect(error.code).toBe(code)
      expect(error.field).toBe(field)
      expect(error.message).toMatch(message)
      expect(await count('organizations')).toBe(before)
    })

    it('a customer under another customer', async () => {
      const partner = await createPartner()
      const customer = await createCustomer(partner.id)
      const res = await api('POST', '/orgs', { name: 'Sub', kind: 'customer', parentId: customer.id })
      expect(res.status).toBe(400)
      expect((await res.json<any>()).error).toMatchObject({ code: 'invalid_request', field: 'parentId' })
    })

    it('a body that is not JSON', async () => {
      const res = await api('POST', '/orgs', undefined, {
        rawBody: '{"name": "X",',
        headers: { 'content-type': 'application/json' },
      })
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual({ error: { code: 'invalid_json', message: 'The body is not valid JSON' } })
    })

    it('a body that is not declared as JSON', async () => {
      const res = await api('POST', '/orgs', undefined, {
        rawBody: '{"name":"X","kind":"partner"}',
        headers: { 'content-type': 'text/plain' },
      })
      expect(res.status).toBe(415)
      expect((await res.json<any>()).error.code).toBe('unsupported_media_type')
    })

    it('a body over 1 MiB', async () => {
      const res = await api('POST', '/orgs', undefined, {
        rawBody: JSON.stringify({ name: 'x'.repeat(17 * 1024 * 1024), kind: 'partner' }),
        headers: { 'content-type': 'application/json' },
      })
      expect(res.status).toBe(413)
      expect((await res.json<any>()).error.code).toBe('payload_too_large')
    })
  })
})

describe('reading and updating organizations', () => {
  it('GET /orgs/{id} answers the organization; an unknown id is a JSON 404', async () => {
    const partner = await createPartner('Readable')
    expect(await apiJson('GET', `/orgs/${partner.id}`)).toMatchObject({ id: partner.id, name: 'Readable' })
    const res = await api('GET', '/orgs/org_doesnotexist')
    expect(res.status).toBe(404)
    expect((await res.json<any>()).error.code).toBe('not_found')
  })

  it('GET /orgs?parentId= lists the customers of a partner', async () => {
    const partner = await createPartner()
    const a = await createCustomer(partner.id, { name: 'B-Customer' })
    const b = await createCustomer(partner.id, { name: 'A-Customer' })
    const { orgs } = await apiJson('GET', `/orgs?parentId=${partner.id}`)
    expect(orgs.map((o: any) => o.id)).toEqual([b.id, a.id])
  })

  it('PATCH /orgs/{id} rebrands the login page at once and audits before and after', async () => {
    const { customer, hostname } = await seedTenant({ branding: { displayName: 'Old Name' } })
    expect(await (await SELF.fetch(`https://${hostname}/`)).text()).toContain('Old Name')
    const updated = await apiJson('PATCH', `/orgs/${customer.id}`, {
      branding: { displayName: 'New Name', accentColor: '#112233' },
    })
    expect(updated.branding).toEqual({ displayName: 'New Name', logoUrl: null, accentColor: '#112233' })
    const html = await (await SELF.fetch(`https://${hostname}/`)).text()
    expect(html).toContain('New Name')
    expect(html).toContain('--accent:#112233')
    const [audit] = await dbAll<any>(
      "SELECT summary FROM audit_log WHERE target_id = ? AND action = 'organization.update'",
      customer.id,
    )
    const summary = JSON.parse(audit.summary)
    expect(summary.before.branding.displayName).toBe('Old Name')
    expect(summary.after.branding.displayName).toBe('New Name')
  })
})

describe('audit log', () => {
  it('cannot be rewritten or deleted, even with direct SQL', async () => {
    await createPartner()
    const [row] = await dbAll<{ id: number }>('SELECT id FROM audit_log ORDER BY id DESC LIMIT 1')
    await expect(dbAll("UPDATE audit_log SET actor = 'someone-else' WHERE id = ?", row!.id)).rejects.toThrow(
      /append-only/,
    )
    await expect(dbAll('DELETE FROM audit_log WHERE id = ?', row!.id)).rejects.toThrow(/append-only/)
  })
})
