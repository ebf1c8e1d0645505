import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { contrastRatio } from '../../src/tenancy/colors'
import { api, apiJson, createCustomer, createPartner, PRIMARY, seedTenant, uniqueLabel, ZONE } from '../fixtures'

async function get(url: string, init?: RequestInit) {
  const res = await SELF.fetch(url, init)
  return { res, html: await res.text() }
}

function expectSecurityHeaders(res: Response) {
  const csp = res.headers.get('content-security-policy') ?? ''
  expect(csp).toContain("frame-ancestors 'none'")
  expect(csp).toContain("default-src 'none'")
  expect(csp).toContain("base-uri 'none'")
  expect(csp).not.toContain('unsafe-inline')
  expect(res.headers.get('referrer-policy')).toBe('no-referrer')
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  expect(res.headers.get('strict-transport-security')).toMatch(/^max-age=\d{7,}/)
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
}

/** Every URL the page makes the browser load (not links it offers). */
function loadedResources(html: string): string[] {
  return [...html.matchAll(/<(?:img|script|link|iframe|source|video|audio)\b[^>]*?\s(?:src|href)="([^"]*)"/g)].map(
    (m) => m[1]!,
  )
}

async function insertHostname(hostname: string, orgId: string, status: string) {
  const now = Date.now()
  await env.DB.prepare(
    "INSERT INTO hostnames (hostname, org_id, kind, status, callback_mode, created_at, updated_at) VALUES (?, ?, 'custom', ?, 'central', ?, ?)",
  )
    .bind(hostname, orgId, status, now, now)
    .run()
}

describe('branded login page on a tenant host', () => {
  it('shows the tenant name and one "Sign in with Microsoft" button to /sso/login', async () => {
    const { hostname } = await seedTenant({ branding: { displayName: 'Acme Telecom', accentColor: '#C2185B' } })
    for (const path of ['/', '/sso/webclient']) {
      const { res, html } = await get(`https://${hostname}${path}`)
      expect(res.status).toBe(200)
      expect(html.startsWith('<!doctype html>')).toBe(true)
      expect(html).toContain('<html lang="en">')
      expect(html).toContain('Acme Telecom')
      expect(html.match(/Sign in with Microsoft/g)).toHaveLength(1)
      expect(html).toMatch(/<a class="button" href="\/sso\/login" id="sign-in">/)
      expect(html).toContain('--accent:#c2185b')
      expectSecurityHeaders(res)
    }
  })

  it('allows its inline style by a nonce that changes on every answer', async () => {
    const { hostname } = await seedTenant()
    const nonces = new Set<string>()
    for (let i = 0; i < 3; i++) {
      const { res, html } = await get(`https://${hostname}/`)
      const nonce = /style-src 'nonce-([A-Za-z0-9_-]{16,})'/.exec(res.headers.get('content-security-policy') ?? '')?.[1]
      expect(nonce).toBeDefined()
      expect(html).toContain(`<style nonce="${nonce}">`)
      nonces.add(nonce!)
    }
    expect(nonces.size).toBe(3)
  })

  it('loads nothing from elsewhere without a logo, and only the logo with one', async () => {
    const plain = await seedTenant()
    const bare = await get(`https://${plain.hostname}/`)
    expect(loadedResources(bare.html)).toEqual([])
    expect(bare.res.headers.get('content-security-policy')).toContain("img-src 'none'")

    const logoUrl = 'https://cdn.acme-brand.example/logo.png'
    const branded = await seedTenant({ branding: { displayName: 'Acme', logoUrl } })
    const withLogo = await get(`https://${branded.hostname}/`)
    expect(loadedResources(withLogo.html)).toEqual([logoUrl])
    expect(withLogo.html).toContain('alt="Acme logo"')
    expect(withLogo.res.headers.get('content-security-policy')).toContain('img-src https://cdn.acme-brand.example;')
  })

  it.each([
    ['#ffeb3b', '#000000'],
    ['#1a237e', '#ffffff'],
    ['#777777', '#000000'],
    ['#ffffff', '#000000'],
    ['#000000', '#ffffff'],
  ])('puts readable text on accent %s', async (accent, text) => {
    const { hostname } = await seedTenant({ branding: { accentColor: accent } })
    const { html } = await get(`https://${hostname}/`)
    expect(html).toContain(`--accent:${accent};--on-accent:${text}`)
    expect(contrastRatio(accent, text)).toBeGreaterThanOrEqual(4.5)
  })

  it('escapes a display name full of markup', async () => {
    const { hostname } = await seedTenant({ branding: { displayName: '<script>alert(1)</script>&"' } })
    const { html } = await get(`https://${hostname}/`)
    expect(html).not.toContain('<script>alert(1)</script>')
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;')
  })

  it('answers the same host with a port, in capitals and with a trailing dot', async () => {
    const { hostname } = await seedTenant({ branding: { displayName: 'Portful' } })
    const res = await SELF.fetch(`https://${hostname.toUpperCase()}.:8443/`)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Portful')
  })
})

describe('primary host', () => {
  it.each(['/', '/sso/webclient'])('%s shows the tenant-agnostic login page', async (path) => {
    const { res, html } = await get(`https://${PRIMARY}${path}`)
    expect(res.status).toBe(200)
    expect(html).toContain('Phone System')
    expect(html).toContain('Use the Microsoft 365 work account your organization set up for single sign-on.')
    expect(html).toContain('href="/sso/login"')
    expectSecurityHeaders(res)
  })
})

describe('hosts that must not show a login page', () => {
  it('an unknown host gets a neutral 404 that is the same for every unknown host and names nobody', async () => {
    await seedTenant({ branding: { displayName: 'Secret Customer' } })
    const a = await get(`https://${uniqueLabel()}.${ZONE}/`)
    const b = await get(`https://nobody-${uniqueLabel()}.example.org/sso/webclient`)
    expect(a.res.status).toBe(404)
    expect(b.res.status).toBe(404)
    expect(a.html).toContain('Page not found')
    expect(a.html.replace(/nonce="[^"]*"/g, '')).toBe(b.html.replace(/nonce="[^"]*"/g, ''))
    expect(a.html).not.toContain('Secret Customer')
    expect(a.html).not.toContain(ZONE)
    expectSecurityHeaders(a.res)
  })

  it.each(['pending', 'failed'])('a %s host gets the "being set up" page, without the tenant name', async (status) => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id, { branding: { displayName: 'Hidden Until Live' } })
    const hostname = `${uniqueLabel()}.acme-phones.example`
    await insertHostname(hostname, customer.id, status)
    const { res, html } = await get(`https://${hostname}/`)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('300')
    expect(html).toContain('This domain is being set up')
    expect(html).not.toContain('Hidden Until Live')
    expect(html).not.toContain('Sign in with Microsoft')
    expectSecurityHeaders(res)
  })

  it('a moved host is unknown', async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const hostname = `${uniqueLabel()}.acme-phones.example`
    await insertHostname(hostname, customer.id, 'moved')
    const { res, html } = await get(`https://${hostname}/`)
    expect(res.status).toBe(404)
    expect(html).toContain('Page not found')
  })

  it.each([
    ['an IPv4 address', 'https://127.0.0.1/'],
    ['an IPv6 address', 'https://[::1]/'],
  ])('%s as host gets a neutral 400', async (_name, url) => {
    const { res, html } = await get(url)
    expect(res.status).toBe(400)
    expect(html).toContain('Bad request')
    expectSecurityHeaders(res)
  })

  it('an unknown path on a tenant host is a 404 page', async () => {
    const { hostname } = await seedTenant()
    const { res, html } = await get(`https://${hostname}/wp-admin/`)
    expect(res.status).toBe(404)
    expect(html).toContain('Page not found')
    expectSecurityHeaders(res)
  })

  it('the admin API does not exist on a tenant host, even with the ops key', async () => {
    const { hostname } = await seedTenant()
    const res = await api('GET', '/orgs', undefined, { host: hostname })
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(await res.text()).toContain('Page not found')
  })
})

describe('failures', () => {
  const brokenDb = {
    prepare() {
      throw new Error('D1_ERROR: Network connection lost.')
    },
  } as unknown as D1Database

  it('a database outage during host lookup is a 503 page with a reference, not a stack trace', async () => {
    const res = await app.request(`https://${uniqueLabel()}.${ZONE}/`, {}, { ...env, DB: brokenDb })
    const html = await res.text()
    expect(res.status).toBe(503)
    expect(html).toContain('Sign-in is temporarily unavailable')
    expect(html).toMatch(/Reference: <code>[0-9a-f-]{36}<\/code>/)
    expect(html).not.toContain('D1_ERROR')
    expect(html).not.toContain('at ')
  })

  it('a missing PRIMARY_HOST is a 500 page that leaks no configuration', async () => {
    const res = await app.request('https://login.localhost/', {}, { ...env, PRIMARY_HOST: '' })
    const html = await res.text()
    expect(res.status).toBe(500)
    expect(html).toContain('Sign-in is temporarily unavailable')
    expect(html).not.toContain('PRIMARY_HOST')
  })
})

describe('GET /healthz', () => {
  it('answers 200 JSON when D1 answers, on any host', async () => {
    for (const host of [PRIMARY, `${uniqueLabel()}.example.org`]) {
      const res = await SELF.fetch(`https://${host}/healthz`)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ status: 'ok', database: 'ok', configuration: 'ok' })
      expect(res.headers.get('cache-control')).toBe('no-store')
    }
  })

  it('answers 503 when D1 does not', async () => {
    const brokenDb = {
      prepare: () => ({
        first: async () => {
          throw new Error('D1_ERROR: unavailable')
        },
      }),
    } as unknown as D1Database
    const res = await app.request('https://login.localhost/healthz', {}, { ...env, DB: brokenDb })
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: 'unavailable', database: 'unreachable', configuration: 'ok' })
  })

  it('answers 503 JSON naming the broken variable when the configuration is invalid, never a secret', async () => {
    const res = await app.request(
      'https://login.localhost/healthz',
      {},
      { ...env, FLOW_KEY: 'c2hvcnQ', ADMIN_API_KEY: 'too-short-secret' },
    )
    expect(res.status).toBe(503)
    const body = await res.json<any>()
    expect(body).toMatchObject({
      status: 'unavailable',
      database: 'ok',
      configuration: expect.stringMatching(/^invalid: (FLOW_KEY|ADMIN_API_KEY)/),
    })
    expect(JSON.stringify(body)).not.toContain('too-short-secret')
    expect(JSON.stringify(body)).not.toContain('c2hvcnQ')
  })
})

void apiJson
