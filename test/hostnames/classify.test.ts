import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config'
import { classifyHostname } from '../../src/hostnames/service'

describe('classifyHostname', () => {
  const config = parseConfig({
    ...env,
    PRIMARY_HOST: 'login.provider.example',
    PROVIDER_ZONE: undefined,
    CUSTOM_HOSTNAMES: 'local',
    CUSTOM_HOSTNAME_CNAME_TARGET: 'customers.provider.example',
  })

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
    // What every custom domain is a CNAME to is the provider's own name.
    ['customers.provider.example', 'hostname_reserved'],
  ])('%s is refused as %s', (hostname, code) => {
    expect(() => classifyHostname(config, hostname)).toThrow(expect.objectContaining({ code }))
  })
})
