/**
 * The diagnosis's pure half (src/hostnames/diagnose.ts): each finding, the
 * exact problem and fix a partner reads; which DNS questions are worth asking.
 * No HTTP, no D1.
 */
import { describe, expect, it } from 'vitest'
import type { HostnameRow } from '../../src/db/schema'
import {
  type CloudflareFindings,
  type DiagnosisInput,
  type DnsFindings,
  diagnose,
  expectedRecords,
  needsAddressLookup,
  txtNamesToRead,
} from '../../src/hostnames/diagnose'
import type { CfCustomHostname } from '../../src/upstream/cloudflare'
import type { DnsAnswer, DnsRecord } from '../../src/upstream/doh'

const H = 'phones.acme.com'
const TARGET = 'customers.provider.example'
const OWNERSHIP = { name: `_cf-custom-hostname.${H}`, value: '1b2c3d4e-0000-4000-8000-000000000001' }
const CERT = { name: `_acme-challenge.${H}`, value: 'cert-token-abc' }
const NOW = Date.UTC(2026, 11, 1, 12, 0, 0)
const CHECK = `POST /api/v1/hostnames/${H}/check`

function row(overrides: Partial<HostnameRow> = {}): HostnameRow {
  return {
    hostname: H,
    orgId: 'org_partner',
    kind: 'custom',
    status: 'pending',
    statusDetail: 'Waiting for ownership verification',
    verification: {
      ownership: { type: 'txt', ...OWNERSHIP },
      certificate: [{ type: 'txt', ...CERT }],
    },
    callbackMode: 'central',
    redirectUriRegistered: false,
    redirectUriDetail: null,
    redirectUriAppId: null,
    redirectUriCheckedAt: null,
    cloudflareId: 'cf-1',
    checkedAt: NOW - 60_000,
    pendingSince: NOW - 60_000,
    checkCount: 1,
    nextCheckAt: NOW + 60_000,
    createdAt: NOW - 120_000,
    updatedAt: NOW - 60_000,
    ...overrides,
  }
}

function cf(status: string, ssl: string, extra: Partial<CfCustomHostname> = {}): CloudflareFindings {
  return {
    state: 'checked',
    hostname: {
      id: 'cf-1',
      hostname: H,
      status,
      ssl: {
        status: ssl,
        validation_records: ssl === 'active' ? [] : [{ txt_name: CERT.name, txt_value: CERT.value }],
      },
      ownership_verification: { type: 'txt', ...OWNERSHIP },
      verification_errors: status === 'active' ? undefined : ['custom hostname does not CNAME to this zone.'],
      ...extra,
    },
  }
}

const rec = (name: string, type: number, data: string): DnsRecord => ({ name: `${name}.`, type, ttl: 300, data })
const noerror = (...records: DnsRecord[]): DnsAnswer => ({ rcode: 'NOERROR', records })
const NXDOMAIN: DnsAnswer = { rcode: 'NXDOMAIN', records: [] }
const cname = (to: string) => noerror(rec(H, 5, `${to}.`))
const txt = (name: string, ...values: string[]) => noerror(...values.map((v) => rec(name, 16, `"${v}"`)))

/** DNS as read: the CNAME answer, and TXT answers by name (absent: NXDOMAIN). */
function dns(
  cnameAnswer: DnsAnswer,
  txts: Record<string, DnsAnswer> = {},
  address: DnsAnswer | null = null,
): DnsFindings {
  return {
    state: 'checked',
    reading: {
      cname: cnameAnswer,
      address,
      txt: new Map([OWNERSHIP.name, CERT.name].map((name) => [name, txts[name] ?? NXDOMAIN])),
    },
  }
}

const ALL_PUBLISHED = {
  [OWNERSHIP.name]: txt(OWNERSHIP.name, OWNERSHIP.value),
  [CERT.name]: txt(CERT.name, CERT.value),
}

function input(overrides: Partial<DiagnosisInput> = {}): DiagnosisInput {
  return {
    row: row(),
    callbackUri: `https://${H}/sso/callback`,
    cnameTarget: TARGET,
    dns: dns(cname(TARGET), ALL_PUBLISHED),
    cloudflare: cf('pending', 'pending_validation'),
    now: NOW,
    ...overrides,
  }
}

describe('DNS findings -> problems and fixes', () => {
  it('a missing ownership TXT record', () => {
    const result = diagnose(input({ dns: dns(cname(TARGET), { [CERT.name]: txt(CERT.name, CERT.value) }) }))
    expect(result.problems).toEqual([
      {
        code: 'ownership_txt_missing',
        message: `The ownership TXT record ${OWNERSHIP.name} is not published (Cloudflare needs it to verify that ${H} is yours)`,
        fix: `Publish a TXT record _cf-custom-hostname.phones.acme.com with the value ${OWNERSHIP.value}`,
      },
    ])
    expect(result.ok).toBe(false)
  })

  it('an ownership TXT record with other values (several)', () => {
    const result = diagnose(
      input({
        dns: dns(cname(TARGET), {
          [OWNERSHIP.name]: txt(OWNERSHIP.name, 'old', 'older'),
          [CERT.name]: txt(CERT.name, CERT.value),
        }),
      }),
    )
    expect(result.problems).toEqual([
      {
        code: 'ownership_txt_wrong',
        message: `The ownership TXT record ${OWNERSHIP.name} holds "old", "older", not the value Cloudflare expects (Cloudflare needs it to verify that ${H} is yours)`,
        fix: `Change the TXT record ${OWNERSHIP.name} to the value ${OWNERSHIP.value} (it currently holds "old", "older")`,
      },
    ])
  })

  it('the right value among others is fine (Cloudflare accepts any matching record)', () => {
    const result = diagnose(
      input({
        dns: dns(cname(TARGET), {
          ...ALL_PUBLISHED,
          [OWNERSHIP.name]: txt(OWNERSHIP.name, 'unrelated', OWNERSHIP.value),
        }),
      }),
    )
    expect(result.dns.ownership).toMatchObject({ status: 'ok', found: ['unrelated', OWNERSHIP.value] })
    expect(result.problems.map((p) => p.code)).toEqual(['cloudflare_pending'])
  })

  it('a missing and a wrong certificate validation TXT record', () => {
    const missing = diagnose(input({ dns: dns(cname(TARGET), { [OWNERSHIP.name]: ALL_PUBLISHED[OWNERSHIP.name]! }) }))
    expect(missing.problems).toEqual([
      {
        code: 'certificate_txt_missing',
        message: `The certificate validation TXT record ${CERT.name} is not published (Cloudflare needs it to issue the certificate for ${H})`,
        fix: `Publish a TXT record _acme-challenge.phones.acme.com with the value cert-token-abc`,
      },
    ])
    const wrong = diagnose(
      input({ dns: dns(cname(TARGET), { ...ALL_PUBLISHED, [CERT.name]: txt(CERT.name, 'stale-token') }) }),
    )
    expect(wrong.problems).toEqual([
      {
        code: 'certificate_txt_wrong',
        message: `The certificate validation TXT record ${CERT.name} holds "stale-token", not the value Cloudflare expects (Cloudflare needs it to issue the certificate for ${H})`,
        fix: `Change the TXT record ${CERT.name} to the value cert-token-abc (it currently holds "stale-token")`,
      },
    ])
  })

  it('a TXT value split into several strings, or reached through a CNAME, is read whole', () => {
    const split = noerror(
      rec(OWNERSHIP.name, 5, 'delegated.dcv.example.'),
      rec('delegated.dcv.example', 16, `"${OWNERSHIP.value.slice(0, 10)}" "${OWNERSHIP.value.slice(10)}"`),
    )
    const result = diagnose(input({ dns: dns(cname(TARGET), { ...ALL_PUBLISHED, [OWNERSHIP.name]: split }) }))
    expect(result.dns.ownership).toMatchObject({ status: 'ok', found: [OWNERSHIP.value] })
  })

  it('a CNAME pointing elsewhere', () => {
    const result = diagnose(input({ dns: dns(cname('x.example'), ALL_PUBLISHED) }))
    expect(result.problems[0]).toEqual({
      code: 'cname_wrong_target',
      message: `${H} is a CNAME to x.example, not to ${TARGET}, so its traffic does not reach the gateway`,
      fix: 'Point phones.acme.com at customers.provider.example with a CNAME record (it currently points at x.example)',
    })
  })

  it('a CNAME to the target in capitals with its trailing dot is the target', () => {
    const result = diagnose(input({ dns: dns(noerror(rec(H, 5, 'Customers.Provider.Example.')), ALL_PUBLISHED) }))
    expect(result.dns.cname).toMatchObject({ found: TARGET, status: 'ok' })
  })

  it('A records instead of a CNAME (an A record, or CNAME flattening)', () => {
    const result = diagnose(
      input({ dns: dns(noerror(), ALL_PUBLISHED, noerror(rec(H, 1, '192.0.2.1'), rec(H, 1, '192.0.2.2'))) }),
    )
    expect(result.dns.cname).toEqual({
      name: H,
      expected: TARGET,
      found: null,
      addresses: ['192.0.2.1', '192.0.2.2'],
      status: 'not_cname',
    })
    expect(result.problems[0]).toEqual({
      code: 'cname_not_cname',
      message: `${H} answers with addresses (192.0.2.1, 192.0.2.2) instead of a CNAME to ${TARGET}: an A record, or CNAME flattening at the zone apex, which the gateway cannot tell apart from pointing elsewhere`,
      fix: `Point ${H} at ${TARGET} with a CNAME record (it currently answers with the address records 192.0.2.1, 192.0.2.2: remove them)`,
    })
  })

  it('a name that does not exist, and one that exists without any CNAME or address', () => {
    const nx = diagnose(input({ dns: dns(NXDOMAIN, ALL_PUBLISHED) }))
    expect(nx.problems[0]).toEqual({
      code: 'cname_missing',
      message: `${H} does not exist in DNS (NXDOMAIN)`,
      fix: `Point ${H} at ${TARGET} with a CNAME record (it currently has no record)`,
    })
    const empty = diagnose(input({ dns: dns(noerror(), ALL_PUBLISHED, noerror()) }))
    expect(empty.problems[0]).toMatchObject({
      code: 'cname_missing',
      message: `${H} has no CNAME and no address record in DNS`,
    })
  })

  it('without a configured CNAME target the CNAME is reported, not judged', () => {
    const result = diagnose(input({ cnameTarget: null, dns: dns(cname('x.example'), ALL_PUBLISHED) }))
    expect(result.dns.cname).toMatchObject({ expected: null, found: 'x.example', status: 'not_checked' })
    expect(result.problems.map((p) => p.code)).toEqual(['cloudflare_pending'])
  })

  it('DNS unavailable: one problem saying why and to try again, nothing judged from DNS', () => {
    const result = diagnose(
      input({
        dns: {
          state: 'unavailable',
          reason: 'the DNS over HTTPS resolver answered phones.acme.com CNAME with HTTP 500',
        },
        cloudflare: cf('active', 'active'),
        row: row({ status: 'active', statusDetail: null }),
      }),
    )
    expect(result.dns).toEqual({
      state: 'unavailable',
      reason: 'the DNS over HTTPS resolver answered phones.acme.com CNAME with HTTP 500',
      cname: null,
      ownership: null,
      certificate: [],
    })
    expect(result.problems).toEqual([
      {
        code: 'dns_unavailable',
        message: 'DNS could not be read now: the DNS over HTTPS resolver answered phones.acme.com CNAME with HTTP 500',
        fix: `Diagnose again in a minute (POST /api/v1/hostnames/${H}/diagnose); the rest of this answer stands`,
      },
    ])
  })
})

describe("Cloudflare's findings -> problems and fixes", () => {
  it('DNS right but Cloudflare still pending: check again now', () => {
    const result = diagnose(input())
    expect(result.problems).toEqual([
      {
        code: 'cloudflare_pending',
        message:
          'DNS has every record Cloudflare asks for, but Cloudflare has not validated them yet (Cloudflare says: custom hostname does not CNAME to this zone.)',
        fix: `Run ${CHECK} to have Cloudflare validate again now (a DNS change can take as long as the record's TTL to be seen)`,
      },
    ])
  })

  it('hostname verified, certificate being issued: nothing to publish, check again later', () => {
    // Validated: Cloudflare lists no validation record any more.
    const issuing = cf('active', 'pending_issuance', { ssl: { status: 'pending_issuance', validation_records: [] } })
    const result = diagnose(input({ cloudflare: issuing }))
    expect(result.problems).toEqual([
      {
        code: 'cloudflare_pending',
        message:
          'Cloudflare has verified the hostname and is still issuing or deploying its certificate (pending_issuance); DNS needs nothing more',
        fix: `Nothing to publish: run ${CHECK} again in a few minutes (the schedule does it too)`,
      },
    ])
  })

  it('Cloudflare pending while DNS cannot be read: every record to publish, in one fix', () => {
    const result = diagnose(input({ dns: { state: 'unavailable', reason: 'timeout' } }))
    expect(result.problems[1]).toEqual({
      code: 'cloudflare_pending',
      message:
        'Cloudflare has not validated the hostname yet (Cloudflare says: custom hostname does not CNAME to this zone.)',
      fix: `Make sure DNS has a CNAME record ${H} pointing at ${TARGET}, and a TXT record ${OWNERSHIP.name} with the value ${OWNERSHIP.value}, and a TXT record ${CERT.name} with the value ${CERT.value}, then run ${CHECK}`,
    })
  })

  it("names the caller's own actions: the console's buttons instead of the API's calls", () => {
    const words = {
      check: 'press "Check now"',
      checkName: '"Check now"',
      diagnoseAgain: 'press "Diagnose DNS" again',
      reattach: 'detach it and attach it again',
    }
    const result = diagnose(input({ cloudflare: cf('active', 'active'), words }))
    expect(result.problems[0]!.fix).toBe(
      'Press "Check now" to store Cloudflare\'s status now (the schedule would at 2026-12-01T12:01:00.000Z)',
    )
    expect(result.summary).toContain('stays as it is until "Check now" (or the schedule)')
    const unavailable = diagnose(input({ dns: { state: 'unavailable', reason: 'timeout' }, words }))
    expect(unavailable.problems[0]!.fix).toBe('Press "Diagnose DNS" again; the rest of this answer stands')
    expect(JSON.stringify(unavailable)).not.toContain('/api/v1')
  })

  it('Cloudflare active, the gateway still pending: the stored status is outdated, check stores it', () => {
    const result = diagnose(input({ cloudflare: cf('active', 'active') }))
    expect(result.cloudflare).toMatchObject({ status: 'active', sslStatus: 'active', statusIfChecked: 'active' })
    expect(result.problems).toEqual([
      {
        code: 'status_outdated',
        message:
          'Cloudflare now reports the hostname active, but the gateway has it stored as pending (it shows "being set up" until then)',
        fix: `Run ${CHECK} to store Cloudflare's status now (the schedule would at 2026-12-01T12:01:00.000Z)`,
      },
    ])
    expect(result.summary).toBe(
      `1 problem found. Nothing was changed: the stored status (pending) stays as it is until ${CHECK} (or the schedule) re-reads Cloudflare and stores it.`,
    )
    const due = diagnose(input({ cloudflare: cf('active', 'active'), row: row({ nextCheckAt: NOW - 1 }) }))
    expect(due.problems[0]!.fix).toBe(
      `Run ${CHECK} to store Cloudflare's status now (the schedule would within 5 minutes)`,
    )
  })

  it('everything right and stored: ok, and a validated ownership record is no longer required', () => {
    const result = diagnose(
      input({
        row: row({ status: 'active', statusDetail: null }),
        cloudflare: cf('active', 'active'),
        dns: dns(cname(TARGET), {}),
      }),
    )
    expect(result.ok).toBe(true)
    expect(result.problems).toEqual([])
    expect(result.dns.ownership).toMatchObject({ status: 'missing', required: false })
    expect(result.dns.certificate).toEqual([])
    expect(result.summary).toMatch(/^No problems found\. /)
  })

  it('Cloudflare gave up (validation timed out): fix DNS, then detach and attach again', () => {
    const result = diagnose(input({ cloudflare: cf('pending', 'validation_timed_out') }))
    expect(result.problems[0]).toEqual({
      code: 'cloudflare_failed',
      message: 'Cloudflare: certificate validation timed out; detach and attach the hostname again after fixing DNS',
      fix: `Fix the DNS records, then detach it (DELETE /api/v1/hostnames/${H}) and attach it again (POST /api/v1/orgs/org_partner/hostnames) to start validation over`,
    })
    expect(result.problems[1]).toMatchObject({ code: 'status_outdated' })
  })

  it('moved: point it back, then check', () => {
    const result = diagnose(input({ row: row({ status: 'active' }), cloudflare: cf('moved', 'active') }))
    expect(result.problems[0]).toEqual({
      code: 'cloudflare_moved',
      message: "Cloudflare reports the hostname moved: its DNS no longer points at the provider's zone",
      fix: `Point ${H} at ${TARGET} with a CNAME record, then run ${CHECK}`,
    })
  })

  it('deleted at Cloudflare: attach again', () => {
    const result = diagnose(input({ cloudflare: { state: 'checked', hostname: null } }))
    expect(result.cloudflare.statusIfChecked).toBe('failed')
    expect(result.problems[0]).toEqual({
      code: 'cloudflare_missing',
      message: 'Cloudflare no longer has this custom hostname (it was deleted there), so it cannot be validated',
      fix: `Publish its DNS records again if needed, then detach it (DELETE /api/v1/hostnames/${H}) and attach it again (POST /api/v1/orgs/org_partner/hostnames)`,
    })
  })

  it('Cloudflare unavailable: the records stored at attach are checked instead', () => {
    const findings: CloudflareFindings = { state: 'unavailable', reason: 'Cloudflare did not answer in time.' }
    expect(expectedRecords(row(), findings)).toEqual(row().verification)
    const result = diagnose(input({ cloudflare: findings, dns: dns(cname(TARGET), {}) }))
    expect(result.problems.map((p) => p.code)).toEqual([
      'ownership_txt_missing',
      'certificate_txt_missing',
      'cloudflare_unavailable',
    ])
    expect(result.problems[2]).toEqual({
      code: 'cloudflare_unavailable',
      message: 'Cloudflare could not be read now: Cloudflare did not answer in time.',
      fix: `Diagnose again in a minute (POST /api/v1/hostnames/${H}/diagnose); the rest of this answer stands`,
    })
  })
})

describe('the redirect URI and the hostname row', () => {
  const subdomain = (overrides: Partial<HostnameRow>) =>
    input({
      row: row({
        hostname: 'acme.provider.example',
        kind: 'subdomain',
        status: 'active',
        verification: null,
        cloudflareId: null,
        ...overrides,
      }),
      callbackUri: 'https://acme.provider.example/sso/callback',
      dns: { state: 'not_applicable', reason: 'a provider subdomain' },
      cloudflare: { state: 'not_applicable', reason: 'a provider subdomain' },
    })

  it('central: no registration needed, no problem', () => {
    const result = diagnose(subdomain({}))
    expect(result.ok).toBe(true)
    expect(result.redirectUri).toEqual({
      callbackMode: 'central',
      required: false,
      uri: null,
      registered: false,
      detail: 'Central callback: Entra returns to the primary host, so this host needs no redirect URI of its own',
    })
  })

  it('direct and registered: no problem', () => {
    const result = diagnose(subdomain({ callbackMode: 'direct', redirectUriRegistered: true }))
    expect(result.ok).toBe(true)
    expect(result.redirectUri).toMatchObject({ required: true, registered: true })
  })

  it('direct, active and not registered: the reason, and check to register it again', () => {
    const detail = 'Not registered (central callback in use): Microsoft Graph did not answer'
    const result = diagnose(subdomain({ callbackMode: 'direct', redirectUriDetail: detail }))
    expect(result.problems).toEqual([
      {
        code: 'redirect_uri_not_registered',
        message: `https://acme.provider.example/sso/callback is not registered on the portal's Entra app, so acme.provider.example signs in through the central callback (${detail})`,
        fix: 'Run POST /api/v1/hostnames/acme.provider.example/check to register https://acme.provider.example/sso/callback again; if it still fails, its redirectUriDetail says what the Entra app needs',
      },
    ])
  })

  it('direct and still pending: waiting for the domain is not a problem of its own', () => {
    const result = diagnose(input({ row: row({ callbackMode: 'direct' }) }))
    expect(result.problems.map((p) => p.code)).toEqual(['cloudflare_pending'])
  })
})

describe('which DNS questions are asked', () => {
  it('the ownership record and at most three certificate TXT records, each name once', () => {
    expect(
      txtNamesToRead({
        ownership: { type: 'txt', ...OWNERSHIP },
        certificate: [
          { type: 'txt', name: CERT.name, value: 'a' },
          { type: 'txt', name: CERT.name.toUpperCase(), value: 'b' },
          { type: 'http', name: `http://${H}/.well-known/acme-challenge/x`, value: 'c' },
          { type: 'txt', name: `_acme-challenge.www.${H}`, value: 'd' },
          { type: 'txt', name: `_acme-challenge.api.${H}`, value: 'e' },
        ],
      }),
    ).toEqual([OWNERSHIP.name, CERT.name, `_acme-challenge.www.${H}`])
    expect(txtNamesToRead(null)).toEqual([])
  })

  it('the A records only for a name that exists without a CNAME', () => {
    expect(needsAddressLookup(cname(TARGET), H)).toBe(false)
    expect(needsAddressLookup(noerror(), H)).toBe(true)
    expect(needsAddressLookup(NXDOMAIN, H)).toBe(false)
  })

  it('expected records come from Cloudflare now, never from the row once Cloudflare answered', () => {
    expect(expectedRecords(row(), cf('pending', 'pending_validation'))).toEqual(row().verification)
    expect(expectedRecords(row(), { state: 'checked', hostname: null })).toBeNull()
    expect(expectedRecords(row(), { state: 'not_applicable', reason: 'local' })).toBeNull()
  })
})
