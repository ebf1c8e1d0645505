/**
 * The DNS over HTTPS client (src/upstream/doh.ts): the JSON API's wire format
 * read as Cloudflare's 1.1.1.1 writes it (pure parsing), and the client
 * against the DNS stand-in (dev/dns/server.ts), failures included.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import type { DohConfig } from '../../src/config'
import {
  addressesOf,
  cnameOf,
  DohFailure,
  dnsName,
  dohQuery,
  parseDnsJson,
  txtValue,
  txtValues,
} from '../../src/upstream/doh'
import { uniqueLabel } from '../fixtures'

describe('reading DNS JSON (pure)', () => {
  it('reads an answer as 1.1.1.1 sends it', () => {
    const text = JSON.stringify({
      Status: 0,
      TC: false,
      RD: true,
      RA: true,
      AD: false,
      CD: false,
      Question: [{ name: 'phones.acme.com.', type: 5 }],
      Answer: [{ name: 'phones.acme.com.', type: 5, TTL: 300, data: 'customers.provider.example.' }],
    })
    const parsed = parseDnsJson(text)!
    expect(parsed).toEqual({
      status: 0,
      records: [{ name: 'phones.acme.com.', type: 5, ttl: 300, data: 'customers.provider.example.' }],
    })
    expect(cnameOf({ rcode: 'NOERROR', records: parsed.records }, 'phones.acme.com')).toBe('customers.provider.example')
  })

  it('an NXDOMAIN answer carries no Answer, only Authority', () => {
    expect(
      parseDnsJson(
        '{"Status":3,"Question":[{"name":"x.example.","type":16}],"Authority":[{"name":"example.","type":6,"TTL":1800,"data":"a. b. 1 2 3 4 5"}]}',
      ),
    ).toEqual({ status: 3, records: [] })
  })

  it.each([
    ['not JSON', '{"Status": 0, "Answer": ['],
    ['an array', '[]'],
    ['no Status', '{"Answer": []}'],
    ['a Status that is not a number', '{"Status": "0"}'],
    ['an Answer that is not an array', '{"Status": 0, "Answer": {}}'],
    ['a record without data', '{"Status": 0, "Answer": [{"name": "x.", "type": 16}]}'],
    ['HTML', '<html>502</html>'],
  ])('refuses %s', (_what, text) => {
    expect(parseDnsJson(text)).toBeNull()
  })

  it.each([
    ['"v=spf1 -all"', 'v=spf1 -all'],
    ['"1b2c3d4e"', '1b2c3d4e'],
    ['"part one" "part two"', 'part onepart two'],
    ['"say \\"hi\\" \\\\ there"', 'say "hi" \\ there'],
    ['"caf\\195\\169"', 'café'],
    ['unquoted-value', 'unquoted-value'],
    ['""', ''],
  ])('TXT data %s is the value %s', (data, value) => {
    expect(txtValue(data)).toBe(value)
  })

  it('names compare without case and trailing dot; TXT and addresses picked by type', () => {
    expect(dnsName('Phones.ACME.com.')).toBe('phones.acme.com')
    const answer = {
      rcode: 'NOERROR' as const,
      records: [
        { name: '_x.acme.com.', type: 5, ttl: 1, data: 'dcv.example.' },
        { name: 'dcv.example.', type: 16, ttl: 1, data: '"token"' },
        { name: 'acme.com.', type: 1, ttl: 1, data: '192.0.2.1' },
        { name: 'acme.com.', type: 28, ttl: 1, data: '2001:db8::1' },
      ],
    }
    expect(txtValues(answer)).toEqual(['token'])
    expect(addressesOf(answer)).toEqual(['192.0.2.1', '2001:db8::1'])
    expect(cnameOf(answer, 'acme.com')).toBeNull()
  })
})

describe('the client against the DNS stand-in', () => {
  const config: DohConfig = { url: env.DOH_URL!, timeoutMs: 1000 }
  const control = async (path: string, body: unknown) =>
    (
      await fetch(`${env.DOH_URL!.replace(/\/dns-query$/, '')}/__control/${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
      })
    ).json()
  const zone = () => `${uniqueLabel('z')}.example`

  it('a published CNAME, TXT and A record; NXDOMAIN for nothing; NOERROR without records for a name with names below it', async () => {
    const name = zone()
    await control('publish', { name: `www.${name}`, type: 'CNAME', value: 'Customers.Provider.Example' })
    await control('publish', { name: `_cf-custom-hostname.${name}`, type: 'TXT', value: 'a "quoted" value' })
    await control('publish', { name: `api.${name}`, type: 'A', value: '192.0.2.7' })

    const cnameAnswer = await dohQuery(config, `www.${name}`, 'CNAME')
    expect(cnameAnswer).toEqual({
      rcode: 'NOERROR',
      records: [{ name: `www.${name}.`, type: 5, ttl: 300, data: 'customers.provider.example.' }],
    })
    expect(cnameOf(cnameAnswer, `www.${name}`)).toBe('customers.provider.example')

    const txtAnswer = await dohQuery(config, `_cf-custom-hostname.${name}`, 'TXT')
    expect(txtAnswer.records[0]).toMatchObject({ type: 16, data: '"a \\"quoted\\" value"' })
    expect(txtValues(txtAnswer)).toEqual(['a "quoted" value'])

    expect(addressesOf(await dohQuery(config, `api.${name}`, 'A'))).toEqual(['192.0.2.7'])
    // A CNAME query at a name holding only an A record: the name exists, with no CNAME (NODATA).
    expect(await dohQuery(config, `api.${name}`, 'CNAME')).toEqual({ rcode: 'NOERROR', records: [] })
    // An empty non-terminal: nothing at the name, but names below it.
    expect(await dohQuery(config, name, 'TXT')).toEqual({ rcode: 'NOERROR', records: [] })
    expect(await dohQuery(config, `nothing.${name}`, 'TXT')).toEqual({ rcode: 'NXDOMAIN', records: [] })
    // A trailing dot and capitals name the same record, as at 1.1.1.1.
    expect(txtValues(await dohQuery(config, `_CF-Custom-Hostname.${name}.`, 'TXT'))).toEqual(['a "quoted" value'])
  })

  it('a long TXT value arrives as 255-character strings and is read whole', async () => {
    const name = `_acme-challenge.${zone()}`
    const value = 'v'.repeat(300)
    await control('publish', { name, type: 'TXT', value })
    const answer = await dohQuery(config, name, 'TXT')
    expect(answer.records[0]!.data).toBe(`"${'v'.repeat(255)}" "${'v'.repeat(45)}"`)
    expect(txtValues(answer)).toEqual([value])
  })

  it('a query for another type at a CNAME follows it, the CNAME first', async () => {
    const name = zone()
    await control('publish', { name: `_acme-challenge.${name}`, type: 'CNAME', value: `dcv.${name}` })
    await control('publish', { name: `dcv.${name}`, type: 'TXT', value: 'delegated' })
    const answer = await dohQuery(config, `_acme-challenge.${name}`, 'TXT')
    expect(answer.records.map((r) => r.type)).toEqual([5, 16])
    expect(txtValues(answer)).toEqual(['delegated'])
  })

  it.each([
    ['server_error', `answered NAME TXT with HTTP 500`],
    ['malformed', 'answered NAME TXT with something that is not DNS JSON'],
    ['servfail', 'answered NAME TXT with SERVFAIL'],
    ['stall', 'did not answer NAME TXT within 1 s'],
    ['oversized', 'answer to NAME TXT was cut off or too large'],
    ['hang_up', 'could not be reached for NAME TXT'],
  ])('%s: a DohFailure saying so', async (fault, message) => {
    const name = zone()
    await control('fault', { name, fault })
    const error = await dohQuery(config, `_cf-custom-hostname.${name}`, 'TXT').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DohFailure)
    expect((error as Error).message).toContain(message.replace('NAME', `_cf-custom-hostname.${name}`))
  })

  it('a resolver that cannot be reached', async () => {
    const error = await dohQuery({ url: 'http://127.0.0.1:9/dns-query', timeoutMs: 1000 }, 'x.example', 'A').catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(DohFailure)
    expect((error as Error).message).toBe('the DNS over HTTPS resolver could not be reached for x.example A')
  })
})
