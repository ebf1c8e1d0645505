/**
 * Direct callback mode: redirect URIs registered and removed on the portal's
 * Entra app through Microsoft Graph (the stand-in shares the app
 * registrations with the Entra stand-in, so what Graph sets is what the
 * authorize endpoint accepts). Fault tests use a portal app of their own, so
 * parallel tests never share one.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { TEST_CLIENT_ID } from '../bindings'
import {
  api,
  apiJson,
  consent,
  dbAll,
  directory,
  entraControl,
  HANDOFF_FIELD,
  newTenantId,
  runCron,
  seedSignInTenant,
  signIn,
  startLogin,
  uniqueLabel,
  ZONE,
} from '../fixtures'

async function appUris(clientId: string): Promise<string[]> {
  const res = await fetch(`${env.ENTRA_AUTHORITY}/__control/apps/${clientId}`)
  return (await res.json<any>()).redirectUris
}

async function graphFaults(about: string, faults: string[]) {
  await fetch(`${env.GRAPH_BASE}/__control/faults`, { method: 'POST', body: JSON.stringify({ about, faults }) })
}

/** A tenant whose portal signs in with its own app, consented for Graph in its own home tenant (or not). */
async function portalWithOwnApp(options: { consented?: boolean } = {}) {
  const tenant = await seedSignInTenant()
  const clientId = crypto.randomUUID()
  const homeTenantId = newTenantId()
  const secret = `portal-secret-${crypto.randomUUID()}`
  await entraControl('apps', {
    clientId,
    secret,
    redirectUris: ['https://login.localhost/sso/callback'],
    grants: options.consented === false ? {} : { [homeTenantId]: ['Application.ReadWrite.OwnedBy'] },
  })
  await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, { clientId, clientSecret: secret, homeTenantId })
  return { ...tenant, clientId }
}

function newHost() {
  return `${uniqueLabel('direct')}.${ZONE}`
}

describe('registering redirect URIs for direct mode', () => {
  it("registers https://{host}/sso/callback on the provider's app at attach, and removes it at detach", async () => {
    const tenant = await seedSignInTenant()
    const hostname = newHost()
    const attached = await apiJson('POST', `/orgs/${tenant.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    expect(attached).toMatchObject({ callbackMode: 'direct', redirectUriRegistered: true, redirectUriDetail: null })
    expect(await appUris(TEST_CLIENT_ID)).toContain(`https://${hostname}/sso/callback`)

    expect((await api('DELETE', `/hostnames/${hostname}`)).status).toBe(204)
    expect(await appUris(TEST_CLIENT_ID)).not.toContain(`https://${hostname}/sso/callback`)
  })

  it("registers on the portal's own app when it has one, and signs in directly with it", async () => {
    const portal = await portalWithOwnApp()
    const hostname = newHost()
    await apiJson('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    expect(await appUris(portal.clientId)).toContain(`https://${hostname}/sso/callback`)
    expect(await appUris(TEST_CLIENT_ID)).not.toContain(`https://${hostname}/sso/callback`)
    const result = await signIn(hostname, portal.user)
    expect(result.callbackUrl.hostname).toBe(hostname)
    expect(result.html).toContain(HANDOFF_FIELD)
  })

  it("refuses (409) a direct host when the app already has Entra's 256 redirect URIs, and stores nothing", async () => {
    const portal = await portalWithOwnApp()
    const full = [
      'https://login.localhost/sso/callback',
      ...Array.from({ length: 255 }, (_, i) => `https://h${i}.example/sso/callback`),
    ]
    await entraControl(`apps/${portal.clientId}/redirect-uris`, { set: full })
    const hostname = newHost()
    const res = await api('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'direct' })
    expect(res.status).toBe(409)
    const { error } = await res.json<any>()
    expect(error.code).toBe('redirect_uri_limit')
    expect(error.message).toContain("Entra's maximum of 256")
    expect(error.message).toContain('callbackMode "central"')
    expect(await dbAll('SELECT * FROM hostnames WHERE hostname = ?', hostname)).toEqual([])
    expect(await appUris(portal.clientId)).toHaveLength(256)
    // Central mode needs no URI: the same hostname attaches and signs in.
    expect(
      await apiJson('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'central' }, 201),
    ).toMatchObject({ callbackMode: 'central' })
    expect((await signIn(hostname, portal.user)).html).toContain(HANDOFF_FIELD)
  })

  it('falls back to the central callback while Graph fails, and goes direct once a check registers the URI', async () => {
    const portal = await portalWithOwnApp()
    await graphFaults(portal.clientId, ['server_error'])
    const hostname = newHost()
    const attached = await apiJson('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    expect(attached.redirectUriRegistered).toBe(false)
    expect(attached.redirectUriDetail).toContain('central callback in use')

    // Nobody meets AADSTS50011: the sign-in goes through the primary host.
    const central = await signIn(hostname, portal.user)
    expect(central.callbackUrl.hostname).toBe('login.localhost')
    expect(central.html).toContain(HANDOFF_FIELD)

    const checked = await apiJson('POST', `/hostnames/${hostname}/check`)
    expect(checked).toMatchObject({ redirectUriRegistered: true, redirectUriDetail: null })
    const direct = await startLogin(hostname)
    expect(direct.authorizeUrl.searchParams.get('redirect_uri')).toBe(`https://${hostname}/sso/callback`)
  })

  it('says which permission is missing when the app is not consented for Graph', async () => {
    const portal = await portalWithOwnApp({ consented: false })
    const hostname = newHost()
    const attached = await apiJson('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    expect(attached.redirectUriRegistered).toBe(false)
    expect(attached.redirectUriDetail).toContain('Application.ReadWrite.OwnedBy')
    expect(attached.redirectUriDetail).toContain('Reprovision Account')
  })

  it('keeps the hostname attached (and registered) when Graph fails at detach, so the partner can retry', async () => {
    const portal = await portalWithOwnApp()
    const hostname = newHost()
    await apiJson('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    await graphFaults(portal.clientId, ['server_error'])
    const res = await api('DELETE', `/hostnames/${hostname}`)
    expect(res.status).toBe(502)
    expect((await res.json<any>()).error.code).toBe('graph_unavailable')
    expect(await dbAll<any>('SELECT redirect_uri_registered FROM hostnames WHERE hostname = ?', hostname)).toEqual([
      { redirect_uri_registered: 1 },
    ])
    expect(await appUris(portal.clientId)).toContain(`https://${hostname}/sso/callback`)
    expect((await api('DELETE', `/hostnames/${hostname}`)).status).toBe(204)
    expect(await appUris(portal.clientId)).not.toContain(`https://${hostname}/sso/callback`)
  })

  it('PATCH switches a hostname to direct (registering its URI) and back to central (removing it), audited', async () => {
    const tenant = await seedSignInTenant()
    const uri = `https://${tenant.hostname}/sso/callback`
    expect(await apiJson('PATCH', `/hostnames/${tenant.hostname}`, { callbackMode: 'direct' })).toMatchObject({
      callbackMode: 'direct',
      redirectUriRegistered: true,
    })
    expect(await appUris(TEST_CLIENT_ID)).toContain(uri)
    expect((await startLogin(tenant.hostname)).authorizeUrl.searchParams.get('redirect_uri')).toBe(uri)
    expect(await apiJson('PATCH', `/hostnames/${tenant.hostname}`, { callbackMode: 'central' })).toMatchObject({
      callbackMode: 'central',
      redirectUriRegistered: false,
    })
    expect(await appUris(TEST_CLIENT_ID)).not.toContain(uri)
    expect((await startLogin(tenant.hostname)).authorizeUrl.searchParams.get('redirect_uri')).toBe(
      'https://login.localhost/sso/callback',
    )
    expect(
      await dbAll("SELECT action FROM audit_log WHERE target_id = ? AND action = 'hostname.update'", tenant.hostname),
    ).toHaveLength(2)
    const bad = await api('PATCH', `/hostnames/${tenant.hostname}`, { callbackMode: 'sideways' })
    expect(bad.status).toBe(400)
  })

  it('retries a throttled Graph (429 with Retry-After) and registers', async () => {
    const portal = await portalWithOwnApp()
    await graphFaults(portal.clientId, ['throttled'])
    const hostname = newHost()
    const attached = await apiJson('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    expect(attached.redirectUriRegistered).toBe(true)
  })
})

describe('the schedule repairs what a failed registration left on the central callback', () => {
  async function failedDirectHost() {
    const portal = await portalWithOwnApp()
    await graphFaults(portal.clientId, ['server_error'])
    const hostname = newHost()
    const attached = await apiJson('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    expect(attached.redirectUriRegistered).toBe(false)
    return { portal, hostname }
  }

  async function registered(hostname: string) {
    const [row] = await dbAll<any>(
      'SELECT redirect_uri_registered, redirect_uri_detail FROM hostnames WHERE hostname = ?',
      hostname,
    )
    return row
  }

  it('retries the registration by itself once the host has waited, and the host then signs in directly', async () => {
    const { portal, hostname } = await failedDirectHost()
    await runCron()
    // Not yet: a host rests 15 minutes between tries, so a failing Graph is not hammered every 5 minutes.
    expect(await registered(hostname)).toMatchObject({ redirect_uri_registered: 0 })

    await env.DB.prepare('UPDATE hostnames SET updated_at = ? WHERE hostname = ?')
      .bind(Date.now() - 16 * 60 * 1000, hostname)
      .run()
    await runCron()
    expect(await registered(hostname)).toEqual({ redirect_uri_registered: 1, redirect_uri_detail: null })
    expect(await appUris(portal.clientId)).toContain(`https://${hostname}/sso/callback`)
    const direct = await startLogin(hostname)
    expect(direct.authorizeUrl.searchParams.get('redirect_uri')).toBe(`https://${hostname}/sso/callback`)
  })

  it("registers it in the scheduled sync of the portal's phone system, as the Sync button does", async () => {
    const { portal, hostname } = await failedDirectHost()
    // The portal's own app reads its customer's directory (consented there, installed there).
    await consent(portal.tenantId, undefined, portal.clientId)
    await directory(portal.tenantId, { clientId: portal.clientId })
    await apiJson('POST', `/phone-systems/${portal.phoneSystemId}/sync`)
    // The Sync button registered it already; undo that to see the schedule do the same.
    await apiJson('PATCH', `/hostnames/${hostname}`, { callbackMode: 'central' })
    await graphFaults(portal.clientId, ['server_error'])
    await apiJson('PATCH', `/hostnames/${hostname}`, { callbackMode: 'direct' })
    expect(await registered(hostname)).toMatchObject({ redirect_uri_registered: 0 })

    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ? WHERE id = ?')
      .bind(Date.now() - 1, portal.phoneSystemId)
      .run()
    await runCron()
    expect(await registered(hostname)).toEqual({ redirect_uri_registered: 1, redirect_uri_detail: null })
    expect(await appUris(portal.clientId)).toContain(`https://${hostname}/sso/callback`)
  })
})

describe('hole 3: changing or removing an integration moves the direct-mode URIs', () => {
  it("moves a host's URI from the provider's app to the portal's new app, then back when the integration is removed", async () => {
    const tenant = await seedSignInTenant()
    const hostname = newHost()
    await apiJson('POST', `/orgs/${tenant.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    const uri = `https://${hostname}/sso/callback`
    expect(await appUris(TEST_CLIENT_ID)).toContain(uri)

    const clientId = crypto.randomUUID()
    const homeTenantId = newTenantId()
    const secret = `portal-secret-${crypto.randomUUID()}`
    await entraControl('apps', {
      clientId,
      secret,
      redirectUris: ['https://login.localhost/sso/callback'],
      grants: { [homeTenantId]: ['Application.ReadWrite.OwnedBy'] },
    })
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId,
      clientSecret: secret,
      homeTenantId,
    })
    expect(await appUris(TEST_CLIENT_ID)).not.toContain(uri)
    expect(await appUris(clientId)).toContain(uri)
    expect(
      await dbAll<any>(
        'SELECT redirect_uri_registered, redirect_uri_app_id FROM hostnames WHERE hostname = ?',
        hostname,
      ),
    ).toEqual([{ redirect_uri_registered: 1, redirect_uri_app_id: clientId }])
    const direct = await startLogin(hostname)
    expect(direct.authorizeUrl.searchParams.get('client_id')).toBe(clientId)
    expect(direct.authorizeUrl.searchParams.get('redirect_uri')).toBe(uri)

    expect((await api('DELETE', `/orgs/${tenant.orgId}/microsoft-integration`)).status).toBe(204)
    expect(await appUris(clientId)).not.toContain(uri)
    expect(await appUris(TEST_CLIENT_ID)).toContain(uri)
    const back = await startLogin(hostname)
    expect(back.authorizeUrl.searchParams.get('client_id')).toBe(TEST_CLIENT_ID)
    expect(back.authorizeUrl.searchParams.get('redirect_uri')).toBe(uri)
  })

  it('falls back to the central callback when the new app refuses the URI, never leaving a host on AADSTS50011', async () => {
    const tenant = await seedSignInTenant()
    const hostname = newHost()
    await apiJson('POST', `/orgs/${tenant.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    const clientId = crypto.randomUUID()
    const secret = `portal-secret-${crypto.randomUUID()}`
    // The new app is not consented in its home tenant: Graph refuses to change its redirect URIs.
    await entraControl('apps', { clientId, secret, redirectUris: ['https://login.localhost/sso/callback'], grants: {} })
    await apiJson('PUT', `/orgs/${tenant.orgId}/microsoft-integration`, {
      clientId,
      clientSecret: secret,
      homeTenantId: newTenantId(),
    })
    const [row] = await dbAll<any>(
      'SELECT redirect_uri_registered, redirect_uri_detail FROM hostnames WHERE hostname = ?',
      hostname,
    )
    expect(row.redirect_uri_registered).toBe(0)
    expect(row.redirect_uri_detail).toContain('central callback in use')
    expect(await appUris(TEST_CLIENT_ID)).not.toContain(`https://${hostname}/sso/callback`)
    const login = await startLogin(hostname)
    expect(login.authorizeUrl.searchParams.get('redirect_uri')).toBe('https://login.localhost/sso/callback')
  })

  it('refuses the change (502) and keeps the old app when the URI cannot be removed from it, leaving nothing behind', async () => {
    const portal = await portalWithOwnApp()
    const hostname = newHost()
    await apiJson('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    await graphFaults(portal.clientId, ['server_error', 'server_error', 'server_error'])
    const res = await api('DELETE', `/orgs/${portal.orgId}/microsoft-integration`)
    expect(res.status).toBe(502)
    expect(await dbAll('SELECT client_id FROM microsoft_integrations WHERE org_id = ?', portal.orgId)).toEqual([
      { client_id: portal.clientId },
    ])
    expect(await appUris(portal.clientId)).toContain(`https://${hostname}/sso/callback`)
    expect(await appUris(TEST_CLIENT_ID)).not.toContain(`https://${hostname}/sso/callback`)
  })

  it('Check notices a URI someone removed from the app by hand and registers it again', async () => {
    const portal = await portalWithOwnApp()
    const hostname = newHost()
    await apiJson('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    const uri = `https://${hostname}/sso/callback`
    await entraControl(`apps/${portal.clientId}/redirect-uris`, { remove: [uri] })
    expect(await appUris(portal.clientId)).not.toContain(uri)
    const checked = await apiJson('POST', `/hostnames/${hostname}/check`)
    expect(checked).toMatchObject({ redirectUriRegistered: true })
    expect(await appUris(portal.clientId)).toContain(uri)
  })

  it('the schedule re-confirms registered hosts about daily and repairs one whose URI vanished', async () => {
    const portal = await portalWithOwnApp()
    const hostname = newHost()
    await apiJson('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
    const uri = `https://${hostname}/sso/callback`
    await entraControl(`apps/${portal.clientId}/redirect-uris`, { remove: [uri] })
    await env.DB.prepare('UPDATE hostnames SET redirect_uri_checked_at = ? WHERE hostname = ?')
      .bind(Date.now() - 25 * 3600_000, hostname)
      .run()
    await runCron()
    expect(await appUris(portal.clientId)).toContain(uri)
  })
})

describe('hole 4: redirect-URI changes of one app are serialized', () => {
  it('16 concurrent direct-mode attaches on one app: every host that says registered has its URI on the app, and signs in on it', async () => {
    const portal = await portalWithOwnApp()
    const hostnames = Array.from({ length: 16 }, () => newHost())
    const answers = await Promise.all(
      hostnames.map((hostname) =>
        apiJson('POST', `/orgs/${portal.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201),
      ),
    )
    const onApp = await appUris(portal.clientId)
    for (const answer of answers) {
      const uri = `https://${answer.hostname}/sso/callback`
      // Honest either way: registered means the URI is really there; otherwise the host is on the central callback.
      expect(answer.redirectUriRegistered, answer.hostname).toBe(onApp.includes(uri))
    }
    expect(answers.filter((a) => a.redirectUriRegistered)).toHaveLength(16)
    for (const hostname of hostnames.slice(0, 4)) {
      const result = await signIn(hostname, portal.user)
      expect(result.callbackUrl.hostname).toBe(hostname)
      expect(result.html).toContain(HANDOFF_FIELD)
    }
  })
})
