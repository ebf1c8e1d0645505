/**
 * `POST /api/v1/hostnames/{hostname}/diagnose`, black-box, against the
 * Cloudflare and DNS over HTTPS stand-ins: what a partner sees for each way
 * a custom domain can be set up wrong (and right), with DNS or Cloudflare
 * failing, for a provider subdomain and a direct-mode host; and what an
 * attacker sees (another partner's hostname, hostile names, no key). Every
 * diagnosis leaves D1 exactly as it was and asks DNS a handful of questions
 * at most.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { TEST_ADMIN_KEY, TEST_CNAME_TARGET } from '../bindings'
import { createPartner, dbAll, entraControl, newTenantId, partnerWithKey, uniqueLabel, ZONE } from '../fixtures'
import { changedTables, d1Digest } from '../fuzz/d1-digest'

const cloudflareEnv = { ...env, CUSTOM_HOSTNAMES: 'cloudflare' }
const TARGET = TEST_CNAME_TARGET

async function call(method: string, path: string, options: { key?: string | null; body?: unknown } = {}) {
  const key = options.key === undefined ? TEST_ADMIN_KEY : options.key
  return app.request(
    `https://login.localhost/api/v1${path}`,
    {
      method,
      headers: {
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    },
    cloudflareEnv,
  )
}

async function json(res: Response, status = 200): Promise<any> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  return JSON.parse(text)
}

// ---------------------------------------------------------------- the stand-ins' control endpoints

async function control(base: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${base}/__control/${path}`, { method: 'POST', body: JSON.stringify(body) })
  expect(res.ok, `${base} control ${path}: ${res.status}`).toBe(true)
  return res.json()
}

const dnsBase = () => env.DOH_URL!.replace(/\/dns-query$/, '')
const cfBase = () => env.CLOUDFLARE_API_BASE!.replace(/\/client\/v4$/, '')

function publish(name: string, type: 'A' | 'CNAME' | 'TXT', value: string) {
  return control(dnsBase(), 'publish', { name, type, value })
}

function dnsFault(name: string, fault: string | null) {
  return control(dnsBase(), 'fault', { name, fault })
}

async function dnsQueries(name: string): Promise<Array<{ name: string; type: string }>> {
  return control(dnsBase(), 'queries', { name })
}

// ---------------------------------------------------------------- hostnames

/** A pending custom domain of a fresh partner, with the records Cloudflare asks for. */
async function pendingDomain(options: { callbackMode?: 'central' | 'direct' } = {}) {
  const partner = await createPartner()
  const hostname = `${uniqueLabel('phones')}.acme-corp.example`
  const attached = await json(
    await call('POST', `/orgs/${partner.id}/hostnames`, {
      body: { hostname, ...(options.callbackMode ? { callbackMode: options.callbackMode } : {}) },
    }),
    201,
  )
  expect(attached.status).toBe('pending')
  const ownership = attached.verification.ownership as { name: string; value: string }
  const [certificate] = attached.verification.certificate as Array<{ name: string; value: string }>
  return { partner, hostname, ownership, certificate: certificate! }
}

/** Diagnoses, checking that D1 is exactly as it was and that DNS was asked six questions at most. */
async function diagnose(hostname: string, key?: string): Promise<any> {
  const before = await d1Digest()
  const asked = (await dnsQueries(hostname)).length
  const body = await json(await call('POST', `/hostnames/${hostname}/diagnose`, { key }))
  expect(changedTables(before, await d1Digest())).toEqual([])
  expect((await dnsQueries(hostname)).length - asked).toBeLessThanOrEqual(6)
  return body
}

const codes = (body: any) => body.problems.map((p: any) => p.code)

describe('diagnosing a custom domain', () => {
  it('missing TXT records: each problem names the exact record and value to publish', async () => {
    const { hostname, ownership, certificate } = await pendingDomain()
    await publish(hostname, 'CNAME', TARGET)

    const body = await diagnose(hostname)
    expect(body).toMatchObject({
      hostname,
      kind: 'custom',
      ok: false,
      stored: { status: 'pending' },
      dns: {
        state: 'checked',
        reason: null,
        cname: { name: hostname, expected: TARGET, found: TARGET, addresses: [], status: 'ok' },
        ownership: { name: ownership.name, expected: ownership.value, found: [], status: 'missing', required: true },
        certificate: [
          { name: certificate.name, expected: certificate.value, found: [], status: 'missing', required: true },
        ],
      },
      cloudflare: {
        state: 'checked',
        status: 'pending',
        sslStatus: 'pending_validation',
        verificationErrors: [
          'custom hostname does not CNAME to this zone.',
          `TXT record not found at _acme-challenge.${hostname}`,
        ],
        statusIfChecked: 'pending',
      },
      redirectUri: { callbackMode: 'central', required: false, registered: false },
    })
    expect(body.problems).toEqual([
      {
        code: 'ownership_txt_missing',
        message: `The ownership TXT record ${ownership.name} is not published (Cloudflare needs it to verify that ${hostname} is yours)`,
        fix: `Publish a TXT record _cf-custom-hostname.${hostname} with the value ${ownership.value}`,
      },
      {
        code: 'certificate_txt_missing',
        message: `The certificate validation TXT record ${certificate.name} is not published (Cloudflare needs it to issue the certificate for ${hostname})`,
        fix: `Publish a TXT record _acme-challenge.${hostname} with the value ${certificate.value}`,
      },
    ])
    expect(body.summary).toBe(
      `2 problems found. Nothing was changed: the stored status (pending) stays as it is until POST /api/v1/hostnames/${hostname}/check (or the schedule) re-reads Cloudflare and stores it.`,
    )
    // Read-only: the stored status and the check count are as they were.
    expect(await dbAll('SELECT status, check_count FROM hostnames WHERE hostname = ?', hostname)).toEqual([
      { status: 'pending', check_count: 0 },
    ])
  })

  it('the certificate record published, the ownership one not: only that one is a problem', async () => {
    const { hostname, ownership, certificate } = await pendingDomain()
    await publish(hostname, 'CNAME', TARGET)
    await publish(certificate.name, 'TXT', certificate.value)
    const body = await diagnose(hostname)
    // Cloudflare has validated the certificate: it lists no certificate record any more.
    expect(body.cloudflare).toMatchObject({ status: 'pending', sslStatus: 'active' })
    expect(body.dns.certificate).toEqual([])
    expect(body.problems).toEqual([
      {
        code: 'ownership_txt_missing',
        message: `The ownership TXT record ${ownership.name} is not published (Cloudflare needs it to verify that ${hostname} is yours)`,
        fix: `Publish a TXT record ${ownership.name} with the value ${ownership.value}`,
      },
    ])
  })

  it('a TXT record with the wrong value: the fix says what to change it to and what it holds now', async () => {
    const { hostname, ownership, certificate } = await pendingDomain()
    await publish(hostname, 'CNAME', TARGET)
    await publish(ownership.name, 'TXT', 'an-old-value')
    await publish(certificate.name, 'TXT', certificate.value)

    const body = await diagnose(hostname)
    expect(body.dns.ownership).toMatchObject({ found: ['an-old-value'], status: 'wrong', required: true })
    expect(body.problems).toEqual([
      {
        code: 'ownership_txt_wrong',
        message: `The ownership TXT record ${ownership.name} holds "an-old-value", not the value Cloudflare expects (Cloudflare needs it to verify that ${hostname} is yours)`,
        fix: `Change the TXT record ${ownership.name} to the value ${ownership.value} (it currently holds "an-old-value")`,
      },
    ])
  })

  it('a CNAME pointing elsewhere', async () => {
    const { hostname } = await pendingDomain()
    await publish(hostname, 'CNAME', 'x.example')
    const body = await diagnose(hostname)
    expect(body.dns.cname).toEqual({
      name: hostname,
      expected: TARGET,
      found: 'x.example',
      addresses: [],
      status: 'wrong_target',
    })
    expect(body.problems[0]).toEqual({
      code: 'cname_wrong_target',
      message: `${hostname} is a CNAME to x.example, not to ${TARGET}, so its traffic does not reach the gateway`,
      fix: `Point ${hostname} at ${TARGET} with a CNAME record (it currently points at x.example)`,
    })
    // Both TXT records are missing too, each with its own fix.
    expect(codes(body)).toEqual(['cname_wrong_target', 'ownership_txt_missing', 'certificate_txt_missing'])
  })

  it('an A record (or CNAME flattening) instead of a CNAME, and a name that does not exist at all', async () => {
    const flattened = await pendingDomain()
    await publish(flattened.hostname, 'A', '192.0.2.10')
    const body = await diagnose(flattened.hostname)
    expect(body.dns.cname).toMatchObject({ found: null, addresses: ['192.0.2.10'], status: 'not_cname' })
    expect(body.problems[0]).toMatchObject({
      code: 'cname_not_cname',
      fix: `Point ${flattened.hostname} at ${TARGET} with a CNAME record (it currently answers with the address records 192.0.2.10: remove them)`,
    })

    const absent = await pendingDomain()
    const nothing = await diagnose(absent.hostname)
    expect(nothing.dns.cname).toMatchObject({ found: null, addresses: [], status: 'missing' })
    expect(nothing.problems[0]).toEqual({
      code: 'cname_missing',
      message: `${absent.hostname} does not exist in DNS (NXDOMAIN)`,
      fix: `Point ${absent.hostname} at ${TARGET} with a CNAME record (it currently has no record)`,
    })
  })

  it('everything right: ok, no problems (once …/check has stored what Cloudflare says)', async () => {
    const { hostname, ownership, certificate } = await pendingDomain()
    await publish(hostname, 'CNAME', TARGET)
    await publish(ownership.name, 'TXT', ownership.value)
    await publish(certificate.name, 'TXT', certificate.value)

    // Cloudflare has validated it; the gateway has not looked yet, and the diagnosis does not store anything.
    const early = await diagnose(hostname)
    expect(early.cloudflare).toMatchObject({ status: 'active', sslStatus: 'active', statusIfChecked: 'active' })
    expect(early.problems).toEqual([
      {
        code: 'status_outdated',
        message:
          'Cloudflare now reports the hostname active, but the gateway has it stored as pending (it shows "being set up" until then)',
        fix: expect.stringMatching(
          new RegExp(
            `^Run POST /api/v1/hostnames/${hostname.replace(/\./g, '\\.')}/check to store Cloudflare's status now`,
          ),
        ),
      },
    ])
    expect(await dbAll('SELECT status FROM hostnames WHERE hostname = ?', hostname)).toEqual([{ status: 'pending' }])

    expect((await json(await call('POST', `/hostnames/${hostname}/check`))).status).toBe('active')
    const body = await diagnose(hostname)
    expect(body).toMatchObject({
      ok: true,
      problems: [],
      stored: { status: 'active' },
      dns: {
        state: 'checked',
        cname: { status: 'ok' },
        // Validated: Cloudflare no longer needs the ownership record, and lists no certificate record.
        ownership: { status: 'ok', required: false },
        certificate: [],
      },
      cloudflare: { state: 'checked', status: 'active', statusIfChecked: 'active', verificationErrors: [] },
    })
    expect(body.summary).toMatch(/^No problems found\. Nothing was changed/)
  })

  it('Cloudflare failing still answers: the DNS part goes on with the records stored at attach', async () => {
    const { hostname, ownership } = await pendingDomain()
    await publish(hostname, 'CNAME', TARGET)
    await control(cfBase(), 'faults', { hostname, faults: ['server_error'] })
    const body = await diagnose(hostname)
    expect(body.cloudflare).toMatchObject({ state: 'unavailable', reason: 'Cloudflare answered 500.', status: null })
    expect(body.dns.ownership).toMatchObject({ name: ownership.name, status: 'missing', required: true })
    expect(codes(body)).toEqual(['ownership_txt_missing', 'certificate_txt_missing', 'cloudflare_unavailable'])
  })
})

describe('DNS over HTTPS failing: still 200, DNS unavailable with the reason, the rest answered', () => {
  it.each([
    ['a 500', 'server_error', /answered .* with HTTP 500$/],
    ['a stall', 'stall', /did not answer .* within 3 s$/],
    ['malformed JSON', 'malformed', /with something that is not DNS JSON$/],
    ['SERVFAIL (Status 2)', 'servfail', /with SERVFAIL \(the domain's name servers gave no usable answer/],
    ['an oversized answer', 'oversized', /was cut off or too large$/],
    ['a reset connection', 'hang_up', /could not be reached for/],
  ])(
    '%s',
    async (_what, fault, reason) => {
      const { hostname, ownership, certificate } = await pendingDomain()
      await dnsFault(hostname, fault)
      try {
        const body = await diagnose(hostname)
        expect(body.dns).toMatchObject({ state: 'unavailable', cname: null, ownership: null, certificate: [] })
        expect(body.dns.reason).toMatch(reason)
        expect(body.cloudflare).toMatchObject({ state: 'checked', status: 'pending' })
        expect(body.problems[0]).toEqual({
          code: 'dns_unavailable',
          message: `DNS could not be read now: ${body.dns.reason}`,
          fix: `Diagnose again in a minute (POST /api/v1/hostnames/${hostname}/diagnose); the rest of this answer stands`,
        })
        // Cloudflare still waits: without DNS to say which record is wrong, the fix names every one.
        expect(body.problems[1]).toEqual({
          code: 'cloudflare_pending',
          message: expect.stringContaining('Cloudflare has not validated the hostname yet'),
          fix: `Make sure DNS has a CNAME record ${hostname} pointing at ${TARGET}, and a TXT record ${ownership.name} with the value ${ownership.value}, and a TXT record ${certificate.name} with the value ${certificate.value}, then run POST /api/v1/hostnames/${hostname}/check`,
        })
        expect(body.problems).toHaveLength(2)
        expect(body.ok).toBe(false)
      } finally {
        await dnsFault(hostname, null)
      }
    },
    20_000,
  ) // the stall waits out the client's 3 s timeout

  it('one TXT query failing makes the whole DNS part unavailable (never half an answer)', async () => {
    const { hostname, ownership } = await pendingDomain()
    await publish(hostname, 'CNAME', TARGET)
    await dnsFault(ownership.name, 'servfail')
    const body = await diagnose(hostname)
    expect(body.dns.state).toBe('unavailable')
    expect(body.dns.reason).toContain(`${ownership.name} TXT`)
  })
})

describe('other hostnames', () => {
  it('a provider subdomain: DNS and Cloudflare do not apply, nothing is asked, no problems', async () => {
    const partner = await createPartner()
    const hostname = `${uniqueLabel('acme')}.${ZONE}`
    await json(await call('POST', `/orgs/${partner.id}/hostnames`, { body: { hostname } }), 201)
    const body = await diagnose(hostname)
    expect(body).toMatchObject({
      kind: 'subdomain',
      ok: true,
      problems: [],
      dns: { state: 'not_applicable', cname: null, ownership: null, certificate: [] },
      cloudflare: { state: 'not_applicable', status: null },
    })
    expect(body.dns.reason).toContain("the provider's wildcard DNS record, route and certificate serve it")
    expect(await dnsQueries(hostname)).toEqual([])
  })

  it('a direct-mode host whose redirect URI is not registered: the problem says why and what to run', async () => {
    // A partner whose own Entra app is not consented for Graph in its home tenant: the registration fails.
    const partner = await createPartner()
    const clientId = crypto.randomUUID()
    const secret = `portal-secret-${crypto.randomUUID()}`
    const homeTenantId = newTenantId()
    await entraControl('apps', { clientId, secret, redirectUris: ['https://login.localhost/sso/callback'], grants: {} })
    await json(
      await call('PUT', `/orgs/${partner.id}/microsoft-integration`, {
        body: { clientId, clientSecret: secret, homeTenantId },
      }),
    )
    const hostname = `${uniqueLabel('direct')}.${ZONE}`
    const attached = await json(
      await call('POST', `/orgs/${partner.id}/hostnames`, { body: { hostname, callbackMode: 'direct' } }),
      201,
    )
    expect(attached.redirectUriRegistered).toBe(false)

    const body = await diagnose(hostname)
    const uri = `https://${hostname}/sso/callback`
    expect(body.redirectUri).toEqual({
      callbackMode: 'direct',
      required: true,
      uri,
      registered: false,
      detail: attached.redirectUriDetail,
    })
    expect(body.problems).toEqual([
      {
        code: 'redirect_uri_not_registered',
        message: `${uri} is not registered on the portal's Entra app, so ${hostname} signs in through the central callback (${attached.redirectUriDetail})`,
        fix: `Run POST /api/v1/hostnames/${hostname}/check to register ${uri} again; if it still fails, its redirectUriDetail says what the Entra app needs`,
      },
    ])
    expect(body.problems[0].message).toContain('Application.ReadWrite.OwnedBy')
  })

  it('a pending direct-mode custom domain: its URI waits for the domain, which is no problem of its own', async () => {
    const { hostname } = await pendingDomain({ callbackMode: 'direct' })
    const body = await diagnose(hostname)
    expect(body.redirectUri).toMatchObject({ required: true, registered: false })
    expect(body.redirectUri.detail).toContain('registered once the domain is verified')
    expect(codes(body)).not.toContain('redirect_uri_not_registered')
  })
})

describe('what an attacker sees', () => {
  it("a partner diagnosing another partner's hostname: 404, the body of a hostname nobody attached, no DNS query", async () => {
    const a = await partnerWithKey('A')
    const { hostname, ownership } = await pendingDomain()
    await publish(ownership.name, 'TXT', ownership.value)

    const asked = (await dnsQueries(hostname)).length
    const before = await d1Digest()
    const res = await call('POST', `/hostnames/${hostname}/diagnose`, { key: a.key })
    const theirs = await json(res, 404)
    expect(changedTables(before, await d1Digest())).toEqual([])
    expect(await dnsQueries(hostname)).toHaveLength(asked)

    expect((await call('DELETE', `/hostnames/${hostname}`)).status).toBe(204)
    const nobodys = await json(await call('POST', `/hostnames/${hostname}/diagnose`, { key: a.key }), 404)
    expect(theirs).toEqual(nobodys)
    expect(theirs.error).toEqual({ code: 'not_found', message: `No attached hostname "${hostname}"` })
    expect(JSON.stringify(theirs)).not.toContain(ownership.value)
  })

  it('a partner diagnosing its own hostname gets the answer', async () => {
    const { partner, key } = await partnerWithKey('Own')
    const hostname = `${uniqueLabel('own')}.${ZONE}`
    await json(await call('POST', `/orgs/${partner.id}/hostnames`, { key, body: { hostname } }), 201)
    expect((await diagnose(hostname, key)).organizationId).toBe(partner.id)
  })

  it.each([
    ['a path', 'evil.example%2F..%2Fadmin'],
    ['a scheme', 'https:%2F%2Fphones.acme.example'],
    ['an IP address', '127.0.0.1'],
    ['a wildcard', '*.acme.example'],
    ['an underscore label (a TXT record name)', '_cf-custom-hostname.phones.acme.example'],
    ['a NUL byte', 'phones%00.acme.example'],
    ['a port', 'phones.acme.example:8080'],
    ['an over-long name', 'a'.repeat(2000)],
  ])('a hostile hostname parameter (%s): 400, nothing asked of DNS', async (_what, raw) => {
    const before = (await dnsQueries('')).length
    const res = await call('POST', `/hostnames/${raw}/diagnose`)
    const body = await json(res, 400)
    expect(body.error.code).toMatch(/^(invalid_hostname|invalid_request)$/)
    expect((await dnsQueries('')).length).toBe(before)
  })

  it('no key, or a wrong one: 401', async () => {
    const { hostname } = await pendingDomain()
    expect((await call('POST', `/hostnames/${hostname}/diagnose`, { key: null })).status).toBe(401)
    expect((await call('POST', `/hostnames/${hostname}/diagnose`, { key: `sgk_${'A'.repeat(43)}` })).status).toBe(401)
    expect((await call('POST', `/hostnames/${hostname}/diagnose`, { key: 'x'.repeat(48) })).status).toBe(401)
  })
})
