import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { aadstsCode, entraErrorCode, entraErrorDetail } from '../../src/oidc/entra-errors'
import { HANDOFF_FIELD, seedSignInTenant, signIn, startLogin, withCookie } from '../fixtures'
import { flowsOf } from '../flows'

describe("Entra's error answers at the callback", () => {
  it.each([
    ['access_denied', 403, 'Sign-in was cancelled', 'AADSTS65004'],
    ['consent_required', 403, 'Your administrator must approve this app', 'AADSTS65001'],
    ['admin_consent_required', 403, 'Your administrator must approve this app', 'AADSTS90094'],
    ['other_tenant', 403, 'This account belongs to another organization', 'AADSTS50020'],
    ['app_not_in_tenant', 403, 'The sign-in app is not set up in your organization', 'AADSTS700016'],
    ['not_assigned', 403, 'You are not assigned to the phone system', 'AADSTS50105'],
    ['conditional_access', 403, 'Blocked by your organization&#39;s policy', 'AADSTS53003'],
    ['login_required', 502, 'Microsoft sign-in failed', 'AADSTS50058'],
  ])('%s: %i "%s" quoting %s, on the primary host, with a way back', async (outcome, status, title, aadsts) => {
    const tenant = await seedSignInTenant()
    const result = await signIn(tenant.hostname, null, outcome)
    expect(result.res.status).toBe(status)
    expect(result.html).toContain(title)
    expect(result.html).toContain(`Microsoft error ${aadsts}`)
    expect(result.html).toContain(`href="https://${tenant.hostname}/"`)
    expect(result.html).not.toContain('Trace ID')
    expect(result.res.headers.get('cache-control')).toBe('no-store')
    const [flow] = await flowsOf(tenant.hostname)
    expect(flow!.consumedAt).toEqual(expect.any(Number))
    expect(flow!.completedAt).toBeNull()
  })
})

describe("Entra's error answers at the token endpoint", () => {
  it.each([
    ['code_redeemed', 400, 'This sign-in could not be completed', 'AADSTS54005'],
    ['verifier_mismatch', 400, 'This sign-in could not be completed', 'AADSTS501481'],
    ['secret_invalid', 502, 'The provider&#39;s administrator must renew the secret', 'AADSTS7000215'],
    ['secret_expired', 502, 'The provider&#39;s administrator must renew the secret', 'AADSTS7000222'],
    ['server_error', 502, 'Microsoft sign-in is not answering', null],
    ['unavailable', 502, 'Microsoft sign-in is not answering', null],
    ['slow', 504, 'Microsoft sign-in is not answering', null],
  ])('%s: %i "%s"', async (outcome, status, text, aadsts) => {
    const tenant = await seedSignInTenant()
    const result = await signIn(tenant.hostname, tenant.user, outcome)
    expect(result.res.status).toBe(status)
    expect(result.html).toContain(text)
    if (aadsts) expect(result.html).toContain(`Microsoft error ${aadsts}`)
    expect(result.html).not.toContain(HANDOFF_FIELD)
  })
})

describe('what Entra (or anybody) puts in the callback URL is never echoed raw', () => {
  it('shows only the AADSTS number of a hostile error_description, escaped page, no markup', async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const state = authorizeUrl.searchParams.get('state')!
    const hostile = new URL('https://login.localhost/sso/callback')
    hostile.searchParams.set('state', state)
    hostile.searchParams.set('error', '<script>alert(1)</script>')
    hostile.searchParams.set(
      'error_description',
      '<img src=x onerror=alert(1)> Call +1-555-0100 to unlock. AADSTS50105: x',
    )
    const res = await SELF.fetch(hostile, withCookie(null))
    const html = await res.text()
    expect(res.status).toBe(403)
    expect(html).toContain('Microsoft error AADSTS50105 (error)')
    expect(html).not.toContain('<script>alert(1)')
    expect(html).not.toContain('<img src=x')
    expect(html).not.toContain('555-0100')
  })
})

describe('entra-errors (pure)', () => {
  it.each([
    ['AADSTS50105: blocked', 50105],
    ['no code here', null],
    [null, null],
    ['AADSTS12: too short', null],
  ])('aadstsCode(%j) = %j', (description, code) => {
    expect(aadstsCode(description)).toBe(code)
  })

  it.each([
    [null, 'AADSTS50011: The redirect URI does not match', 'entra_redirect_uri'],
    ['invalid_client', 'AADSTS7000222: expired', 'entra_client_secret'],
    // invalid_client too, but the secret is fine: the app is not installed in that tenant.
    [
      'invalid_client',
      'AADSTS7000229: The client application … is missing service principal',
      'entra_app_not_in_tenant',
    ],
    ['access_denied', 'something else', 'entra_access_denied'],
    ['temporarily_unavailable', null, 'entra_unavailable'],
    ['weird_error', null, 'entra_error'],
  ])('entraErrorCode(%j, %j) = %s', (error, description, code) => {
    expect(entraErrorCode(error, description)).toBe(code)
  })

  it('never lets an unusual error name through', () => {
    expect(entraErrorDetail('"><b>', 'AADSTS50020: x')).toBe('Microsoft error AADSTS50020 (error)')
    expect(entraErrorDetail('access_denied', null)).toBe('Microsoft answered "access_denied"')
  })
})
