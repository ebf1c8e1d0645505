import { describe, expect, it } from 'vitest'
import type { Site, TenantSite } from '../../src/hosts/resolve'
import { originFor } from '../../src/http/origin'
import { authorityTenant, discoveryIssuer, expectedTokenIssuer } from '../../src/oidc/tenant'
import { callbackRoute } from '../../src/signin/redirect'

const A = '11111111-1111-4111-8111-111111111111'
const B = '22222222-2222-4222-8222-222222222222'
const AUTH = 'https://login.microsoftonline.com'

describe('authorityTenant', () => {
  it.each([
    [[A], A],
    [[A, A.toUpperCase()], A],
    [[A, B], 'organizations'],
    [[], 'organizations'],
    [['contoso.onmicrosoft.com'], 'organizations'],
  ])('%j -> %s', (tenants, expected) => {
    expect(authorityTenant(tenants)).toBe(expected)
  })
})

describe('issuers', () => {
  it('discovery: the tenant issuer, or the template on organizations', () => {
    expect(discoveryIssuer(AUTH, A)).toBe(`${AUTH}/${A}/v2.0`)
    expect(discoveryIssuer(AUTH, 'organizations')).toBe(`${AUTH}/{tenantid}/v2.0`)
  })

  it.each([
    ['tenant authority ignores the token tid', A, B, `${AUTH}/${A}/v2.0`],
    ['organizations fills in the token tid', 'organizations', B, `${AUTH}/${B}/v2.0`],
    ['organizations with no tid matches nothing', 'organizations', undefined, 'urn:invalid:issuer-without-tenant'],
    [
      'organizations with a non-GUID tid matches nothing',
      'organizations',
      'common',
      'urn:invalid:issuer-without-tenant',
    ],
    [
      'organizations with an injected tid matches nothing',
      'organizations',
      `${A}/../evil`,
      'urn:invalid:issuer-without-tenant',
    ],
  ])('token issuer: %s', (_name, tenant, tid, expected) => {
    expect(expectedTokenIssuer(AUTH, tenant, tid)).toBe(expected)
  })
})

describe('callbackRoute', () => {
  const branding = { displayName: 'X', logoUrl: null, accentColor: '#000000' }
  const tenantSite = (over: Partial<TenantSite>): Site => ({
    kind: 'tenant',
    hostname: 'acme.provider.example',
    status: 'active',
    callbackMode: 'central',
    redirectUriRegistered: false,
    org: { id: 'org_1', kind: 'customer', structure: 'nested', name: 'Acme' },
    branding,
    ...over,
  })
  const https = new URL('https://acme.provider.example/sso/login')

  it.each([
    ['central', tenantSite({}), { kind: 'central', redirectUri: 'https://login.provider.example/sso/callback' }],
    [
      'direct, not yet registered: central',
      tenantSite({ callbackMode: 'direct' }),
      { kind: 'central', redirectUri: 'https://login.provider.example/sso/callback' },
    ],
    [
      'direct, registered',
      tenantSite({ callbackMode: 'direct', redirectUriRegistered: true }),
      { kind: 'here', redirectUri: 'https://acme.provider.example/sso/callback' },
    ],
    [
      'primary',
      { kind: 'primary', hostname: 'login.provider.example', branding } as Site,
      { kind: 'here', redirectUri: 'https://login.provider.example/sso/callback' },
    ],
  ])('%s', (_name, site, expected) => {
    expect(callbackRoute(site, 'login.provider.example', https)).toEqual(expected)
  })

  it('never carries a port in production, even when the request had one', () => {
    const odd = new URL('https://acme.provider.example:8443/sso/login')
    expect(callbackRoute(tenantSite({}), 'login.provider.example', odd).redirectUri).toBe(
      'https://login.provider.example/sso/callback',
    )
  })

  it('keeps the port of a loopback development host (wrangler dev)', () => {
    expect(originFor('login.localhost', new URL('http://acme.localhost:8787/sso/login'))).toBe(
      'http://login.localhost:8787',
    )
  })
})
