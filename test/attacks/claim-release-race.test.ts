/**
 * Review 3 (high): a partner kept a tenant it lost, through a phone-system
 * create or tenant change in flight while ops released the tenant.
 *
 * `nameTenant` (src/tenancy/claims.ts) reads the subtree's claim and hands
 * back its status; `createPhoneSystem` / `updatePhoneSystem` write it. Before
 * the fix nothing re-checked the claim inside the write's batch: a request
 * that read "A's subtree holds T, trusted" and committed after ops released
 * T left A's phone system `trusted` with no claim behind it. Once T was
 * vouched for in partner B's subtree (whose status update only reaches B's
 * phone systems), A could list T's users on its phone system and have them
 * handed to its own handoff URL, or Sync T's directory with the provider's
 * app: what tenant proof exists to prevent.
 *
 * The rule: a tenant decision is written only if the claim it was read from
 * is still there, unchanged (or still absent); otherwise 409 `conflict` and
 * nothing is written. Driven with slowD1: the request has read and is about
 * to write while the test changes the claim under it.
 */
import { describe, expect, it } from 'vitest'
import { OPS, type Principal } from '../../src/access/principal'
import { createPhoneSystem, updatePhoneSystem } from '../../src/phone-systems/service'
import {
  addEntraUser,
  api,
  apiJson,
  dbAll,
  expectJson,
  newTenantId,
  PRIMARY,
  partnerWithKey,
  signIn,
  slowD1,
} from '../fixtures'

async function partnerPrincipal(partnerId: string): Promise<Principal> {
  const [row] = await dbAll<any>('SELECT id FROM api_keys WHERE org_id = ? ORDER BY created_at DESC LIMIT 1', partnerId)
  return { kind: 'partner', actor: `key:${row.id}`, keyId: row.id, orgId: partnerId }
}

const ATTACKER_URLS = { webClientUrl: 'https://attacker.example/', handoffUrl: 'https://attacker.example/sso' }

/** What a request in flight ended with: 'written', or the status and code of its refusal. */
function outcomeOf(change: Promise<unknown>): Promise<'written' | { status: number; code: string }> {
  return change.then(
    () => 'written' as const,
    (error: any) => ({ status: error.status, code: error.code }),
  )
}

/** Partner A (the attacker) legitimately holds tenant T (ops vouched), and has a customer to work in. */
async function attackerHoldingTenant() {
  const attacker = await partnerWithKey('Former partner')
  const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key: attacker.key })
  const customer = await expectJson(await as('POST', '/orgs', { name: 'Former customer', kind: 'customer' }), 201)
  const tid = newTenantId()
  const held = await expectJson(
    await as('POST', `/orgs/${customer.id}/phone-systems`, { name: 'Old', ...ATTACKER_URLS, entraTenantId: tid }),
    201,
  )
  await apiJson('PATCH', `/phone-systems/${held.id}`, { entraTenantId: tid }) // ops vouch: A's subtree holds T
  expect((await apiJson('GET', `/phone-systems/${held.id}`)).tenantStatus).toBe('trusted')
  return { ...attacker, as, customer, held, tid, principal: await partnerPrincipal(attacker.partner.id) }
}

/** A phone system of A's naming another tenant, to be switched to T. */
async function spare(attacker: Awaited<ReturnType<typeof attackerHoldingTenant>>) {
  return expectJson(
    await attacker.as('POST', `/orgs/${attacker.customer.id}/phone-systems`, {
      name: 'Spare',
      ...ATTACKER_URLS,
      entraTenantId: newTenantId(),
    }),
    201,
  )
}

/** The customer moved to partner B: ops vouch for T in B's subtree, and B lists `listedOid`. */
async function tenantMovesToRealPartner(tid: string, listedOid: string) {
  const real = await partnerWithKey('New partner')
  const realCustomer = await apiJson(
    'POST',
    '/orgs',
    { name: 'Moved Co', kind: 'customer', parentId: real.partner.id },
    201,
  )
  const realPs = await apiJson(
    'POST',
    `/orgs/${realCustomer.id}/phone-systems`,
    {
      name: 'Real',
      webClientUrl: 'https://pbx.real.example/',
      handoffUrl: 'https://pbx.real.example/sso',
      entraTenantId: tid,
    },
    201,
  )
  await apiJson('PUT', `/phone-systems/${realPs.id}/sso-users`, { users: [{ oid: listedOid }] })
  expect(await dbAll('SELECT partner_id FROM tenant_claims WHERE tid = ?', tid)).toEqual([
    { partner_id: real.partner.id },
  ])
}

describe('a tenant decision is written only on the claim it was read from', () => {
  it('a partner switching a phone system to its tenant while ops release it gets 409, and the phone system keeps its old tenant', async () => {
    const attacker = await attackerHoldingTenant()
    const other = await spare(attacker)
    const slow = slowD1()
    const change = outcomeOf(
      updatePhoneSystem(slow.d1, attacker.principal, other.id, { entraTenantId: attacker.tid }, Date.now()),
    )
    await slow.atBatch // read: A's claim on T, trusted
    await apiJson('POST', `/tenants/${attacker.tid}/release`)
    slow.open()

    expect(await change).toEqual({ status: 409, code: 'conflict' })
    expect(await dbAll('SELECT entra_tenant_id, tenant_status FROM phone_systems WHERE id = ?', other.id)).toEqual([
      { entra_tenant_id: other.entraTenantId, tenant_status: other.tenantStatus },
    ])
    expect(await dbAll('SELECT tid FROM tenant_claims WHERE tid = ?', attacker.tid)).toEqual([])

    // And once T belongs to partner B, T's users are not A's to sign in, whatever A lists.
    const victim = await addEntraUser(attacker.tid, 'Vera Victim')
    const bystander = await addEntraUser(attacker.tid, 'Bob Bystander')
    await tenantMovesToRealPartner(attacker.tid, bystander.oid)
    await expectJson(
      await attacker.as('PUT', `/phone-systems/${other.id}/sso-users`, { users: [{ oid: victim.oid }] }),
      200,
    )
    const result = await signIn(PRIMARY, victim)
    expect(result.html).not.toContain('attacker.example')
    expect(result.res.status).toBe(403)
  })

  it('a partner creating a phone system naming its tenant while ops release it gets 409, and no phone system is created', async () => {
    const attacker = await attackerHoldingTenant()
    const slow = slowD1()
    const created = outcomeOf(
      createPhoneSystem(
        slow.d1,
        attacker.principal,
        attacker.customer.id,
        { name: 'Ghost', ...ATTACKER_URLS, entraTenantId: attacker.tid },
        Date.now(),
      ),
    )
    await slow.atBatch
    await apiJson('POST', `/tenants/${attacker.tid}/release`)
    slow.open()

    expect(await created).toEqual({ status: 409, code: 'conflict' })
    expect(
      await dbAll("SELECT id FROM phone_systems WHERE name = 'Ghost' AND org_id = ?", attacker.customer.id),
    ).toEqual([])
    // Every phone system naming T is unverified after the release: none is proven without a claim.
    expect(
      await dbAll(
        "SELECT id FROM phone_systems WHERE entra_tenant_id = ? AND tenant_status != 'unverified'",
        attacker.tid,
      ),
    ).toEqual([])
  })

  it('ops naming a tenant their subtree already holds, while it is released, get 409 and vouch for nothing', async () => {
    const attacker = await attackerHoldingTenant()
    const other = await spare(attacker)
    const slow = slowD1()
    const change = outcomeOf(updatePhoneSystem(slow.d1, OPS, other.id, { entraTenantId: attacker.tid }, Date.now()))
    await slow.atBatch // read: the subtree's claim on T, trusted (so no new claim is inserted)
    await apiJson('POST', `/tenants/${attacker.tid}/release`)
    slow.open()

    expect(await change).toEqual({ status: 409, code: 'conflict' })
    expect(await dbAll('SELECT entra_tenant_id FROM phone_systems WHERE id = ?', other.id)).toEqual([
      { entra_tenant_id: other.entraTenantId },
    ])
    expect(await dbAll('SELECT tid FROM tenant_claims WHERE tid = ?', attacker.tid)).toEqual([])
  })

  it('a partner naming an unclaimed tenant while ops vouch for it in the same subtree gets 409, so no phone system of the claiming subtree is left unverified', async () => {
    const { partner, key } = await partnerWithKey('Partner')
    const customer = await expectJson(await api('POST', '/orgs', { name: 'Customer', kind: 'customer' }, { key }), 201)
    const tid = newTenantId()
    const slow = slowD1()
    const created = outcomeOf(
      createPhoneSystem(
        slow.d1,
        await partnerPrincipal(partner.id),
        customer.id,
        { name: 'Named', ...ATTACKER_URLS, entraTenantId: tid },
        Date.now(),
      ),
    )
    await slow.atBatch // read: no claim on T, so unverified
    await apiJson(
      'POST',
      `/orgs/${customer.id}/phone-systems`,
      { name: 'Vouched', ...ATTACKER_URLS, entraTenantId: tid },
      201,
    )
    slow.open()

    expect(await created).toEqual({ status: 409, code: 'conflict' })
    expect(await dbAll('SELECT name, tenant_status FROM phone_systems WHERE entra_tenant_id = ?', tid)).toEqual([
      { name: 'Vouched', tenant_status: 'trusted' },
    ])
  })
})
