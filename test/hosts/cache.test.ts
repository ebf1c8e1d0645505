import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config'
import { resolveHost } from '../../src/hosts/resolve'
import { TtlCache } from '../../src/lib/ttl-cache'
import type { TenantSite } from '../../src/tenancy/site'
import { createCustomer, createPartner, uniqueLabel, ZONE } from '../fixtures'

function clock(start = 1_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

describe('TtlCache', () => {
  it('answers from memory until the TTL passes, then misses', () => {
    const time = clock()
    const cache = new TtlCache<string>({ ttlMs: 1000, now: time.now })
    cache.set('a', 'A')
    expect(cache.get('a')).toEqual({ hit: true, value: 'A' })
    time.advance(999)
    expect(cache.get('a')).toEqual({ hit: true, value: 'A' })
    time.advance(1)
    expect(cache.get('a')).toEqual({ hit: false })
  })

  it('caches negative answers with their own TTL', () => {
    const time = clock()
    const cache = new TtlCache<string>({ ttlMs: 10_000, negativeTtlMs: 500, now: time.now })
    cache.set('unknown', null)
    expect(cache.get('unknown')).toEqual({ hit: true, value: null })
    time.advance(500)
    expect(cache.get('unknown')).toEqual({ hit: false })
  })

  it('stays bounded when flooded with distinct unknown keys, evicting the least recently used', () => {
    const cache = new TtlCache<string>({ ttlMs: 60_000, maxEntries: 100, maxNegativeEntries: 100 })
    for (let i = 0; i < 10_000; i++) cache.set(`host${i}.example`, null)
    expect(cache.size).toBe(100)
    expect(cache.get('host0.example')).toEqual({ hit: false })
    expect(cache.get('host9999.example')).toEqual({ hit: true, value: null })
  })

  it('a flood of random unknown names never pushes a tenant out', () => {
    const cache = new TtlCache<string>({ ttlMs: 60_000, maxEntries: 10, maxNegativeEntries: 10 })
    cache.set('acme.example', 'Acme')
    for (let i = 0; i < 10_000; i++) cache.set(`${crypto.randomUUID()}.zone.example`, null)
    expect(cache.get('acme.example')).toEqual({ hit: true, value: 'Acme' })
    expect(cache.size).toBe(11)
  })

  it('evicts the least recently used tenant, not the first inserted', () => {
    const cache = new TtlCache<string>({ ttlMs: 60_000, maxEntries: 3 })
    cache.set('a', 'A')
    cache.set('b', 'B')
    cache.set('c', 'C')
    // `a` is busy: read it, then a fourth tenant arrives.
    expect(cache.get('a')).toEqual({ hit: true, value: 'A' })
    cache.set('d', 'D')
    expect(cache.get('a')).toEqual({ hit: true, value: 'A' })
    expect(cache.get('b')).toEqual({ hit: false })
    expect(cache.get('c')).toEqual({ hit: true, value: 'C' })
    expect(cache.get('d')).toEqual({ hit: true, value: 'D' })
  })

  it('a name that becomes known moves from the negative space to the found one', () => {
    const cache = new TtlCache<string>({ ttlMs: 60_000, maxEntries: 1, maxNegativeEntries: 1 })
    cache.set('new.example', null)
    cache.set('new.example', 'New')
    cache.set('other.example', null)
    expect(cache.get('new.example')).toEqual({ hit: true, value: 'New' })
    expect(cache.size).toBe(2)
  })

  it('does not cache at all with a TTL of zero', () => {
    const cache = new TtlCache<string>({ ttlMs: 0 })
    cache.set('a', 'A')
    expect(cache.get('a')).toEqual({ hit: false })
  })
})

describe('resolveHost over D1', () => {
  const config = parseConfig({ ...env, HOST_CACHE_TTL_SECONDS: '30' })

  async function insertHostname(hostname: string, orgId: string) {
    const now = Date.now()
    await env.DB.prepare(
      "INSERT INTO hostnames (hostname, org_id, kind, status, callback_mode, created_at, updated_at) VALUES (?, ?, 'subdomain', 'active', 'central', ?, ?)",
    )
      .bind(hostname, orgId, now, now)
      .run()
  }

  it('keeps a negative answer for the TTL, then sees a host added to D1 behind its back', async () => {
    const time = clock()
    const cache = new TtlCache<TenantSite>({ ttlMs: 30_000, now: time.now })
    const partner = await createPartner()
    const customer = await createCustomer(partner.id, { name: 'Late Co' })
    const hostname = `${uniqueLabel()}.${ZONE}`

    expect(await resolveHost(env.DB, config, hostname, cache)).toBeNull()
    await insertHostname(hostname, customer.id)
    time.advance(29_999)
    expect(await resolveHost(env.DB, config, hostname, cache)).toBeNull()
    time.advance(1)
    const site = await resolveHost(env.DB, config, hostname, cache)
    expect(site).toMatchObject({ kind: 'tenant', hostname, org: { id: customer.id, name: 'Late Co' } })
  })

  it('keeps a positive answer for the TTL after D1 changes, then sees the change', async () => {
    const time = clock()
    const cache = new TtlCache<TenantSite>({ ttlMs: 30_000, now: time.now })
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const hostname = `${uniqueLabel()}.${ZONE}`
    await insertHostname(hostname, customer.id)

    expect(await resolveHost(env.DB, config, hostname, cache)).not.toBeNull()
    await env.DB.prepare('DELETE FROM hostnames WHERE hostname = ?').bind(hostname).run()
    expect(await resolveHost(env.DB, config, hostname, cache)).not.toBeNull()
    time.advance(30_000)
    expect(await resolveHost(env.DB, config, hostname, cache)).toBeNull()
  })

  it('answers the primary host from configuration, never from D1', async () => {
    const cache = new TtlCache<TenantSite>({ ttlMs: 30_000 })
    expect(await resolveHost(env.DB, config, 'login.localhost', cache)).toMatchObject({ kind: 'primary' })
    expect(cache.size).toBe(0)
  })

  it('falls back to safe branding when a row holds an unsafe colour or logo', async () => {
    const cache = new TtlCache<TenantSite>({ ttlMs: 30_000 })
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    await env.DB.prepare(
      "UPDATE organizations SET accent_color = 'red;}</style><script>', logo_url = 'javascript:alert(1)' WHERE id = ?",
    )
      .bind(customer.id)
      .run()
    const hostname = `${uniqueLabel()}.${ZONE}`
    await insertHostname(hostname, customer.id)
    const site = await resolveHost(env.DB, config, hostname, cache)
    expect(site?.branding).toEqual({ displayName: 'Customer', logoUrl: null, accentColor: '#0f6cbd' })
  })
})
