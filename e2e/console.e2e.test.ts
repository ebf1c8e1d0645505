/**
 * The admin console in a real browser: staff sign in with Microsoft through
 * the gateway's own flow (the Entra stand-in's account picker), and use the
 * pages as people do. Every page visited is screenshot (e2e/artifacts/console-*)
 * and checked with axe-core (serious and critical violations fail); some at a
 * phone's size too. The demo staff are dev/fixtures.ts's DEMO_STAFF.
 *
 * The README's screenshots (docs/console/*.png) come from here: the run leaves
 * them in e2e/artifacts/readme/ (the viewport, 1280 wide, each under 120 KB);
 * `cp e2e/artifacts/readme/*.png docs/console/` after a run renews them.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_DIRECTORY, DEMO_PARTNER_NAME, DEMO_STAFF, DEMO_USERS, GAMMA_TENANT, NOT_STAFF } from '../dev/fixtures.ts'
import { requestWithHost } from '../dev/lib.ts'
import { PRIMARY_HOST, type Stack, startStack } from '../dev/stack.ts'
import { expectAccessible } from './axe.ts'
import { ARTIFACTS, CHROMIUM, freePort, launchChromium, screenshot } from './browser.ts'

const staff = (role: 'admin' | 'viewer' | 'ops') => DEMO_STAFF.find((u) => u.role === role)!
const PARTNER_ADMIN = staff('admin')
const VIEWER = staff('viewer')
const OPS = staff('ops')
/** Gamma's Global Administrator: connects Gamma's tenant through the connect link. */
const GAMMA_ADMIN = DEMO_USERS.find((u) => u.tid === GAMMA_TENANT && u.wids?.length)!

const DESKTOP = { width: 1280, height: 800 }
const PHONE = { width: 390, height: 844 }
/** README screenshots: the viewport only, at 1280 wide (docs/console/ holds copies). */
const README_SHOTS = path.join(ARTIFACTS, 'readme')

let stack: Stack
let browser: Browser
let state: string

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`No chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  state = mkdtempSync(path.join(tmpdir(), 'sso-gateway-console-e2e-'))
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
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await stack?.stop()
  if (state) rmSync(state, { recursive: true, force: true })
})

const consoleUrl = (pathname = '/admin') => `http://${PRIMARY_HOST}:${stack.port}${pathname}`

/** The admin API with the ops key (setting the scene, as a partner's script or the provider would). */
async function api(method: string, pathname: string, body?: unknown): Promise<any> {
  const res = await requestWithHost({
    port: stack.port,
    host: PRIMARY_HOST,
    method,
    path: `/api/v1${pathname}`,
    headers: {
      authorization: `Bearer ${stack.adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (res.status >= 300) throw new Error(`${method} ${pathname} answered ${res.status}: ${res.body}`)
  return res.body ? JSON.parse(res.body) : undefined
}

async function orgNamed(name: string): Promise<{ id: string; name: string }> {
  const { orgs } = (await api('GET', '/orgs')) as { orgs: Array<{ id: string; name: string }> }
  const org = orgs.find((o) => o.name === name)
  if (!org) throw new Error(`no organization named ${name}`)
  return org
}

async function newContext(): Promise<BrowserContext> {
  return browser.newContext({ viewport: DESKTOP })
}

/** Picks `upn` on the Entra stand-in's page. */
async function pickAccount(page: Page, upn: string): Promise<void> {
  await page.waitForSelector('text=Pick an account')
  await page.click(`button[data-upn="${upn}"]`)
}

/** Signs `upn` in to the console from its sign-in page: /admin/login, the stand-in's picker, back to /admin. */
async function signIn(context: BrowserContext, upn: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(consoleUrl())
  await page.click('#sign-in')
  await pickAccount(page, upn)
  await page.waitForURL(consoleUrl())
  expect(await text(page, 'header.top')).toContain('Signed in as')
  return page
}

/** What the element shows (its text), '' when empty. */
const text = async (page: Page, selector = 'main') => (await page.locator(selector).textContent()) ?? ''

/** A page as visited: its screenshot, and axe's verdict. */
async function visited(page: Page, name: string): Promise<void> {
  await screenshot(page, `console-${name}`)
  await expectAccessible(page, name)
}

/** The same page at a phone's size: screenshot and axe, then back to the desktop size. */
async function onPhone(page: Page, name: string): Promise<void> {
  await page.setViewportSize(PHONE)
  await visited(page, `${name}-phone`)
  await page.setViewportSize(DESKTOP)
}

/**
 * A README screenshot: the viewport at 1280 wide (small), not the full page; `height` when 800 is not enough,
 * `from` an element to scroll to the top first (the page's point further down, such as a table's rows).
 */
async function readmeShot(page: Page, name: string, options: { height?: number; from?: string } = {}): Promise<void> {
  mkdirSync(README_SHOTS, { recursive: true })
  await page.setViewportSize({ ...DESKTOP, height: options.height ?? DESKTOP.height })
  if (options.from) await page.locator(options.from).evaluate((el) => el.scrollIntoView({ block: 'start' }))
  await page.screenshot({ path: path.join(README_SHOTS, `${name}.png`), type: 'png' })
  await page.setViewportSize(DESKTOP)
  await page.evaluate(() => window.scrollTo(0, 0))
}

/** Where the page's forms post, signing out aside: what a user could change from here. */
const changes = (page: Page) =>
  page
    .locator('form[method="post"]')
    .evaluateAll((forms) => forms.map((f) => f.getAttribute('action')).filter((action) => action !== '/admin/logout'))

/** The CSRF token the page's forms carry (as a script in the page could read it). */
const csrfOf = (page: Page) => page.locator('input[name="_csrf"]').first().getAttribute('value')

describe('console sign-in', () => {
  it('shows the sign-in page to a visitor', async () => {
    const context = await newContext()
    const page = await context.newPage()
    const response = await page.goto(consoleUrl())
    expect(response?.status()).toBe(200)
    expect(await text(page, 'h1')).toBe('Sign in')
    expect(await text(page)).toContain('Sign in with Microsoft')
    await visited(page, 'sign-in')
    await onPhone(page, 'sign-in')
    await context.close()
  })

  it('refuses a signed-in user who is staff of nothing, says who can grant access, and sets no session cookie', async () => {
    const context = await newContext()
    const page = await context.newPage()
    await page.goto(consoleUrl())
    await page.click('#sign-in')
    await pickAccount(page, NOT_STAFF.upn)
    await page.waitForSelector('text=No access to the console')
    expect(new URL(page.url()).pathname).toBe('/sso/callback')
    const body = await text(page, 'body')
    expect(body).toContain('your account is not staff of any organization in this console')
    expect(body).toContain("Ask an admin of your organization's console (your partner, or the provider)")
    expect(body).toContain(`Signed in as ${NOT_STAFF.upn}`)
    await visited(page, 'not-staff')
    const cookies = await context.cookies(consoleUrl())
    expect(cookies.map((c) => c.name)).not.toContain('__Host-console')
    // And the console still shows them its sign-in page, not theirs.
    await page.goto(consoleUrl())
    expect(await text(page, 'h1')).toBe('Sign in')
    await context.close()
  })
})

describe('a partner admin', () => {
  it('sees the org tree (partner, customers flat and nested), searches it, and opens a customer', async () => {
    const context = await newContext()
    const page = await signIn(context, PARTNER_ADMIN.upn)
    expect(await text(page, 'header.top')).toContain(PARTNER_ADMIN.name)
    const home = await text(page)
    expect(home).toContain('Organizations you are staff of')
    expect(home).toContain(DEMO_PARTNER_NAME)
    expect(await text(page, 'table')).toContain('Admin')
    await visited(page, 'home-partner-admin')
    await onPhone(page, 'home-partner-admin')

    await page.click(`a:text-is("${DEMO_PARTNER_NAME}")`)
    await page.waitForSelector('h1')
    expect(await text(page, 'h1')).toBe(DEMO_PARTNER_NAME)
    // A flat customer, added here as the partner's admin would.
    await page.fill('#f-name', 'Delta Dental')
    await page.selectOption('#f-structure', 'flat')
    await Promise.all([page.waitForURL(/done=created/), page.click('button:text-is("Add customer")')])
    expect(await text(page)).toContain('Organization created.')
    expect(await text(page, 'h1')).toBe('Delta Dental')
    expect(await text(page)).toContain("Flat: lives in its partner's portal")
    await visited(page, 'customer-created-flat')

    await page.click(`nav.crumbs a:text-is("${DEMO_PARTNER_NAME}")`)
    await page.waitForSelector('#customers')
    const customers = page.locator('section[aria-labelledby="customers"] table')
    const tree = await customers.textContent()
    for (const name of ['Acme Corporation', 'Beta Industries', 'Gamma Logistics', 'Delta Dental']) {
      expect(tree).toContain(name)
    }
    expect(await customers.locator('tr', { hasText: 'Acme Corporation' }).textContent()).toContain(
      'Nested: its own portal',
    )
    expect(await customers.locator('tr', { hasText: 'Delta Dental' }).textContent()).toContain(
      "Flat: lives in its partner's portal",
    )
    await visited(page, 'partner-overview')
    await readmeShot(page, 'org-tree')
    await onPhone(page, 'partner-overview')

    await page.fill('section[aria-labelledby="customers"] input[type=search]', 'acme')
    await Promise.all([page.waitForURL(/q=acme/), page.click('section[aria-labelledby="customers"] button')])
    const found = await customers.textContent()
    expect(found).toContain('Acme Corporation')
    expect(found).not.toContain('Beta Industries')
    await visited(page, 'partner-search')

    await page.click('a:text-is("Acme Corporation")')
    await page.waitForURL(/\/admin\/orgs\/[^/?]+$/)
    expect(await text(page, 'h1')).toBe('Acme Corporation')
    expect(await text(page, 'nav.crumbs')).toContain(DEMO_PARTNER_NAME)
    expect(await text(page)).toContain('Nested: its own portal')
    await visited(page, 'customer-overview')
    await onPhone(page, 'customer-overview')
    await context.close()
  })

  it("cannot reach another partner's customer by editing the URL: 404", async () => {
    const other = await api('POST', '/orgs', { name: `Other Partner ${Date.now()}`, kind: 'partner' })
    const theirs = await api('POST', '/orgs', {
      name: 'Their Customer',
      kind: 'customer',
      parentId: other.id,
      structure: 'nested',
    })
    const context = await newContext()
    const page = await signIn(context, PARTNER_ADMIN.upn)
    for (const id of [theirs.id, other.id]) {
      const response = await page.goto(consoleUrl(`/admin/orgs/${id}`))
      expect(response?.status()).toBe(404)
      expect(await text(page, 'h1')).toBe('Page not found')
      expect(await text(page, 'body')).not.toContain('Their Customer')
    }
    await visited(page, 'other-partners-customer-404')
    await context.close()
  })
})

describe('a viewer', () => {
  it('sees the pages without any button that changes something; a forged POST is refused 403', async () => {
    const context = await newContext()
    const page = await signIn(context, VIEWER.upn)
    expect(await text(page, 'table')).toContain('Viewer: read only')
    await visited(page, 'home-viewer')
    const partner = await orgNamed(DEMO_PARTNER_NAME)
    await page.goto(consoleUrl(`/admin/orgs/${partner.id}`))
    expect(await text(page)).toContain('You are a viewer here: you can see everything and change nothing.')
    expect(await changes(page)).toEqual([])
    expect(await page.locator('main button').allInnerTexts()).toEqual(['Search'])
    await visited(page, 'partner-overview-viewer')
    // Every tab of the partner, then a customer's hostname and phone system: nothing to change anywhere.
    const tabs = await page
      .locator('nav.tabs a')
      .evaluateAll((links) => links.map((a) => ({ name: a.textContent ?? '', href: a.getAttribute('href') ?? '' })))
    for (const tab of tabs.slice(1)) {
      const response = await page.goto(consoleUrl(tab.href))
      expect(response?.status(), tab.name).toBe(200)
      expect(await changes(page), tab.name).toEqual([])
      await visited(page, `viewer-${tab.name.toLowerCase().replace(/[^a-z]+/g, '-')}`)
    }
    const acme = await orgNamed('Acme Corporation')
    for (const [list, first] of [
      ['hostnames', 'acme.localhost'],
      ['phone-systems', 'Acme HQ'],
    ] as const) {
      await page.goto(consoleUrl(`/admin/orgs/${acme.id}/${list}`))
      await Promise.all([page.waitForURL(new RegExp(`/${list}/[^/]+$`)), page.click(`main a:text-is("${first}")`)])
      expect(await text(page, 'h1')).toBe(first)
      expect(await changes(page), first).toEqual([])
      await visited(page, `viewer-${list}-detail`)
    }
    await page.goto(consoleUrl(`/admin/orgs/${partner.id}`))

    const csrf = await csrfOf(page)
    expect(csrf).toBeTruthy()
    // The console's CSP allows no fetch (connect-src 'none'): a script in the page forges a form instead.
    const action = `/admin/orgs/${partner.id}/customers`
    const [forged] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === action),
      page.evaluate(
        ({ action, token }) => {
          const form = document.createElement('form')
          form.method = 'post'
          form.action = action
          for (const [name, value] of Object.entries({ _csrf: token, name: 'Made by a viewer', structure: 'flat' })) {
            const input = document.createElement('input')
            input.type = 'hidden'
            input.name = name
            input.value = value
            form.append(input)
          }
          document.body.append(form)
          form.submit()
        },
        { action, token: csrf! },
      ),
    ])
    expect(forged.status()).toBe(403)
    await page.waitForURL(consoleUrl(action))
    expect(await text(page, 'h1')).toBe('Not allowed')
    expect(await text(page, 'body')).toContain('Your access does not allow this.')
    await visited(page, 'viewer-post-refused')
    const { orgs } = (await api('GET', '/orgs')) as { orgs: Array<{ name: string }> }
    expect(orgs.map((o) => o.name)).not.toContain('Made by a viewer')
    await context.close()
  })
})

describe('an ops admin', () => {
  it('sees every partner and creates one', async () => {
    const other = await api('POST', '/orgs', { name: `Ops Sees Partner ${Date.now()}`, kind: 'partner' })
    const context = await newContext()
    const page = await signIn(context, OPS.upn)
    const home = await text(page)
    expect(home).toContain('You are an ops admin of the provider')
    expect(home).toContain(DEMO_PARTNER_NAME)
    expect(home).toContain(other.name)
    await visited(page, 'home-ops')
    await onPhone(page, 'home-ops')

    await page.fill('#f-name', 'Northwind Partners')
    await Promise.all([page.waitForURL(/done=created/), page.click('button:text-is("Create partner")')])
    expect(await text(page, 'h1')).toBe('Northwind Partners')
    expect(await text(page)).toContain('Organization created.')
    await visited(page, 'partner-created-by-ops')
    await page.goto(consoleUrl('/admin?q=northwind'))
    expect(await text(page, 'table')).toContain('Northwind Partners')
    expect(await text(page, 'table')).not.toContain(DEMO_PARTNER_NAME)
    await context.close()
  })
})

/** Signs the partner admin in and opens `orgName`'s tab `tab` through the console's own links. */
async function partnerAdminAt(context: BrowserContext, orgName: string, tab?: string): Promise<Page> {
  const page = await signIn(context, PARTNER_ADMIN.upn)
  await page.click(`a:text-is("${DEMO_PARTNER_NAME}")`)
  await page.waitForSelector('#customers')
  if (orgName !== DEMO_PARTNER_NAME) {
    await Promise.all([page.waitForURL(/\/admin\/orgs\/[^/?]+$/), page.click(`a:text-is("${orgName}")`)])
  }
  if (tab) {
    await Promise.all([page.waitForURL(/\/admin\/orgs\/[^/]+\/[a-z-]+$/), page.click(`nav.tabs a:text-is("${tab}")`)])
    expect(await text(page, 'h1')).toContain(tab)
  }
  return page
}

/** Presses a button that posts a form and waits for the page it leads to. */
async function press(page: Page, label: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.click(`main button:text-is("${label}")`)])
}

describe('hostnames', () => {
  it('a partner admin attaches a custom domain, sees its DNS records, and checks it to active', async () => {
    const hostname = 'phones.acme-corp.com'
    const context = await newContext()
    const page = await partnerAdminAt(context, 'Acme Corporation', 'Hostnames')
    expect(await text(page, 'table')).toContain('acme.localhost')
    await visited(page, 'hostnames')
    await onPhone(page, 'hostnames')

    await page.fill('#f-hostname', hostname)
    await Promise.all([page.waitForURL(/done=attached/), page.click('button:text-is("Attach hostname")')])
    expect(await text(page, 'h1')).toBe(hostname)
    const main = await text(page)
    expect(main).toContain('Hostname attached.')
    expect(main).toContain('Pending: not serving sign-ins yet.')
    const records = await text(page, 'section[aria-labelledby="dns-records"]')
    expect(records).toContain('CNAME')
    expect(records).toContain('customers.localhost')
    expect(records).toContain(`_cf-custom-hostname.${hostname}`)
    await visited(page, 'hostname-pending')

    // The partner publishes the records (the Cloudflare stand-in's control API), then asks for a check.
    const published = await fetch(new URL('/__control/publish', stack.cloudflare.base), {
      method: 'POST',
      body: JSON.stringify({ hostname }),
    })
    expect(published.status).toBe(200)
    await Promise.all([page.waitForURL(/done=checked/), page.click('main button:text-is("Check now")')])
    expect(await text(page)).toContain('Active.')
    expect(await text(page)).toContain(`Users can sign in on https://${hostname}`)
    await visited(page, 'hostname-active')
    await readmeShot(page, 'hostname-dns-records', { height: 1000 })
    await context.close()
  })
})

describe('phone systems', () => {
  it("a partner admin gets a connect link, the tenant's administrator consents, Sync fills the list, View SSO users finds a user", async () => {
    const context = await newContext()
    const page = await partnerAdminAt(context, 'Gamma Logistics', 'Phone systems')
    await visited(page, 'phone-systems')
    await Promise.all([page.waitForURL(/phone-systems\/[^/]+$/), page.click('main a:text-is("Gamma Desk")')])
    expect(await text(page, 'h1')).toBe('Gamma Desk')
    expect(await text(page)).toContain('Not connected')
    await visited(page, 'phone-system-unconnected')

    await press(page, 'Connect Microsoft 365')
    expect(await text(page)).toContain('Connect link created.')
    const link = await page.locator('a:text-is("Open it now")').getAttribute('href')
    expect(link).toMatch(new RegExp(`^http://${PRIMARY_HOST}:${stack.port}/connect/`))
    await visited(page, 'phone-system-connect-link')

    // Gamma's Global Administrator, in a browser of their own (not console staff).
    const adminContext = await newContext()
    const admin = await adminContext.newPage()
    await admin.goto(link!)
    expect(await text(admin, 'h1')).toBe('Connect Microsoft 365')
    await admin.click('#connect')
    await pickAccount(admin, GAMMA_ADMIN.upn)
    await admin.waitForSelector('text=Permissions requested')
    await admin.click(`button[data-upn="${GAMMA_ADMIN.upn}"]`)
    await admin.waitForSelector('text=Connected')
    expect(await text(admin, 'main')).toContain(`by ${GAMMA_ADMIN.upn}`)
    await screenshot(admin, 'console-connect-consented')
    await adminContext.close()

    await page.reload()
    expect(await text(page)).toContain('an administrator of this tenant connected it')
    await press(page, 'Sync')
    const synced = await text(page, 'section[aria-labelledby="sync-outcome"]')
    const listed = DEMO_DIRECTORY[GAMMA_TENANT]!.length
    expect(synced).toContain(`The SSO list now holds ${listed} users.`)
    await visited(page, 'phone-system-synced')
    await readmeShot(page, 'phone-system-sync')

    await Promise.all([page.waitForURL(/\/users$/), page.click('main a:text-is("View SSO users")')])
    expect(await text(page, 'h1')).toBe('SSO users of Gamma Desk')
    await page.fill('#q', 'gus')
    await Promise.all([page.waitForURL(/q=gus/), page.click('form.search button')])
    const found = await text(page, 'table')
    expect(found).toContain('gus@gamma.example')
    expect(found).not.toContain(GAMMA_ADMIN.upn)
    await visited(page, 'sso-users-search')
    await readmeShot(page, 'sso-users')
    await onPhone(page, 'sso-users-search')
    await context.close()
  })
})

describe('SCIM provisioning', () => {
  it('a partner admin creates a SCIM token for Entra: the Tenant URL, the token once, the list then pushed by SCIM', async () => {
    const acme = await orgNamed('Acme Corporation')
    const ps = await api('POST', `/orgs/${acme.id}/phone-systems`, {
      name: 'Acme Provisioned',
      webClientUrl: 'https://pbx.acme.example/webclient',
      handoffUrl: 'https://pbx.acme.example/sso/handoff',
      entraTenantId: '5c1e0000-0000-4000-8000-00000000e2e1',
    })
    const context = await newContext()
    const page = await partnerAdminAt(context, 'Acme Corporation', 'Phone systems')
    await Promise.all([page.waitForURL(/phone-systems\/[^/]+$/), page.click('main a:text-is("Acme Provisioned")')])
    expect(await text(page, 'section[aria-labelledby="scim"]')).toContain(`/scim/v2/phone-systems/${ps.id}`)
    await page.fill('section[aria-labelledby="scim"] input[name="label"]', 'Entra provisioning')
    await press(page, 'Create SCIM token')
    const token = (await page.locator('section[aria-labelledby="scim-token"] code').first().textContent()) ?? ''
    expect(token).toMatch(/^scim_.{20,}/)
    expect(await text(page, 'h2#sync')).toBe('SSO list pushed by SCIM')
    await visited(page, 'phone-system-scim-token')

    // What Entra's provisioning does with it: its first query answers, in SCIM's shape.
    const query = await requestWithHost({
      port: stack.port,
      host: PRIMARY_HOST,
      path: `/scim/v2/phone-systems/${ps.id}/Users?filter=${encodeURIComponent('userName eq "ann@acme.example"')}`,
      headers: { authorization: `Bearer ${token}` },
    })
    expect(query.status).toBe(200)
    expect(JSON.parse(query.body).totalResults).toBe(0)

    await page.reload()
    expect(await text(page, 'body')).not.toContain(token)
    // The token's row offers its revocation, by an accessible name that says which token.
    expect(await page.getByRole('button', { name: `Revoke SCIM token ${token.slice(0, 13)}` }).count()).toBeGreaterThan(
      0,
    )
    await context.close()
  })
})

describe('API keys', () => {
  it('a partner admin creates a key, sees it once, and revokes it', async () => {
    const context = await newContext()
    const page = await partnerAdminAt(context, DEMO_PARTNER_NAME, 'API keys')
    await visited(page, 'api-keys')
    await page.fill('#f-label', 'Billing system')
    await press(page, 'Create a key')
    expect(await text(page, 'h1')).toBe('Your new API key')
    expect(await text(page)).toContain('Copy the key now.')
    const key = (await page.locator('section[aria-labelledby="the-key"] code').first().textContent()) ?? ''
    expect(key).toMatch(/^sgk_/)
    await visited(page, 'api-key-shown-once')
    await readmeShot(page, 'api-key-once')
    const partner = await orgNamed(DEMO_PARTNER_NAME)
    const withKey = (key: string) =>
      requestWithHost({
        port: stack.port,
        host: PRIMARY_HOST,
        path: `/api/v1/orgs/${partner.id}`,
        headers: { authorization: `Bearer ${key}` },
      })
    expect((await withKey(key)).status).toBe(200)

    await page.click('a:text-is("Back to API keys")')
    await page.waitForSelector('h1:text-is("API keys")')
    expect(await text(page, 'body')).not.toContain(key)
    const row = page.locator('tr', { hasText: 'Billing system' })
    await Promise.all([page.waitForURL(/\/revoke$/), row.locator('a:text-is("Revoke…")').click()])
    await visited(page, 'api-key-revoke')
    await Promise.all([page.waitForURL(/done=revoked/), page.click('main button:text-is("Revoke key")')])
    expect(await text(page)).toContain('Key revoked: the admin API refuses it from now on.')
    expect(await row.locator('a:text-is("Revoke…")').count()).toBe(0)
    expect((await withKey(key)).status).toBe(401)
    await context.close()
  })
})

describe('staff and the audit log', () => {
  it('a partner admin sees its staff and the changes made', async () => {
    const context = await newContext()
    const page = await partnerAdminAt(context, DEMO_PARTNER_NAME, 'Staff')
    const people = await text(page)
    expect(people).toContain(PARTNER_ADMIN.upn)
    expect(people).toContain(VIEWER.upn)
    await visited(page, 'staff')

    await Promise.all([page.waitForURL(/\/audit$/), page.click('nav.tabs a:text-is("Audit log")')])
    const audit = await text(page, 'table')
    expect(audit).toContain('Acme Corporation')
    expect(audit).toContain('staff.add')
    await visited(page, 'audit-log')
    await onPhone(page, 'audit-log')
    await context.close()
  })
})

describe('the sign-in log', () => {
  it("a partner admin sees its customers' sign-ins, the failed one too", async () => {
    // Two sign-ins on Acme's login page: Ann gets in, Carl is on no SSO list.
    const users = await newContext()
    const user = await users.newPage()
    for (const upn of ['ann@acme.example', NOT_STAFF.upn]) {
      await user.goto(`http://acme.localhost:${stack.port}/`)
      await user.click('#sign-in')
      await pickAccount(user, upn)
      await user.waitForSelector(upn === NOT_STAFF.upn ? 'text=Your account is not set up for SSO here' : '#welcome')
    }
    await users.close()

    const context = await newContext()
    const page = await partnerAdminAt(context, DEMO_PARTNER_NAME, 'Sign-in log')
    const log = await text(page, 'table')
    expect(log).toContain('ann@acme.example')
    expect(log).toContain('Succeeded')
    expect(log).toContain(NOT_STAFF.upn)
    expect(log).toContain('Failed')
    await visited(page, 'sign-in-log')
    await readmeShot(page, 'sign-in-log', { from: 'main table', height: 640 })
    await onPhone(page, 'sign-in-log')
    await context.close()
  })
})

describe('ops pages', () => {
  it('the ops admin opens health and the claimed tenants', async () => {
    const context = await newContext()
    const page = await signIn(context, OPS.upn)
    await Promise.all([page.waitForURL(/\/admin\/ops$/), page.click('a:text-is("Health and tenants")')])
    expect(await text(page, 'h1')).toBe('Health')
    expect(await text(page)).toContain('D1 database')
    await visited(page, 'ops-health')
    await page.goto(consoleUrl('/admin/ops/tenants'))
    expect(await text(page, 'h1')).toBe('Claimed tenants')
    await visited(page, 'ops-tenants')
    await context.close()
  })
})

describe('confirmation and result pages', () => {
  it('the pages a change passes through are accessible too: diagnosis, detach, delete, remove, move, release', async () => {
    const partner = await orgNamed('Demo Partner')
    const acme = await orgNamed('Acme Corporation')
    const flat = await api('POST', '/orgs', {
      name: 'Echo Flat',
      kind: 'customer',
      parentId: partner.id,
      structure: 'flat',
    })
    const { hostnames } = await api('GET', `/orgs/${acme.id}/hostnames`)
    const { phoneSystems } = await api('GET', `/orgs/${acme.id}/phone-systems`)
    const { admins } = await api('GET', `/orgs/${partner.id}/admins`)
    const viewerRecord = admins.find((a: { upn: string | null }) => a.upn === VIEWER.upn)
    const hostnamePage = `/admin/orgs/${acme.id}/hostnames/${hostnames[0].hostname}`

    const context = await newContext()
    const page = await signIn(context, PARTNER_ADMIN.upn)
    await page.goto(consoleUrl(hostnamePage))
    await Promise.all([
      page.waitForURL(consoleUrl(`${hostnamePage}/diagnose`)),
      page.click('button:text-is("Diagnose DNS")'),
    ])
    expect(await text(page, 'h2#diagnosis')).toBe('Diagnosis')
    await visited(page, 'hostname-diagnosis')
    for (const [name, pathname, heading] of [
      ['hostname-detach', `${hostnamePage}/detach`, 'Detach'],
      ['phone-system-delete', `/admin/orgs/${acme.id}/phone-systems/${phoneSystems[0].id}/delete`, 'Delete'],
      ['staff-remove', `/admin/orgs/${partner.id}/staff/${viewerRecord.id}/remove`, 'Remove'],
      ['flat-customer-move', `/admin/orgs/${flat.id}`, 'Echo Flat'],
    ] as const) {
      await page.goto(consoleUrl(pathname))
      expect(await text(page, 'h1')).toContain(heading)
      await visited(page, name)
    }
    expect(await text(page)).toContain('Move to a portal of its own')
    await context.close()

    const { tenants } = await api('GET', '/tenants')
    const ops = await newContext()
    const opsPage = await signIn(ops, OPS.upn)
    await opsPage.goto(consoleUrl(`/admin/ops/tenants/${tenants[0].tid}/release`))
    expect(await text(opsPage, 'h1')).toContain('Release')
    await visited(opsPage, 'ops-tenant-release')
    await ops.close()
  })
})
