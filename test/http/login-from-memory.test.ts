/**
 * The login page on a host the isolate already knows is answered before the
 * chain runs (src/workers/chain.ts `fromMemory`). What a visitor sees must not
 * depend on it: every request after the first below takes the shortcut, and
 * gets what the first (through the chain, reading D1) got, with a nonce and a
 * correlation id of its own; hosts the shortcut must not serve still get the
 * chain's answer however often they are asked.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { createCustomer, createPartner, seedTenant, uniqueLabel } from '../fixtures'

const nonceOf = (res: Response) =>
  /style-src 'nonce-([^']+)'/.exec(res.headers.get('content-security-policy') ?? '')?.[1]

async function insertHostname(hostname: string, orgId: string, status: string) {
  const now = Date.now()
  await env.DB.prepare(
    "INSERT INTO hostnames (hostname, org_id, kind, status, callback_mode, created_at, updated_at) VALUES (?, ?, 'custom', ?, 'central', ?, ?)",
  )
    .bind(hostname, orgId, status, now, now)
    .run()
}

describe('the login page of a known host', () => {
  it('answers as the chain does, each time with a fresh nonce and correlation id', async () => {
    const { hostname } = await seedTenant({ branding: { displayName: 'Remembered Corp' } })
    const answers = []
    for (let i = 0; i < 3; i++) {
      const res = await SELF.fetch(`https://${hostname}/`)
      answers.push({ res, html: await res.text() })
    }
    const [first, ...later] = answers
    expect(first!.res.status).toBe(200)
    expect(first!.html).toContain('Remembered Corp')
    const headerNames = (res: Response) => [...res.headers.keys()].sort()
    for (const { res, html } of later) {
      expect(res.status).toBe(200)
      expect(headerNames(res)).toEqual(headerNames(first!.res))
      const nonce = nonceOf(res)!
      expect(html).toBe(first!.html.replace(nonceOf(first!.res)!, nonce))
      expect(res.headers.get('content-security-policy')).toBe(
        first!.res.headers.get('content-security-policy')!.replaceAll(nonceOf(first!.res)!, nonce),
      )
    }
    const nonces = answers.map(({ res }) => nonceOf(res))
    const ids = answers.map(({ res }) => res.headers.get('x-correlation-id'))
    expect(new Set(nonces).size).toBe(3)
    expect(new Set(ids).size).toBe(3)
    expect(ids.every((id) => /^[0-9a-f-]{36}$/.test(id ?? ''))).toBe(true)
  })

  it('plain http on a known host is still sent to https', async () => {
    // Not below localhost: plain http is allowed there (loopback development).
    const { customer } = await seedTenant()
    const hostname = `${uniqueLabel()}.acme-phones.example`
    await insertHostname(hostname, customer.id, 'active')
    expect((await SELF.fetch(`https://${hostname}/`)).status).toBe(200)
    const res = await SELF.fetch(`http://${hostname}/?x=1`, { redirect: 'manual' })
    expect(res.status).toBe(308)
    expect(res.headers.get('location')).toBe(`https://${hostname}/?x=1`)
  })

  it('a pending host stays "being set up", and an unknown one stays unknown, however often asked', async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id, { branding: { displayName: 'Hidden Until Live' } })
    const pending = `${uniqueLabel()}.acme-phones.example`
    await insertHostname(pending, customer.id, 'pending')
    const unknown = `${uniqueLabel()}.nobody.example`
    for (let i = 0; i < 2; i++) {
      const res = await SELF.fetch(`https://${pending}/`)
      expect(res.status).toBe(503)
      expect(await res.text()).not.toContain('Hidden Until Live')
      const missing = await SELF.fetch(`https://${unknown}/`)
      expect(missing.status).toBe(404)
      expect(await missing.text()).toContain('Page not found')
    }
  })

  it('only GET: other methods on a known host get what the chain answers', async () => {
    const { hostname } = await seedTenant()
    expect((await SELF.fetch(`https://${hostname}/`)).status).toBe(200)
    const head = await SELF.fetch(`https://${hostname}/`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-security-policy')).toContain("style-src 'nonce-")
    const post = await SELF.fetch(`https://${hostname}/`, { method: 'POST' })
    expect(post.status).toBe(404)
  })
})
