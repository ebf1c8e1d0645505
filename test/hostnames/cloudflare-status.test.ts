import { describe, expect, it } from 'vitest'
import { mapCloudflareStatus, nextCheckDelayMs, verificationOf } from '../../src/hostnames/cloudflare-status'
import type { CfCustomHostname } from '../../src/upstream/cloudflare'

const h = (status: string, ssl: string, extra: Partial<CfCustomHostname> = {}): CfCustomHostname => ({
  id: 'x',
  hostname: 'phones.acme.com',
  status,
  ssl: { status: ssl },
  ...extra,
})

describe('mapCloudflareStatus', () => {
  it.each([
    [h('active', 'active'), 'active'],
    [h('pending', 'pending_validation'), 'pending'],
    [h('active', 'pending_validation'), 'pending'],
    [h('active', 'pending_issuance'), 'pending'],
    [h('active', 'pending_deployment'), 'pending'],
    [h('pending', 'initializing'), 'pending'],
    [h('moved', 'active'), 'moved'],
    [h('blocked', 'active'), 'failed'],
    [h('pending_blocked', 'pending_validation'), 'failed'],
    [h('deleted', 'deleted'), 'failed'],
    [h('pending_deletion', 'active'), 'failed'],
    [h('pending', 'validation_timed_out'), 'failed'],
    [h('active', 'issuance_timed_out'), 'failed'],
    [h('active', 'expired'), 'failed'],
  ])('%o -> %s', (hostname, status) => {
    expect(mapCloudflareStatus(hostname).status).toBe(status)
  })

  it("says what a pending hostname waits for, with Cloudflare's reason", () => {
    expect(
      mapCloudflareStatus(
        h('pending', 'pending_validation', { verification_errors: ['custom hostname does not CNAME to this zone.'] }),
      ).detail,
    ).toBe('Waiting for ownership verification: custom hostname does not CNAME to this zone.')
    expect(mapCloudflareStatus(h('active', 'pending_issuance')).detail).toBe(
      'Waiting for certificate (pending issuance)',
    )
  })
})

describe('verificationOf', () => {
  it('lists the ownership TXT and the certificate records to publish', () => {
    expect(
      verificationOf({
        id: 'x',
        hostname: 'phones.acme.com',
        ownership_verification: { type: 'txt', name: '_cf-custom-hostname.phones.acme.com', value: 'abc' },
        ssl: {
          validation_records: [
            { txt_name: '_acme-challenge.phones.acme.com', txt_value: 'def' },
            { http_url: 'http://x/.well-known/y', http_body: 'ghi' },
          ],
        },
      }),
    ).toEqual({
      ownership: { type: 'txt', name: '_cf-custom-hostname.phones.acme.com', value: 'abc' },
      certificate: [
        { type: 'txt', name: '_acme-challenge.phones.acme.com', value: 'def' },
        { type: 'http', name: 'http://x/.well-known/y', value: 'ghi' },
      ],
    })
  })
})

describe('nextCheckDelayMs', () => {
  it('backs off from a minute to an hour for pending hosts, daily for active ones, never for the others', () => {
    expect([0, 1, 2, 3, 6, 7, 20].map((n) => nextCheckDelayMs('pending', n))).toEqual([
      60_000, 120_000, 240_000, 480_000, 3_600_000, 3_600_000, 3_600_000,
    ])
    expect(nextCheckDelayMs('active', 5)).toBe(86_400_000)
    expect(nextCheckDelayMs('failed', 0)).toBeNull()
    expect(nextCheckDelayMs('moved', 0)).toBeNull()
  })
})
