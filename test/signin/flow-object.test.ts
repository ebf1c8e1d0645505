/**
 * The sign-in flow's Durable Object (`SIGNIN_FLOWS`): each state, completion
 * and chooser token works once even when many requests race for it;
 * nothing outlives the flow; state survives the object being evicted; the
 * object never holds a secret readable, and a sealed value moved to another
 * flow does not open.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { FLOW_GRACE_MS, type FlowRecord } from '../../src/signin/flow-object'
import { durableFlowStore, FLOW_TTL_SECONDS, type Flow, type StartedFlow } from '../../src/signin/flow-store'
import {
  FLOW_COOKIE,
  HANDOFF_FIELD,
  phoneSystemNamed,
  pickAccount,
  putList,
  seedSignInTenant,
  signIn,
  startLogin,
  withCookie,
} from '../fixtures'
import { newFlow as flowFor, flowObject, flowObjectCount, flowsOf, recordIn, storageOf } from '../flows'

const KEY = new Uint8Array(32).fill(5)
const store = () => durableFlowStore(env.SIGNIN_FLOWS, KEY)
const identity = {
  tid: '22222222-2222-4222-8222-222222222222',
  oid: '0b0b0000-0000-4000-8000-000000000002',
  sub: 's',
  upn: 'bea@fabrikam.example',
  email: null,
  name: 'Bea',
}
const RACERS = 10

const newFlow = (now = Date.now(), over: Partial<Flow> = {}) =>
  flowFor(identity.tid, now, { hostname: 'fabrikam.localhost', orgId: 'org_2', ...over })

const race = <T>(attempt: () => Promise<T>) => Promise.all(Array.from({ length: RACERS }, attempt))

describe('single use under concurrent requests', () => {
  it(`${RACERS} concurrent consumes of one flow: exactly one wins`, async () => {
    const flow = newFlow()
    const results = await race(() => store().consume(flow, false, Date.now()))
    expect(results.filter(Boolean)).toHaveLength(1)
  })

  it(`${RACERS} concurrent completions of one central flow: exactly one gets the flow`, async () => {
    const flow = newFlow()
    await store().consume(flow, false, Date.now())
    const results = await race(() => store().complete(flow.id, flow.hostname, Date.now()))
    expect(results.filter((r) => r !== null)).toEqual([flow])
  })

  it('a flow that finished on its own callback (direct mode) is never completed', async () => {
    const flow = newFlow()
    await store().consume(flow, true, Date.now())
    expect(await store().complete(flow.id, flow.hostname, Date.now())).toBeNull()
  })

  it(`${RACERS} concurrent takes of one chooser token: exactly one gets the choices`, async () => {
    const flow = newFlow()
    await store().consume(flow, false, Date.now())
    await store().putChoices(flow.id, { identity, phoneSystemIds: ['ps_1'] }, 'token-hash')
    const results = await race(() => store().takeChoice(flow.id, flow.hostname, 'token-hash', Date.now()))
    expect(results.filter((r) => r !== null)).toEqual([{ flow, choices: { identity, phoneSystemIds: ['ps_1'] } }])
  })

  it(`a callback URL replayed ${RACERS} times at once: one sign-in goes on, every other request is refused`, async () => {
    const tenant = await seedSignInTenant()
    const { cookie, authorizeUrl } = await startLogin(tenant.hostname)
    const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
    const answers = await race(() => SELF.fetch(callbackUrl, withCookie(null)))
    const bodies = await Promise.all(answers.map((res) => res.text()))
    expect(answers.map((res) => res.status).sort()).toEqual([303, ...Array(RACERS - 1).fill(400)])
    for (const body of bodies) expect(body).not.toContain(HANDOFF_FIELD)
    // The winner's completion code, also raced in its own browser: one handoff page.
    const complete = answers.find((res) => res.status === 303)!.headers.get('location')!
    const finishes = await race(() => SELF.fetch(complete, withCookie(cookie)))
    const pages = await Promise.all(finishes.map((res) => res.text()))
    expect(finishes.map((res) => res.status).sort()).toEqual([200, ...Array(RACERS - 1).fill(400)])
    expect(pages.filter((html) => html.includes(HANDOFF_FIELD))).toHaveLength(1)
  })

  it(`a chooser form posted ${RACERS} times at once: one handoff`, async () => {
    const tenant = await seedSignInTenant()
    const second = await phoneSystemNamed(tenant.orgId, 'Support', tenant.tenantId)
    await putList(second.id, [{ oid: tenant.user.oid, extension: '903' }])
    const result = await signIn(tenant.hostname, tenant.user)
    const token = /name="token" value="([^"]+)"/.exec(result.html)![1]!
    const answers = await race(() =>
      SELF.fetch(`https://${tenant.hostname}/sso/choose`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          cookie: `${FLOW_COOKIE}=${result.cookie}`,
          'content-type': 'application/x-www-form-urlencoded',
          origin: `https://${tenant.hostname}`,
          'sec-fetch-site': 'same-origin',
        },
        body: new URLSearchParams({ token, phoneSystem: second.id }),
      }),
    )
    const pages = await Promise.all(answers.map((res) => res.text()))
    expect(answers.map((res) => res.status).sort()).toEqual([200, ...Array(RACERS - 1).fill(400)])
    expect(pages.filter((html) => html.includes(HANDOFF_FIELD))).toHaveLength(1)
  })
})

describe('expiry', () => {
  it('every transition of an expired flow fails, before the alarm has run', async () => {
    const start = Date.now()
    const flow = newFlow(start)
    await store().consume(flow, false, start)
    await store().putChoices(flow.id, { identity, phoneSystemIds: ['ps_1'] }, 'token-hash')
    expect(await store().complete(flow.id, flow.hostname, flow.expiresAt)).toBeNull()
    expect(await store().takeChoice(flow.id, flow.hostname, 'token-hash', flow.expiresAt)).toBeNull()
    expect(await store().consume(flow, false, flow.expiresAt)).toBe(false)
    // Refusals changed nothing: before the end, the same values still work (once).
    expect(await store().takeChoice(flow.id, flow.hostname, 'token-hash', flow.expiresAt - 1)).not.toBeNull()
    expect(await store().complete(flow.id, flow.hostname, flow.expiresAt - 1)).not.toBeNull()
  })

  it('the object itself records no expired flow, whoever calls it', async () => {
    const flow = newFlow(Date.now() - FLOW_TTL_SECONDS * 1000 - 1)
    expect(await flowObject(flow.id).consume(flow, false, Date.now())).toBe(false)
    expect(await storageOf(flowObject(flow.id))).toEqual({ keys: [], alarm: null })
  })

  it('an expired flow is refused without creating an object', async () => {
    const before = await flowObjectCount()
    const flow = newFlow(Date.now() - FLOW_TTL_SECONDS * 1000 - 1)
    expect(await store().consume(flow, false, Date.now())).toBe(false)
    expect(await flowObjectCount()).toBe(before)
    expect(await storageOf(flowObject(flow.id))).toEqual({ keys: [], alarm: null })
  })

  it('the alarm, set at the flow expiry plus the grace, deletes everything the object held; a replay then is refused', async () => {
    const flow = newFlow()
    await store().consume(flow, false, Date.now())
    const stub = flowObject(flow.id)
    expect(await storageOf(stub)).toEqual({ keys: ['flow'], alarm: flow.expiresAt + FLOW_GRACE_MS })
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect(await storageOf(stub)).toEqual({ keys: [], alarm: null })
    // After the deletion the state has expired (it no longer opens), and consume refuses an expired flow too.
    expect(await store().consume(flow, false, flow.expiresAt + FLOW_GRACE_MS)).toBe(false)
    expect(await storageOf(stub)).toEqual({ keys: [], alarm: null })
    expect(await store().complete(flow.id, flow.hostname, Date.now())).toBeNull()
  })
})

describe('eviction', () => {
  it('what a flow has used up stays used up when its object is evicted and started again', async () => {
    const flow = newFlow()
    await store().consume(flow, false, Date.now())
    const stub = flowObject(flow.id)
    await evictDurableObject(stub)
    expect(await store().consume(flow, false, Date.now())).toBe(false)
    expect(await store().complete(flow.id, flow.hostname, Date.now())).toEqual(flow)
    await evictDurableObject(stub)
    expect(await store().complete(flow.id, flow.hostname, Date.now())).toBeNull()
    expect(await storageOf(flowObject(flow.id))).toMatchObject({ keys: ['flow'] })
  })
})

describe('what the object holds, and for whom', () => {
  it('keeps no PKCE secret and no readable identity: the choices are sealed', async () => {
    const flow: StartedFlow = { ...newFlow(), secrets: { verifier: 'the-verifier', nonce: 'the-nonce' } }
    await store().consume(flow, false, Date.now())
    await store().putChoices(flow.id, { identity, phoneSystemIds: ['ps_1'] }, 'token-hash')
    const held = JSON.stringify(await recordIn(flowObject(flow.id)))
    for (const secret of ['the-verifier', 'the-nonce', identity.upn, identity.oid, 'ps_1']) {
      expect(held).not.toContain(secret)
    }
  })

  it('a central sign-in leaves no identity in its object: it travels sealed in the completion code', async () => {
    const tenant = await seedSignInTenant()
    const { cookie, authorizeUrl } = await startLogin(tenant.hostname)
    const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
    const central = await SELF.fetch(callbackUrl, withCookie(null))
    const complete = central.headers.get('location')!
    expect(decodeURIComponent(complete)).not.toContain(tenant.user.oid)
    expect(decodeURIComponent(complete)).not.toContain(tenant.user.upn)
    const flowId = (await flowsOf(tenant.hostname))[0]!.flow.id
    const held = JSON.stringify(await recordIn(flowObject(flowId)))
    for (const secret of [tenant.user.oid, tenant.user.upn]) expect(held).not.toContain(secret)
    expect((await SELF.fetch(complete, withCookie(cookie))).status).toBe(200)
  })

  it('answers nothing for another host, and a value sealed for one flow does not open in another', async () => {
    const [a, b] = [newFlow(), newFlow()]
    for (const flow of [a, b]) await store().consume(flow, false, Date.now())
    await store().putChoices(a.id, { identity, phoneSystemIds: ['ps_1'] }, 'token-hash')
    expect(await store().complete(a.id, 'evil.localhost', Date.now())).toBeNull()
    expect(await store().takeChoice(a.id, 'evil.localhost', 'token-hash', Date.now())).toBeNull()
    // An attacker able to write flow b's object copies flow a's sealed values and hashes into it.
    const copied = (await recordIn(flowObject(a.id)))!
    await runInDurableObject(flowObject(b.id), (_instance, state) => {
      const record = state.storage.kv.get<FlowRecord>('flow')!
      state.storage.kv.put('flow', { ...copied, flow: record.flow })
    })
    expect(await store().takeChoice(b.id, b.hostname, 'token-hash', Date.now())).toBeNull()
    // Flow a's own values still work in flow a.
    expect(await store().takeChoice(a.id, a.hostname, 'token-hash', Date.now())).toMatchObject({
      choices: { identity },
    })
  })

  it('a transition on a flow never called back stores nothing', async () => {
    const flow = newFlow()
    await store().putChoices(flow.id, { identity, phoneSystemIds: ['ps_1'] }, 'token-hash')
    expect(await store().complete(flow.id, flow.hostname, Date.now())).toBeNull()
    expect(await store().takeChoice(flow.id, flow.hostname, 'token-hash', Date.now())).toBeNull()
    expect(await storageOf(flowObject(flow.id))).toEqual({ keys: [], alarm: null })
  })
})

describe('a flow object that does not answer', () => {
  /** SIGNIN_FLOWS whose every object fails the way the platform fails a call (or the way a bug would). */
  function failingFlows(error: Error): DurableObjectNamespace {
    const failing = () => Promise.reject(error)
    return {
      idFromName: (name: string) => env.SIGNIN_FLOWS.idFromName(name),
      get: () => ({ consume: failing, complete: failing, putChoices: failing, takeChoice: failing }),
    } as unknown as DurableObjectNamespace
  }

  async function callbackWith(error: Error) {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
    const res = await app.request(callbackUrl.href, withCookie(null), { ...env, SIGNIN_FLOWS: failingFlows(error) })
    return { res, html: await res.text(), tenant }
  }

  it('overloaded or reset (the platform marks it): a 503 page to start again, with Retry-After, nothing handed out', async () => {
    for (const error of [
      Object.assign(new Error('Durable Object is overloaded. Too many requests queued.'), { overloaded: true }),
      Object.assign(new Error('Network connection lost.'), { retryable: true }),
    ]) {
      const { res, html, tenant } = await callbackWith(error)
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('5')
      expect(html).toContain(`href="https://${tenant.hostname}/"`)
      expect(html).not.toContain(HANDOFF_FIELD)
      expect(res.headers.get('location')).toBeNull()
    }
  })

  it('an error of its own code (a bug) stays a 500', async () => {
    const { res } = await callbackWith(new TypeError('x is not a function'))
    expect(res.status).toBe(500)
  })
})
