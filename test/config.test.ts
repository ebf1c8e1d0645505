import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { classifyHostname } from '../src/admin/hostnames'
import { parseConfig } from '../src/config'
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
    const config = parseConfig({ DB: env.DB, PRIMARY_HOST: 'login.provider.example' })
    expect(config.providerZone).toBe('provider.example')
    expect(config.customHostnames).toBe('cloudflare')
  })

  it.each([
    ['PRIMARY_HOST missing', { PRIMARY_HOST: '' }, 'PRIMARY_HOST is not set'],
    ['PRIMARY_HOST with a scheme', { PRIMARY_HOST: 'https://login.provider.example' }, 'PRIMARY_HOST must be a bare lowercase hostname'],
    ['PRIMARY_HOST with a port', { PRIMARY_HOST: 'login.provider.example:443' }, 'PRIMARY_HOST must be a bare lowercase hostname'],
    ['PRIMARY_HOST in capitals', { PRIMARY_HOST: 'Login.provider.example' }, 'PRIMARY_HOST must be a bare lowercase hostname'],
    ['a single-label PRIMARY_HOST without zone', { PRIMARY_HOST: 'login', PROVIDER_ZONE: undefined }, 'PROVIDER_ZONE is not set'],
    ['an unknown CUSTOM_HOSTNAMES', { CUSTOM_HOSTNAMES: 'manual' }, 'CUSTOM_HOSTNAMES must be "cloudflare" or "local"'],
    ['a short ADMIN_API_KEY', { ADMIN_API_KEY: 'hunter2' }, 'ADMIN_API_KEY must be at least 32 characters long'],
    ['a negative cache TTL', { HOST_CACHE_TTL_SECONDS: '-1' }, 'HOST_CACHE_TTL_SECONDS must be'],
    ['a non-numeric cache TTL', { HOST_CACHE_TTL_SECONDS: 'soon' }, 'HOST_CACHE_TTL_SECONDS must be'],
  ])('refuses %s with a message naming the variable', (_name, override, message) => {
    expect(() => parseConfig({ ...env, ...override })).toThrow(ConfigError)
    expect(() => parseConfig({ ...env, ...override })).toThrow(message)
  })

  it('never puts a secret value in its messages', () => {
    const secret = 'short-secret'
    try {
      parseConfig({ ...env, ADMIN_API_KEY: secret })
    } catch (error) {
      expect((error as Error).message).not.toContain(secret)
    }
  })
})

describe('classifyHostname', () => {
  const config = parseConfig({ DB: env.DB, PRIMARY_HOST: 'login.provider.example', CUSTOM_HOSTNAMES: 'local' })

  it.each([
    ['acme.provider.example', 'subdomain'],
    ['phones.acme.com', 'custom'],
    ['provider.example.acme.com', 'custom'],
  ])('%s is a %s', (hostname, kind) => {
    expect(classifyHostname(config, hostname)).toBe(kind)
  })

  it.each([
    ['login.provider.example', 'primary_host_reserved'],
    ['provider.example', 'invalid_hostname'],
    ['a.b.provider.example', 'invalid_hostname'],
    ['admin.provider.example', 'hostname_reserved'],
  ])('%s is refused as %s', (hostname, code) => {
    expect(() => classifyHostname(config, hostname)).toThrow(expect.objectContaining({ code }))
  })
})
