import { SELF } from 'cloudflare:test'
import { expect, it } from 'vitest'

it('serves the primary login page', async () => {
  const res = await SELF.fetch('https://login.localhost/sso/webclient')
  expect(res.status).toBe(200)
  const html = await res.text()
  expect(html).toContain('Sign in with Microsoft')
})
