/**
 * Review (not a regression of the reshape: the same code paths existed at
 * 916d9d7): a hostile partner names ANOTHER partner's customer tenant as the
 * Entra tenant of a phone system of its own. Nothing checks that the partner
 * has anything to do with that tenant (`entraTenantId` is any GUID), and:
 *
 *  - Sync pulls that tenant's directory with the PROVIDER's app (the partner
 *    has no integration of its own), which the victim tenant consented to
 *    for its real partner; the hostile partner then reads names, UPNs,
 *    e-mails and object ids through GET …/sso-users.
 *  - On the primary host (which reaches every phone system), the hostile
 *    partner's record (a guessed UPN is enough) puts its phone system into
 *    the victim's sign-in: a chooser offering it, and a signed assertion
 *    naming the victim posted to the hostile partner's handoff URL.
 *
 * Safe behaviour asserted: neither happens.
 */
import { describe, expect, it } from 'vitest'
import {
  addEntraUser,
  api,
  apiJson,
  assertionFrom,
  consent,
  createCustomer,
  createPartner,
  directory,
  dirUser,
  newTenantId,
  PRIMARY,
  signIn,
} from '../fixtures'

async function hostilePartner() {
  const partner = await createPartner('Hostile')
  const { key } = await apiJson('POST', `/orgs/${partner.id}/api-keys`, {}, 201)
  const asP = (method: string, path: string, body?: unknown) => api(method, path, body, { key })
  const customerRes = await asP('POST', '/orgs', { name: 'Decoy', kind: 'customer' })
  expect(customerRes.status).toBe(201)
  const customer = await customerRes.json<any>()
  return { partner, key, asP, customer }
}

async function legitimateCustomerIn(tid: string) {
  const partner = await createPartner('Legit')
  const customer = await createCustomer(partner.id, { name: 'Victim Corp' })
  const ps = await apiJson(
    'POST',
    `/orgs/${customer.id}/phone-systems`,
    {
      name: 'Victim HQ',
      webClientUrl: 'https://victim.pbx.example/',
      handoffUrl: 'https://victim.pbx.example/sso',
      entraTenantId: tid,
    },
    201,
  )
  return { partner, customer, ps }
}

describe("review: a partner claiming another partner's customer tenant", () => {
  it("cannot read that tenant's directory through Sync (the provider's app)", async () => {
    const victimTenant = newTenantId()
    await consent(victimTenant)
    const people = [dirUser(1, 'victim'), dirUser(2, 'victim')]
    await directory(victimTenant, { direct: people })
    await legitimateCustomerIn(victimTenant)

    const p = await hostilePartner()
    const created = await p.asP('POST', `/orgs/${p.customer.id}/phone-systems`, {
      name: 'Totally ours',
      webClientUrl: 'https://evil.example/',
      handoffUrl: 'https://evil.example/h',
      entraTenantId: victimTenant,
    })
    // Creating the phone system may or may not be refused; reading the directory must be.
    if (created.status === 201) {
      const ps = await created.json<any>()
      const sync = await p.asP('POST', `/phone-systems/${ps.id}/sync`)
      const list = await (await p.asP('GET', `/phone-systems/${ps.id}/sso-users?limit=1000`)).text()
      for (const person of people) {
        expect(list).not.toContain(person.id)
        expect(list.toLowerCase()).not.toContain(person.userPrincipalName.toLowerCase())
      }
      expect(sync.status).not.toBe(200)
    }
  })

  it("cannot put its phone system into the victim's sign-in on the primary host with a guessed UPN", async () => {
    const victimTenant = newTenantId()
    const victim = await addEntraUser(victimTenant, 'Vera Victim')
    const legit = await legitimateCustomerIn(victimTenant)
    await apiJson('PUT', `/phone-systems/${legit.ps.id}/sso-users`, { users: [{ oid: victim.oid }] })

    const p = await hostilePartner()
    const created = await p.asP('POST', `/orgs/${p.customer.id}/phone-systems`, {
      name: 'Victim HQ',
      webClientUrl: 'https://evil.example/',
      handoffUrl: 'https://evil.example/collect',
      entraTenantId: victimTenant,
    })
    if (created.status === 201) {
      const ps = await created.json<any>()
      await p.asP('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ upn: victim.upn }] })
    }

    const result = await signIn(PRIMARY, victim)
    expect(result.res.status).toBe(200)
    // Safe: straight to the victim's own phone system, no chooser offering the look-alike.
    expect(result.html).not.toContain('Choose a phone system')
    expect(result.html).not.toContain('evil.example')
    expect(assertionFrom(result.html).claims.aud).toBe(legit.ps.id)
  })

  it('cannot receive a signed assertion naming a user of that tenant who is on no list of its real partner', async () => {
    const victimTenant = newTenantId()
    const victim = await addEntraUser(victimTenant, 'Walt Victim')
    await legitimateCustomerIn(victimTenant)

    const p = await hostilePartner()
    const created = await p.asP('POST', `/orgs/${p.customer.id}/phone-systems`, {
      name: 'Phone',
      webClientUrl: 'https://evil.example/',
      handoffUrl: 'https://evil.example/collect',
      entraTenantId: victimTenant,
    })
    if (created.status === 201) {
      const ps = await created.json<any>()
      await p.asP('PUT', `/phone-systems/${ps.id}/sso-users`, { users: [{ email: victim.email }] })
    }
    const result = await signIn(PRIMARY, victim)
    expect(result.html).not.toContain('evil.example/collect')
  })
})
