/**
 * ARCHITECTURE §8, "nothing anonymous writes to D1 before a valid state,
 * cookie or one-time code is presented". A state, completion code or chooser
 * token that was already used (or is presented on a host it is not for) is
 * not a valid one, yet each such request writes a `sign_in_attempts` row:
 * `takeCallback` / `takeCompletion` mark the attempt `authentic` as soon as
 * the value *opens*, before the single-use check (and, for the state, before
 * the host check). Anyone gets a genuine state from /sso/login, so one state
 * buys one stored row per request for its whole 10 minutes (bounded only by
 * the per-IP allowance), attributed to the victim host's organization, in
 * parallel too. These failed before the fix (review 4).
 *
 * Fix: mark the attempt authentic only once the state/code/token has been
 * taken (after `consume`/`takeCompletion`/`takeChoice` succeeded), or at
 * least after the host check, and log the rest.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import {
  auditSettled,
  FLOW_COOKIE,
  PRIMARY,
  phoneSystemNamed,
  putList,
  seedSignInTenant,
  signIn,
  startLogin,
  withCookie,
} from '../fixtures'
import { flowIdOfState, flowObject, flowObjectCount, recordIn } from '../flows'

/** The host's sign-in attempt rows, once every row sent so far has landed: a replay's row, if any, is in the count. */
async function attemptsOf(hostname: string): Promise<number> {
  await auditSettled()
  const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM sign_in_attempts WHERE hostname = ?')
    .bind(hostname)
    .first<{ n: number }>()
  return row!.n
}

/** The flow objects there are, and what the used state's own object holds: what a replay must leave as it is. */
async function flowState(flowId: string) {
  return { objects: await flowObjectCount(), record: await recordIn(flowObject(flowId)) }
}

describe('replays of genuine one-time values write nothing', () => {
  it('a used state replayed 20 times (in parallel) adds no sign-in attempt rows', async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const state = authorizeUrl.searchParams.get('state')!
    const callback = `https://${PRIMARY}/sso/callback?error=access_denied&state=${encodeURIComponent(state)}`
    const flowId = await flowIdOfState(state)
    // The first use is genuine: its flow object and its attempt row are the design's.
    expect((await SELF.fetch(callback)).status).toBeGreaterThanOrEqual(400)
    const attempts = await attemptsOf(tenant.hostname)
    const flows = await flowState(flowId)
    expect(flows.record?.consumedAt).toEqual(expect.any(Number))
    expect(attempts).toBe(1)
    const replays = await Promise.all(Array.from({ length: 20 }, () => SELF.fetch(callback)))
    for (const res of replays) {
      expect(res.status).toBe(400)
      await res.text()
    }
    expect(await flowState(flowId)).toEqual(flows)
    expect(await attemptsOf(tenant.hostname)).toBe(attempts)
  })

  it('a genuine state presented on a host it is not for writes nothing', async () => {
    const tenant = await seedSignInTenant()
    const other = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const state = encodeURIComponent(authorizeUrl.searchParams.get('state')!)
    // Central mode: the state's callback is on the primary host; here it goes to two other hosts.
    for (const host of [tenant.hostname, other.hostname]) {
      const res = await SELF.fetch(`https://${host}/sso/callback?code=x&state=${state}`)
      expect(res.status).toBe(400)
      await res.text()
    }
    expect(await attemptsOf(tenant.hostname)).toBe(0)
    expect(await attemptsOf(other.hostname)).toBe(0)
  })

  it('a used completion code replayed in its own browser adds no sign-in attempt rows', async () => {
    const tenant = await seedSignInTenant()
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.res.status).toBe(200)
    const complete = result.central!.headers.get('location')!
    const attempts = await attemptsOf(tenant.hostname)
    for (let i = 0; i < 5; i++) {
      const res = await SELF.fetch(complete, withCookie(result.cookie))
      expect(res.status).toBe(400)
      await res.text()
    }
    expect(await attemptsOf(tenant.hostname)).toBe(attempts)
  })
  it('a used chooser token replayed in its own browser adds no sign-in attempt rows', async () => {
    const tenant = await seedSignInTenant()
    const second = await phoneSystemNamed(tenant.orgId, 'Support', tenant.tenantId)
    await putList(second.id, [{ oid: tenant.user.oid, extension: '902' }])
    const result = await signIn(tenant.hostname, tenant.user)
    const token = /name="token" value="([^"]+)"/.exec(result.html)![1]!
    const choose = () =>
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
      })
    const first = await choose()
    expect(first.status).toBe(200)
    await first.text()
    const attempts = await attemptsOf(tenant.hostname)
    const replays = await Promise.all(Array.from({ length: 5 }, choose))
    for (const res of replays) {
      expect(res.status).toBe(400)
      await res.text()
    }
    expect(await attemptsOf(tenant.hostname)).toBe(attempts)
  })
})
