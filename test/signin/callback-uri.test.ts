import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config'
import { callbackRoute, callbackUri } from '../../src/signin/callback-uri'
import type { Site, TenantSite } from '../../src/tenancy/site'

const production = parseConfig({ ...env, PRIMARY_HOST: 'login.provider.example', PROVIDER_ZONE: undefined })

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
    expect(callbackRoute(production, site)).toEqual(expected)
  })
})

describe('callbackUri: scheme and port come from configuration, never from the request', () => {
  it('is https with no port in production', () => {
    expect(callbackUri(production, 'phones.acme.com')).toBe('https://phones.acme.com/sso/callback')
  })

  it("carries wrangler dev's scheme and port under development", () => {
    const dev = parseConfig({ ...env, PUBLIC_SCHEME: 'http', PUBLIC_PORT: '8787' })
    expect(callbackUri(dev, 'acme.localhost')).toBe('http://acme.localhost:8787/sso/callback')
  })

  it.each([
    [
      'http on a production host',
      { PRIMARY_HOST: 'login.provider.example', PUBLIC_SCHEME: 'http' },
      /PUBLIC_SCHEME "http" is for local development only/,
    ],
    ['a port with https', { PUBLIC_PORT: '8443' }, /PUBLIC_PORT is for local development only/],
    ['a port that is not one', { PUBLIC_SCHEME: 'http', PUBLIC_PORT: '80a' }, /PUBLIC_PORT must be a port number/],
    ['another scheme', { PUBLIC_SCHEME: 'ftp' }, /PUBLIC_SCHEME must be "https" or "http"/],
  ])('refuses %s', (_name, vars, message) => {
    expect(() => parseConfig({ ...env, PROVIDER_ZONE: undefined, ...vars })).toThrow(message)
  })
})
