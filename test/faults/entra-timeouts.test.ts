/**
 * Fault drill: Microsoft Entra ID stops answering during a sign-in, on each
 * of its three upstream calls: discovery, the token endpoint and the JWKS.
 * The stand-in accepts the connection and never answers (`hang`), or sends
 * its headers and part of the body and never the rest (`stall`). The user
 * must see a 504 (or 502) page saying Microsoft did not answer and to try
 * again, within the configured timeout (ENTRA_TIMEOUT_MS, 1500 ms in tests):
 * no request hangs past it.
 */
import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { resetEntraCaches } from '../../src/oidc/entra'
import {
  auditSettled,
  dbAll,
  entraControl,
  HANDOFF_FIELD,
  pickAccount,
  seedSignInTenant,
  signIn,
  startLogin,
  withCookie,
} from '../fixtures'
import { flowsOf } from '../flows'

const TIMEOUT_MS = Number(env.ENTRA_TIMEOUT_MS)
/** Generous: the machine is slow and shared; a hang is 15 s or forever. */
const MARGIN_MS = 3000

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now()
  const value = await run()
  return { value, ms: Date.now() - started }
}

/** What the user must see: a 502/504 page saying Microsoft did not answer, to try again, with a reference. */
async function expectMicrosoftDidNotAnswer(res: Response, ms: number, expectedStatus: number[] = [504]) {
  const html = await res.text()
  expect(expectedStatus, `${res.status} after ${ms} ms: ${html.slice(0, 300)}`).toContain(res.status)
  expect(html).toContain('Microsoft sign-in is not answering')
  expect(html).toMatch(/try again/i)
  expect(html).toMatch(/Reference: <code>[0-9a-f-]{36}<\/code>/)
  expect(html).not.toContain(HANDOFF_FIELD)
  // A slow Microsoft is not a broken one: the page and the log must not send anyone chasing a configuration fault.
  expect(html).not.toContain('invalid sign-in configuration')
  expect(html).not.toContain('could not be verified')
  expect(ms, `answered after ${ms} ms; ENTRA_TIMEOUT_MS is ${TIMEOUT_MS}`).toBeLessThan(TIMEOUT_MS + MARGIN_MS)
  return html
}

/**
 * What is left after a callback Microsoft did not answer: the flow's state
 * used up (a reload cannot replay it) and nothing anyone could redeem, and
 * the sign-in audit names the failure for ops.
 */
async function expectCallbackLeftNothing(hostname: string, reason: string) {
  const flows = (await flowsOf(hostname)).map(({ consumedAt, completedAt }) => ({
    consumed: consumedAt > 0,
    completedAt,
  }))
  expect(flows).toEqual([{ consumed: true, completedAt: null }])
  await auditSettled()
  const attempts = await dbAll<any>(
    'SELECT step, result, reason FROM sign_in_attempts WHERE hostname = ? ORDER BY id',
    hostname,
  )
  expect(attempts).toEqual([{ step: 'callback', result: 'failure', reason }])
}

describe('Entra does not answer: discovery', () => {
  it.each(['hang', 'stall'] as const)(
    'discovery %s at /sso/login: a 504 page within the timeout, no flow cookie, nothing in D1',
    async (behaviour) => {
      const tenant = await seedSignInTenant()
      await entraControl(`tenants/${tenant.tenantId}`, { discovery: behaviour })
      const { value: res, ms } = await timed(() =>
        SELF.fetch(`https://${tenant.hostname}/sso/login`, { redirect: 'manual' }),
      )
      await expectMicrosoftDidNotAnswer(res, ms)
      expect(res.headers.getSetCookie()).toEqual([])
      expect(await flowsOf(tenant.hostname)).toEqual([])
    },
  )

  it('discovery hangs when the callback needs it again (cache expired): a 504 page within the timeout, with a way back', async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
    await entraControl(`tenants/${tenant.tenantId}`, { discovery: 'hang' })
    // The cached discovery document has expired (an hour later, or a new isolate).
    resetEntraCaches()
    const { value: res, ms } = await timed(async () => app.request(callbackUrl.href, withCookie(null), env))
    const html = await expectMicrosoftDidNotAnswer(res, ms)
    expect(html).toContain(`href="https://${tenant.hostname}/"`)
    await expectCallbackLeftNothing(tenant.hostname, 'entra_timeout')
  })
})

describe('Entra does not answer: the token endpoint', () => {
  it.each(['hang', 'stall'] as const)(
    'token endpoint %s at the callback: a 504 page within the timeout, with a way back',
    async (outcome) => {
      const tenant = await seedSignInTenant()
      const { authorizeUrl } = await startLogin(tenant.hostname)
      const callbackUrl = await pickAccount(authorizeUrl, tenant.user, outcome)
      const { value: res, ms } = await timed(() => SELF.fetch(callbackUrl, withCookie(null)))
      const html = await expectMicrosoftDidNotAnswer(res, ms)
      expect(html).toContain(`href="https://${tenant.hostname}/"`)
      await expectCallbackLeftNothing(tenant.hostname, 'entra_timeout')
    },
  )

  it('the token endpoint hangs up (connection reset): a 502 page at once', async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callbackUrl = await pickAccount(authorizeUrl, tenant.user, 'hang_up')
    const { value: res, ms } = await timed(() => SELF.fetch(callbackUrl, withCookie(null)))
    await expectMicrosoftDidNotAnswer(res, ms, [502])
    await expectCallbackLeftNothing(tenant.hostname, 'entra_unavailable')
  })
})

describe('Entra does not answer: the JWKS', () => {
  it.each(['hang', 'stall'] as const)(
    'JWKS %s while the ID token is verified: a 504 page within the timeout, and no sign-in',
    async (behaviour) => {
      const tenant = await seedSignInTenant()
      await entraControl(`tenants/${tenant.tenantId}`, { jwks: behaviour })
      const { authorizeUrl } = await startLogin(tenant.hostname)
      const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
      const { value: res, ms } = await timed(() => SELF.fetch(callbackUrl, withCookie(null)))
      const html = await expectMicrosoftDidNotAnswer(res, ms)
      expect(html).toContain(`href="https://${tenant.hostname}/"`)
      await expectCallbackLeftNothing(tenant.hostname, 'entra_timeout')
    },
  )

  it('JWKS hangs up (connection reset): a 502 page at once; once the JWKS answers again, signing in works', async () => {
    const tenant = await seedSignInTenant()
    await entraControl(`tenants/${tenant.tenantId}`, { jwks: 'hang_up' })
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
    const { value: res, ms } = await timed(() => SELF.fetch(callbackUrl, withCookie(null)))
    await expectMicrosoftDidNotAnswer(res, ms, [502])
    await expectCallbackLeftNothing(tenant.hostname, 'entra_unavailable')
    await entraControl(`tenants/${tenant.tenantId}`, { jwks: 'ok' })
    const again = await signIn(tenant.hostname, tenant.user)
    expect(again.html).toContain(HANDOFF_FIELD)
  })
})
