import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { OPS } from '../../src/access/principal'
import { getPhoneSystem } from '../../src/phone-systems/service'
import { planReplace } from '../../src/sso/plan'
import { replaceSsoList, replaceStatements } from '../../src/sso/store'
import { api, apiJson, createPartner, createPhoneSystem, dbAll } from '../fixtures'

/** For statements and checks that never reach the admin API (no tenant is claimed by them). */
const TENANT_A = '11111111-1111-4111-8111-111111111111'

const OID = (n: number) => `0000${String(n).padStart(4, '0')}-aaaa-4aaa-8aaa-aaaaaaaaaaaa`

async function count(sql: string, ...params: unknown[]): Promise<number> {
  const [row] = await dbAll<{ n: number }>(sql, ...params)
  return row!.n
}

async function listIn(phoneSystemId: string) {
  return dbAll<any>(
    'SELECT id, tid, oid, upn, email, display_name, extension FROM sso_users WHERE phone_system_id = ? ORDER BY sort_key, id',
    phoneSystemId,
  )
}

describe('POST /api/v1/orgs/{id}/phone-systems', () => {
  it('creates a phone system with its tenant id in lowercase, and audits it', async () => {
    const partner = await createPartner()
    const TENANT_A = crypto.randomUUID()
    const res = await api('POST', `/orgs/${partner.id}/phone-systems`, {
      name: 'HQ',
      webClientUrl: 'https://acme.pbx.example/webclient',
      handoffUrl: 'https://acme.pbx.example/sso/handoff',
      entraTenantId: TENANT_A.toUpperCase(),
    })
    expect(res.status).toBe(201)
    const ps = await res.json<any>()
    expect(ps).toMatchObject({
      id: expect.stringMatching(/^ps_/),
      organizationId: partner.id,
      name: 'HQ',
      entraTenantId: TENANT_A,
    })
    expect(await dbAll('SELECT entra_tenant_id FROM phone_systems WHERE id = ?', ps.id)).toEqual([
      { entra_tenant_id: TENANT_A },
    ])
    expect(await dbAll('SELECT action FROM audit_log WHERE target_id = ?', ps.id)).toEqual([
      { action: 'phone_system.create' },
    ])
    expect((await apiJson('GET', `/orgs/${partner.id}/phone-systems`)).phoneSystems.map((p: any) => p.id)).toEqual([
      ps.id,
    ])
  })

  it('accepts http only for a loopback web client (the local demo)', async () => {
    const partner = await createPartner()
    const res = await api('POST', `/orgs/${partner.id}/phone-systems`, {
      name: 'Demo',
      webClientUrl: 'http://127.0.0.1:8789/',
      handoffUrl: 'http://webclient.localhost:8789/sso/handoff',
      entraTenantId: crypto.randomUUID(),
    })
    expect(res.status).toBe(201)
  })

  const valid = {
    name: 'HQ',
    webClientUrl: 'https://pbx.example/wc',
    handoffUrl: 'https://pbx.example/h',
    entraTenantId: TENANT_A,
  }
  it.each([
    ['an http web client', { webClientUrl: 'http://pbx.example/wc' }, 'webClientUrl'],
    ['a javascript: handoff URL', { handoffUrl: 'javascript:alert(1)' }, 'handoffUrl'],
    ['a relative handoff URL', { handoffUrl: '/sso/handoff' }, 'handoffUrl'],
    ['a handoff URL with credentials', { handoffUrl: 'https://u:p@pbx.example/h' }, 'handoffUrl'],
    ['a handoff URL with a fragment', { handoffUrl: 'https://pbx.example/h#x' }, 'handoffUrl'],
    ['a tenant that is not a GUID', { entraTenantId: 'contoso.onmicrosoft.com' }, 'entraTenantId'],
    ['a missing tenant', { entraTenantId: undefined }, 'entraTenantId'],
  ])('refuses %s, naming the field, writing nothing', async (_name, override, field) => {
    const partner = await createPartner()
    const before = await count('SELECT count(*) AS n FROM phone_systems')
    const res = await api('POST', `/orgs/${partner.id}/phone-systems`, { ...valid, ...override })
    expect(res.status).toBe(400)
    expect((await res.json<any>()).error).toMatchObject({ code: 'invalid_request', field })
    expect(await count('SELECT count(*) AS n FROM phone_systems')).toBe(before)
  })

  it('refuses an unknown organization with 404', async () => {
    const res = await api('POST', '/orgs/org_missing/phone-systems', valid)
    expect(res.status).toBe(404)
  })

  it('DELETE removes the phone system and its SSO list', async () => {
    const partner = await createPartner()
    const ps = await createPhoneSystem(partner.id)
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: 'a@contoso.com' }] })
    expect((await api('DELETE', `/phone-systems/${ps.id}`)).status).toBe(204)
    expect(await count('SELECT count(*) AS n FROM sso_users WHERE phone_system_id = ?', ps.id)).toBe(0)
    expect((await api('GET', `/phone-systems/${ps.id}`)).status).toBe(404)
  })
})

describe('PUT /api/v1/phone-systems/{id}/sso-users', () => {
  it('replaces the whole list and answers the counts', async () => {
    const partner = await createPartner()
    const ps = await createPhoneSystem(partner.id)
    const first = await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, {
      users: [
        {
          oid: OID(1).toUpperCase(),
          upn: 'Ann@Contoso.com',
          email: 'ann@contoso.com',
          displayName: 'Ann',
          extension: '101',
        },
        { oid: OID(2), upn: 'bob@contoso.com', displayName: 'Bob', extension: '102' },
        { upn: 'carl@contoso.com' },
      ],
    })
    expect(first).toEqual({ added: 3, removed: 0, updated: 0, unchanged: 0, total: 3 })
    const stored = await listIn(ps.id)
    expect(stored).toEqual([
      {
        id: expect.any(String),
        tid: ps.entraTenantId,
        oid: OID(1),
        upn: 'ann@contoso.com',
        email: 'ann@contoso.com',
        display_name: 'Ann',
        extension: '101',
      },
      {
        id: expect.any(String),
        tid: ps.entraTenantId,
        oid: OID(2),
        upn: 'bob@contoso.com',
        email: null,
        display_name: 'Bob',
        extension: '102',
      },
      {
        id: expect.any(String),
        tid: ps.entraTenantId,
        oid: null,
        upn: 'carl@contoso.com',
        email: null,
        display_name: null,
        extension: null,
      },
    ])

    const second = await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, {
      users: [
        { oid: OID(1), upn: 'ann@contoso.com', email: 'ann@contoso.com', displayName: 'Ann', extension: '101' },
        { oid: OID(2), upn: 'bob@contoso.com', displayName: 'Bob', extension: '202' },
        { upn: 'dora@contoso.com' },
      ],
    })
    expect(second).toEqual({ added: 1, removed: 1, updated: 1, unchanged: 1, total: 3 })
    const after = await listIn(ps.id)
    expect(after.find((u) => u.oid === OID(1)).id).toBe(stored[0].id)
    expect(after.find((u) => u.oid === OID(2))).toMatchObject({ id: stored[1].id, extension: '202' })
    expect(after.map((u) => u.upn)).not.toContain('carl@contoso.com')

    const [audit] = await dbAll<any>(
      "SELECT summary FROM audit_log WHERE target_id = ? AND action = 'sso_list.replace' ORDER BY id DESC LIMIT 1",
      ps.id,
    )
    expect(JSON.parse(audit.summary)).toEqual(second)

    expect(await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [] })).toEqual({
      added: 0,
      removed: 3,
      updated: 0,
      unchanged: 0,
      total: 0,
    })
    expect(await listIn(ps.id)).toEqual([])
  })

  describe('refuses a bad list, naming the entry, and leaves the old list whole', () => {
    it.each([
      [
        'an entry with no identity',
        { users: [{ upn: 'ok@contoso.com' }, { displayName: 'Nobody' }] },
        'users[1]',
        /needs at least one of "oid", "upn" or "email"/,
      ],
      ['an oid that is not a GUID', { users: [{ oid: 'not-a-guid' }] }, 'users[0].oid', /GUID/],
      ['a UPN that is not one', { users: [{ upn: 'ann' }] }, 'users[0].upn', /user principal name/],
      ['an email that is not one', { users: [{ email: 'ann at contoso' }] }, 'users[0].email', /email address/],
      [
        'a bad extension',
        { users: [{ upn: 'a@contoso.com', extension: '10 1' }] },
        'users[0].extension',
        /letters, digits/,
      ],
      ['an unknown field', { users: [{ upn: 'a@contoso.com', tid: 'x' }] }, 'users[0].tid', /not a known field/],
      ['users missing', {}, 'users', /"users" is required/],
      ['users not an array', { users: { upn: 'a@contoso.com' } }, 'users', /must be an array/],
      [
        'the same UPN twice, in another case',
        { users: [{ upn: 'a@contoso.com' }, { upn: 'b@contoso.com' }, { upn: 'A@Contoso.com' }] },
        'users[2].upn',
        /repeats the upn of users\[0\]/,
      ],
      [
        'the same oid twice',
        { users: [{ oid: OID(7) }, { oid: OID(7).toUpperCase() }] },
        'users[1].oid',
        /repeats the oid of users\[0\]/,
      ],
    ])('%s', async (_name, body, field, message) => {
      const partner = await createPartner()
      const ps = await createPhoneSystem(partner.id)
      await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: 'keep@contoso.com' }] })
      const before = await listIn(ps.id)
      const res = await api('PUT', `/phone-systems/${ps.id}/sso-users`, body)
      expect(res.status).toBe(400)
      const { error } = await res.json<any>()
      expect(error.code).toBe('invalid_request')
      expect(error.field).toBe(field)
      expect(error.message).toMatch(message)
      expect(await listIn(ps.id)).toEqual(before)
    })

    it('more than 50,000 users', async () => {
      const partner = await createPartner()
      const ps = await createPhoneSystem(partner.id)
      const res = await api('PUT', `/phone-systems/${ps.id}/sso-users`, {
        users: Array.from({ length: 50_001 }, () => ({ oid: OID(1) })),
      })
      expect(res.status).toBe(400)
      expect((await res.json<any>()).error).toMatchObject({
        code: 'invalid_request',
        field: 'users',
        message: '"users" must hold at most 50000 users',
      })
    })

    it('an unknown phone system: 404', async () => {
      const res = await api('PUT', '/phone-systems/ps_missing/sso-users', { users: [] })
      expect(res.status).toBe(404)
    })
  })

  it('is atomic: a replace that fails in D1 half-way leaves the old list, its version and the audit log untouched', async () => {
    const partner = await createPartner()
    const ps = await createPhoneSystem(partner.id)
    const users = Array.from({ length: 300 }, (_, i) => ({
      oid: OID(i),
      upn: `user${i}@contoso.com`,
      displayName: `User ${i}`,
    }))
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users })
    const before = await listIn(ps.id)
    const versionBefore = (await getPhoneSystem(env.DB, OPS, ps.id)).ssoListVersion
    const auditBefore = await count('SELECT count(*) AS n FROM audit_log')

    // A real D1 failure on the very last row of the batch (statements before it already ran).
    await env.DB.prepare(
      "CREATE TRIGGER fail_on_poison BEFORE INSERT ON sso_users WHEN NEW.upn = 'poison@contoso.com' BEGIN SELECT RAISE(ABORT, 'simulated D1 failure'); END",
    ).run()
    try {
      const replacement = [
        ...users.slice(100).map((u) => ({ ...u, displayName: `${u.displayName} (renamed)` })),
        { upn: 'new@contoso.com' },
        { upn: 'poison@contoso.com' },
      ]
      const res = await api('PUT', `/phone-systems/${ps.id}/sso-users`, { users: replacement })
      expect(res.status).toBe(500)
      const body = await res.json<any>()
      expect(body.error.code).toBe('internal')
      expect(JSON.stringify(body)).not.toContain('simulated D1 failure')
    } finally {
      await env.DB.prepare('DROP TRIGGER fail_on_poison').run()
    }
    expect(await listIn(ps.id)).toEqual(before)
    expect((await getPhoneSystem(env.DB, OPS, ps.id)).ssoListVersion).toBe(versionBefore)
    expect(await count('SELECT count(*) AS n FROM audit_log')).toBe(auditBefore)
  })

  it('refuses to write over a list that changed after it was read (409), leaving the newer list', async () => {
    const partner = await createPartner()
    const ps = await createPhoneSystem(partner.id)
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: 'first@contoso.com' }] })
    const stale = await getPhoneSystem(env.DB, OPS, ps.id)
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: 'newer@contoso.com' }] })
    const attempt = replaceSsoList(
      env.DB,
      stale,
      [{ oid: null, upn: 'stale@contoso.com', email: null, displayName: null, extension: null }],
      {
        now: Date.now(),
      },
    )
    await expect(attempt).rejects.toMatchObject({ code: 'conflict', status: 409 })
    expect((await listIn(ps.id)).map((u) => u.upn)).toEqual(['newer@contoso.com'])
  })

  it('plans 50,000 users into a few dozen statements, each binding at most 4 parameters', () => {
    const users = Array.from({ length: 50_000 }, (_, i) => ({
      oid: `${i.toString(16).padStart(8, '0')}-bbbb-4bbb-8bbb-bbbbbbbbbbbb`,
      upn: `firstname.lastname${i}@contoso-corporation.com`,
      email: `firstname.lastname${i}@contoso-corporation.com`,
      displayName: `Firstname Lastname ${i}`,
      extension: String(10000 + i),
    }))
    let n = 0
    const plan = planReplace([], users, () => `usr_${String(++n).padStart(20, '0')}`, 1)
    const statements = replaceStatements(env.DB, plan, {
      phoneSystemId: 'ps_x',
      tid: TENANT_A,
      expectedVersion: 0,
      now: 1,
    })
    expect(statements.length).toBeLessThan(40)
  })

  // Heavy (50,000 rows, or five raced connects): its own time bound, so a loaded machine cannot fail it.
  it('writes 50,000 users in one replace', async () => {
    const partner = await createPartner()
    const ps = await createPhoneSystem(partner.id)
    const users = Array.from({ length: 50_000 }, (_, i) => ({
      oid: `${i.toString(16).padStart(8, '0')}-bbbb-4bbb-8bbb-bbbbbbbbbbbb`,
      upn: `user${i}@contoso.com`,
      displayName: `User ${i}`,
      extension: String(1000 + i),
    }))
    expect(await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users })).toEqual({
      added: 50_000,
      removed: 0,
      updated: 0,
      unchanged: 0,
      total: 50_000,
    })
    expect(await count('SELECT count(*) AS n FROM sso_users WHERE phone_system_id = ?', ps.id)).toBe(50_000)
  }, 60_000)
})

describe('GET /api/v1/phone-systems/{id}/sso-users', () => {
  async function seeded(n: number) {
    const partner = await createPartner()
    const ps = await createPhoneSystem(partner.id)
    const users = Array.from({ length: n }, (_, i) => ({
      upn: `user${String(i).padStart(3, '0')}@contoso.com`,
      displayName: `Person ${String(i).padStart(3, '0')}`,
    }))
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, { users })
    return ps
  }

  it('pages through the whole list in name order with a cursor, without repeats', async () => {
    const ps = await seeded(250)
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = cursor ? `?limit=100&cursor=${cursor}` : '?limit=100'
      const page: any = await apiJson('GET', `/phone-systems/${ps.id}/sso-users${query}`)
      seen.push(...page.users.map((u: any) => u.displayName))
      cursor = page.nextCursor
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    expect(seen).toHaveLength(250)
    expect(new Set(seen).size).toBe(250)
    expect(seen).toEqual([...seen].sort())
  })

  it('searches by name, UPN or email, case-insensitively, treating % and _ literally', async () => {
    const ps = await seeded(30)
    await apiJson('PUT', `/phone-systems/${ps.id}/sso-users`, {
      users: [
        { upn: 'ann.smith@contoso.com', displayName: 'Ann Smith' },
        { upn: 'bob@contoso.com', email: 'robert_jones@contoso.com', displayName: 'Bob Jones' },
        { upn: 'percent@contoso.com', displayName: '100% Sales' },
      ],
    })
    const search = async (q: string) =>
      (await apiJson('GET', `/phone-systems/${ps.id}/sso-users?q=${encodeURIComponent(q)}`)).users.map(
        (u: any) => u.upn,
      )
    expect(await search('SMITH')).toEqual(['ann.smith@contoso.com'])
    expect(await search('robert_')).toEqual(['bob@contoso.com'])
    expect(await search('_')).toEqual(['bob@contoso.com'])
    expect(await search('%')).toEqual(['percent@contoso.com'])
    expect(await search('nobody')).toEqual([])
    const long = 'a-very-long-address-for-exact-match-only@contoso.com'
    expect(await search(long)).toEqual([])
  })

  it.each([
    ['a forged cursor', '?cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ['a garbage cursor', '?cursor=%%%', 'cursor'],
    ['a zero limit', '?limit=0', 'limit'],
    ['a huge limit', '?limit=100000', 'limit'],
    ['a fractional limit', '?limit=2.5', 'limit'],
  ])('refuses %s with 400 naming the parameter', async (_name, query, field) => {
    const ps = await seeded(1)
    const res = await api('GET', `/phone-systems/${ps.id}/sso-users${query}`)
    expect(res.status).toBe(400)
    expect((await res.json<any>()).error).toMatchObject({ code: 'invalid_request', field })
  })
})
