/**
 * The sign-in a person does, in a real browser: branded login page, the
 * Entra stand-in's account picker, the gateway, and the demo phone web
 * client that verifies the handoff assertion.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestWithHost } from '../dev/lib.ts'
import { demoConnectLinks } from '../dev/seed.ts'
import { type Stack, startStack } from '../dev/stack.ts'
import { CHROMIUM, freePort, launchChromium, screenshot } from './browser.ts'

let stack: Stack
let browser: Browser
let state: string

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`No chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  state = mkdtempSync(path.join(tmpdir(), 'sso-gateway-e2e-'))
  stack = await startStack({
    port: await freePort(),
    entraPort: await freePort(),
    webclientPort: await freePort(),
    cloudflarePort: await freePort(),
    graphPort: await freePort(),
    persistTo: state,
    quiet: true,
  })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await stack?.stop()
  if (state) rmSync(state, { recursive: true, force: true })
})

const url = (host: string, pathname = '/') => `http://${host}:${stack.port}${pathname}`

async function pickAccount(page: Page, upn: string) {
  await page.waitForSelector('text=Pick an account')
  await page.click(`button[data-upn="${upn}"]`)
}

async function newPage(options: { javaScriptEnabled?: boolean } = {}) {
  const context = await browser.newContext({ javaScriptEnabled: options.javaScriptEnabled ?? true })
  return context.newPage()
}

describe('signing in with a browser', () => {
  it('acme.localhost: branded page, account picker, straight into the demo web client', async () => {
    const page = await newPage()
    await page.goto(url('acme.localhost'))
    expect(await page.textContent('h1')).toBe('Sign in to your phone system')
    expect(await page.textContent('.brand-name')).toBe('Acme Corporation')
    await screenshot(page, '01-acme-login')
    await page.click('#sign-in')
    await screenshot(page, '02-entra-picker')
    await pickAccount(page, 'ann@acme.example')
    await page.waitForSelector('#welcome')
    expect(new URL(page.url()).host).toBe(new URL(stack.webclient.base).host)
    expect(await page.textContent('#welcome')).toBe('Welcome, Ann Archer')
    expect(await page.textContent('#name')).toBe('Ann Archer')
    expect(await page.textContent('#email')).toBe('ann@acme.example')
    expect(await page.textContent('#ext')).toBe('101')
    expect(await page.textContent('body')).toContain('Signed in to Acme HQ')
    await screenshot(page, '03-webclient-ann')
    await page.context().close()
  })

  it('an unlisted user gets the 403 "not set up for SSO here" page', async () => {
    const page = await newPage()
    await page.goto(url('acme.localhost'))
    await page.click('#sign-in')
    await pickAccount(page, 'carl@acme.example')
    await page.waitForSelector('text=Your account is not set up for SSO here')
    expect(await page.textContent('body')).toContain('Signed in as carl@acme.example')
    await screenshot(page, '04-not-listed')
    await page.context().close()
  })

  it('a user on two phone systems chooses one', async () => {
    const page = await newPage()
    await page.goto(url('acme.localhost'))
    await page.click('#sign-in')
    await pickAccount(page, 'bob@acme.example')
    await page.waitForSelector('text=Choose a phone system')
    await screenshot(page, '05-chooser')
    await page.click('button:has-text("Acme Support Line")')
    await page.waitForSelector('#welcome')
    expect(await page.textContent('body')).toContain('Signed in to Acme Support Line')
    expect(await page.textContent('#ext')).toBe('102')
    await screenshot(page, '06-webclient-bob')
    await page.context().close()
  })

  it("the primary host's tenant-agnostic login lets a user of any organization in", async () => {
    const page = await newPage()
    await page.goto(url('login.localhost', '/sso/webclient'))
    expect(await page.textContent('main')).toContain(
      'Use the Microsoft 365 work account your organization set up for single sign-on.',
    )
    await screenshot(page, '07-primary-login')
    await page.click('#sign-in')
    await pickAccount(page, 'bea@beta.example')
    await page.waitForSelector('#welcome')
    expect(await page.textContent('body')).toContain('Signed in to Beta Main')
    expect(await page.textContent('#name')).toBe('Bea Brooks')
    await screenshot(page, '08-webclient-bea')
    await page.context().close()
  })

  it('without JavaScript the handoff page offers a button that does the same', async () => {
    const page = await newPage({ javaScriptEnabled: false })
    await page.goto(url('acme.localhost'))
    await page.click('#sign-in')
    await pickAccount(page, 'ann@acme.example')
    await page.waitForSelector('#continue')
    await screenshot(page, '09-handoff-noscript')
    await page.click('#continue')
    await page.waitForSelector('#welcome')
    expect(await page.textContent('#name')).toBe('Ann Archer')
    await page.context().close()
  })

  it('an unknown host shows the neutral 404', async () => {
    const page = await newPage()
    const response = await page.goto(url('nobody.localhost'))
    expect(response?.status()).toBe(404)
    expect(await page.textContent('h1')).toBe('Page not found')
    await page.context().close()
  })
})

describe('connecting a tenant with a browser (the partner created Gamma with its own key)', () => {
  it('gamma.localhost says Microsoft 365 is not connected; its administrator connects it; after Sync, Gus signs in', async () => {
    const page = await newPage()
    const before = await page.goto(url('gamma.localhost', '/sso/login'))
    expect(before?.status()).toBe(503)
    expect(await page.textContent('h1')).toBe('Microsoft 365 is not connected yet')
    await screenshot(page, '10-gamma-not-connected')

    const target = { port: stack.port, primaryHost: 'login.localhost', adminKey: stack.adminKey, webclientPort: 0 }
    const [link] = await demoConnectLinks(target)
    expect(link?.name).toBe('Gamma Desk')
    await page.goto(link!.connectUrl)
    expect(await page.textContent('h1')).toBe('Connect Microsoft 365')
    await screenshot(page, '11-connect-page')
    await page.click('#connect')
    await pickAccount(page, 'gina@gamma.example')
    await page.waitForSelector('text=Permissions requested')
    await page.click('button[data-upn="gina@gamma.example"]')
    await page.waitForSelector('text=Connected')
    expect(await page.textContent('main')).toContain('by gina@gamma.example')
    await screenshot(page, '12-connected')

    const sync = await requestWithHost({
      port: stack.port,
      host: 'login.localhost',
      method: 'POST',
      path: `/api/v1/phone-systems/${link!.id}/sync`,
      headers: { authorization: `Bearer ${stack.adminKey}` },
    })
    expect(sync.status, sync.body).toBe(200)

    await page.goto(url('gamma.localhost'))
    await page.click('#sign-in')
    await pickAccount(page, 'gus@gamma.example')
    await page.waitForSelector('#welcome')
    expect(await page.textContent('#name')).toBe('Gus Green')
    await page.context().close()
  })
})
