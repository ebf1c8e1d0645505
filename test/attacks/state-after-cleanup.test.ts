/**
 * (holds): the state is the only record of a flow until its callback;
 * the callback's INSERT … ON CONFLICT DO NOTHING makes it single-use, and the
 * cleanup deletes flow rows an hour after they expired. A replay after the
 * row is gone would be a fresh INSERT: it must be refused by the state's own
 * expiry. Checked at the boundaries: the last millisecond the row is kept,
 * the first one it may be deleted, and a replay from then on.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { getConfig } from '../../src/config'
import { runScheduledJobs } from '../../src/jobs/scheduled'
import { flowFromState } from '../../src/signin/flow'
import { d1FlowStore } from '../../src/signin/flow-store'
import { PRIMARY, seedSignInTenant, startLogin } from '../fixtures'

afterEach(() => {
  vi.useRealTimers()
})

async function flowRow(id: string) {
  return env.DB.prepare('SELECT id FROM sso_flows WHERE id = ?').bind(id).first()
}

describe('a state cannot outlive its flow row', () => {
  it('the cleanup deletes a used flow only after its state stopped opening; a replay then is refused and writes nothing', async () => {
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
    expect(await flowRow(flow.id)).not.toBeNull()

    const store = d1FlowStore(env.DB, config.flowKey)
    // The state stops opening at its own expiry, the row's.
    vi.useFakeTimers({ toFake: ['Date'], now: flow.expiresAt - 1 })
    expect(await flowFromState(state, config.flowKey)).not.toBeNull()
    vi.setSystemTime(flow.expiresAt)
    expect(await flowFromState(state, config.flowKey)).toBeNull()
    // Kept for the hour after expiry, deleted from then on.
    expect(await store.deleteExpired(flow.expiresAt + 3600_000, 500)).toBeGreaterThanOrEqual(0)
    expect(await flowRow(flow.id)).not.toBeNull()
    vi.setSystemTime(flow.expiresAt + 3600_001)
    const ctx = createExecutionContext()
    runScheduledJobs(env as never, ctx, flow.expiresAt + 3600_001)
    await waitOnExecutionContext(ctx)
    expect(await flowRow(flow.id)).toBeNull()
    // A replay now: refused before any write (the state no longer opens, and consume checks the expiry too).
    expect(await flowFromState(state, config.flowKey)).toBeNull()
    expect(await store.consume(flow, flow.expiresAt + 3600_001)).toBe(false)
    vi.useRealTimers()
    expect(await flowRow(flow.id)).toBeNull()
  })
})
