/**
 * Review 9, DESIGN §5/§8 against the SCIM routes and the admin API's scim-tokens calls:
 * bodies bounded while they are read (a chunked body with no Content-Length, 413), token
 * guessing bounded per client address (429 with Retry-After, in SCIM's shape), the admin
 * API's error shape `{"error":{"code","message"}}` on the scim-tokens calls, and both
 * absent (404, nothing written) on every host but the primary one.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { TEST_ADMIN_KEY } from '../bindings'
import { api, dbAll, PRIMARY } from '../fixtures'
import { entraUser, expectScimError, SCIM_TYPE, scim, seedScimTenant } from '../scim/helpers'

const MiB = 1024 * 1024

/** `prefix` then `total` bytes of "a", never closing the JSON string: only a bound can end the read. */
function endlessJson(prefix: string, total = 4 * MiB) {
  const chunk = new TextEncoder().encode('a'.repeat(64 * 1024))
  const counter = { pulled: 0 }
  let sentPrefix = false
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sentPrefix) {
        sentPrefix = true
        return controller.enqueue(new TextEncoder().encode(prefix))
      }
      if (counter.pulled >= total) return controller.close()
      counter.pulled += chunk.byteLength
      controller.enqueue(chunk)
    },
  })
  return { stream, counter }
}

function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: ReadableStream<Uint8Array>,
  bindings = env,
) {
  return app.request(url, { method, headers, body, duplex: 'half' } as RequestInit, bindings)
}

const scimRows = (id: string) => dbAll('SELECT id FROM scim_users WHERE phone_system_id = ?', id)
const tokenRows = (id: string) => dbAll('SELECT id FROM scim_tokens WHERE phone_system_id = ?', id)

describe('review 9: SCIM bodies are bounded while read', () => {
  it.each(['POST /Users', 'PATCH /Users/{id}', 'PUT /Users/{id}', 'POST /Groups'])(
    '%s streamed past 1 MiB without Content-Length: 413 in SCIM shape, the stream left unread, nothing written',
    async (route) => {
      const tenant = await seedScimTenant()
      const [method, path] = route.split(' ') as [string, string]
      const { stream, counter } = endlessJson('{"userName":"big@contoso.example","displayName":"')
      const res = await send(
        `https://${PRIMARY}/scim/v2/phone-systems/${tenant.phoneSystemId}${path.replace('{id}', 'usr_nobody')}`,
        method,
        { authorization: `Bearer ${tenant.token}`, 'content-type': SCIM_TYPE },
        stream,
      )
      await expectScimError(res, 413)
      expect(counter.pulled).toBeLessThan(2 * MiB)
      expect(await scimRows(tenant.phoneSystemId)).toEqual([])
    },
  )
})

describe('review 9: SCIM token guessing is bounded per client address', () => {
  it('wrong tokens from one address: 401 then 429 with Retry-After in SCIM shape; then even the right token is 429', async () => {
    const tenant = await seedScimTenant()
    const tight = { ...env, ADMIN_RATE_LIMIT: env.TIGHT_RATE_LIMIT }
    const ip = `203.0.113.${Math.floor(Math.random() * 250) + 1}`
    const url = `https://${PRIMARY}/scim/v2/phone-systems/${tenant.phoneSystemId}/Users`
    const statuses: number[] = []
    let last: Response | undefined
    for (let i = 0; i < 5; i++) {
      last = await send(
        url,
        'GET',
        { authorization: `Bearer scim_guess_${i}_${'x'.repeat(40)}`, 'cf-connecting-ip': ip },
        undefined,
        tight,
      )
      statuses.push(last.status)
      if (i < 4) await last.body?.cancel()
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429])
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0)
    await expectScimError(last!, 429)
    const right = await send(
      url,
      'GET',
      { authorization: `Bearer ${tenant.token}`, 'cf-connecting-ip': ip },
      undefined,
      tight,
    )
    expect(right.status).toBe(429)
    await right.body?.cancel()
    const [row] = await dbAll<any>('SELECT last_used_at FROM scim_tokens WHERE id = ?', tenant.tokenId)
    expect(row?.last_used_at ?? null).toBeNull()
  })
})

describe('review 9: the scim-tokens calls speak the admin API', () => {
  it('a create streamed past 1 MiB: 413 {"error":{code,message}}, no token stored', async () => {
    const tenant = await seedScimTenant()
    const before = await tokenRows(tenant.phoneSystemId)
    const { stream, counter } = endlessJson('{"label":"')
    const res = await send(
      `https://${PRIMARY}/api/v1/phone-systems/${tenant.phoneSystemId}/scim-tokens`,
      'POST',
      { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      stream,
    )
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await res.json()).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } })
    expect(counter.pulled).toBeLessThan(2 * MiB)
    expect(await tokenRows(tenant.phoneSystemId)).toEqual(before)
  })

  it("malformed JSON, an unknown phone system, an unknown token: the error shape and the right status, never SCIM's", async () => {
    const tenant = await seedScimTenant()
    const cases: Array<[Response, number]> = [
      [
        await api('POST', `/phone-systems/${tenant.phoneSystemId}/scim-tokens`, undefined, {
          rawBody: '{"label":',
          headers: { 'content-type': 'application/json' },
        }),
        400,
      ],
      [await api('POST', '/phone-systems/ps_nonexistent000000/scim-tokens', {}), 404],
      [await api('GET', '/phone-systems/ps_nonexistent000000/scim-tokens'), 404],
      [await api('DELETE', `/phone-systems/${tenant.phoneSystemId}/scim-tokens/sct_nonexistent00000`), 404],
    ]
    for (const [res, status] of cases) {
      const text = await res.text()
      expect(res.status, text).toBe(status)
      const body = JSON.parse(text)
      expect(Object.keys(body)).toEqual(['error'])
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message'])
      expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/)
    }
    expect((await tokenRows(tenant.phoneSystemId)).length).toBe(1)
  })
})

describe('review 9: SCIM and the scim-tokens calls exist on the primary host only', () => {
  it('on the customer host: 404 for a SCIM write with a valid token and for a token create with the ops key; nothing written', async () => {
    const tenant = await seedScimTenant()
    const write = await scim(tenant, 'POST', '/Users', entraUser('elsewhere@contoso.example'), {
      host: tenant.hostname,
    })
    expect(write.status).toBe(404)
    await write.body?.cancel()
    const mint = await api('POST', `/phone-systems/${tenant.phoneSystemId}/scim-tokens`, {}, { host: tenant.hostname })
    expect(mint.status).toBe(404)
    await mint.body?.cancel()
    const list = await api('GET', `/phone-systems/${tenant.phoneSystemId}/scim-tokens`, undefined, {
      host: tenant.hostname,
    })
    expect(list.status).toBe(404)
    expect(await list.text()).not.toContain(tenant.tokenId)
    expect(await scimRows(tenant.phoneSystemId)).toEqual([])
    expect((await tokenRows(tenant.phoneSystemId)).length).toBe(1)
  })
})
