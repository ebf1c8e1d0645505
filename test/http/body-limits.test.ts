/**
 * Bodies are bounded while they are read (ARCHITECTURE §8): a chunked body with no
 * Content-Length is cut off at the limit, and the sender's stream is not
 * read further. The app is called in-process here so that the test owns the
 * very stream the gateway reads and can count what was pulled from it.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { countJsonContainers } from '../../src/http/body'
import { app } from '../../src/index'
import { TEST_ADMIN_KEY } from '../bindings'
import { api, createPhoneSystem, dbAll, PRIMARY, putList, seedTenant } from '../fixtures'

const KiB = 1024
const MiB = 1024 * KiB

/** A chunked body of `total` bytes of `fill`, counting how many bytes the reader pulled. */
function countingStream(total: number, fill = 'a', chunk = 64 * KiB) {
  const piece = new TextEncoder().encode(fill.repeat(chunk))
  const counter = { pulled: 0 }
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (counter.pulled >= total) return controller.close()
      const bytes = piece.subarray(0, Math.min(chunk, total - counter.pulled))
      counter.pulled += bytes.byteLength
      controller.enqueue(bytes)
    },
  })
  return { stream, counter }
}

function post(
  url: string,
  headers: Record<string, string>,
  body: ReadableStream<Uint8Array> | string,
  method = 'POST',
) {
  return app.request(url, { method, headers, body, duplex: 'half' } as RequestInit, env)
}

describe('request bodies are bounded while they are read', () => {
  it('a chunked 8 MiB chooser form is refused with a 413 page after 16 KiB, and the rest is never read', async () => {
    const tenant = await seedTenant()
    const { stream, counter } = countingStream(8 * MiB)
    const res = await post(
      `https://${tenant.hostname}/sso/choose`,
      {
        'content-type': 'application/x-www-form-urlencoded',
        origin: `https://${tenant.hostname}`,
        'sec-fetch-site': 'same-origin',
      },
      stream,
    )
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(await res.text()).toContain('Request too large')
    // The reader stopped at the first chunk past 16 KiB (64 KiB chunks): not 8 MiB.
    expect(counter.pulled).toBeLessThanOrEqual(2 * 64 * KiB)
  })

  it('a chooser form under 16 KiB is read (and refused only for what it says)', async () => {
    const tenant = await seedTenant()
    const res = await post(
      `https://${tenant.hostname}/sso/choose`,
      {
        'content-type': 'application/x-www-form-urlencoded',
        origin: `https://${tenant.hostname}`,
        'sec-fetch-site': 'same-origin',
      },
      `token=${'x'.repeat(15 * KiB)}&phoneSystem=p`,
    )
    expect(res.status).toBe(400)
  })

  it('an admin JSON body streamed past 1 MiB is a JSON 413 and creates nothing', async () => {
    const before = await dbAll<{ n: number }>('SELECT count(*) AS n FROM organizations')
    // `{"name":"aaaa…` never closes: only the bound can end the read.
    const { stream, counter } = countingStream(4 * MiB)
    const prefix = new TextEncoder().encode('{"kind":"partner","name":"')
    const reader = stream.getReader()
    let sentPrefix = false
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!sentPrefix) {
          sentPrefix = true
          return controller.enqueue(prefix)
        }
        const { done, value } = await reader.read()
        if (done) controller.close()
        else controller.enqueue(value)
      },
    })
    const res = await post(
      `https://${PRIMARY}/api/v1/orgs`,
      { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      body,
    )
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await res.json()).toEqual({ error: { code: 'payload_too_large', message: 'The body is larger than 1 MiB' } })
    expect(counter.pulled).toBeLessThan(2 * MiB)
    expect(await dbAll('SELECT count(*) AS n FROM organizations')).toEqual(before)
  })

  it('an honest Content-Length over the bound is refused before anything is read', async () => {
    const res = await api('POST', '/orgs', undefined, {
      rawBody: JSON.stringify({ name: 'x'.repeat(MiB), kind: 'partner' }),
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(413)
    expect((await res.json<any>()).error.message).toBe('The body is larger than 1 MiB')
  })

  it('the SSO list PUT takes a list of several MiB, and refuses one streamed past 16 MiB, keeping the list', async () => {
    const tenant = await seedTenant()
    const phoneSystem = await createPhoneSystem(tenant.customer.id)
    await putList(phoneSystem.id, [{ oid: '00000000-0000-4000-8000-000000000001', extension: '100' }])
    // 8,000 users with long display names: about 1.8 MiB, over the 1 MiB of other admin bodies.
    const users = Array.from({ length: 8_000 }, (_, i) => ({
      oid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      extension: String(1000 + i),
      displayName: `User ${i} ${'n'.repeat(150)}`,
    }))
    const big = JSON.stringify({ users })
    expect(big.length).toBeGreaterThan(1.5 * MiB)
    const ok = await api('PUT', `/phone-systems/${phoneSystem.id}/sso-users`, undefined, {
      rawBody: big,
      headers: { 'content-type': 'application/json' },
    })
    expect(ok.status, await ok.clone().text()).toBe(200)

    const { stream, counter } = countingStream(20 * MiB, ' ')
    const res = await post(
      `https://${PRIMARY}/api/v1/phone-systems/${phoneSystem.id}/sso-users`,
      { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      stream,
      'PUT',
    )
    expect(res.status).toBe(413)
    expect((await res.json<any>()).error.message).toBe('The body is larger than 16 MiB')
    expect(counter.pulled).toBeLessThan(17 * MiB)
    const [row] = await dbAll<{ n: number }>(
      'SELECT count(*) AS n FROM sso_users WHERE phone_system_id = ?',
      phoneSystem.id,
    )
    expect(row?.n).toBe(8_000)
  }, 30_000)

  it('a list body of 700,000 empty objects is refused before parsing (it would take ~50 MB parsed), the list kept', async () => {
    const tenant = await seedTenant()
    const phoneSystem = await createPhoneSystem(tenant.customer.id)
    await putList(phoneSystem.id, [{ oid: '00000000-0000-4000-8000-000000000001', extension: '100' }])
    const res = await api('PUT', `/phone-systems/${phoneSystem.id}/sso-users`, undefined, {
      rawBody: `{"users":[${'{},'.repeat(700_000)}{}]}`,
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({
      error: { code: 'payload_too_large', message: 'The body holds more than 100,010 JSON objects and arrays' },
    })
    const [row] = await dbAll<{ n: number }>(
      'SELECT count(*) AS n FROM sso_users WHERE phone_system_id = ?',
      phoneSystem.id,
    )
    expect(row?.n).toBe(1)
  }, 30_000)

  it('an admin body of 20,000 nested arrays is refused before parsing', async () => {
    const res = await api('POST', '/orgs', undefined, {
      rawBody: `{"name":"x","kind":"partner","branding":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(413)
    expect((await res.json<any>()).error.message).toBe('The body holds more than 10,000 JSON objects and arrays')
  })
})

describe('countJsonContainers', () => {
  it('counts objects and arrays, not brackets inside strings or after escapes', () => {
    expect(countJsonContainers('{"a":[{},{}],"b":"{[\\"}"}', 100)).toBe(4)
    expect(countJsonContainers('{"a":"\\"}', 100)).toBe(1)
    expect(countJsonContainers('{"a":"\\\\","b":{}}', 100)).toBe(2)
    expect(countJsonContainers('[[[[[[', 3)).toBe(4)
  })
})
