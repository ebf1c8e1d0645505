/**
 * Review 8, the completion code that now carries the sealed identity: an anonymous visitor (or the
 * holder of another sealed value of the gateway) cannot pass anything else off as one, an oversized code
 * is refused before the flow object is asked (and uses nothing up), and the largest identity Entra can
 * give still fits the length limit the route enforces.
 */
import { SELF } from 'cloudflare:test'
import { base64url } from 'jose'
import { describe, expect, it } from 'vitest'
import { seal } from '../../src/lib/crypto'
import { TEST_FLOW_KEY } from '../bindings'
import {
  HANDOFF_FIELD,
  phoneSystemNamed,
  pickAccount,
  putList,
  seedSignInTenant,
  startLogin,
  withCookie,
} from '../fixtures'
import { flowsOf } from '../flows'

async function expectRefused(res: Response) {
  const html = await res.text()
  expect(res.status).toBe(400)
  expect(html).not.toContain(HANDOFF_FIELD)
}

async function upToComplete(hostname: string, user: Parameters<typeof pickAccount>[1]) {
  const { cookie, authorizeUrl } = await startLogin(hostname)
  const callback = await pickAccount(authorizeUrl, user)
  const central = await SELF.fetch(callback, withCookie(null))
  expect(central.status).toBe(303)
  return { cookie, callback, complete: new URL(central.headers.get('location')!) }
}

const withCode = (url: URL, code: string) => {
  const changed = new URL(url)
  changed.searchParams.set('code', code)
  return changed
}

describe('review 8: the completion code', () => {
  it("the flow's own state, or its chooser token, is no completion code; an oversized code is refused without using the flow up", async () => {
    const tenant = await seedSignInTenant()
    const support = await phoneSystemNamed(tenant.orgId, 'Support', tenant.tenantId)
    await putList(support.id, [{ oid: tenant.user.oid }])
    const first = await upToComplete(tenant.hostname, tenant.user)
    // The state names the same flow, sealed under the same key: another audience, so it does not open here.
    await expectRefused(
      await SELF.fetch(withCode(first.complete, first.callback.searchParams.get('state')!), withCookie(first.cookie)),
    )
    // Padding a genuine code past the limit (or any 9 KB value) is refused before the flow object is asked.
    const code = first.complete.searchParams.get('code')!
    await expectRefused(
      await SELF.fetch(withCode(first.complete, `${code}${'A'.repeat(9000)}`), withCookie(first.cookie)),
    )
    expect((await flowsOf(tenant.hostname)).map((flow) => flow.completedAt)).toEqual([null])
    // The genuine code still finishes the flow, and offers the chooser.
    const chooser = await SELF.fetch(first.complete, withCookie(first.cookie))
    expect(chooser.status).toBe(200)
    const token = /name="token" value="([^"]+)"/.exec(await chooser.text())?.[1]
    expect(token).toBeTruthy()

    // A chooser token of a second flow, presented as its completion code: refused, and that flow is intact.
    const second = await upToComplete(tenant.hostname, tenant.user)
    const secondChooser = await SELF.fetch(second.complete, withCookie(second.cookie))
    const secondToken = /name="token" value="([^"]+)"/.exec(await secondChooser.text())![1]!
    const third = await upToComplete(tenant.hostname, tenant.user)
    await expectRefused(await SELF.fetch(withCode(third.complete, secondToken), withCookie(second.cookie)))
    await expectRefused(await SELF.fetch(withCode(third.complete, token!), withCookie(first.cookie)))
    expect((await SELF.fetch(third.complete, withCookie(third.cookie))).status).toBe(200)
  })

  it("the largest identity Entra's claims may give seals to a code the route accepts (8,192 characters at most)", async () => {
    // Every text claim at its bound (256 UTF-16 units), of the characters JSON escapes longest (6 bytes each).
    const worst = '\u0001'.repeat(256)
    const code = await seal(
      {
        f: base64url.encode(crypto.getRandomValues(new Uint8Array(32))),
        i: {
          tid: crypto.randomUUID(),
          oid: crypto.randomUUID(),
          sub: 'x'.repeat(43),
          upn: worst,
          email: worst,
          name: worst,
        },
      },
      base64url.decode(TEST_FLOW_KEY),
      'flow-completion:a-rather-long-host-name-of-a-phone-system.customer-portal.example',
      60,
    )
    expect(code.length).toBeLessThanOrEqual(8192)
  })
})
