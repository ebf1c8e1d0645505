/**
 * Review 3 (medium): a partner left a direct-mode redirect URI on the
 * PROVIDER's Entra app after detaching the hostname, by detaching while a
 * registration of the same host was in flight.
 *
 * Every path that registers a URI calls Graph (through the app's registrar)
 * first and writes D1 afterwards: `updateHostname` (PATCH callbackMode) and
 * `retryRegistration` (…/check, Sync, the schedule). `detachHostname` only
 * removes the URI when the row it read says registered, which it does not
 * while the registration is in flight. Before the fix the write afterwards
 * was an unconditional `UPDATE … WHERE hostname = ?` that matched nothing:
 * the URI stayed on the app with no hostname row naming it, so nothing
 * would ever remove it, and https://{domain}/sso/callback, a domain that is
 * no longer the partner's (or ours), stayed a reply URL of the provider's
 * multi-tenant app.
 *
 * The rule: a write after a registration only lands on the host as it was
 * read (same attach, portal, callback mode, status); when it finds the host
 * changed, the URI comes off the app again, unless the host as it is now is
 * registered there itself.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { OPS, type Principal } from '../../src/access/principal'
import { getConfig } from '../../src/config'
import { type RedirectUris, redirectUrisOf, retryRegistration } from '../../src/hostnames/redirect-uris'
import { findHostname, updateHostname } from '../../src/hostnames/service'
import { putIntegration } from '../../src/integrations/microsoft'
import { TEST_CLIENT_ID } from '../bindings'
import {
  api,
  apiJson,
  dbAll,
  entraControl,
  expectJson,
  newTenantId,
  partnerWithKey,
  seedSignInTenant,
  uniqueLabel,
  ZONE,
} from '../fixtures'

async function appUris(clientId: string): Promise<string[]> {
  const res = await fetch(`${env.ENTRA_AUTHORITY}/__control/apps/${clientId}`)
  return (await res.json<any>()).redirectUris
}

async function partnerPrincipal(partnerId: string): Promise<Principal> {
  const [row] = await dbAll<any>('SELECT id FROM api_keys WHERE org_id = ? ORDER BY created_at DESC LIMIT 1', partnerId)
  return { kind: 'partner', actor: `key:${row.id}`, keyId: row.id, orgId: partnerId }
}

/** The real registrar, whose first Graph write waits until `open()`: a registration in flight. */
function slowRegistrar(): { uris: RedirectUris; atRegister: Promise<void>; open: () => void } {
  const real = redirectUrisOf(env)
  let reached!: () => void
  let release!: () => void
  const atRegister = new Promise<void>((r) => {
    reached = r
  })
  const gate = new Promise<void>((r) => {
    release = r
  })
  return {
    uris: {
      register: async (client, uri) => {
        reached()
        await gate
        return real.register(client, uri)
      },
      unregister: (client, uri) => real.unregister(client, uri),
      isRegistered: (client, uri) => real.isRegistered(client, uri),
    },
    atRegister,
    open: release,
  }
}

/** What a call in flight ended with: 'done', or the status and code of its refusal. */
function outcomeOf(call: Promise<unknown>): Promise<'done' | { status: number; code: string }> {
  return call.then(
    () => 'done' as const,
    (error: any) => ({ status: error.status, code: error.code }),
  )
}

/** A partner's own custom domain on the central callback (CUSTOM_HOSTNAMES=local: active at once). */
async function partnerDomain() {
  const { partner, key } = await partnerWithKey('Hostile')
  const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key })
  const portal = await expectJson(await as('POST', '/orgs', { name: 'Portal', kind: 'customer' }), 201)
  const hostname = `${uniqueLabel('race')}.partner-domain.example`
  await expectJson(await as('POST', `/orgs/${portal.id}/hostnames`, { hostname, callbackMode: 'central' }), 201)
  const uri = `https://${hostname}/sso/callback`
  expect(await appUris(TEST_CLIENT_ID)).not.toContain(uri)
  return { as, hostname, uri, principal: await partnerPrincipal(partner.id) }
}

describe('a redirect URI registered for a host detached meanwhile does not stay on the app', () => {
  it('PATCH {callbackMode: direct} racing DELETE of the host answers 404 and leaves no URI on the provider app', async () => {
    const { as, hostname, uri, principal } = await partnerDomain()
    const slow = slowRegistrar()
    const toDirect = outcomeOf(
      updateHostname(env.DB, getConfig(env), slow.uris, principal, hostname, { callbackMode: 'direct' }, Date.now()),
    )
    await slow.atRegister // the PATCH has read the row (central) and is calling Graph
    await expectJson(await as('DELETE', `/hostnames/${hostname}`), 204)
    slow.open()

    expect(await toDirect).toEqual({ status: 404, code: 'not_found' })
    expect(await dbAll('SELECT hostname FROM hostnames WHERE hostname = ?', hostname)).toEqual([])
    expect(await appUris(TEST_CLIENT_ID)).not.toContain(uri)
    // No audit row of a change to a hostname that no longer exists.
    expect(
      await dbAll("SELECT action FROM audit_log WHERE target_id = ? AND action = 'hostname.update'", hostname),
    ).toEqual([])
  })

  it('a registration retry (check, Sync, schedule) racing DELETE of the host leaves no URI on the provider app', async () => {
    const { as, hostname, uri } = await partnerDomain()
    // A direct host still waiting for its registration (an earlier Graph call failed), as the schedule finds it.
    await env.DB.prepare("UPDATE hostnames SET callback_mode = 'direct' WHERE hostname = ?").bind(hostname).run()
    const row = (await findHostname(env.DB, hostname))!
    const slow = slowRegistrar()
    const retry = outcomeOf(retryRegistration(env.DB, getConfig(env), slow.uris, row, Date.now()))
    await slow.atRegister
    await expectJson(await as('DELETE', `/hostnames/${hostname}`), 204)
    slow.open()

    expect(await retry).toBe('done')
    expect(await dbAll('SELECT hostname FROM hostnames WHERE hostname = ?', hostname)).toEqual([])
    expect(await appUris(TEST_CLIENT_ID)).not.toContain(uri)
  })

  it("a portal's new Entra app racing DELETE of a direct host keeps no URI for the host, on either app", async () => {
    const tenant = await seedSignInTenant()
    const hostname = `${uniqueLabel('move')}.${ZONE}`
    const uri = `https://${hostname}/sso/callback`
    await apiJson('POST', `/orgs/${tenant.orgId}/hostnames`, { hostname, callbackMode: 'direct' }, 201)
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
    const slow = slowRegistrar()
    const change = outcomeOf(
      putIntegration(
        env.DB,
        getConfig(env),
        slow.uris,
        OPS,
        tenant.orgId,
        { clientId, clientSecret: secret, homeTenantId },
        Date.now(),
      ),
    )
    await slow.atRegister // the URI is off the provider's app, and being registered on the new one
    expect((await api('DELETE', `/hostnames/${hostname}`)).status).toBe(204)
    slow.open()

    expect(await change).toBe('done')
    expect(await dbAll('SELECT hostname FROM hostnames WHERE hostname = ?', hostname)).toEqual([])
    expect(await appUris(clientId)).not.toContain(uri)
    expect(await appUris(TEST_CLIENT_ID)).not.toContain(uri)
  })

  it('a PATCH that loses to the same switch made meanwhile answers 409 and leaves the URI the winner registered', async () => {
    const { as, hostname, uri, principal } = await partnerDomain()
    const slow = slowRegistrar()
    const toDirect = outcomeOf(
      updateHostname(env.DB, getConfig(env), slow.uris, principal, hostname, { callbackMode: 'direct' }, Date.now()),
    )
    await slow.atRegister
    await expectJson(await as('PATCH', `/hostnames/${hostname}`, { callbackMode: 'direct' }), 200)
    slow.open()

    expect(await toDirect).toEqual({ status: 409, code: 'conflict' })
    expect(
      await dbAll('SELECT callback_mode, redirect_uri_registered FROM hostnames WHERE hostname = ?', hostname),
    ).toEqual([{ callback_mode: 'direct', redirect_uri_registered: 1 }])
    expect(await appUris(TEST_CLIENT_ID)).toContain(uri)
  })
})
