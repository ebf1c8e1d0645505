/**
 * The chooser: a user on several phone systems picks one, once, from this
 * browser and this site only.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import {
  assertionFrom,
  auditSettled,
  dbAll,
  HANDOFF_FIELD,
  phoneSystemNamed,
  putList,
  seedSignInTenant,
  signIn,
  withCookie,
} from '../fixtures'

describe('the chooser', () => {
  async function onTwo() {
    const tenant = await seedSignInTenant()
    const second = await phoneSystemNamed(tenant.orgId, 'Support', tenant.tenantId)
    await putList(second.id, [{ oid: tenant.user.oid, extension: '900' }])
    const result = await signIn(tenant.hostname, tenant.user)
    expect(result.res.status).toBe(200)
    expect(result.html).toContain('Choose a phone system')
    const token = /name="token" value="([^"]+)"/.exec(result.html)![1]!
    return { tenant, second, result, token }
  }

  function choose(
    hostname: string,
    cookie: string | null,
    body: Record<string, string>,
    headers: Record<string, string | null> = {},
  ) {
    const init = withCookie(cookie)
    // A browser's same-origin form post, unless a test says otherwise (null: the header is absent).
    const sent: Record<string, string | null> = {
      ...(init.headers as Record<string, string>),
      'content-type': 'application/x-www-form-urlencoded',
      origin: `https://${hostname}`,
      'sec-fetch-site': 'same-origin',
      ...headers,
    }
    return SELF.fetch(`https://${hostname}/sso/choose`, {
      ...init,
      method: 'POST',
      headers: Object.fromEntries(Object.entries(sent).filter((entry): entry is [string, string] => entry[1] !== null)),
      body: new URLSearchParams(body),
    })
  }

  it('lists both phone systems and hands off to the chosen one', async () => {
    const { tenant, second, result, token } = await onTwo()
    expect(result.html).toContain('>HQ<')
    expect(result.html).toContain('>Support<')
    expect(result.html).not.toContain(HANDOFF_FIELD)
    expect(result.res.headers.get('referrer-policy')).toBe('same-origin')
    await auditSettled()
    const [attempt] = await dbAll<any>(
      "SELECT result, reason FROM sign_in_attempts WHERE hostname = ? AND step = 'complete'",
      tenant.hostname,
    )
    expect(attempt).toEqual({ result: 'pending', reason: 'chooser' })

    const chosen = await choose(tenant.hostname, result.cookie, { token, phoneSystem: second.id })
    const html = await chosen.text()
    expect(chosen.status).toBe(200)
    const { claims, action } = assertionFrom(html)
    expect(action).toBe('https://support.pbx.example/sso')
    expect(claims).toMatchObject({ aud: second.id, ext: '900', oid: tenant.user.oid })
  })

  it('a choice cannot name a phone system the user is not on', async () => {
    const { tenant, result, token } = await onTwo()
    const foreign = await seedSignInTenant()
    const res = await choose(tenant.hostname, result.cookie, { token, phoneSystem: foreign.phoneSystemId })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('That choice is not available')
  })

  it.each([
    ['from another site', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }],
    [
      'from another site by a browser without Sec-Fetch-Site',
      { origin: 'https://evil.example', 'sec-fetch-site': null },
    ],
    [
      "from another tenant's host in the same zone (same-site, not same-origin)",
      { origin: 'https://evil.localhost', 'sec-fetch-site': 'same-site' },
    ],
    ['from an opaque origin across sites', { origin: 'null', 'sec-fetch-site': 'cross-site' }],
    ['with neither Origin nor Sec-Fetch-Site', { origin: null, 'sec-fetch-site': null }],
  ])('a choice posted %s is refused (CSRF)', async (_name, headers) => {
    const { tenant, result, token } = await onTwo()
    const res = await choose(tenant.hostname, result.cookie, { token, phoneSystem: tenant.phoneSystemId }, headers)
    expect(res.status).toBe(403)
    expect(await res.text()).not.toContain(HANDOFF_FIELD)
  })

  it('a choice from a no-referrer page (Origin: null) but same-origin by Sec-Fetch-Site is accepted', async () => {
    const { tenant, result, token } = await onTwo()
    const res = await choose(
      tenant.hostname,
      result.cookie,
      { token, phoneSystem: tenant.phoneSystemId },
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
    )
    expect(res.status).toBe(200)
    expect(await res.text()).toContain(HANDOFF_FIELD)
  })

  it('a choice without the flow cookie, with a wrong token, or replayed is refused', async () => {
    const { tenant, result, token } = await onTwo()
    expect((await choose(tenant.hostname, null, { token, phoneSystem: tenant.phoneSystemId })).status).toBe(400)
    expect(
      (await choose(tenant.hostname, result.cookie, { token: 'forged', phoneSystem: tenant.phoneSystemId })).status,
    ).toBe(400)
    expect((await choose(tenant.hostname, result.cookie, { token, phoneSystem: tenant.phoneSystemId })).status).toBe(
      200,
    )
    expect((await choose(tenant.hostname, result.cookie, { token, phoneSystem: tenant.phoneSystemId })).status).toBe(
      400,
    )
  })

  it('a phone system the user was added to after the chooser was shown cannot be chosen with that chooser', async () => {
    const { tenant, result, token } = await onTwo()
    const third = await phoneSystemNamed(tenant.orgId, 'Later', tenant.tenantId)
    await putList(third.id, [{ oid: tenant.user.oid }])
    const res = await choose(tenant.hostname, result.cookie, { token, phoneSystem: third.id })
    expect(res.status).toBe(403)
    const html = await res.text()
    expect(html).toContain('That choice is not available')
    expect(html).not.toContain(HANDOFF_FIELD)
  })

  it('a user removed from the list while the chooser was open is refused', async () => {
    const { tenant, second, result, token } = await onTwo()
    await putList(second.id, [])
    const res = await choose(tenant.hostname, result.cookie, { token, phoneSystem: second.id })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('Your account is not set up for SSO here')
  })
})
