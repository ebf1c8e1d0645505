/**
 * Review of the reshape: the chooser's CSRF check is now Hono's csrf()
 * (src/http/same-origin.ts). csrf() only looks at requests whose
 * Content-Type matches /^\b(application\/x-www-form-urlencoded|multipart\/form-data|text\/(?:plain|ping))\b/i,
 * while the /sso/choose handler (src/signin/routes.ts) accepts any
 * Content-Type that merely *starts with* "application/x-www-form-urlencoded".
 * A type such as "application/x-www-form-urlencoded_x" is therefore accepted
 * by the handler without any Origin / Sec-Fetch-Site check at all.
 *
 * The safe behaviour asserted here: a cross-site choice is refused whatever
 * its Content-Type, and the browser-realistic combinations stay refused.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { HANDOFF_FIELD, phoneSystemNamed, putList, seedSignInTenant, signIn, withCookie } from '../fixtures'

async function onTwo() {
  const tenant = await seedSignInTenant()
  const second = await phoneSystemNamed(tenant.orgId, 'Support', tenant.tenantId)
  await putList(second.id, [{ oid: tenant.user.oid, extension: '900' }])
  const result = await signIn(tenant.hostname, tenant.user)
  expect(result.res.status).toBe(200)
  const token = /name="token" value="([^"]+)"/.exec(result.html)![1]!
  return { tenant, second, result, token }
}

function choose(hostname: string, cookie: string, body: Record<string, string>, headers: Record<string, string>) {
  const init = withCookie(cookie)
  return SELF.fetch(`https://${hostname}/sso/choose`, {
    ...init,
    method: 'POST',
    headers: { ...(init.headers as Record<string, string>), ...headers },
    body: new URLSearchParams(body).toString(),
  })
}

describe('review: /sso/choose CSRF after the move to csrf()', () => {
  it.each([
    ['application/x-www-form-urlencoded_x'],
    ['application/x-www-form-urlencodedx'],
    ['application/x-www-form-urlencoded2; charset=utf-8'],
  ])(
    'a cross-site choice with Content-Type "%s" is refused (csrf() skips it, the handler accepts it)',
    async (type) => {
      const { tenant, second, result, token } = await onTwo()
      const res = await choose(
        tenant.hostname,
        result.cookie,
        { token, phoneSystem: second.id },
        { 'content-type': type, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      )
      const html = await res.text()
      expect(html).not.toContain(HANDOFF_FIELD)
      expect(res.status).toBe(403)
    },
  )

  it.each([
    ['cross-site form (Origin evil, cross-site)', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }],
    ['tainted redirect (Origin null, cross-site)', { origin: 'null', 'sec-fetch-site': 'cross-site' }],
    ['sibling tenant host (same-site)', { origin: 'https://evil.localhost', 'sec-fetch-site': 'same-site' }],
    ['old browser, foreign Origin only', { origin: 'https://evil.example' }],
    ['user-typed / no headers at all', {}],
  ])('a form-encoded choice from %s is refused', async (_name, headers) => {
    const { tenant, second, result, token } = await onTwo()
    const res = await choose(
      tenant.hostname,
      result.cookie,
      { token, phoneSystem: second.id },
      { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    )
    expect(res.status).toBe(403)
    expect(await res.text()).not.toContain(HANDOFF_FIELD)
  })

  it('a refused cross-site choice does not burn the token: the real same-origin post still works', async () => {
    const { tenant, second, result, token } = await onTwo()
    const refused = await choose(
      tenant.hostname,
      result.cookie,
      { token, phoneSystem: second.id },
      {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
    )
    expect(refused.status).toBe(403)
    const ok = await choose(
      tenant.hostname,
      result.cookie,
      { token, phoneSystem: second.id },
      {
        'content-type': 'application/x-www-form-urlencoded',
        origin: `https://${tenant.hostname}`,
        'sec-fetch-site': 'same-origin',
      },
    )
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain(HANDOFF_FIELD)
  })
})
