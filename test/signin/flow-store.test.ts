/**
 * The flow store on its own (D1). End to end the flow cookie's audience
 * already binds a flow to its host, which hides whether the store checks the
 * host too; here every condition of every transition is pinned by itself.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { d1FlowStore, FLOW_TTL_SECONDS, type Flow } from '../../src/signin/flow-store'
import { dbAll } from '../fixtures'

const KEY = new Uint8Array(32).fill(3)
const store = () => d1FlowStore(env.DB, KEY)
const identity = {
  tid: '11111111-1111-4111-8111-111111111111',
  oid: '0a0a0000-0000-4000-8000-000000000001',
  sub: 's',
  upn: 'ann@contoso.example',
  email: null,
  name: 'Ann',
}

function newFlow(now = Date.now(), over: Partial<Flow> = {}): Flow {
  const id = crypto.randomUUID()
  return {
    id,
    stateHash: `state-${id}`,
    hostname: 'acme.localhost',
    orgId: 'org_1',
    clientOrgId: null,
    redirectUri: 'https://login.localhost/sso/callback',
    tenant: identity.tid,
    secrets: { verifier: `verifier-${id}`, nonce: `nonce-${id}` },
    createdAt: now,
    expiresAt: now + FLOW_TTL_SECONDS * 1000,
    ...over,
  }
}

describe('takeByState', () => {
  it('gives the flow back with its secrets once, and never again', async () => {
    const flow = newFlow()
    await store().create(flow)
    const [row] = await dbAll<any>('SELECT secrets FROM sso_flows WHERE id = ?', flow.id)
    expect(row.secrets).not.toContain(flow.secrets.verifier)
    expect(await store().takeByState(flow.stateHash, Date.now())).toEqual(flow)
    expect(await store().takeByState(flow.stateHash, Date.now())).toBeNull()
  })

  it('gives nothing for an expired flow', async () => {
    const flow = newFlow(Date.now() - 700_000)
    await store().create(flow)
    expect(await store().takeByState(flow.stateHash, Date.now())).toBeNull()
  })

  it('gives nothing when the sealed secrets were copied from another flow', async () => {
    const victim = newFlow()
    const attacker = newFlow()
    await store().create(victim)
    await store().create(attacker)
    await env.DB.prepare('UPDATE sso_flows SET secrets = (SELECT secrets FROM sso_flows WHERE id = ?) WHERE id = ?')
      .bind(victim.id, attacker.id)
      .run()
    expect(await store().takeByState(attacker.stateHash, Date.now())).toBeNull()
  })
})

describe('takeCompletion', () => {
  async function handedBack(now = Date.now()) {
    const flow = newFlow(now)
    await store().create(flow)
    await store().takeByState(flow.stateHash, now)
    await store().putCompletion(flow, identity, 'code-hash', now)
    return flow
  }

  it('gives the identity once, on the flow host, for the right code', async () => {
    const flow = await handedBack()
    expect(await store().takeCompletion(flow.id, flow.hostname, 'code-hash', Date.now())).toMatchObject({
      flow: { id: flow.id },
      identity,
    })
    expect(await store().takeCompletion(flow.id, flow.hostname, 'code-hash', Date.now())).toBeNull()
  })

  it('gives nothing on another host, even with the flow id and the code', async () => {
    const flow = await handedBack()
    expect(await store().takeCompletion(flow.id, 'evil.localhost', 'code-hash', Date.now())).toBeNull()
    // Still usable by its own host afterwards: the refusal changed nothing.
    expect(await store().takeCompletion(flow.id, flow.hostname, 'code-hash', Date.now())).not.toBeNull()
  })

  it('gives nothing for another code, or once the 60 seconds are over', async () => {
    const flow = await handedBack()
    expect(await store().takeCompletion(flow.id, flow.hostname, 'other-hash', Date.now())).toBeNull()
    expect(await store().takeCompletion(flow.id, flow.hostname, 'code-hash', Date.now() + 61_000)).toBeNull()
  })
})

describe('takeChoice', () => {
  async function offered(now = Date.now()) {
    const flow = newFlow(now)
    await store().create(flow)
    await store().putChoices(flow.id, { identity, phoneSystemIds: ['ps_a', 'ps_b'] }, 'token-hash')
    return flow
  }

  it('gives the offered choices once, on the flow host, for the right token', async () => {
    const flow = await offered()
    expect(await store().takeChoice(flow.id, flow.hostname, 'token-hash', Date.now())).toMatchObject({
      choices: { identity, phoneSystemIds: ['ps_a', 'ps_b'] },
    })
    expect(await store().takeChoice(flow.id, flow.hostname, 'token-hash', Date.now())).toBeNull()
  })

  it('gives nothing on another host or for another token', async () => {
    const flow = await offered()
    expect(await store().takeChoice(flow.id, 'evil.localhost', 'token-hash', Date.now())).toBeNull()
    expect(await store().takeChoice(flow.id, flow.hostname, 'other-hash', Date.now())).toBeNull()
  })

  it('gives nothing once the flow has expired', async () => {
    const flow = await offered(Date.now() - 500_000)
    expect(await store().takeChoice(flow.id, flow.hostname, 'token-hash', Date.now() + 200_000)).toBeNull()
  })
})

describe('deleteExpired', () => {
  it('deletes flows an hour past their expiry, and keeps younger ones', async () => {
    const old = newFlow(Date.now() - 2 * 3600_000)
    const young = newFlow()
    await store().create(old)
    await store().create(young)
    expect(await store().deleteExpired(Date.now())).toBeGreaterThanOrEqual(1)
    const left = await dbAll<any>('SELECT id FROM sso_flows WHERE id IN (?, ?)', old.id, young.id)
    expect(left).toEqual([{ id: young.id }])
  })
})
