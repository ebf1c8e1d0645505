/**
 * Review 3 (safe, kept as coverage): an anonymous visitor's hostile requests
 * to the connect routes (malformed tokens, states and cookies, other
 * methods, cross-site posts) answer below 500, leak no stack or secret, and
 * start no connect session. The sign-in routes' equivalents are in
 * hostile-input.test.ts.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { TEST_ADMIN_KEY, TEST_CLIENT_SECRET, TEST_FLOW_KEY } from '../bindings'
import { api, CONNECT_COOKIE, dbAll, expectJson, newTenantId, PRIMARY, partnerWithKey } from '../fixtures'

function noLeak(text: string) {
  for (const secret of [TEST_ADMIN_KEY, TEST_CLIENT_SECRET, TEST_FLOW_KEY, 'at async', 'node_modules', '"d":']) {
    expect(text).not.toContain(secret)
  }
}

const sameOrigin = { origin: `https://${PRIMARY}`, 'sec-fetch-site': 'same-origin' }

describe('hostile requests to /connect/*', () => {
  it('answer below 500, leak nothing, and start no connect session', async () => {
    const { key } = await partnerWithKey()
    const as = (m: string, p: string, b?: unknown) => api(m, p, b, { key })
    const customer = await expectJson(await as('POST', '/orgs', { name: 'C', kind: 'customer' }), 201)
    const ps = await expectJson(
      await as('POST', `/orgs/${customer.id}/phone-systems`, {
        name: 'P',
        webClientUrl: 'https://pbx.partner.example/',
        handoffUrl: 'https://pbx.partner.example/sso',
        entraTenantId: newTenantId(),
      }),
      201,
    )
    const link = await expectJson(await as('POST', `/phone-systems/${ps.id}/connect`), 201)
    const token = link.connectUrl.split('/').pop()
    const requests: Array<[string, string, Record<string, string>?]> = [
      ['GET', '/connect/'],
      ['GET', '/connect/%E0%A4%A'],
      ['GET', `/connect/${token}%00`],
      ['GET', `/connect/${token}/x`],
      ['GET', '/connect/callback'],
      ['GET', '/connect/callback?state=%E0%A4%A'],
      ['GET', '/connect/callback?state=a&state=b'],
      ['GET', `/connect/callback?state=${'x'.repeat(600)}`],
      ['GET', '/connect/callback?state=x&error=%00%ff&error_description=AADSTS99999999999999'],
      ['GET', '/connect/callback?state=x', { cookie: `${CONNECT_COOKIE}=a.b.c.d.e` }],
      ['GET', '/connect/callback?state=x', { cookie: `${CONNECT_COOKIE}=${'x'.repeat(5000)}` }],
      ['POST', '/connect/callback'],
      ['POST', `/connect/${token}`, { origin: 'null' }],
      ['POST', `/connect/${token}`, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }],
      ['POST', '/connect/%E0%A4%A', sameOrigin],
      ['POST', `/connect/${'A'.repeat(43)}`, sameOrigin],
      ['PUT', `/connect/${token}`],
      ['DELETE', `/connect/${token}`],
      ['OPTIONS', `/connect/${token}`],
    ]
    for (const [method, path, headers] of requests) {
      const res = await SELF.fetch(`https://${PRIMARY}${path}`, { method, redirect: 'manual', headers })
      const text = await res.text()
      expect(res.status, `${method} ${path.slice(0, 80)}: ${text.slice(0, 200)}`).toBeLessThan(500)
      expect(res.status, `${method} ${path.slice(0, 80)}`).not.toBe(302)
      noLeak(text)
    }
    expect(
      await dbAll(
        'SELECT s.id FROM connect_sessions s JOIN connect_links l ON l.id = s.link_id WHERE l.phone_system_id = ?',
        ps.id,
      ),
    ).toEqual([])
  })
})
