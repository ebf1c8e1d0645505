/**
 * Review 9, DESIGN §6: a phone system a partner key names a tenant for is `unverified`: "it is no
 * sign-in candidate on any host; nothing is pulled for it on schedule". Two paths the tenant-proof
 * journeys do not walk: a list pushed by SCIM (a partner may create a SCIM token for an unverified
 * phone system, as it may PUT its list), and a scheduled-sync message planned while the phone system
 * was trusted but delivered after a partner pointed it at another (unproven) tenant.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { getConfig } from '../../src/config'
import { planDueSyncs, type SyncJob } from '../../src/sync/fleet-queue'
import {
  addEntraUser,
  api,
  apiJson,
  capturingQueue,
  consent,
  createCustomer,
  dbAll,
  directory,
  dirUser,
  drainSyncJobs,
  expectJson,
  graphControl,
  HANDOFF_FIELD,
  newTenantId,
  PRIMARY,
  partnerWithKey,
  signIn,
  uniqueLabel,
  ZONE,
} from '../fixtures'
import { entraUser, scim, scimJson } from '../scim/helpers'

describe('review 9: an unverified tenant signs nobody in, even with a list SCIM pushed', () => {
  it('a partner pushes the user by SCIM to its unverified phone system: 403 on the customer host and on the primary host', async () => {
    const { key } = await partnerWithKey()
    const as = (method: string, path: string, body?: unknown) => api(method, path, body, { key })
    const customer = await expectJson(await as('POST', '/orgs', { name: 'Customer', kind: 'customer' }), 201)
    const hostname = `${uniqueLabel('scimu')}.${ZONE}`
    await expectJson(await as('POST', `/orgs/${customer.id}/hostnames`, { hostname }), 201)
    const tid = newTenantId()
    const ps = await expectJson(
      await as('POST', `/orgs/${customer.id}/phone-systems`, {
        name: 'Phones',
        webClientUrl: 'https://pbx.partner.example/',
        handoffUrl: 'https://pbx.partner.example/sso',
        entraTenantId: tid,
      }),
      201,
    )
    expect(ps.tenantStatus).toBe('unverified')
    const issued = await expectJson(await as('POST', `/phone-systems/${ps.id}/scim-tokens`, {}), 201)
    const victim = await addEntraUser(tid)
    // The list may be filled (it serves nobody until proven), so SCIM may push; what matters is that it serves nobody.
    await scimJson(
      await scim({ phoneSystemId: ps.id, token: issued.token }, 'POST', '/Users', {
        ...entraUser(victim.upn),
        externalId: victim.oid,
      }),
      201,
    )
    expect(await dbAll('SELECT upn FROM sso_users WHERE phone_system_id = ?', ps.id)).toEqual([{ upn: victim.upn }])
    expect((await apiJson('GET', `/phone-systems/${ps.id}`)).tenantStatus).toBe('unverified')

    // The customer host has no proven phone system: it may refuse before Entra (its "not connected" page).
    const login = await SELF.fetch(`https://${hostname}/sso/login`, { redirect: 'manual' })
    const onHost = login.status === 302 ? await signIn(hostname, victim) : { res: login, html: await login.text() }
    expect(onHost.res.status).toBeGreaterThanOrEqual(400)
    expect(onHost.html).not.toContain(HANDOFF_FIELD)
    // The primary host: Entra signs the victim in, and the gateway finds them on no list it may serve.
    const onPrimary = await signIn(PRIMARY, victim)
    expect(onPrimary.res.status, onPrimary.html.slice(0, 200)).toBe(403)
    expect(onPrimary.html).not.toContain(HANDOFF_FIELD)
  })
})

describe('review 9: the fleet queue pulls nothing from an unverified tenant', () => {
  it('a job planned while trusted, delivered after a partner named a new tenant: no Graph read, the list as it is', async () => {
    const { partner, key } = await partnerWithKey()
    const customer = await createCustomer(partner.id)
    const oldTid = newTenantId()
    const ps = await apiJson(
      'POST',
      `/orgs/${customer.id}/phone-systems`,
      { name: 'HQ', webClientUrl: 'https://pbx.example/', handoffUrl: 'https://pbx.example/h', entraTenantId: oldTid },
      201,
    )
    expect(ps.tenantStatus).not.toBe('unverified') // ops created it: trusted
    // The new tenant is fully readable with the provider's app: only the tenant status can stop a pull.
    const newTid = newTenantId()
    await consent(newTid)
    await directory(newTid, { direct: [dirUser(1), dirUser(2)] })

    // The cron plans it (due now).
    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ? WHERE id = ?')
      .bind(Date.now() - 1000, ps.id)
      .run()
    const queue = capturingQueue()
    await planDueSyncs(env.DB, queue.binding, getConfig(env), Date.now())
    const jobs = (queue.sent as SyncJob[]).filter((job) => job.phoneSystemId === ps.id)
    expect(jobs).toHaveLength(1)

    // Before it is delivered, the partner points the phone system at another tenant: unverified now.
    const patched = await expectJson(
      await api('PATCH', `/phone-systems/${ps.id}`, { entraTenantId: newTid }, { key }),
      200,
    )
    expect(patched.tenantStatus).toBe('unverified')
    // Whatever the schedule says of it now, the job must not pull it.
    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ? WHERE id = ?').bind(jobs[0]!.dueBy, ps.id).run()
    const before = (await graphControl(`tenants/${newTid}`, {})).requests
    await drainSyncJobs(jobs)
    expect((await graphControl(`tenants/${newTid}`, {})).requests).toBe(before)
    expect(await dbAll('SELECT id FROM sso_users WHERE phone_system_id = ?', ps.id)).toEqual([])
    const [row] = await dbAll<any>('SELECT tenant_status, last_sync_status FROM phone_systems WHERE id = ?', ps.id)
    expect(row).toMatchObject({ tenant_status: 'unverified', last_sync_status: null })
  })
})
