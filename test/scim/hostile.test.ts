/**
 * SCIM under hostile input: tokens that are not this phone system's, filters
 * and paging that try to escape, changes to what is the gateway's, bodies
 * too large, names that collide; every refusal in SCIM's shape, and D1 as
 * it was.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { TEST_ADMIN_KEY } from '../bindings'
import { apiJson, dbAll, PRIMARY } from '../fixtures'
import { entraUser, expectScimError, PATCH_OP, SCIM_TYPE, scim, scimJson, seedScimTenant } from './helpers'

async function scimRows(phoneSystemId: string) {
  return dbAll('SELECT id, user_name, active FROM scim_users WHERE phone_system_id = ? ORDER BY id', phoneSystemId)
}
async function listRows(phoneSystemId: string) {
  return dbAll('SELECT id, upn, email FROM sso_users WHERE phone_system_id = ? ORDER BY id', phoneSystemId)
}

describe('SCIM tokens at the door', () => {
  it.each([
    ['no Authorization header', null],
    ['a garbage token', 'scim_not-a-real-token'],
    ['the ops API key', TEST_ADMIN_KEY],
    ['an empty bearer', ''],
  ])('%s: 401 in SCIM shape with WWW-Authenticate: Bearer', async (_name, token) => {
    const tenant = await seedScimTenant()
    const res = await scim(tenant, 'GET', '/Users', undefined, { token })
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
    await expectScimError(res, 401)
  })

  it("another phone system's token: 401, and nothing of either is read or written", async () => {
    const a = await seedScimTenant()
    const b = await seedScimTenant()
    const created = await scimJson(await scim(b, 'POST', '/Users', entraUser('b@contoso.example')), 201)
    await expectScimError(await scim(b, 'GET', `/Users/${created.id}`, undefined, { token: a.token }), 401)
    await expectScimError(await scim(b, 'POST', '/Users', entraUser('x@contoso.example'), { token: a.token }), 401)
    await expectScimError(await scim(b, 'DELETE', `/Users/${created.id}`, undefined, { token: a.token }), 401)
    expect((await scimRows(b.phoneSystemId)).length).toBe(1)
    expect(await scimRows(a.phoneSystemId)).toEqual([])
    // With its own token, A cannot reach B's user by id either.
    await expectScimError(await scim(a, 'GET', `/Users/${created.id}`), 404)
    await expectScimError(
      await scim(a, 'PATCH', `/Users/${created.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'active', value: false }],
      }),
      404,
    )
    expect(await dbAll('SELECT active FROM scim_users WHERE id = ?', created.id)).toEqual([{ active: 1 }])
  })

  it('an id longer than any issued: 404 in SCIM shape', async () => {
    const tenant = await seedScimTenant()
    await expectScimError(await scim(tenant, 'GET', `/Users/${'u'.repeat(5000)}`), 404)
    await expectScimError(await scim(tenant, 'DELETE', `/Groups/${'g'.repeat(5000)}`), 404)
  })

  it('a revoked token: 401 at once', async () => {
    const tenant = await seedScimTenant()
    await scimJson(await scim(tenant, 'GET', '/Users'), 200)
    await apiJson('DELETE', `/phone-systems/${tenant.phoneSystemId}/scim-tokens/${tenant.tokenId}`, undefined, 204)
    await expectScimError(await scim(tenant, 'GET', '/Users'), 401)
  })

  it('on a host other than the primary: 404', async () => {
    const tenant = await seedScimTenant()
    const res = await scim(tenant, 'GET', '/Users', undefined, { host: tenant.hostname })
    expect(res.status).toBe(404)
  })

  it('a token over its allowance: 429 in SCIM shape with Retry-After', async () => {
    const tenant = await seedScimTenant()
    const tight = { ...env, ADMIN_RATE_LIMIT: env.TIGHT_RATE_LIMIT }
    const get = () =>
      app.request(
        `https://${PRIMARY}/scim/v2/phone-systems/${tenant.phoneSystemId}/Users`,
        {
          headers: {
            authorization: `Bearer ${tenant.token}`,
            'cf-connecting-ip': `198.51.100.${Math.floor(Math.random() * 200)}`,
          },
        },
        tight,
      )
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await get()).status)
    expect(statuses).toEqual([200, 200, 200, 429])
    const res = await get()
    expect(res.headers.get('retry-after')).toBe('60')
    await expectScimError(res, 429)
  })
})

describe('SCIM filters and paging', () => {
  it.each([
    ['userName co "ann"'],
    ['userName sw "ann"'],
    ['userName pr'],
    ['userName ne "ann"'],
    ['userName eq "a" or userName eq "b"'],
    ['emails.value eq "a@contoso.example"'],
    ['displayName eq "Ann"'],
    ['userName eq ann'],
    ['userName eq "unterminated'],
    [`userName eq "${'x'.repeat(2000)}"`],
  ])('refuses %s with 400 invalidFilter', async (filter) => {
    const tenant = await seedScimTenant()
    await expectScimError(
      await scim(tenant, 'GET', `/Users?filter=${encodeURIComponent(filter)}`),
      400,
      'invalidFilter',
    )
  })

  it('a SQL-ish value is a value: it matches nothing and changes nothing', async () => {
    const tenant = await seedScimTenant()
    await scimJson(await scim(tenant, 'POST', '/Users', entraUser('ann@contoso.example')), 201)
    for (const value of [`x" OR 1=1 --`, "x' OR '1'='1", 'ann@contoso.example%', '%']) {
      const body = await scimJson(
        await scim(tenant, 'GET', `/Users?filter=${encodeURIComponent(`userName eq ${JSON.stringify(value)}`)}`),
        200,
      )
      expect(body.totalResults).toBe(0)
    }
    expect((await scimRows(tenant.phoneSystemId)).length).toBe(1)
  })

  it('caps count at 100, treats a negative count as 0 and a startIndex below 1 as 1, refuses a non-number', async () => {
    const tenant = await seedScimTenant()
    await env.DB.prepare(
      `INSERT INTO scim_users (id, phone_system_id, user_name, user_name_key, active, resource, created_at, updated_at)
       SELECT 'usr_bulk' || value, ?1, 'bulk' || value || '@contoso.example', 'bulk' || value || '@contoso.example', 0, '{}', value, value
       FROM json_each(?2)`,
    )
      .bind(tenant.phoneSystemId, JSON.stringify(Array.from({ length: 120 }, (_, i) => i)))
      .run()
    const big = await scimJson(await scim(tenant, 'GET', '/Users?count=100000'), 200)
    expect(big).toMatchObject({ totalResults: 120, itemsPerPage: 100 })
    const negative = await scimJson(await scim(tenant, 'GET', '/Users?count=-5&startIndex=-3'), 200)
    expect(negative).toMatchObject({ totalResults: 120, startIndex: 1, itemsPerPage: 0, Resources: [] })
    await expectScimError(await scim(tenant, 'GET', '/Users?count=ten'), 400, 'invalidValue')
    await expectScimError(await scim(tenant, 'GET', '/Users?startIndex=1e9'), 400, 'invalidValue')
  })
})

describe('SCIM writes that must change nothing', () => {
  it.each([
    ['id', { op: 'Replace', path: 'id', value: 'usr_other' }, 'mutability'],
    ['meta', { op: 'Replace', path: 'meta', value: {} }, 'mutability'],
    ['id without a path', { op: 'Replace', value: { id: 'usr_other' } }, 'mutability'],
    ['userName removed', { op: 'Remove', path: 'userName' }, 'invalidValue'],
    ['active as a word', { op: 'Replace', path: 'active', value: 'nope' }, 'invalidValue'],
    ['an unknown op', { op: 'Move', path: 'active', value: false }, 'invalidSyntax'],
    ['a remove without path', { op: 'Remove' }, 'noTarget'],
    ['a path that is not one', { op: 'Replace', path: 'emails[type ne "work"].value', value: 'x' }, 'invalidPath'],
  ])('PATCH of %s: 400 %s', async (_name, operation, scimType) => {
    const tenant = await seedScimTenant()
    const created = await scimJson(await scim(tenant, 'POST', '/Users', entraUser('ann@contoso.example')), 201)
    const before = await dbAll('SELECT * FROM scim_users WHERE id = ?', created.id)
    await expectScimError(
      await scim(tenant, 'PATCH', `/Users/${created.id}`, { schemas: [PATCH_OP], Operations: [operation] }),
      400,
      scimType,
    )
    expect(await dbAll('SELECT * FROM scim_users WHERE id = ?', created.id)).toEqual(before)
  })

  it('a userName differing only in case is taken: 409 uniqueness, nothing written', async () => {
    const tenant = await seedScimTenant()
    await scimJson(await scim(tenant, 'POST', '/Users', entraUser('Ann@Contoso.example')), 201)
    await expectScimError(
      await scim(tenant, 'POST', '/Users', entraUser('ANN@contoso.EXAMPLE', { email: 'other@contoso.example' })),
      409,
      'uniqueness',
    )
    const bo = await scimJson(await scim(tenant, 'POST', '/Users', entraUser('bo@contoso.example')), 201)
    await expectScimError(
      await scim(tenant, 'PATCH', `/Users/${bo.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'userName', value: 'aNN@contoso.example' }],
      }),
      409,
      'uniqueness',
    )
    expect((await scimRows(tenant.phoneSystemId)).map((r: any) => r.user_name).sort()).toEqual([
      'Ann@Contoso.example',
      'bo@contoso.example',
    ])
  })

  it("another active user's email: 409 uniqueness (the list's unique email), never a 500", async () => {
    const tenant = await seedScimTenant()
    await scimJson(
      await scim(tenant, 'POST', '/Users', entraUser('ann@contoso.example', { email: 'shared@contoso.example' })),
      201,
    )
    const before = await listRows(tenant.phoneSystemId)
    await expectScimError(
      await scim(tenant, 'POST', '/Users', entraUser('bo@contoso.example', { email: 'SHARED@contoso.example' })),
      409,
      'uniqueness',
    )
    expect(await listRows(tenant.phoneSystemId)).toEqual(before)
    expect((await scimRows(tenant.phoneSystemId)).length).toBe(1)
  })

  it('a body over 1 MiB: 413 in SCIM shape', async () => {
    const tenant = await seedScimTenant()
    const rawBody = JSON.stringify({ ...entraUser('big@contoso.example'), title: 'x'.repeat(1024 * 1024) })
    await expectScimError(await scim(tenant, 'POST', '/Users', undefined, { rawBody }), 413)
    expect(await scimRows(tenant.phoneSystemId)).toEqual([])
  })

  it('a user over 64 KiB of attributes: 413, nothing written', async () => {
    const tenant = await seedScimTenant()
    const body = { ...entraUser('big@contoso.example'), title: 'x'.repeat(70 * 1024) }
    await expectScimError(await scim(tenant, 'POST', '/Users', body), 413)
    expect(await scimRows(tenant.phoneSystemId)).toEqual([])
  })

  it.each([
    ['text/plain', 'text/plain', JSON.stringify(entraUser('a@contoso.example')), 415, undefined],
    ['broken JSON', SCIM_TYPE, '{"userName":', 400, 'invalidSyntax'],
    ['no userName', SCIM_TYPE, JSON.stringify({ schemas: [] }), 400, 'invalidValue'],
    [
      'a userName with a control character',
      SCIM_TYPE,
      JSON.stringify(entraUser('a\u0000@contoso.example')),
      400,
      'invalidValue',
    ],
    [
      'a userName of 300 characters',
      SCIM_TYPE,
      JSON.stringify(entraUser(`${'a'.repeat(300)}@contoso.example`)),
      400,
      'invalidValue',
    ],
  ])('POST with %s: refused', async (_name, contentType, rawBody, status, scimType) => {
    const tenant = await seedScimTenant()
    await expectScimError(await scim(tenant, 'POST', '/Users', undefined, { rawBody, contentType }), status, scimType)
    expect(await scimRows(tenant.phoneSystemId)).toEqual([])
  })

  it('accepts application/json as well', async () => {
    const tenant = await seedScimTenant()
    await scimJson(
      await scim(tenant, 'POST', '/Users', entraUser('json@contoso.example'), { contentType: 'application/json' }),
      201,
    )
  })

  it("a group cannot take another phone system's user as a member", async () => {
    const a = await seedScimTenant()
    const b = await seedScimTenant()
    const theirs = await scimJson(await scim(b, 'POST', '/Users', entraUser('b@contoso.example')), 201)
    const group = await scimJson(
      await scim(a, 'POST', '/Groups', { displayName: 'G', members: [{ value: theirs.id }] }),
      201,
    )
    expect(group.members).toEqual([])
    const res = await scim(a, 'PATCH', `/Groups/${group.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'Add', path: 'members', value: [{ value: theirs.id }] }],
    })
    expect(res.status).toBe(204)
    expect(await dbAll('SELECT * FROM scim_group_members WHERE group_id = ?', group.id)).toEqual([])
  })

  it('over the list cap (50,000): POST answers 403 in SCIM shape and writes nothing; an inactive user still fits', async () => {
    const tenant = await seedScimTenant()
    // 50,000 rows straight into the list, as a full one would be.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
       INSERT INTO sso_users (id, phone_system_id, tid, upn, sort_key, created_at, updated_at)
       SELECT 'usr_full' || i || ?1, ?1, ?2, 'full' || i || '@contoso.example', 'full' || i, 0, 0 FROM n`,
    )
      .bind(tenant.phoneSystemId, tenant.tenantId)
      .run()
    await expectScimError(await scim(tenant, 'POST', '/Users', entraUser('one.more@contoso.example')), 403)
    expect(await scimRows(tenant.phoneSystemId)).toEqual([])
    const inactive = await scimJson(
      await scim(tenant, 'POST', '/Users', entraUser('parked@contoso.example', { active: false })),
      201,
    )
    await expectScimError(
      await scim(tenant, 'PATCH', `/Users/${inactive.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'active', value: true }],
      }),
      403,
    )
    expect(await dbAll('SELECT active FROM scim_users WHERE id = ?', inactive.id)).toEqual([{ active: 0 }])
    await env.DB.prepare('DELETE FROM sso_users WHERE phone_system_id = ?').bind(tenant.phoneSystemId).run()
  })
})
