/**
 * (holds): the state is the only record of a flow until its callback; the
 * callback creates the flow's object, which makes the state single-use, and
 * the object's alarm deletes it a little after the flow expired. A replay
 * after the deletion would find an empty object: it must be refused by the
 * state's own expiry. Checked at the boundaries: the last millisecond the
 * state opens, the alarm's time, and a replay from then on.
 */
import { env, runDurableObjectAlarm, SELF } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { getConfig } from '../../src/config'
import { flowFromState } from '../../src/signin/flow'
import { FLOW_GRACE_MS } from '../../src/signin/flow-object'
import { durableFlowStore } from '../../src/signin/flow-store'
import { PRIMARY, runCron, seedSignInTenant, startLogin } from '../fixtures'
import { flowObject, recordIn, storageOf } from '../flows'

afterEach(() => {
  vi.useRealTimers()
})

describe('a state cannot outlive its flow object', () => {
  it('the alarm deletes a used flow only after its state stopped opening; a replay then is refused and writes nothing', async () => {
    const config = getConfig(env as never)
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const state = authorizeUrl.searchParams.get('state')!
    const flow = (await flowFromState(state, config.flowKey))!
    expect(flow).not.toBeNull()
    const used = await SELF.fetch(
      `https://${PRIMARY}/sso/callback?error=access_denied&state=${encodeURIComponent(state)}`,
    )
    await used.text()
    const object = flowObject(flow.id)
    expect(await recordIn(object)).toMatchObject({ flow: { id: flow.id } })

    // The state stops opening at its own expiry; the object is deleted only after that.
    vi.useFakeTimers({ toFake: ['Date'], now: flow.expiresAt - 1 })
    expect(await flowFromState(state, config.flowKey)).not.toBeNull()
    vi.setSystemTime(flow.expiresAt)
    expect(await flowFromState(state, config.flowKey)).toBeNull()
    vi.useRealTimers()
    expect((await storageOf(object)).alarm).toBe(flow.expiresAt + FLOW_GRACE_MS)
    expect(await runDurableObjectAlarm(object)).toBe(true)
    expect(await storageOf(object)).toEqual({ keys: [], alarm: null })

    // A replay now: refused before any write (the state no longer opens, and consume checks the expiry too).
    vi.useFakeTimers({ toFake: ['Date'], now: flow.expiresAt + FLOW_GRACE_MS })
    expect(await flowFromState(state, config.flowKey)).toBeNull()
    const store = durableFlowStore(env.SIGNIN_FLOWS, config.flowKey)
    expect(await store.consume(flow, false, flow.expiresAt + FLOW_GRACE_MS)).toBe(false)
    vi.useRealTimers()
    expect(await storageOf(object)).toEqual({ keys: [], alarm: null })
  })
})

describe('flows left in D1 from before flow objects', () => {
  it('the cron deletes the legacy rows of expired flows, and only those', async () => {
    const now = Date.now()
    const insert = (id: string, expiresAt: number) =>
      env.DB.prepare(
        `INSERT INTO sso_flows (id, hostname, redirect_uri, tenant, created_at, expires_at, consumed_at)
         VALUES (?, 'legacy.localhost', ?, 'organizations', ?, ?, ?)`,
      )
        .bind(id, `https://${PRIMARY}/sso/callback`, expiresAt - 600_000, expiresAt, expiresAt - 500_000)
        .run()
    const [expired, live] = [crypto.randomUUID(), crypto.randomUUID()]
    await insert(expired, now - 1000)
    await insert(live, now + 300_000)
    await runCron()
    const left = await env.DB.prepare('SELECT id FROM sso_flows WHERE id IN (?, ?)').bind(expired, live).all()
    expect(left.results).toEqual([{ id: live }])
  })
})
