import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { configProblems, parseConfig } from '../src/config'
import { ConfigError } from '../src/errors'

describe('parseConfig', () => {
  it('reads the local defaults', () => {
    expect(parseConfig(env)).toMatchObject({
      primaryHost: 'login.localhost',
      providerZone: 'localhost',
      customHostnames: 'local',
      hostCacheTtlMs: 30_000,
    })
  })

  it('defaults PROVIDER_ZONE to PRIMARY_HOST without its first label, and CUSTOM_HOSTNAMES to cloudflare', () => {
    const config = parseConfig({
      ...env,
      PRIMARY_HOST: 'login.provider.example',
      PROVIDER_ZONE: undefined,
      CUSTOM_HOSTNAMES: undefined,
    })
    expect(config.providerZone).toBe('provider.example')
    expect(config.customHostnames).toBe('cloudflare')
  })

  it.each([
    ['PRIMARY_HOST missing', { PRIMARY_HOST: '' }, 'PRIMARY_HOST is not set'],
    [
      'PRIMARY_HOST with a scheme',
      { PRIMARY_HOST: 'https://login.provider.example' },
      'PRIMARY_HOST must be a bare lowercase hostname',
    ],
    [
      'PRIMARY_HOST with a port',
      { PRIMARY_HOST: 'login.provider.example:443' },
      'PRIMARY_HOST must be a bare lowercase hostname',
    ],
    [
      'PRIMARY_HOST in capitals',
      { PRIMARY_HOST: 'Login.provider.example' },
      'PRIMARY_HOST must be a bare lowercase hostname',
    ],
    [
      'a single-label PRIMARY_HOST without zone',
      { PRIMARY_HOST: 'login', PROVIDER_ZONE: undefined },
      'PROVIDER_ZONE is not set',
    ],
    ['an unknown CUSTOM_HOSTNAMES', { CUSTOM_HOSTNAMES: 'manual' }, 'CUSTOM_HOSTNAMES must be "cloudflare" or "local"'],
    ['a short ADMIN_API_KEY', { ADMIN_API_KEY: 'hunter2' }, 'ADMIN_API_KEY must be at least 32 characters long'],
    ['a negative cache TTL', { HOST_CACHE_TTL_SECONDS: '-1' }, 'HOST_CACHE_TTL_SECONDS must be'],
    ['a non-numeric cache TTL', { HOST_CACHE_TTL_SECONDS: 'soon' }, 'HOST_CACHE_TTL_SECONDS must be'],
    [
      'an http Entra authority that is not loopback',
      { ENTRA_AUTHORITY: 'http://login.microsoftonline.com' },
      'ENTRA_AUTHORITY must use https; plain http is accepted only for a local stand-in on a loopback host',
    ],
    [
      'an http Entra authority on a lookalike of localhost',
      { ENTRA_AUTHORITY: 'http://localhost.evil.example' },
      'plain http is accepted only for a local stand-in',
    ],
    [
      'an http Entra authority on a private address',
      { ENTRA_AUTHORITY: 'http://10.0.0.5:8080' },
      'plain http is accepted only for a local stand-in',
    ],
    [
      'an Entra authority with a path',
      { ENTRA_AUTHORITY: 'https://login.microsoftonline.com/common' },
      'ENTRA_AUTHORITY must be a bare origin',
    ],
    [
      'an ftp Entra authority',
      { ENTRA_AUTHORITY: 'ftp://login.microsoftonline.com' },
      'ENTRA_AUTHORITY must use https',
    ],
    [
      'a client id that is not a GUID',
      { ENTRA_CLIENT_ID: 'my-app' },
      'ENTRA_CLIENT_ID must be the application (client) id',
    ],
    ['no client secret', { ENTRA_CLIENT_SECRET: '' }, 'ENTRA_CLIENT_SECRET is not set'],
    ['no FLOW_KEY', { FLOW_KEY: '' }, 'FLOW_KEY is not set'],
    [
      'a FLOW_KEY of 16 bytes',
      { FLOW_KEY: 'AAAAAAAAAAAAAAAAAAAAAA' },
      'FLOW_KEY must decode to exactly 32 bytes, got 16',
    ],
    ['a FLOW_KEY that is not base64url', { FLOW_KEY: 'not base64 at all!' }, 'FLOW_KEY must be base64url'],
    ['a silly Entra timeout', { ENTRA_TIMEOUT_MS: '0' }, 'ENTRA_TIMEOUT_MS must be'],
    ['no SIGNING_KEYS', { SIGNING_KEYS: '' }, 'SIGNING_KEYS is not set'],
    ['no DATA_KEY', { DATA_KEY: '' }, 'DATA_KEY is not set'],
    [
      'Cloudflare mode without a zone',
      { CUSTOM_HOSTNAMES: 'cloudflare', CLOUDFLARE_ZONE_ID: '' },
      'CLOUDFLARE_ZONE_ID must be the id of the Cloudflare for SaaS zone',
    ],
    [
      'Cloudflare mode without a token',
      { CUSTOM_HOSTNAMES: 'cloudflare', CLOUDFLARE_API_TOKEN: '' },
      'CLOUDFLARE_API_TOKEN is not set',
    ],
    [
      'a plain-http Cloudflare API that is not loopback',
      { CUSTOM_HOSTNAMES: 'cloudflare', CLOUDFLARE_API_BASE: 'http://api.cloudflare.com/client/v4' },
      'CLOUDFLARE_API_BASE must use https',
    ],
    [
      'a plain-http DOH_URL that is not loopback',
      { DOH_URL: 'http://cloudflare-dns.com/dns-query' },
      'DOH_URL must use https; plain http is accepted only for a local stand-in on a loopback host',
    ],
    ['a DOH_URL that is no URL', { DOH_URL: 'cloudflare-dns.com' }, 'DOH_URL must be an absolute URL'],
    [
      'a DOH_URL with a query',
      { DOH_URL: 'https://cloudflare-dns.com/dns-query?name=x' },
      'DOH_URL must be a DNS over HTTPS endpoint',
    ],
    [
      'a DOH_URL with credentials',
      { DOH_URL: 'https://user:pass@cloudflare-dns.com/dns-query' },
      'DOH_URL must be a DNS over HTTPS endpoint',
    ],
    [
      'a CNAME target with a scheme',
      { CUSTOM_HOSTNAME_CNAME_TARGET: 'https://customers.provider.example' },
      'CUSTOM_HOSTNAME_CNAME_TARGET must be a bare lowercase hostname',
    ],
    [
      'a single-label CNAME target',
      { CUSTOM_HOSTNAME_CNAME_TARGET: 'customers' },
      'CUSTOM_HOSTNAME_CNAME_TARGET must be a fully qualified hostname',
    ],
    [
      'a PRIMARY_HOST outside PROVIDER_ZONE',
      { PRIMARY_HOST: 'login.provider.example', PROVIDER_ZONE: 'other.example' },
      'PRIMARY_HOST "login.provider.example" must be inside PROVIDER_ZONE "other.example"',
    ],
    [
      'a PRIMARY_HOST that only ends like PROVIDER_ZONE',
      { PRIMARY_HOST: 'login.badprovider.example', PROVIDER_ZONE: 'provider.example' },
      'must be inside PROVIDER_ZONE',
    ],
    [
      "a zone id that is not Cloudflare's (32 hex digits) against the real API",
      {
        CUSTOM_HOSTNAMES: 'cloudflare',
        CLOUDFLARE_API_BASE: 'https://api.cloudflare.com/client/v4',
        CLOUDFLARE_ZONE_ID: 'my-saas-zone',
      },
      'CLOUDFLARE_ZONE_ID must be the id of the Cloudflare for SaaS zone, 32 hex digits',
    ],
    [
      'a home tenant that is not a GUID',
      { ENTRA_HOME_TENANT_ID: 'contoso.onmicrosoft.com' },
      'ENTRA_HOME_TENANT_ID must be the tenant id',
    ],
    ['SIGNING_KEYS that are not JSON', { SIGNING_KEYS: '{kty: EC' }, 'SIGNING_KEYS is not valid JSON'],
    [
      'an empty SIGNING_KEYS array',
      { SIGNING_KEYS: '[]' },
      'SIGNING_KEYS must be a JSON array of private EC P-256 JWKs',
    ],
    [
      'an RSA signing key',
      { SIGNING_KEYS: JSON.stringify([{ kty: 'RSA', n: 'x', e: 'AQAB', d: 'x', kid: 'k' }]) },
      'SIGNING_KEYS[0] must be an EC key on P-256',
    ],
    [
      'a public signing key',
      { SIGNING_KEYS: JSON.stringify([{ kty: 'EC', crv: 'P-256', x: 'abc', y: 'def', kid: 'k' }]) },
      'SIGNING_KEYS[0] must be a private key with "d"',
    ],
    [
      'a signing key without kid',
      { SIGNING_KEYS: JSON.stringify([{ kty: 'EC', crv: 'P-256', x: 'abc', y: 'def', d: 'ghi' }]) },
      'SIGNING_KEYS[0] needs a "kid"',
    ],
    [
      'two signing keys with one kid',
      {
        SIGNING_KEYS: JSON.stringify([
          { kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c', kid: 'k' },
          { kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c', kid: 'k' },
        ]),
      },
      'SIGNING_KEYS[1] repeats the kid "k"',
    ],
  ])('refuses %s with a message naming the variable', (_name, override, message) => {
    expect(() => parseConfig({ ...env, ...override })).toThrow(ConfigError)
    expect(() => parseConfig({ ...env, ...override })).toThrow(message)
  })

  it.each([
    ['http://127.0.0.1:8790', 'http://127.0.0.1:8790', true],
    ['http://localhost:8790', 'http://localhost:8790', true],
    ['http://entra.localhost', 'http://entra.localhost', true],
    ['http://[::1]:8790', 'http://[::1]:8790', true],
    ['https://login.microsoftonline.com/', 'https://login.microsoftonline.com', false],
  ])('accepts ENTRA_AUTHORITY %s', (raw, authority, insecure) => {
    expect(parseConfig({ ...env, ENTRA_AUTHORITY: raw }).entra).toMatchObject({ authority, insecureLoopback: insecure })
  })

  it('DOH_URL defaults to 1.1.1.1, accepts a loopback stand-in over http; the CNAME target is optional', () => {
    const defaults = parseConfig({ ...env, DOH_URL: undefined, CUSTOM_HOSTNAME_CNAME_TARGET: undefined })
    expect(defaults.doh).toEqual({ url: 'https://cloudflare-dns.com/dns-query', timeoutMs: 3000 })
    expect(defaults.customHostnameCnameTarget).toBeNull()
    const local = parseConfig({
      ...env,
      DOH_URL: 'http://127.0.0.1:8793/dns-query',
      CUSTOM_HOSTNAME_CNAME_TARGET: 'customers.provider.example',
    })
    expect(local.doh.url).toBe('http://127.0.0.1:8793/dns-query')
    expect(local.customHostnameCnameTarget).toBe('customers.provider.example')
  })

  it('never puts a secret value in its messages', () => {
    const secret = 'short-secret'
    let message = ''
    expect(() => {
      try {
        parseConfig({ ...env, ADMIN_API_KEY: secret })
      } catch (error) {
        message = (error as Error).message
        throw error
      }
    }).toThrow(ConfigError)
    expect(message).toContain('ADMIN_API_KEY')
    expect(message).not.toContain(secret)
  })

  it('accepts a primary host that is the zone itself, and a 32-hex zone id against the real API', () => {
    const config = parseConfig({
      ...env,
      PRIMARY_HOST: 'provider.example',
      PROVIDER_ZONE: 'provider.example',
      CUSTOM_HOSTNAMES: 'cloudflare',
      CLOUDFLARE_API_BASE: 'https://api.cloudflare.com/client/v4',
      CLOUDFLARE_ZONE_ID: '023e105f4ecef8ad9ca31a8372d0c353',
    })
    expect(config.cloudflare?.zoneId).toBe('023e105f4ecef8ad9ca31a8372d0c353')
  })
})

describe('configProblems', () => {
  it('is empty for a valid configuration', () => {
    expect(configProblems(env)).toEqual([])
  })

  it('lists every problem, in the order parseConfig meets them (it throws the first)', () => {
    const broken = {
      ...env,
      PRIMARY_HOST: 'Login.provider.example',
      HOST_CACHE_TTL_SECONDS: 'soon',
      ENTRA_CLIENT_ID: 'my-app',
      FLOW_KEY: '',
    }
    const problems = configProblems(broken)
    expect(problems.map((problem) => problem.split(' ')[0])).toEqual([
      'PRIMARY_HOST',
      'HOST_CACHE_TTL_SECONDS',
      'ENTRA_CLIENT_ID',
      'FLOW_KEY',
    ])
    expect(() => parseConfig(broken)).toThrow(problems[0])
  })

  it('refuses a deployed Worker every development switch, which the local configuration uses', () => {
    const local = {
      ...env,
      PUBLIC_SCHEME: 'http',
      PUBLIC_PORT: '8787',
      CUSTOM_HOSTNAMES: 'local',
      ENTRA_AUTHORITY: 'http://127.0.0.1:8790',
      GRAPH_BASE: 'http://127.0.0.1:8791',
    }
    expect(configProblems(local)).toEqual([])
    const problems = configProblems(local, { deployed: true })
    expect(problems.map((problem) => problem.split(' ')[0])).toEqual([
      'PRIMARY_HOST',
      'CUSTOM_HOSTNAMES',
      'GRAPH_BASE',
      'ENTRA_AUTHORITY',
      'DOH_URL',
    ])
    expect(problems[0]).toContain('is a loopback name')
    expect(
      configProblems(
        { ...local, CUSTOM_HOSTNAMES: 'cloudflare', CLOUDFLARE_API_BASE: 'http://127.0.0.1:8792/client/v4' },
        { deployed: true },
      ),
    ).toContainEqual(expect.stringMatching(/^CLOUDFLARE_API_BASE is a local stand-in/))
  })
})
