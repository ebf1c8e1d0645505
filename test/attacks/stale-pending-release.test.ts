/**
 * Review 2, suspicion with a PoC of the rule (low; availability, not an
 * attacker's doing): releaseStalePending (src/hostnames/service.ts) releases
 * every `pending` custom domain whose created_at is older than 7 days. A
 * domain that was active for months and is seen `pending` once (Cloudflare
 * re-validating it, e.g. a certificate renewal waiting for DCV, which the
 * status mapping reads as pending) is detached and deleted at Cloudflare on
 * the next cron run, not 7 days after it became pending.
 *
 * The Cloudflare stand-in cannot turn an active hostname pending again, so
 * the refresh's outcome is written to D1 as the refresh would store it.
 * Safe behaviour asserted: a domain pending for minutes is not released.
 * Fixed: the 7 days count from `pending_since`, which the refresh sets when
 * it first sees the domain pending and clears when it is active again.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { TEST_ADMIN_KEY } from '../bindings'
import { createPartner, dbAll, PRIMARY, runCron, uniqueLabel } from '../fixtures'

const cloudflareEnv = { ...env, CUSTOM_HOSTNAMES: 'cloudflare' }

async function call(method: string, path: string, body?: unknown) {
  return app.request(
    `https://${PRIMARY}/api/v1${path}`,
    {
      method,
      headers: {
        authorization: `Bearer ${TEST_ADMIN_KEY}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
    cloudflareEnv,
  )
}

describe('review2: stale pending release counts from the attach, not from when the domain became pending', () => {
  it('a months-old active domain seen pending once is not released at the next cron run', async () => {
    const partner = await createPartner()
    const hostname = `${uniqueLabel('old')}.acme-corp.example`
    expect((await call('POST', `/orgs/${partner.id}/hostnames`, { hostname })).status).toBe(201)
    const base = env.CLOUDFLARE_API_BASE!.replace(/\/client\/v4$/, '')
    await fetch(`${base}/__control/publish`, { method: 'POST', body: JSON.stringify({ hostname }) })
    expect(await (await call('POST', `/hostnames/${hostname}/check`)).json()).toMatchObject({ status: 'active' })
    const now = Date.now()
    // Months later, today's refresh saw it pending (stored as refreshFromCloudflare stores it).
    await env.DB.prepare(
      'UPDATE hostnames SET created_at = ?, status = ?, pending_since = ?, checked_at = ?, next_check_at = ? WHERE hostname = ?',
    )
      .bind(now - 90 * 24 * 3600_000, 'pending', now, now, now + 60_000, hostname)
      .run()
    await runCron(cloudflareEnv)
    expect(await dbAll('SELECT status FROM hostnames WHERE hostname = ?', hostname)).toEqual([{ status: 'pending' }])
  })
})
