/**
 * (holds) base64url has more than one spelling of the same bytes (the unused low bits of the last
 * character; whitespace, which atob skips), so another spelling of a genuine sealed value still
 * opens. It is the same value, and single use does not hang on its spelling: a completion code is
 * used up with its flow (the flow's object completes a flow once, whatever spelling brought the
 * code), the chooser token by the hash of the exact string handed out, and a state in another
 * spelling is the same flow, used once.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { getConfig } from '../../src/config'
import { unseal } from '../../src/lib/crypto'
import { HANDOFF_FIELD, pickAccount, seedSignInTenant, startLogin, withCookie } from '../fixtures'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The same bytes, spelled differently: the last character's lowest bit is padding in a 16-byte tag. */
function respell(sealed: string): string {
  const last = sealed.at(-1)!
  return sealed.slice(0, -1) + ALPHABET[ALPHABET.indexOf(last) ^ 1]
}

describe('another spelling of a sealed value', () => {
  it('opens, and a completion code in any spelling completes its flow once: afterwards no spelling does', async () => {
    const tenant = await seedSignInTenant()
    const { cookie, authorizeUrl } = await startLogin(tenant.hostname)
    const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
    const central = await SELF.fetch(callbackUrl, { redirect: 'manual' })
    expect(central.status).toBe(303)
    const complete = new URL(central.headers.get('location')!)
    const code = complete.searchParams.get('code')!
    const variant = respell(code)
    expect(variant).not.toBe(code)
    const config = getConfig(env as never)
    const parts = code.split('.')
    parts[3] = `${parts[3]!.slice(0, 4)} ${parts[3]!.slice(4)}`
    const spaced = parts.join('.')
    // The premise: both spellings are genuine to unseal.
    for (const spelling of [variant, spaced])
      expect(await unseal(spelling, config.flowKey, `flow-completion:${tenant.hostname}`)).not.toBeNull()

    // One spelling completes the flow (it is the same code); then no spelling does, the genuine one included.
    const [first, ...others] = [variant, spaced, code]
    const withSpelling = (spelling: string) => {
      const url = new URL(complete)
      url.searchParams.set('code', spelling)
      return url
    }
    const done = await SELF.fetch(withSpelling(first!), withCookie(cookie))
    expect(done.status).toBe(200)
    expect(await done.text()).toContain(HANDOFF_FIELD)
    for (const spelling of others) {
      const refused = await SELF.fetch(withSpelling(spelling), withCookie(cookie))
      expect(refused.status).toBe(400)
      expect(await refused.text()).not.toContain(HANDOFF_FIELD)
    }
  })

  it('a respelled state is the same flow: after the genuine callback it is refused', async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
    const first = await SELF.fetch(callbackUrl, { redirect: 'manual' })
    expect(first.status).toBe(303)
    await first.text()
    const replay = new URL(callbackUrl)
    replay.searchParams.set('state', respell(callbackUrl.searchParams.get('state')!))
    const again = await SELF.fetch(replay, { redirect: 'manual' })
    expect(again.status).toBe(400)
    expect(again.headers.get('location')).toBeNull()
    await again.text()
  })
})
