import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { api, apiJson, createCustomer, createPartner, dbAll, PRIMARY, uniqueLabel, ZONE } from '../fixtures'

async function hostnameCount(): Promise<number> {
  const [row] = await dbAll<{ n: number }>('SELECT count(*) AS n FROM hostnames')
  return row!.n
}

describe('POST /api/v1/orgs/{id}/hostnames', () => {
  it('attaches a provider subdomain: active at once, central callback, nothing to verify, audited', async () => {
    const partner = await createPartner()
    const customer = await createCustomer(partner.id)
    const hostname = `${uniqueLabel()}.${ZONE}`
    const res = await api('POST', `/orgs/${customer.id}/hostnames`, { hostname })
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({
      hostname,
      organizationId: customer.id,
      kind: 'subdomain',
      status: 'active',
      callbackMode: 'central',
      redirectUriRegistered: false,
      verification: null,
    })
    expect(await dbAll('SELECT org_id, kind, status FROM hostnames WHERE hostname = ?', hostname)).toEqual([
      { org_id: customer.id, kind: 'subdomain', status: 'active' },
    ])
    expect(await dbAll('SELECT action FROM audit_log WHERE target_id = ?', hostname)).toEqual([
      { action: 'hostname.attach' },
    ])
    expect((await SELF.fetch(`https://${hostname}/`)).status).toBe(200)
  })

  it('attaches a custom domain, active at once with CUSTOM_HOSTNAMES=local, stored as lowercase punycode', async () => {
    const partner = await createPartner()
    const label = uniqueLabel()
    const res = await api('POST', `/orgs/${partner.id}/hostnames`, {
      hostname: `Téléphone-${label}.Acme.FR`,
      callbackMode: 'direct',
    })
    expect(res.status).toBe(201)
    const body = await res.json<any>()
    expect(body).toMatchObject({ kind: 'custom', status: 'active', callbackMode: 'direct' })
    expect(body.hostname).toMatch(/^xn--tlphone-.*\.acme\.fr$/)
    expect(body.hostname).toBe(body.hostname.toLowerCase())
  })

  describe('refuses, with the exact code, and writes nothing', () => {
    const cases: Array<[string, unknown, number, string, RegExp]> = [
      ['a scheme', { hostname: 'https://phones.acme.com' }, 400, 'invalid_hostname', /without a scheme/],
      ['a path', { hostname: 'phones.acme.com/login' }, 400, 'invalid_hostname', /without a path/],
      ['a port', { hostname: 'phones.acme.com:8443' }, 400, 'invalid_hostname', /without a port/],
      ['a wildcard', { hostname: '*.acme.com' }, 400, 'invalid_hostname', /wildcards are not allowed/],
      ['an IPv4 address', { hostname: '203.0.113.7' }, 400, 'invalid_hostname', /not an IP address/],
      ['an IPv6 address', { hostname: '[2001:db8::1]' }, 400, 'invalid_hostname', /not an IP address/],
      ['userinfo', { hostname: 'me@phones.acme.com' }, 400, 'invalid_hostname', /user information/],
      ['a single label', { hostname: 'phones' }, 400, 'invalid_hostname', /fully qualified/],
      ['an underscore', { hostname: 'pho_nes.acme.com' }, 400, 'invalid_hostname', /not allowed in a hostname/],
      ['the primary host', { hostname: PRIMARY }, 400, 'primary_host_reserved', /primary login host/],
      [
        'the primary host in capitals with a dot',
        { hostname: 'LOGIN.localhost.' },
        400,
        'primary_host_reserved',
        /primary login host/,
      ],
      [
        'two labels below the provider zone',
        { hostname: `a.b.${ZONE}` },
        400,
        'invalid_hostname',
        /exactly one label below localhost/,
      ],
      ['a reserved provider label', { hostname: `www.${ZONE}` }, 400, 'hostname_reserved', /reserved/],
      [
        'an unknown callback mode',
        { hostname: 'phones.acme.com', callbackMode: 'magic' },
        400,
        'invalid_request',
        /"central" or "direct"/,
      ],
      ['a missing hostname', {}, 400, 'invalid_request', /"hostname" is required/],
      ['a number as hostname', { hostname: 12 }, 400, 'invalid_request', /"hostname" must be a string/],
    ]
    it.each(cases)('%s', async (_name, body, status, code, message) => {
      const partner = await createPartner()
      const before = await hostnameCount()
      const res = await api('POST', `/orgs/${partner.id}/hostnames`, body)
      expect(res.status).toBe(status)
      const { error } = await res.json<any>()
      expect(error.code).toBe(code)
      expect(error.message).toMatch(message)
      expect(await hostnameCount()).toBe(before)
    })

    it('a hostname already bound, in any spelling: 409 hostname_taken', async () => {
      const partner = await createPartner()
      const other = await createPartner()
      const hostname = `${uniqueLabel()}.acme.com`
      await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname }, 201)
      for (const spelling of [hostname, hostname.toUpperCase(), `${hostname}.`]) {
        const res = await api('POST', `/orgs/${other.id}/hostnames`, { hostname: spelling })
        expect(res.status).toBe(409)
        expect((await res.json<any>()).error.code).toBe('hostname_taken')
      }
      expect(await dbAll('SELECT org_id FROM hostnames WHERE hostname = ?', hostname)).toEqual([{ org_id: partner.id }])
    })

    it('a hostname for a flat customer: 409 saying it must move to a nested portal', async () => {
      const partner = await createPartner()
      const flat = await createCustomer(partner.id, { structure: 'flat', name: 'Flat Co' })
      const before = await hostnameCount()
      for (const hostname of [`${uniqueLabel()}.${ZONE}`, 'phones.flatco.example']) {
        const res = await api('POST', `/orgs/${flat.id}/hostnames`, { hostname })
        expect(res.status).toBe(409)
        const { error } = await res.json<any>()
        expect(error.code).toBe('flat_customer_cannot_own_hostname')
        expect(error.message).toMatch(/Flat Co.*nested portal/)
      }
      expect(await hostnameCount()).toBe(before)
    })

    it('an unknown organization: 404', async () => {
      const res = await api('POST', '/orgs/org_missing/hostnames', { hostname: 'phones.acme.com' })
      expect(res.status).toBe(404)
      expect((await res.json<any>()).error.code).toBe('not_found')
    })
  })
})

describe('listing, reading, checking and detaching hostnames', () => {
  it('GET /orgs/{id}/hostnames answers {hostnames: [...]} with status', async () => {
    const partner = await createPartner()
    const names = [`${uniqueLabel('b')}.${ZONE}`, `${uniqueLabel('a')}.acme.com`]
    for (const hostname of names) await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname }, 201)
    const body = await apiJson('GET', `/orgs/${partner.id}/hostnames`)
    expect(Object.keys(body)).toEqual(['hostnames'])
    expect(body.hostnames.map((h: any) => [h.hostname, h.status])).toEqual([...names].sort().map((h) => [h, 'active']))
  })

  it('GET and POST …/check answer the hostname; an unknown one is a 404', async () => {
    const partner = await createPartner()
    const hostname = `${uniqueLabel()}.${ZONE}`
    await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname }, 201)
    expect(await apiJson('GET', `/hostnames/${hostname.toUpperCase()}`)).toMatchObject({ hostname, status: 'active' })
    expect(await apiJson('POST', `/hostnames/${hostname}/check`)).toMatchObject({ hostname, status: 'active' })
    expect((await api('GET', `/hostnames/nope-${hostname}`)).status).toBe(404)
  })

  it('DELETE /hostnames/{hostname} detaches it (204), audits, and the host stops serving at once', async () => {
    const partner = await createPartner()
    const hostname = `${uniqueLabel()}.${ZONE}`
    await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname }, 201)
    expect((await SELF.fetch(`https://${hostname}/`)).status).toBe(200)
    const res = await api('DELETE', `/hostnames/${hostname}`)
    expect(res.status).toBe(204)
    expect(await dbAll('SELECT * FROM hostnames WHERE hostname = ?', hostname)).toEqual([])
    expect(await dbAll('SELECT action FROM audit_log WHERE target_id = ? ORDER BY id', hostname)).toEqual([
      { action: 'hostname.attach' },
      { action: 'hostname.detach' },
    ])
    expect((await SELF.fetch(`https://${hostname}/`)).status).toBe(404)
    expect((await api('DELETE', `/hostnames/${hostname}`)).status).toBe(404)
  })

  it('DELETE with a malformed hostname is a 400', async () => {
    const res = await api('DELETE', `/hostnames/${encodeURIComponent('*.acme.com')}`)
    expect(res.status).toBe(400)
    expect((await res.json<any>()).error.code).toBe('invalid_hostname')
  })
})
