/**
 * Review 3 (low, availability): a partner held a custom domain it never
 * proved, for good, once Cloudflare gave up on it.
 *
 * The scheduled release (`releaseStalePending`, src/hostnames/service.ts)
 * only took `pending` rows. The refresh turns a pending domain `failed`
 * when Cloudflare's certificate validation times out or Cloudflare no
 * longer has the hostname, and cleared `pending_since`; a failed row is
 * never checked again. So a hostile partner attached a competitor's domain
 * it could not verify, waited for Cloudflare to give up, and the domain was
 * blocked for its real owner (409 `hostname_taken`) until ops detached it
 * by hand.
 *
 * The rule: a custom domain that is `pending` or `failed` 7 days after it
 * was attached (or last seen pending after being active) is released; one
 * that failed straight from `active` is kept for its owner and ops to see.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { TEST_ADMIN_KEY, TEST_CLOUDFLARE_TOKEN, TEST_CLOUDFLARE_ZONE } from '../bindings'
import { apiJson, createPartner, dbAll, PRIMARY, runCron, uniqueLabel } from '../fixtures'

const cloudflareEnv = { ...env, CUSTOM_HOSTNAMES: 'cloudflare' }
const DAY = 24 * 3600_000

async function call(method: string, path: string, body?: unknown, key = TEST_ADMIN_KEY) {
  return app.request(
    `https://${PRIMARY}/api/v1${path}`,
    {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
    cloudflareEnv,
  )
}

/** Cloudflare removes the custom hostname (as it does with ones that never validated); a check stores `failed`. */
async function cloudflareGivesUp(hostname: string, key: string) {
  const [row] = await dbAll<any>('SELECT cloudflare_id FROM hostnames WHERE hostname = ?', hostname)
  const del = await fetch(
    `${env.CLOUDFLARE_API_BASE}/zones/${TEST_CLOUDFLARE_ZONE}/custom_hostnames/${row.cloudflare_id}`,
    { method: 'DELETE', headers: { authorization: `Bearer ${TEST_CLOUDFLARE_TOKEN}` } },
  )
  expect(del.status).toBe(200)
  const checked = await (await call('POST', `/hostnames/${hostname}/check`, undefined, key)).json<any>()
  expect(checked.status).toBe('failed')
}

/** Every time on the row moved `days` back: that many days pass. */
async function daysPass(hostname: string, days: number) {
  await env.DB.prepare(
    `UPDATE hostnames SET created_at = created_at - ?1, updated_at = updated_at - ?1, checked_at = checked_at - ?1,
       pending_since = pending_since - ?1 WHERE hostname = ?2`,
  )
    .bind(days * DAY, hostname)
    .run()
}

async function squatter() {
  const partner = await createPartner('Squatter')
  const { key } = await apiJson('POST', `/orgs/${partner.id}/api-keys`, {}, 201)
  return { partner, key }
}

describe('nobody holds a domain Cloudflare gave up on', () => {
  it('a never-proven custom domain that failed is released after 7 days, so its real owner can attach it', async () => {
    const { partner, key } = await squatter()
    const hostname = `${uniqueLabel('login')}.competitor.example`
    const attached = await call('POST', `/orgs/${partner.id}/hostnames`, { hostname }, key)
    expect(await attached.json<any>()).toMatchObject({ status: 'pending' })
    await cloudflareGivesUp(hostname, key)

    await daysPass(hostname, 6)
    await runCron(cloudflareEnv)
    expect(await dbAll('SELECT status FROM hostnames WHERE hostname = ?', hostname)).toEqual([{ status: 'failed' }])

    await daysPass(hostname, 2)
    await runCron(cloudflareEnv)
    expect(await dbAll('SELECT hostname FROM hostnames WHERE hostname = ?', hostname)).toEqual([])
    const [audit] = await dbAll<any>(
      "SELECT actor, summary FROM audit_log WHERE action = 'hostname.release' AND target_id = ?",
      hostname,
    )
    expect(audit.actor).toBe('system')
    expect(JSON.parse(audit.summary).reason).toContain('Verification failed')

    const owner = await createPartner('Real owner')
    const res = await call('POST', `/orgs/${owner.id}/hostnames`, { hostname })
    expect(res.status, await res.clone().text()).toBe(201)
  })

  it('a custom domain that failed after being active is kept', async () => {
    const { partner, key } = await squatter()
    const hostname = `${uniqueLabel('login')}.own-domain.example`
    expect((await call('POST', `/orgs/${partner.id}/hostnames`, { hostname }, key)).status).toBe(201)
    const base = env.CLOUDFLARE_API_BASE!.replace(/\/client\/v4$/, '')
    await fetch(`${base}/__control/publish`, { method: 'POST', body: JSON.stringify({ hostname }) })
    expect(await (await call('POST', `/hostnames/${hostname}/check`, undefined, key)).json()).toMatchObject({
      status: 'active',
    })
    await cloudflareGivesUp(hostname, key)

    await daysPass(hostname, 30)
    await runCron(cloudflareEnv)
    expect(await dbAll('SELECT status FROM hostnames WHERE hostname = ?', hostname)).toEqual([{ status: 'failed' }])
  })
})
