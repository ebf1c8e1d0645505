import { describe, expect, it, vi } from 'vitest'
import { TEST_ADMIN_KEY } from '../bindings'
import { api } from '../fixtures'

describe('admin API authentication', () => {
  it.each([
    ['no Authorization header', null, undefined],
    ['a wrong key', 'wrong-key-0123456789abcdefghijklmnopqrstuvwxyz', undefined],
    ['the key minus its last character', TEST_ADMIN_KEY.slice(0, -1), undefined],
    ['the key plus a character', `${TEST_ADMIN_KEY}x`, undefined],
    ['Basic scheme', null, `Basic ${btoa(`ops:${TEST_ADMIN_KEY}`)}`],
    ['the bare key without a scheme', null, TEST_ADMIN_KEY],
    ['an empty bearer', null, 'Bearer '],
    ['two keys', null, `Bearer ${TEST_ADMIN_KEY} ${TEST_ADMIN_KEY}`],
  ])('refuses %s with 401', async (_name, key, header) => {
    const res = await api('GET', '/orgs', undefined, { key, headers: header ? { authorization: header } : {} })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="admin"')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toEqual({
      error: { code: 'unauthorized', message: 'Send a valid API key as "Authorization: Bearer <key>"' },
    })
  })

  it('accepts the ops key, with the scheme in any case', async () => {
    const res = await api('GET', '/orgs', undefined, {
      key: null,
      headers: { authorization: `bearer ${TEST_ADMIN_KEY}` },
    })
    expect(res.status).toBe(200)
  })

  it('answers 401 before 404, so routes cannot be probed without a key', async () => {
    const anonymous = await api('GET', '/no-such-route', undefined, { key: null })
    expect(anonymous.status).toBe(401)
    const authenticated = await api('GET', '/no-such-route')
    expect(authenticated.status).toBe(404)
    expect(await authenticated.json()).toEqual({ error: { code: 'not_found', message: 'No such API route' } })
  })
})

describe('the ops key comparison', () => {
  it('compares the presented key with the ops key in constant time (WebCrypto timingSafeEqual), never with ===', async () => {
    const spy = vi.spyOn(crypto.subtle, 'timingSafeEqual')
    try {
      expect((await api('GET', '/orgs')).status).toBe(200)
      expect(spy).toHaveBeenCalledTimes(1)
    } finally {
      spy.mockRestore()
    }
  })
})
