/**
 * The flow store on its own (one Durable Object per flow). End to end the flow cookie's audience and
 * the sealed codes already bind a flow to its host, which hides whether the
 * store checks the host too; here every condition of every transition is
 * pinned by itself.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { durableFlowStore, type Flow } from '../../src/signin/flow-store'
import { newFlow as flowFor, flowObject, recordIn } from '../flows'

const KEY = new Uint8Array(32).fill(3)
const store = () => durableFlowStore(env.SIGNIN_FLOWS, KEY)
const identity = {
  tid: '11111111-1111-4111-8111-111111111111',
  oid: '0a0a0000-0000-4000-8000-000000000001',
  sub: 's',
  upn: 'ann@contoso.example',
  email: null,
  name: 'Ann',
}

const newFlow = (now = Date.now(), over: Partial<Flow> = {}) => flowFor(identity.tid, now, over)

describe('consume', () => {
  it('records a flow once: the first callback of a state wins, every later one (or a concurrent one) loses', async () => {
    const flow = newFlow()
    const results = await Promise.all(Array.from({ length: 8 }, () => store().consume(flow, false, Date.now())))
    expect(results.filter(Boolean)).toHaveLength(1)
    expect(await store().consume(flow, false, Date.now())).toBe(false)
    expect((await recordIn(flowObject(flow.id)))?.flow).toEqual(flow)
  })

  it('records nothing for an expired flow', async () => {
    const flow = newFlow(Date.now() - 700_000)
    expect(await store().consume(flow, false, Date.now())).toBe(false)
    expect(await recordIn(flowObject(flow.id))).toBeNull()
  })
})

describe('complete', () => {
  async function calledBackCentrally(now = Date.now()) {
    const flow = newFlow(now)
    await store().consume(flow, false, now)
    return flow
  }

  it('completes a central flow once, on the flow host', async () => {
    const flow = await calledBackCentrally()
    expect(await store().complete(flow.id, flow.hostname, Date.now())).toEqual(flow)
    expect(await store().complete(flow.id, flow.hostname, Date.now())).toBeNull()
  })

  it('completes nothing on another host, even with the flow id', async () => {
    const flow = await calledBackCentrally()
    expect(await store().complete(flow.id, 'evil.localhost', Date.now())).toBeNull()
    // Still usable by its own host afterwards: the refusal changed nothing.
    expect(await store().complete(flow.id, flow.hostname, Date.now())).not.toBeNull()
  })

  it('completes nothing once the flow has expired, nor a flow that finished on its callback', async () => {
    const flow = await calledBackCentrally(Date.now() - 500_000)
    expect(await store().complete(flow.id, flow.hostname, Date.now() + 200_000)).toBeNull()
    const direct = newFlow()
    await store().consume(direct, true, Date.now())
    expect(await store().complete(direct.id, direct.hostname, Date.now())).toBeNull()
  })
})

describe('takeChoice', () => {
  async function offered(now = Date.now()) {
    const flow = newFlow(now)
    await store().consume(flow, false, now)
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
