/**
 * Review 2, finding: PATCH /hostnames/{h} {callbackMode} stores whether the
 * URI is registered but not WHICH app it is on (redirect_uri_app_id is left
 * as it was). A host whose app id is stale is later "unregistered" from an
 * app the gateway has no credentials for, which is skipped with a log line,
 * so the URI stays on the provider's app after the hostname is detached.
 *
 * A hostile partner drives it with its own key only. Safe behaviour asserted:
 * after detach, the provider's app no longer lists the host's callback.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { TEST_CLIENT_ID } from '../bindings'
import { api, dbAll, entraControl, newTenantId, partnerWithKey, uniqueLabel } from '../fixtures'

async function appUris(clientId: string): Promise<string[]> {
  const res = await fetch(`${env.ENTRA_AUTHORITY}/__control/apps/${clientId}`)
  return (await res.json<any>()).redirectUris
}

async function ok(res: Response, status = 200): Promise<any> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  return text ? JSON.parse(text) : undefined
}

describe('review2: stale direct-mode redirect URI left on the provider app', () => {
  it('a host toggled central/direct around an integration removal is removed from the provider app at detach', async () => {
    const { key } = await partnerWithKey('Hostile')
    const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key })
    const portal = await ok(await as('POST', '/orgs', { name: 'Portal', kind: 'customer' }), 201)
    // A custom domain (CUSTOM_HOSTNAMES=local: active at once, as after Cloudflare validated it).
    const hostname = `${uniqueLabel('stale')}.partner-domain.example`
    const uri = `https://${hostname}/sso/callback`

    // 1. direct on the provider's app
    await ok(await as('POST', `/orgs/${portal.id}/hostnames`, { hostname, callbackMode: 'direct' }), 201)
    expect(await appUris(TEST_CLIENT_ID)).toContain(uri)

    // 2. own app: the URI moves there (app id = own app)
    const clientId = crypto.randomUUID()
    const homeTenantId = newTenantId()
    const secret = `s-${crypto.randomUUID()}`
    await entraControl('apps', {
      clientId,
      secret,
      redirectUris: ['https://login.localhost/sso/callback'],
      grants: { [homeTenantId]: ['Application.ReadWrite.OwnedBy'] },
    })
    await ok(
      await as('PUT', `/orgs/${portal.id}/microsoft-integration`, { clientId, clientSecret: secret, homeTenantId }),
    )
    expect(await appUris(clientId)).toContain(uri)
    expect(await appUris(TEST_CLIENT_ID)).not.toContain(uri)

    // 3. central: removed from own app, but redirect_uri_app_id keeps naming it
    await ok(await as('PATCH', `/hostnames/${hostname}`, { callbackMode: 'central' }))
    // 4. the integration goes (nothing registered to move)
    await ok(await as('DELETE', `/orgs/${portal.id}/microsoft-integration`), 204)
    // 5. direct again: registered on the provider's app, the row still says the old app
    await ok(await as('PATCH', `/hostnames/${hostname}`, { callbackMode: 'direct' }))
    expect(await appUris(TEST_CLIENT_ID)).toContain(uri)
    const [row] = await dbAll<any>('SELECT redirect_uri_app_id FROM hostnames WHERE hostname = ?', hostname)
    // What the gateway believes about where the URI is must be the truth.
    expect.soft(row.redirect_uri_app_id).toBe(TEST_CLIENT_ID)

    // 6. detach: the URI must leave the provider's app
    await ok(await as('DELETE', `/hostnames/${hostname}`), 204)
    expect(await dbAll('SELECT hostname FROM hostnames WHERE hostname = ?', hostname)).toEqual([])
    expect(await appUris(TEST_CLIENT_ID)).not.toContain(uri)
  })

  it('PATCH to direct records the app the URI was registered on', async () => {
    const { key } = await partnerWithKey('Hostile')
    const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key })
    const portal = await ok(await as('POST', '/orgs', { name: 'Portal', kind: 'customer' }), 201)
    const hostname = `${uniqueLabel('appid')}.partner-domain.example`
    await ok(await as('POST', `/orgs/${portal.id}/hostnames`, { hostname, callbackMode: 'central' }), 201)
    await ok(await as('PATCH', `/hostnames/${hostname}`, { callbackMode: 'direct' }))
    expect(await appUris(TEST_CLIENT_ID)).toContain(`https://${hostname}/sso/callback`)
    const [row] = await dbAll<any>(
      'SELECT redirect_uri_registered, redirect_uri_app_id FROM hostnames WHERE hostname = ?',
      hostname,
    )
    expect(row).toEqual({ redirect_uri_registered: 1, redirect_uri_app_id: TEST_CLIENT_ID })
  })
})
