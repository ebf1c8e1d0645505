/**
 * (finding) The sign-in Worker's configuration scope (`getConfig(env, 'sign-in')`) leaves
 * `config.cloudflare` null although CUSTOM_HOSTNAMES is "cloudflare". Code that reads
 * "no Cloudflare client" as "CUSTOM_HOSTNAMES is local" would then attach a custom domain
 * as active at once, without Cloudflare verifying that the partner controls it: a domain
 * squat. Only the admin Worker attaches hostnames today, so this pins that a configuration
 * without its Cloudflare client refuses the attach instead of skipping the verification.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { getConfig } from '../../src/config'
import { redirectUrisOf } from '../../src/hostnames/redirect-uris'
import { attachHostname } from '../../src/hostnames/service'
import { createPartner, dbAll, uniqueLabel } from '../fixtures'

describe('a configuration without its Cloudflare client never attaches a custom domain unverified', () => {
  it('refuses the attach and stores nothing, where CUSTOM_HOSTNAMES says "cloudflare"', async () => {
    const partner = await createPartner()
    const hostname = `${uniqueLabel('phones')}.victim-corp.example`
    const signInScoped = getConfig({ ...env, CUSTOM_HOSTNAMES: 'cloudflare' } as never, 'sign-in')
    expect(signInScoped.customHostnames).toBe('cloudflare')
    expect(signInScoped.cloudflare).toBeNull()

    const attempt = attachHostname(
      env.DB,
      signInScoped,
      redirectUrisOf(env),
      { kind: 'ops', actor: 'ops:review7' },
      partner.id,
      { hostname },
      Date.now(),
    )
    await expect(attempt).rejects.toMatchObject({ code: 'cloudflare_unavailable' })
    expect(await dbAll('SELECT hostname, status FROM hostnames WHERE hostname = ?', hostname)).toEqual([])
  })
})
