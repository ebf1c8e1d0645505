/**
 * The OpenID RP conformance list for ID tokens, each case against the Entra
 * stand-in: the case is refused with a page, and no session results (the
 * flow in D1 is neither completed nor carries a result, no completion code
 * was issued).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  addEntraUser,
  apiJson,
  assertionFrom,
  entraControl,
  HANDOFF_FIELD,
  listUsers,
  newTenantId,
  PRIMARY,
  seedSignInTenant,
  signIn,
} from '../fixtures'
import { flowsOf } from '../flows'

async function expectNoSession(hostname: string) {
  const flows = await flowsOf(hostname)
  expect(flows.length).toBeGreaterThan(0)
  for (const { completedAt } of flows) expect(completedAt).toBeNull()
}

describe('ID tokens that must be refused', () => {
  it.each([
    ['iss wrong', 'iss_wrong'],
    ['iss missing', 'iss_missing'],
    ['aud wrong', 'aud_wrong'],
    ['aud missing', 'aud_missing'],
    ['sub missing', 'sub_missing'],
    ['iat missing', 'iat_missing'],
    ['nonce wrong', 'nonce_wrong'],
    ['nonce missing', 'nonce_missing'],
    ['expired', 'expired'],
    ['not yet valid (nbf and iat an hour ahead)', 'not_yet_valid'],
    ['bad signature', 'bad_signature'],
    ['alg none', 'alg_none'],
    ['HS256 signed with the client secret', 'hs256'],
    ['unknown kid (after the one allowed JWKS fetch)', 'unknown_kid'],
    ['tid of another tenant than the authority (and the issuer with it)', 'tid_mismatch'],
    ["only the tid changed to another tenant (the issuer still the authority's)", 'tid_only'],
    ['an iat 20 minutes old on a token that has not expired', 'iat_old'],
    ['no ID token in the token response', 'no_id_token'],
  ])('%s', async (_name, outcome) => {
    const tenant = await seedSignInTenant()
    const result = await signIn(tenant.hostname, tenant.user, outcome)
    expect(result.central).toBeNull()
    expect(result.res.status).toBe(502)
    expect(result.html).toContain('Your sign-in could not be verified')
    expect(result.html).not.toContain(HANDOFF_FIELD)
    expect(result.html).toContain('id="retry"')
    expect(result.res.headers.get('cache-control')).toBe('no-store')
    await expectNoSession(tenant.hostname)
  })
})

describe('ID tokens that must be accepted', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('a token without kid when the tenant publishes a single key', async () => {
    const tenant = await seedSignInTenant()
    const result = await signIn(tenant.hostname, tenant.user, 'no_kid')
    expect(result.res.status).toBe(200)
    expect(result.html).toContain(HANDOFF_FIELD)
  })

  it('a token signed by a key rotated in after the JWKS was cached, after one refetch; further unknown kids wait 30 s', async () => {
    const tenant = await seedSignInTenant()
    const jwksHits = async () => (await entraControl('hits', undefined, 'GET'))[`jwks:${tenant.tenantId}`] ?? 0

    expect((await signIn(tenant.hostname, tenant.user)).res.status).toBe(200)
    expect(await jwksHits()).toBe(1)

    // Time moves past the refetch cooldown (the worker runs in this isolate: the fake clock is its clock).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 })
    const rotated = await signIn(tenant.hostname, tenant.user, 'rotate_keys')
    expect(rotated.res.status).toBe(200)
    expect(await jwksHits()).toBe(2)

    const unknownNow = await signIn(tenant.hostname, tenant.user, 'unknown_kid')
    expect(unknownNow.res.status).toBe(502)
    expect(await jwksHits()).toBe(2)

    vi.setSystemTime(Date.now() + 31_000)
    const unknownLater = await signIn(tenant.hostname, tenant.user, 'unknown_kid')
    expect(unknownLater.res.status).toBe(502)
    expect(await jwksHits()).toBe(3)
  })
})

describe('tenants on the multi-tenant authority (issuer template)', () => {
  /** A partner with one phone system in a fresh tenant: reachable from the primary host only. */
  async function phoneSystemInNewTenant() {
    const tid = newTenantId()
    const partner = await apiJson('POST', '/orgs', { name: 'P', kind: 'partner' }, 201)
    const ps = await apiJson(
      'POST',
      `/orgs/${partner.id}/phone-systems`,
      { name: 'HQ', webClientUrl: 'https://pbx.example/', handoffUrl: 'https://pbx.example/h', entraTenantId: tid },
      201,
    )
    return { tid, ps }
  }

  it('the primary host accepts a user whose token iss is the template filled with their own tid', async () => {
    const { tid, ps } = await phoneSystemInNewTenant()
    const user = await addEntraUser(tid, 'Primary Person')
    await listUsers(ps.id, [user])
    const result = await signIn(PRIMARY, user)
    expect(result.callbackUrl.hostname).toBe(PRIMARY)
    expect(result.res.status).toBe(200)
    expect(assertionFrom(result.html).claims).toMatchObject({ name: 'Primary Person', tid, oid: user.oid })
  })

  it('the primary host still refuses a wrong iss', async () => {
    const { tid } = await phoneSystemInNewTenant()
    const user = await addEntraUser(tid)
    const result = await signIn(PRIMARY, user, 'iss_wrong')
    expect(result.res.status).toBe(502)
    expect(result.html).toContain('Your sign-in could not be verified')
  })

  it('the primary host refuses (403) a user whose tenant has no phone system anywhere', async () => {
    const user = await addEntraUser(newTenantId(), 'Stranger')
    const result = await signIn(PRIMARY, user)
    expect(result.res.status).toBe(403)
    expect(result.html).toContain('This account cannot sign in here')
    expect(result.html).not.toContain('Stranger')
  })

  it('a tenant host on organizations refuses a user from a tenant it does not serve, and a token whose tid was swapped', async () => {
    const tenant = await seedSignInTenant()
    const second = newTenantId()
    await apiJson(
      'POST',
      `/orgs/${tenant.orgId}/phone-systems`,
      {
        name: 'Branch',
        webClientUrl: 'https://pbx.example/b',
        handoffUrl: 'https://pbx.example/bh',
        entraTenantId: second,
      },
      201,
    )
    const outsider = await addEntraUser(newTenantId(), 'Outsider')
    const refused = await signIn(tenant.hostname, outsider)
    expect(refused.res.status).toBe(403)
    expect(refused.html).toContain('This account cannot sign in here')

    const swapped = await signIn(tenant.hostname, tenant.user, 'tid_mismatch')
    expect(swapped.res.status).toBe(403)

    const member = await addEntraUser(second, 'Branch Member')
    const branch = (await apiJson('GET', `/orgs/${tenant.orgId}/phone-systems`)).phoneSystems.find(
      (p: any) => p.name === 'Branch',
    )
    await listUsers(branch.id, [member])
    const accepted = await signIn(tenant.hostname, member)
    expect(accepted.res.status).toBe(200)
    expect(assertionFrom(accepted.html).claims).toMatchObject({ name: 'Branch Member', aud: branch.id })
  })
})
