import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { getConfig } from '../../src/config'
import { appOnlyToken } from '../../src/upstream/graph'
import { TEST_CLIENT_ID } from '../bindings'
import {
  api,
  apiJson,
  assertionFrom,
  createCustomer,
  createPartner,
  dbAll,
  entraControl,
  HANDOFF_FIELD,
  newTenantId,
  PRIMARY,
  seedSignInTenant,
  signIn,
  startLogin,
} from '../fixtures'

const SECRET = 'portal-secret-value-that-must-never-come-back'

async function portalApp(secret = SECRET) {
  const clientId = crypto.randomUUID()
  await entraControl('apps', { clientId, secret, redirectUris: ['https://login.localhost/sso/callback'] })
  return clientId
}

describe("a portal's own Microsoft integration", () => {
  it('is stored with its secret encrypted, and no call ever returns the secret', async () => {
    const tenant = await seedSignInTenant()
    const clientId = await portalApp()
    const put = await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId: clientId.toUpperCase(),
      clientSecret: SECRET,
      homeTenantId: tenant.tenantId,
      allowedTenantIds: [tenant.tenantId],
    })
    expect(put).toMatchObject({
      organizationId: tenant.orgId,
      clientId,
      clientSecretSet: true,
      allowedTenantIds: [tenant.tenantId],
    })

    const [row] = await dbAll<any>('SELECT * FROM microsoft_integrations WHERE org_id = ?', tenant.orgId)
    expect(row.client_secret_enc).toMatch(/^v1\./)
    expect(JSON.stringify(row)).not.toContain(SECRET)

    const responses = await Promise.all(
      [
        `/orgs/${tenant.orgId}/microsoft-integration`,
        `/orgs/${tenant.orgId}`,
        '/orgs',
        `/audit-log?orgId=${tenant.orgId}`,
        `/orgs/${tenant.orgId}/hostnames`,
        `/orgs/${tenant.orgId}/phone-systems`,
      ].map(async (path) => (await api('GET', path)).text()),
    )
    for (const body of responses) expect(body).not.toContain(SECRET)
    const audit = await dbAll<any>("SELECT summary FROM audit_log WHERE action LIKE 'microsoft_integration.%'")
    expect(JSON.stringify(audit)).not.toContain(SECRET)
  })

  it("makes its hosts sign in with the portal's app, end to end", async () => {
    const tenant = await seedSignInTenant()
    const clientId = await portalApp()
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId,
      clientSecret: SECRET,
      homeTenantId: tenant.tenantId,
    })
    const { authorizeUrl } = await startLogin(tenant.hostname)
    expect(authorizeUrl.searchParams.get('client_id')).toBe(clientId)
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.res.status).toBe(200)
    expect(assertionFrom(result.html).claims.aud).toBe(tenant.phoneSystemId)
  })

  it("leaves other portals and the primary host on the provider's app", async () => {
    const tenant = await seedSignInTenant()
    const other = await seedSignInTenant()
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId: await portalApp(),
      clientSecret: SECRET,
      homeTenantId: tenant.tenantId,
    })
    expect((await startLogin(other.hostname)).authorizeUrl.searchParams.get('client_id')).toBe(TEST_CLIENT_ID)
    expect((await startLogin('login.localhost')).authorizeUrl.searchParams.get('client_id')).toBe(TEST_CLIENT_ID)
  })

  it('refuses a tenant it does not allow (403), even with a listed user', async () => {
    const tenant = await seedSignInTenant()
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId: await portalApp(),
      clientSecret: SECRET,
      homeTenantId: tenant.tenantId,
      allowedTenantIds: [newTenantId()],
    })
    const res = await SELF.fetch(`https://${tenant.hostname}/sso/login`, { redirect: 'manual' })
    expect(res.status).toBe(503)
    expect(await res.text()).toContain('Sign-in is not set up here yet')
  })

  it('a secret Entra refuses gives the "renew the secret" page', async () => {
    const tenant = await seedSignInTenant()
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId: await portalApp(),
      clientSecret: 'an-outdated-secret',
      homeTenantId: tenant.tenantId,
    })
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.res.status).toBe(502)
    expect(result.html).toContain('must renew the secret')
    expect(result.html).toContain('AADSTS7000215')
    expect(result.html).not.toContain(HANDOFF_FIELD)
  })

  it('keeps the stored secret when an update leaves it out, but not for a new client id', async () => {
    const tenant = await seedSignInTenant()
    const clientId = await portalApp()
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId,
      clientSecret: SECRET,
      homeTenantId: tenant.tenantId,
    })
    const [before] = await dbAll<any>(
      'SELECT client_secret_enc FROM microsoft_integrations WHERE org_id = ?',
      tenant.orgId,
    )
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId,
      homeTenantId: tenant.tenantId,
      allowedTenantIds: [tenant.tenantId],
    })
    const [after] = await dbAll<any>(
      'SELECT client_secret_enc FROM microsoft_integrations WHERE org_id = ?',
      tenant.orgId,
    )
    expect(after.client_secret_enc).toBe(before.client_secret_enc)
    expect((await signIn(tenant.hostname, tenant.user)).res.status).toBe(200)

    const res = await api('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId: crypto.randomUUID(),
      homeTenantId: tenant.tenantId,
    })
    expect(res.status).toBe(400)
    expect((await res.json<any>()).error).toMatchObject({ code: 'invalid_request', field: 'clientSecret' })
  })

  it('is refused for a flat customer, and removable', async () => {
    const partner = await createPartner()
    const flat = await createCustomer(partner.id, { structure: 'flat' })
    const body = { clientId: crypto.randomUUID(), clientSecret: 'x', homeTenantId: newTenantId() }
    const res = await api('PUT', `/orgs/${flat.id}/microsoft-integration`, body)
    expect(res.status).toBe(409)
    expect(await dbAll('SELECT * FROM microsoft_integrations WHERE org_id = ?', flat.id)).toEqual([])

    await apiJson('PUT', `/orgs/${partner.id}/microsoft-integration`, body)
    expect((await api('DELETE', `/orgs/${partner.id}/microsoft-integration`)).status).toBe(204)
    expect((await api('GET', `/orgs/${partner.id}/microsoft-integration`)).status).toBe(404)
  })
})

describe('hole 2: one portal per Entra app, and Graph tokens that belong to their secret', () => {
  it("refuses (409 client_id_in_use) the provider's app, and another portal's app", async () => {
    const owner = await seedSignInTenant()
    const clientId = await portalApp()
    await apiJson('PUT', `/orgs/${owner.orgId}/microsoft-integration`, {
      clientId,
      clientSecret: SECRET,
      homeTenantId: owner.tenantId,
    })
    const thief = await seedSignInTenant()
    for (const borrowed of [clientId, TEST_CLIENT_ID]) {
      const res = await api('PUT', `/orgs/${thief.orgId}/microsoft-integration`, {
        clientId: borrowed.toUpperCase(),
        clientSecret: 'garbage',
        homeTenantId: thief.tenantId,
      })
      expect(res.status).toBe(409)
      expect((await res.json<any>()).error).toMatchObject({ code: 'client_id_in_use', field: 'clientId' })
    }
    expect(await dbAll('SELECT count(*) AS n FROM microsoft_integrations WHERE org_id = ?', thief.orgId)).toEqual([
      { n: 0 },
    ])
  })

  it('a cached Graph token is handed only to the same portal with the same secret, never to a wrong secret', async () => {
    const tid = newTenantId()
    const clientId = await portalApp()
    await entraControl(`apps/${clientId}/grants`, { tenantId: tid, roles: ['User.Read.All'] })
    const config = getConfig(env)
    const call = { permission: 'User.Read.All', retries: 0 }
    const owner = { clientId, clientSecret: SECRET, orgId: 'org_owner', homeTenantId: tid, allowedTenantIds: null }
    const token = await appOnlyToken(config, owner, tid, call)
    expect(await appOnlyToken(config, owner, tid, call)).toBe(token)
    for (const other of [
      { ...owner, clientSecret: 'garbage' },
      { ...owner, orgId: 'org_thief', clientSecret: 'garbage' },
    ]) {
      await expect(appOnlyToken(config, other, tid, call)).rejects.toMatchObject({ code: 'graph_permission' })
    }
  })
})

describe("a portal's allowed tenants on the primary host", () => {
  it("apply there as on the portal's own hosts: a user of another tenant is not offered the portal's phone system", async () => {
    const tenant = await seedSignInTenant()
    const clientId = await portalApp()
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId,
      clientSecret: SECRET,
      homeTenantId: tenant.tenantId,
      allowedTenantIds: [newTenantId()],
    })
    const refused = await signIn(PRIMARY, tenant.user)
    expect(refused.res.status).toBe(403)
    expect(refused.html).not.toContain(HANDOFF_FIELD)

    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId,
      homeTenantId: tenant.tenantId,
      allowedTenantIds: [tenant.tenantId],
    })
    expect((await signIn(PRIMARY, tenant.user)).html).toContain(HANDOFF_FIELD)
  })
})
