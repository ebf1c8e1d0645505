/**
 * Review: direct-mode redirect URIs and custom domains that are NOT ours
 * (pending verification, or `moved` away at Cloudflare). A redirect URI on
 * the Entra app is where Entra will send authorization codes; README says a
 * `moved` host is "no longer ours", and "a redirect URI left on our app for a
 * domain that is no longer ours must not happen silently".
 *
 *  - attach: a direct custom domain is registered on the Entra app at once,
 *    before Cloudflare verified that the partner controls it (pre-existing);
 *  - moved: a registered host that moved away keeps its redirect URI
 *    (pre-existing);
 *  - the schedule (new on this branch, retryDueRegistrations) registers the
 *    redirect URI of a direct host whose registration failed whatever its
 *    status, so a `moved` host gets one registered unattended.
 *
 * Safe behaviour asserted: only a host that is active (serving through us)
 * has a redirect URI on the app.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker, { app } from '../../src/index'
import { TEST_ADMIN_KEY } from '../bindings'
import { apiJson, createPartner, dbAll, entraControl, newTenantId, PRIMARY, uniqueLabel } from '../fixtures'

const cloudflareEnv = { ...env, CUSTOM_HOSTNAMES: 'cloudflare' }

function cfBase(): string {
  return env.CLOUDFLARE_API_BASE!.replace(/\/client\/v4$/, '')
}

async function cfControl(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${cfBase()}/__control/${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
  return res.json()
}

async function graphFaults(about: string, faults: string[]) {
  await fetch(`${env.GRAPH_BASE}/__control/faults`, { method: 'POST', body: JSON.stringify({ about, faults }) })
}

async function appUris(clientId: string): Promise<string[]> {
  const res = await fetch(`${env.ENTRA_AUTHORITY}/__control/apps/${clientId}`)
  return (await res.json<any>()).redirectUris
}

async function call(method: string, path: string, body?: unknown) {
  return app.request(
    `https://${PRIMARY}/api/v1${path}`,
    {
      method,
      headers: {
        authorization: `Bearer ${TEST_ADMIN_KEY}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
    cloudflareEnv,
  )
}

async function runCron() {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '*/5 * * * *' }), cloudflareEnv as never, ctx)
  await waitOnExecutionContext(ctx)
}

/** A partner portal with its own Entra app (consented for Graph in its home tenant), so faults stay private to it. */
async function portalWithOwnApp() {
  const partner = await createPartner('Direct portal')
  const clientId = crypto.randomUUID()
  const homeTenantId = newTenantId()
  const secret = `portal-secret-${crypto.randomUUID()}`
  await entraControl('apps', {
    clientId,
    secret,
    redirectUris: [`https://${PRIMARY}/sso/callback`],
    grants: { [homeTenantId]: ['Application.ReadWrite.OwnedBy'] },
  })
  await apiJson('PUT', `/orgs/${partner.id}/microsoft-integration`, { clientId, clientSecret: secret, homeTenantId })
  return { partner, clientId }
}

const customName = () => `${uniqueLabel('phones')}.someone-elses-domain.example`

describe('review: redirect URIs of custom domains that are not (or no longer) ours', () => {
  it('a direct custom domain still pending verification gets no redirect URI on the Entra app', async () => {
    const { partner, clientId } = await portalWithOwnApp()
    const hostname = customName()
    const res = await call('POST', `/orgs/${partner.id}/hostnames`, { hostname, callbackMode: 'direct' })
    expect(res.status).toBe(201)
    const body = await res.json<any>()
    expect(body.status).toBe('pending')
    expect(await appUris(clientId)).not.toContain(`https://${hostname}/sso/callback`)
  })

  it('a direct custom domain that moved away loses its redirect URI when the move is seen', async () => {
    const { partner, clientId } = await portalWithOwnApp()
    const hostname = customName()
    await call('POST', `/orgs/${partner.id}/hostnames`, { hostname, callbackMode: 'direct' })
    await cfControl('publish', { hostname })
    expect((await (await call('POST', `/hostnames/${hostname}/check`)).json<any>()).status).toBe('active')
    await cfControl('move', { hostname })
    expect((await (await call('POST', `/hostnames/${hostname}/check`)).json<any>()).status).toBe('moved')
    expect(await appUris(clientId)).not.toContain(`https://${hostname}/sso/callback`)
  })

  it('the schedule does not register a redirect URI for a direct host that moved away', async () => {
    const { partner, clientId } = await portalWithOwnApp()
    const hostname = customName()
    // Graph fails at attach: the host is direct but unregistered (signs in centrally).
    await graphFaults(clientId, ['server_error'])
    const attached = await (
      await call('POST', `/orgs/${partner.id}/hostnames`, { hostname, callbackMode: 'direct' })
    ).json<any>()
    expect(attached.redirectUriRegistered).toBe(false)
    // Cloudflare now says the name points elsewhere; the check's own retry fails at Graph too.
    await cfControl('move', { hostname })
    await graphFaults(clientId, ['server_error'])
    const checked = await (await call('POST', `/hostnames/${hostname}/check`)).json<any>()
    expect(checked).toMatchObject({ status: 'moved', redirectUriRegistered: false })
    await graphFaults(clientId, [])

    await env.DB.prepare('UPDATE hostnames SET updated_at = ? WHERE hostname = ?')
      .bind(Date.now() - 16 * 60 * 1000, hostname)
      .run()
    await runCron()
    const [row] = await dbAll<any>('SELECT status, redirect_uri_registered FROM hostnames WHERE hostname = ?', hostname)
    expect(row.status).toBe('moved')
    expect(await appUris(clientId)).not.toContain(`https://${hostname}/sso/callback`)
    expect(row.redirect_uri_registered).toBe(0)
  })
})
