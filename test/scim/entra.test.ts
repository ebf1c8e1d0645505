/**
 * The request sequences Entra's provisioning service documents
 * ("Tutorial: Develop and plan provisioning for a SCIM endpoint", its
 * User and Group operations), replayed against a phone system's Tenant URL;
 * what the SSO list holds afterwards, and a sign-in with the pushed user.
 */
import { describe, expect, it } from 'vitest'
import { apiJson, assertionFrom, dbAll, HANDOFF_FIELD, signIn } from '../fixtures'
import { entraUser, expectScimError, PATCH_OP, type ScimTenant, scim, scimJson, seedScimTenant } from './helpers'

const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'

async function listRows(phoneSystemId: string) {
  return dbAll<{
    id: string
    tid: string
    oid: string | null
    upn: string
    email: string | null
    display_name: string
  }>(
    'SELECT id, tid, oid, upn, email, display_name FROM sso_users WHERE phone_system_id = ? ORDER BY upn',
    phoneSystemId,
  )
}

/** Entra's create: a query by userName that finds nothing (200, an empty list, never 404), then POST. */
async function provision(tenant: ScimTenant, userName: string, options: Parameters<typeof entraUser>[1] = {}) {
  const query = await scimJson(
    await scim(tenant, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`),
    200,
  )
  expect(query).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] })
  const res = await scim(tenant, 'POST', '/Users', entraUser(userName, options))
  const created = await scimJson(res, 201)
  expect(res.headers.get('location')).toBe(`${tenant.tenantUrl}/Users/${created.id}`)
  return created
}

describe('Entra provisioning: users', () => {
  it('creates a user: the query finds nothing, the POST answers 201 with the resource, and the user is on the SSO list', async () => {
    const tenant = await seedScimTenant()
    const created = await provision(tenant, tenant.user.upn)
    expect(created).toMatchObject({
      schemas: expect.arrayContaining(['urn:ietf:params:scim:schemas:core:2.0:User']),
      id: expect.stringMatching(/^usr_/),
      userName: tenant.user.upn,
      active: true,
      emails: [{ primary: true, type: 'work', value: tenant.user.upn }],
      name: { givenName: 'Ann', familyName: 'Example' },
      meta: { resourceType: 'User', location: `${tenant.tenantUrl}/Users/${created.id}` },
    })
    expect(await listRows(tenant.phoneSystemId)).toEqual([
      {
        id: created.id,
        tid: tenant.tenantId,
        oid: null,
        upn: tenant.user.upn.toLowerCase(),
        email: tenant.user.upn.toLowerCase(),
        display_name: 'Ann Example',
      },
    ])

    // Entra's queries afterwards: by userName (any case), by externalId, and the user itself.
    const byName = await scimJson(
      await scim(
        tenant,
        'GET',
        `/Users?filter=${encodeURIComponent(`USERNAME EQ "${tenant.user.upn.toUpperCase()}"`)}`,
      ),
      200,
    )
    expect(byName.totalResults).toBe(1)
    expect(byName.Resources[0].id).toBe(created.id)
    const byExternal = await scimJson(
      await scim(tenant, 'GET', `/Users?filter=${encodeURIComponent(`externalId eq "${created.externalId}"`)}`),
      200,
    )
    expect(byExternal.Resources.map((u: any) => u.id)).toEqual([created.id])
    expect(await scimJson(await scim(tenant, 'GET', `/Users/${created.id}`), 200)).toEqual(created)
  })

  it('signs the pushed user in, and refuses them at the next sign-in once Entra disables them (active false)', async () => {
    const tenant = await seedScimTenant()
    const before = await signIn(tenant.hostname, tenant.user)
    expect(before.res.status).toBe(403)

    const created = await provision(tenant, tenant.user.upn)
    const signedIn = await signIn(tenant.hostname, tenant.user)
    expect(signedIn.res.status, signedIn.html.slice(0, 300)).toBe(200)
    expect(signedIn.html).toContain(HANDOFF_FIELD)
    expect(assertionFrom(signedIn.html).claims).toMatchObject({ sub: created.id, tid: tenant.tenantId })

    // Entra's "Disable User" request.
    const disabled = await scimJson(
      await scim(tenant, 'PATCH', `/Users/${created.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'active', value: false }],
      }),
      200,
    )
    expect(disabled.active).toBe(false)
    expect(await listRows(tenant.phoneSystemId)).toEqual([])
    const refused = await signIn(tenant.hostname, tenant.user)
    expect(refused.res.status).toBe(403)
    expect(refused.html).not.toContain(HANDOFF_FIELD)

    // The record stays: re-enabling (the older string form) puts the same user back, with the same sub.
    expect(await dbAll('SELECT active FROM scim_users WHERE id = ?', created.id)).toEqual([{ active: 0 }])
    await scimJson(
      await scim(tenant, 'PATCH', `/Users/${created.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'active', value: 'True' }],
      }),
      200,
    )
    const again = await signIn(tenant.hostname, tenant.user)
    expect(again.res.status).toBe(200)
    expect(assertionFrom(again.html).claims.sub).toBe(created.id)
  })

  it('updates a user as Entra does: the work email and the family name, then the userName; the list follows', async () => {
    const tenant = await seedScimTenant()
    const created = await provision(tenant, tenant.user.upn)
    const multi = await scimJson(
      await scim(tenant, 'PATCH', `/Users/${created.id}`, {
        schemas: [PATCH_OP],
        Operations: [
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'Updated.Email@Contoso.example' },
          { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        ],
      }),
      200,
    )
    expect(multi.emails).toEqual([{ primary: true, type: 'work', value: 'Updated.Email@Contoso.example' }])
    expect(multi.name.familyName).toBe('updatedFamilyName')
    const single = await scimJson(
      await scim(tenant, 'PATCH', `/Users/${created.id}`, {
        schemas: [PATCH_OP],
        Operations: [
          { op: 'replace', path: 'userName', value: 'Renamed@Contoso.example' },
          { op: 'replace', path: 'displayName', value: 'Ann Renamed' },
        ],
      }),
      200,
    )
    expect(single).toMatchObject({ userName: 'Renamed@Contoso.example', displayName: 'Ann Renamed' })
    expect(single.meta.version).toBe('W/"3"')
    expect(await listRows(tenant.phoneSystemId)).toEqual([
      {
        id: created.id,
        tid: tenant.tenantId,
        oid: null,
        upn: 'renamed@contoso.example',
        email: 'updated.email@contoso.example',
        display_name: 'Ann Renamed',
      },
    ])
  })

  it('applies operations without a path, Add of a missing work email, and Remove', async () => {
    const tenant = await seedScimTenant()
    const created = await scimJson(
      await scim(tenant, 'POST', '/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'bo@contoso.example',
        active: true,
      }),
      201,
    )
    const patched = await scimJson(
      await scim(tenant, 'PATCH', `/Users/${created.id}`, {
        schemas: [PATCH_OP],
        Operations: [
          { op: 'Add', path: 'emails[type eq "work"].value', value: 'bo.work@contoso.example' },
          { op: 'Replace', value: { displayName: 'Bo', 'name.givenName': 'Bo' } },
          {
            op: 'Add',
            path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber',
            value: '42',
          },
          { op: 'Add', path: 'title', value: 'Engineer' },
          { op: 'Remove', path: 'title' },
        ],
      }),
      200,
    )
    expect(patched).toMatchObject({
      displayName: 'Bo',
      name: { givenName: 'Bo' },
      emails: [{ type: 'work', value: 'bo.work@contoso.example' }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: '42' },
    })
    expect(patched).not.toHaveProperty('title')
    expect((await listRows(tenant.phoneSystemId))[0]).toMatchObject({
      email: 'bo.work@contoso.example',
      display_name: 'Bo',
    })
  })

  it('updates in the aadOptscim062020 form: one lowercase replace without path, its value an object of paths', async () => {
    const tenant = await seedScimTenant()
    const created = await provision(tenant, tenant.user.upn)
    const patched = await scimJson(
      await scim(tenant, 'PATCH', `/Users/${created.id}`, {
        schemas: [PATCH_OP],
        Operations: [
          {
            op: 'replace',
            value: {
              displayName: 'Ann Flagged',
              'emails[type eq "work"].value': 'flagged@contoso.example',
              'name.familyName': 'Flagged',
              'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': 'Sales',
              active: false,
            },
          },
        ],
      }),
      200,
    )
    expect(patched).toMatchObject({
      displayName: 'Ann Flagged',
      active: false,
      name: { familyName: 'Flagged' },
      emails: [{ type: 'work', value: 'flagged@contoso.example' }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Sales' },
    })
    expect(await listRows(tenant.phoneSystemId)).toEqual([])
  })

  it("replaces a user with PUT (id and meta stay the gateway's); the list follows", async () => {
    const tenant = await seedScimTenant()
    const created = await provision(tenant, tenant.user.upn)
    const replaced = await scimJson(
      await scim(tenant, 'PUT', `/Users/${created.id}`, {
        ...entraUser('put@contoso.example', { email: 'put.work@contoso.example' }),
        id: 'usr_forged',
        meta: { location: 'https://evil.example/' },
        displayName: 'Put Example',
      }),
      200,
    )
    expect(replaced).toMatchObject({ id: created.id, userName: 'put@contoso.example', displayName: 'Put Example' })
    expect(replaced.meta.location).toBe(`${tenant.tenantUrl}/Users/${created.id}`)
    expect(await listRows(tenant.phoneSystemId)).toEqual([
      {
        id: created.id,
        tid: tenant.tenantId,
        oid: null,
        upn: 'put@contoso.example',
        email: 'put.work@contoso.example',
        display_name: 'Put Example',
      },
    ])
  })

  it('deleting the phone system deletes what SCIM pushed and its tokens', async () => {
    const tenant = await seedScimTenant()
    const created = await provision(tenant, tenant.user.upn)
    await scimJson(await scim(tenant, 'POST', '/Groups', { displayName: 'G', members: [{ value: created.id }] }), 201)
    await apiJson('DELETE', `/phone-systems/${tenant.phoneSystemId}`, undefined, 204)
    for (const table of ['scim_users', 'scim_groups', 'scim_tokens', 'sso_users']) {
      expect(await dbAll(`SELECT 1 FROM ${table} WHERE phone_system_id = ?`, tenant.phoneSystemId), table).toEqual([])
    }
    expect(await dbAll('SELECT 1 FROM scim_group_members WHERE user_id = ?', created.id)).toEqual([])
  })

  it('deletes a user (204): off the list and gone; a second delete is 404', async () => {
    const tenant = await seedScimTenant()
    const created = await provision(tenant, tenant.user.upn)
    const res = await scim(tenant, 'DELETE', `/Users/${created.id}`)
    expect(res.status).toBe(204)
    expect(await listRows(tenant.phoneSystemId)).toEqual([])
    await expectScimError(await scim(tenant, 'GET', `/Users/${created.id}`), 404)
    await expectScimError(await scim(tenant, 'DELETE', `/Users/${created.id}`), 404)
  })

  it('pages with startIndex and count, and says how many there are in all', async () => {
    const tenant = await seedScimTenant()
    for (const n of [1, 2, 3])
      await scimJson(await scim(tenant, 'POST', '/Users', entraUser(`p${n}@contoso.example`)), 201)
    const page = await scimJson(await scim(tenant, 'GET', '/Users?startIndex=2&count=1'), 200)
    expect(page).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1 })
    expect(page.Resources.map((u: any) => u.userName)).toEqual(['p2@contoso.example'])
    const past = await scimJson(await scim(tenant, 'GET', '/Users?startIndex=10'), 200)
    expect(past).toMatchObject({ totalResults: 3, itemsPerPage: 0, Resources: [] })
  })
})

describe('Entra provisioning: groups', () => {
  it('creates a group, adds and removes members, renames it, and deletes it, as Entra sends them', async () => {
    const tenant = await seedScimTenant()
    const ann = await provision(tenant, tenant.user.upn)
    const bo = await scimJson(await scim(tenant, 'POST', '/Users', entraUser('bo@contoso.example')), 201)

    const query = await scimJson(
      await scim(
        tenant,
        'GET',
        `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Sales"')}`,
      ),
      200,
    )
    expect(query.totalResults).toBe(0)
    const res = await scim(tenant, 'POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'Sales',
      meta: { resourceType: 'Group' },
    })
    const group = await scimJson(res, 201)
    expect(group).toMatchObject({ id: expect.stringMatching(/^grp_/), displayName: 'Sales', members: [] })
    expect(res.headers.get('location')).toBe(`${tenant.tenantUrl}/Groups/${group.id}`)

    const add = await scim(tenant, 'PATCH', `/Groups/${group.id}`, {
      schemas: [PATCH_OP],
      Operations: [
        {
          op: 'Add',
          path: 'members',
          value: [
            { $ref: null, value: ann.id },
            { $ref: null, value: bo.id },
          ],
        },
      ],
    })
    expect(add.status).toBe(204)
    const read = await scimJson(await scim(tenant, 'GET', `/Groups/${group.id}`), 200)
    expect(read.members.map((m: any) => m.value).sort()).toEqual([ann.id, bo.id].sort())

    // Removal both ways Entra has sent it: a value list, and a filter in the path.
    expect(
      (
        await scim(tenant, 'PATCH', `/Groups/${group.id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: ann.id }] }],
        })
      ).status,
    ).toBe(204)
    expect(
      (
        await scim(tenant, 'PATCH', `/Groups/${group.id}`, {
          schemas: [PATCH_OP],
          Operations: [
            { op: 'remove', path: `members[value eq "${bo.id}"]` },
            { op: 'Replace', path: 'displayName', value: 'Sales EMEA' },
          ],
        })
      ).status,
    ).toBe(204)
    const after = await scimJson(await scim(tenant, 'GET', `/Groups/${group.id}?excludedAttributes=members`), 200)
    expect(after.displayName).toBe('Sales EMEA')
    expect(after).not.toHaveProperty('members')
    const byExternal = await scimJson(
      await scim(
        tenant,
        'GET',
        `/Groups?filter=${encodeURIComponent('externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"')}`,
      ),
      200,
    )
    expect(byExternal.Resources[0]).toMatchObject({ id: group.id, members: [] })
    // displayName compares case-insensitively (RFC 7643 §4.2).
    const byName = await scimJson(
      await scim(
        tenant,
        'GET',
        `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "sales emea"')}`,
      ),
      200,
    )
    expect(byName.Resources.map((g: any) => g.id)).toEqual([group.id])

    expect((await scim(tenant, 'DELETE', `/Groups/${group.id}`)).status).toBe(204)
    await expectScimError(await scim(tenant, 'GET', `/Groups/${group.id}`), 404)
    // Groups never changed the list: both users are still on it.
    expect((await listRows(tenant.phoneSystemId)).length).toBe(2)
  })

  it('answers the discovery endpoints', async () => {
    const tenant = await seedScimTenant()
    const config = await scimJson(await scim(tenant, 'GET', '/ServiceProviderConfig'), 200)
    expect(config).toMatchObject({
      patch: { supported: true },
      filter: { supported: true },
      bulk: { supported: false },
    })
    const types = await scimJson(await scim(tenant, 'GET', '/ResourceTypes'), 200)
    expect(types.Resources.map((t: any) => t.endpoint)).toEqual(['/Users', '/Groups'])
    const schemas = await scimJson(await scim(tenant, 'GET', '/Schemas'), 200)
    expect(schemas.totalResults).toBe(2)
  })
})

describe("a SCIM-pushed list is the phone system's source", () => {
  it('the first token makes SCIM the source: the schedule stops, Sync and the list PUT answer 409', async () => {
    const tenant = await seedScimTenant()
    const ps = await apiJson('GET', `/phone-systems/${tenant.phoneSystemId}`)
    expect(ps.sync).toMatchObject({ source: 'scim', nextSyncAt: null, lastSyncAt: null })
    await provision(tenant, tenant.user.upn)
    const pushed = await apiJson('GET', `/phone-systems/${tenant.phoneSystemId}`)
    expect(pushed.sync).toMatchObject({ source: 'scim', lastSyncStatus: 'success', lastSyncAt: expect.any(String) })

    const { api } = await import('../fixtures')
    const sync = await api('POST', `/phone-systems/${tenant.phoneSystemId}/sync`)
    expect(sync.status).toBe(409)
    expect((await sync.json<any>()).error.code).toBe('list_pushed_by_scim')
    const put = await api('PUT', `/phone-systems/${tenant.phoneSystemId}/sso-users`, {
      users: [{ upn: 'x@contoso.example' }],
    })
    expect(put.status).toBe(409)
    expect((await put.json<any>()).error.code).toBe('list_pushed_by_scim')
    expect((await listRows(tenant.phoneSystemId)).map((r) => r.upn)).toEqual([tenant.user.upn.toLowerCase()])
  })

  it('switching to SCIM replaces what Sync or a PUT had listed; switching back to Graph refuses SCIM writes', async () => {
    const { seedSignInTenant, api } = await import('../fixtures')
    const tenant = await seedSignInTenant()
    expect((await listRows(tenant.phoneSystemId)).length).toBe(1)
    const issued = await apiJson('POST', `/phone-systems/${tenant.phoneSystemId}/scim-tokens`, {}, 201)
    expect(await listRows(tenant.phoneSystemId)).toEqual([])

    const scimTenant = { ...tenant, token: issued.token }
    await apiJson('PATCH', `/phone-systems/${tenant.phoneSystemId}`, { syncSource: 'app_assignments' })
    await expectScimError(await scim(scimTenant, 'POST', '/Users', entraUser('late@contoso.example')), 409)
    expect(await dbAll('SELECT id FROM scim_users WHERE phone_system_id = ?', tenant.phoneSystemId)).toEqual([])
    // Reads still answer (Entra's queries), and a new token switches back.
    await scimJson(await scim(scimTenant, 'GET', '/Users'), 200)
    expect((await api('POST', `/phone-systems/${tenant.phoneSystemId}/scim-tokens`, {})).status).toBe(201)
    await scimJson(await scim(scimTenant, 'POST', '/Users', entraUser('late@contoso.example')), 201)
  })
})
