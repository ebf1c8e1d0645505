import { describe, expect, it } from 'vitest'
import { authorityTenant, discoveryIssuer, expectedTokenIssuer } from '../../src/oidc/tenant'

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
