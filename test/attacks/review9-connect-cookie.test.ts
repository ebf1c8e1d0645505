/**
 * Review 9, DESIGN §5 "Flow cookies: __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/, no
 * Domain, lifetime at most 600 s" and §6 (the connect "runs the sign-in flow of section 3", whose
 * flow cookie lives "at most 10 minutes"). login.test.ts pins the sign-in flow cookie; the connect
 * flow's cookie (`__Host-sso_connect`, set when "Connect Microsoft 365" is pressed) was unpinned.
 */
import { describe, expect, it } from 'vitest'
import {
  api,
  CONNECT_COOKIE,
  createCustomer,
  expectJson,
  newTenantId,
  partnerWithKey,
  submitConnect,
} from '../fixtures'

describe('review 9: the connect flow cookie', () => {
  it('is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, and lives at most 600 s', async () => {
    const { partner, key } = await partnerWithKey()
    const customer = await createCustomer(partner.id)
    const ps = await expectJson(
      await api(
        'POST',
        `/orgs/${customer.id}/phone-systems`,
        {
          name: 'HQ',
          webClientUrl: 'https://pbx.example/',
          handoffUrl: 'https://pbx.example/h',
          entraTenantId: newTenantId(),
        },
        { key },
      ),
      201,
    )
    const { connectUrl } = await expectJson(
      await api('POST', `/phone-systems/${ps.id}/connect`, undefined, { key }),
      201,
    )
    const res = await submitConnect(connectUrl)
    expect(res.status).toBe(302)
    const [header] = res.headers.getSetCookie().filter((h) => h.startsWith(`${CONNECT_COOKIE}=`))
    expect(header).toBeDefined()
    const attributes = header!
      .split(';')
      .slice(1)
      .map((a) => a.trim().toLowerCase())
    expect(attributes).toContain('secure')
    expect(attributes).toContain('httponly')
    expect(attributes).toContain('samesite=lax')
    expect(attributes).toContain('path=/')
    expect(attributes.some((a) => a.startsWith('domain'))).toBe(false)
    const maxAge = Number(attributes.find((a) => a.startsWith('max-age='))?.split('=')[1])
    expect(maxAge).toBeGreaterThan(0)
    expect(maxAge).toBeLessThanOrEqual(600)
  })
})
