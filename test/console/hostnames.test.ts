/**
 * The console's Hostnames pages, as a partner's staff use them: attaching a
 * provider subdomain and a custom domain (through the Cloudflare stand-in),
 * the records to publish, "Check now", the diagnosis, the callback mode,
 * detaching through the confirmation page; a flat customer's explanation;
 * and what a viewer and another partner's staff cannot do. What the pages
 * say is checked against D1 and the admin API.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { TEST_CNAME_TARGET } from '../bindings'
import { apiJson, createCustomer, createPartner, dbAll, PRIMARY, uniqueLabel, ZONE } from '../fixtures'
import {
  consoleGet,
  consolePost,
  newStaff,
  ORIGIN,
  SESSION_COOKIE,
  type StaffSession,
  signInToConsole,
} from './helpers'

const cloudflareEnv = { ...env, CUSTOM_HOSTNAMES: 'cloudflare' }

/** The console with CUSTOM_HOSTNAMES=cloudflare (the stand-in): `SELF` runs with the test bindings, so the worker's fetch is called with this env, carrying the session's cookie (and on a POST its CSRF token) as the browser would. */
async function cloudflareConsole(
  session: StaffSession,
  method: 'GET' | 'POST',
  path: string,
  fields: Record<string, string> = {},
): Promise<{ res: Response; html: string }> {
  const headers: Record<string, string> = { cookie: `${SESSION_COOKIE}=${session.cookie}` }
  let body: URLSearchParams | undefined
  if (method === 'POST') {
    body = new URLSearchParams({ ...fields, _csrf: session.csrf })
    headers['content-type'] = 'application/x-www-form-urlencoded'
    headers.origin = ORIGIN
  }
  const res = await app.request(`${ORIGIN}${path}`, { method, headers, body, redirect: 'manual' }, cloudflareEnv)
  return { res, html: await res.text() }
}

async function cloudflareControl(path: string, body: unknown): Promise<any> {
  const base = env.CLOUDFLARE_API_BASE!.replace(/\/client\/v4$/, '')
  const res = await fetch(`${base}/__control/${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
  return res.json()
}

const hostnamesPage = (orgId: string) => `/admin/orgs/${orgId}/hostnames`
const hostnamePage = (orgId: string, hostname: string, page = '') => `/admin/orgs/${orgId}/hostnames/${hostname}${page}`

function subdomain(): string {
  return `${uniqueLabel('acme')}.${ZONE}`
}

function customDomain(): string {
  return `${uniqueLabel('phones')}.acme-corp.example`
}

async function hostnameRows(orgId: string) {
  return dbAll<{ hostname: string; status: string; callback_mode: string }>(
    'SELECT hostname, status, callback_mode FROM hostnames WHERE org_id = ? ORDER BY hostname',
    orgId,
  )
}

async function adminOf(orgId: string): Promise<StaffSession> {
  return signInToConsole(await newStaff(orgId, 'admin'))
}

/** The `<input>` of a field, as rendered. */
function inputNamed(html: string, name: string): string {
  return new RegExp(`<input[^>]*name="${name}"[^>]*>`).exec(html)?.[0] ?? ''
}

describe('console: attaching hostnames', () => {
  it('attaches a provider subdomain: active at once, in the list and in the API alike, audited as the staff member', async () => {
    const partner = await createPartner()
    const session = await adminOf(partner.id)
    const hostname = subdomain()

    const form = await consoleGet(session, hostnamesPage(partner.id))
    expect(form.res.status).toBe(200)
    expect(form.html).toContain('Attach a hostname')
    // The two kinds, in the deployment's own names.
    expect(form.html).toContain(`name.${ZONE}`)
    expect(form.html).toContain(TEST_CNAME_TARGET)

    const posted = await consolePost(session, hostnamesPage(partner.id), { hostname, callbackMode: 'central' })
    expect(posted.res.status, posted.html).toBe(303)
    expect(posted.res.headers.get('location')).toBe(`${hostnamePage(partner.id, hostname)}?done=attached`)

    const detail = await consoleGet(session, posted.res.headers.get('location')!)
    expect(detail.res.status).toBe(200)
    expect(detail.html).toContain('Hostname attached.')
    expect(detail.html).toContain('Active.')
    // A provider subdomain has nothing to publish.
    expect(detail.html).not.toContain('DNS records to publish')

    const list = await consoleGet(session, hostnamesPage(partner.id))
    expect(list.html).toContain(`href="${hostnamePage(partner.id, hostname)}"`)
    expect(list.html).toContain('Provider subdomain')
    expect(list.html).toContain('badge ok">Active')

    const viaApi = await apiJson('GET', `/orgs/${partner.id}/hostnames`)
    expect(viaApi.hostnames).toEqual([
      expect.objectContaining({ hostname, kind: 'subdomain', status: 'active', callbackMode: 'central' }),
    ])
    expect(
      await dbAll('SELECT actor, action, org_id FROM audit_log WHERE target_id = ? ORDER BY id', hostname),
    ).toEqual([{ actor: `staff:${session.user.upn}`, action: 'hostname.attach', org_id: partner.id }])
  })

  it('attaches a custom domain through Cloudflare: the records to publish, then "Check now" once they verify', async () => {
    const partner = await createPartner()
    const session = await adminOf(partner.id)
    const hostname = customDomain()

    const posted = await cloudflareConsole(session, 'POST', hostnamesPage(partner.id), { hostname })
    expect(posted.res.status, posted.html).toBe(303)
    const [row] = await dbAll<{ status: string; verification: string }>(
      'SELECT status, verification FROM hostnames WHERE hostname = ?',
      hostname,
    )
    expect(row!.status).toBe('pending')
    const verification = JSON.parse(row!.verification) as {
      ownership: { name: string; value: string }
      certificate: Array<{ name: string; value: string }>
    }

    const page = await cloudflareConsole(session, 'GET', hostnamePage(partner.id, hostname))
    expect(page.res.status).toBe(200)
    expect(page.html).toContain('Pending: not serving sign-ins yet.')
    expect(page.html).toContain('What is still missing')
    expect(page.html).toContain('DNS records to publish')
    // The CNAME, the ownership TXT and the certificate validation record, each with its copy buttons.
    for (const value of [
      TEST_CNAME_TARGET,
      verification.ownership.name,
      verification.ownership.value,
      verification.certificate[0]!.name,
      verification.certificate[0]!.value,
    ]) {
      expect(page.html).toContain(`<code>${value}</code>`)
      expect(page.html).toContain(`data-copy="${value}"`)
    }
    expect(page.html).toMatch(/<button type="submit">Check now<\/button>/)

    // The diagnosis is a read: the page itself (200), with what DNS lacks and how to fix it.
    const diagnosed = await cloudflareConsole(session, 'POST', hostnamePage(partner.id, hostname, '/diagnose'))
    expect(diagnosed.res.status, diagnosed.html).toBe(200)
    expect(diagnosed.html).toContain('Diagnosis')
    expect(diagnosed.html).toContain('Problems and their fixes')
    expect(diagnosed.html).toContain(`Publish a TXT record ${verification.ownership.name}`)
    // Its fixes name the page's buttons, never the API's calls.
    expect(diagnosed.html).not.toContain('/api/v1')
    expect((await dbAll('SELECT status FROM hostnames WHERE hostname = ?', hostname))[0]).toEqual({
      status: 'pending',
    })

    await cloudflareControl('publish', { hostname })
    const checked = await cloudflareConsole(session, 'POST', hostnamePage(partner.id, hostname, '/check'))
    expect(checked.res.status, checked.html).toBe(303)
    expect(checked.res.headers.get('location')).toBe(`${hostnamePage(partner.id, hostname)}?done=checked`)
    const after = await cloudflareConsole(session, 'GET', hostnamePage(partner.id, hostname))
    expect(after.html).toContain('Active.')
    expect(await hostnameRows(partner.id)).toEqual([{ hostname, status: 'active', callback_mode: 'central' }])
  })

  it("shows Cloudflare's refusals on the form (409 beside the field, 502 above it), and stores nothing", async () => {
    const partner = await createPartner()
    const session = await adminOf(partner.id)
    const claimed = customDomain()
    await cloudflareControl('claim', { hostname: claimed })
    const taken = await cloudflareConsole(session, 'POST', hostnamesPage(partner.id), { hostname: claimed })
    expect(taken.res.status).toBe(409)
    expect(inputNamed(taken.html, 'hostname')).toContain('aria-invalid="true"')
    expect(taken.html).toContain('Duplicate custom hostname found.')

    const failing = customDomain()
    await cloudflareControl('faults', { hostname: failing, faults: ['server_error'] })
    const down = await cloudflareConsole(session, 'POST', hostnamesPage(partner.id), { hostname: failing })
    expect(down.res.status).toBe(502)
    expect(down.html).toMatch(/<div class="alert error" role="alert">[^<]*Cloudflare answered 500; nothing was changed/)
    expect(inputNamed(down.html, 'hostname')).toContain(`value="${failing}"`)
    expect(await hostnameRows(partner.id)).toEqual([])
  })

  it.each([
    ['a URL', 'https://phones.acme.com', 'without a scheme'],
    ['a wildcard', '*.acme-corp.example', 'wildcards are not allowed'],
    ['the primary host', PRIMARY, 'primary login host'],
  ])('refuses %s with the error beside the field, and nothing in D1', async (_what, hostname, message) => {
    const partner = await createPartner()
    const session = await adminOf(partner.id)
    const posted = await consolePost(session, hostnamesPage(partner.id), { hostname })
    expect(posted.res.status).toBe(400)
    const input = inputNamed(posted.html, 'hostname')
    expect(input).toContain('aria-invalid="true"')
    expect(input).toContain('aria-describedby="f-hostname-hint f-hostname-error"')
    expect(posted.html).toMatch(new RegExp(`<p class="field-error" id="f-hostname-error">[^<]*${message}`))
    // What was typed stays in the field.
    expect(input).toContain(`value="${hostname}"`)
    expect(await hostnameRows(partner.id)).toEqual([])
    expect(
      await dbAll('SELECT id FROM audit_log WHERE org_id = ? AND target_type = ?', partner.id, 'hostname'),
    ).toEqual([])
  })
})

describe('console: a flat customer', () => {
  it("explains why it has no hostname, links to the move, lists its partner's hosts, and shows the refusal", async () => {
    const partner = await createPartner()
    const partnerHost = subdomain()
    await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname: partnerHost }, 201)
    const customer = await createCustomer(partner.id, { name: 'Flat Co', structure: 'flat' })
    const session = await adminOf(partner.id)

    const page = await consoleGet(session, hostnamesPage(customer.id))
    expect(page.res.status).toBe(200)
    expect(page.html).toContain('A flat customer cannot own a hostname')
    expect(page.html).toContain('it lives in its partner&#39;s portal')
    expect(page.html).toContain(`href="/admin/orgs/${customer.id}#move"`)
    expect(page.html).toContain(`href="${hostnamePage(partner.id, partnerHost)}"`)
    expect(page.html).not.toContain('Attach a hostname')

    const posted = await consolePost(session, hostnamesPage(customer.id), { hostname: subdomain() })
    expect(posted.res.status).toBe(409)
    expect(posted.html).toContain('role="alert"')
    expect(posted.html).toContain('is flat (it lives inside its partner')
    expect(await hostnameRows(customer.id)).toEqual([])
  })
})

describe('console: changing a hostname', () => {
  it('detaches through the confirmation page', async () => {
    const partner = await createPartner()
    const session = await adminOf(partner.id)
    const hostname = subdomain()
    await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname }, 201)

    const detail = await consoleGet(session, hostnamePage(partner.id, hostname))
    expect(detail.html).toContain(`href="${hostnamePage(partner.id, hostname, '/detach')}"`)
    const confirm = await consoleGet(session, hostnamePage(partner.id, hostname, '/detach'))
    expect(confirm.res.status).toBe(200)
    expect(confirm.html).toContain(
      `Detach ${hostname}? Users of this hostname will no longer be able to sign in on it.`,
    )
    expect(confirm.html).toContain(`action="${hostnamePage(partner.id, hostname, '/detach')}"`)
    expect(await hostnameRows(partner.id)).toHaveLength(1)

    const posted = await consolePost(session, hostnamePage(partner.id, hostname, '/detach'))
    expect(posted.res.status, posted.html).toBe(303)
    expect(posted.res.headers.get('location')).toBe(`${hostnamesPage(partner.id)}?done=detached`)
    expect(await hostnameRows(partner.id)).toEqual([])
    expect(
      await dbAll('SELECT actor FROM audit_log WHERE target_id = ? AND action = ?', hostname, 'hostname.detach'),
    ).toEqual([{ actor: `staff:${session.user.upn}` }])
    const list = await consoleGet(session, posted.res.headers.get('location')!)
    expect(list.html).toContain('Hostname detached')
    expect((await consoleGet(session, hostnamePage(partner.id, hostname))).res.status).toBe(404)
  })

  it('switches the callback mode, as the API then reads it', async () => {
    const partner = await createPartner()
    const session = await adminOf(partner.id)
    const hostname = subdomain()
    await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname }, 201)

    const posted = await consolePost(session, hostnamePage(partner.id, hostname, '/callback-mode'), {
      callbackMode: 'direct',
    })
    expect(posted.res.status, posted.html).toBe(303)
    expect(await apiJson('GET', `/hostnames/${hostname}`)).toMatchObject({ callbackMode: 'direct' })
    const page = await consoleGet(session, posted.res.headers.get('location')!)
    expect(page.html).toContain('Callback mode saved.')
    expect(page.html).toContain(`https://${hostname}/sso/callback`)
    expect(page.html).toMatch(/Registered on the portal&#39;s Microsoft app|Not registered/)

    const bad = await consolePost(session, hostnamePage(partner.id, hostname, '/callback-mode'), {
      callbackMode: 'sideways',
    })
    expect(bad.res.status).toBe(400)
    expect(/<select[^>]*name="callbackMode"[^>]*>/.exec(bad.html)?.[0]).toContain('aria-invalid="true"')
    expect(await apiJson('GET', `/hostnames/${hostname}`)).toMatchObject({ callbackMode: 'direct' })
  })

  it('diagnoses a provider subdomain on the page (a read: 200, nothing stored)', async () => {
    const partner = await createPartner()
    const session = await adminOf(partner.id)
    const hostname = subdomain()
    await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname }, 201)
    const page = await consolePost(session, hostnamePage(partner.id, hostname, '/diagnose'))
    expect(page.res.status, page.html).toBe(200)
    expect(page.html).toContain('No problems found.')
    expect(page.html).toContain('wildcard DNS record, route and certificate serve it')
  })

  it('normalizes the hostname of the address through the domain', async () => {
    const partner = await createPartner()
    const session = await adminOf(partner.id)
    const hostname = subdomain()
    await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname }, 201)
    const page = await consoleGet(session, hostnamePage(partner.id, hostname.toUpperCase()))
    expect(page.res.status).toBe(200)
    expect(page.html).toContain(`<h1>${hostname}</h1>`)
  })
})

describe('console: who may see and change hostnames', () => {
  it("answers 404 for another partner's hostname, and for a customer's under its partner's address", async () => {
    const mine = await createPartner()
    const theirs = await createPartner()
    const theirHost = subdomain()
    await apiJson('POST', `/orgs/${theirs.id}/hostnames`, { hostname: theirHost }, 201)
    const customer = await createCustomer(mine.id, { structure: 'nested' })
    const customerHost = subdomain()
    await apiJson('POST', `/orgs/${customer.id}/hostnames`, { hostname: customerHost }, 201)
    const session = await adminOf(mine.id)

    expect((await consoleGet(session, hostnamePage(mine.id, theirHost))).res.status).toBe(404)
    expect((await consoleGet(session, hostnamePage(theirs.id, theirHost))).res.status).toBe(404)
    expect((await consoleGet(session, hostnamePage(mine.id, 'not a hostname'))).res.status).toBe(404)
    // The customer's hostname is reached, but on the customer's pages only.
    expect((await consoleGet(session, hostnamePage(mine.id, customerHost))).res.status).toBe(404)
    expect((await consoleGet(session, hostnamePage(customer.id, customerHost))).res.status).toBe(200)
    for (const page of ['/detach', '/check', '/callback-mode', '/diagnose']) {
      const posted = await consolePost(session, hostnamePage(mine.id, theirHost, page), { callbackMode: 'direct' })
      expect(posted.res.status, page).toBe(404)
    }
    expect(await hostnameRows(theirs.id)).toEqual([{ hostname: theirHost, status: 'active', callback_mode: 'central' }])
  })

  it('lets a viewer see everything and change nothing', async () => {
    const partner = await createPartner()
    const hostname = customDomain()
    await apiJson('POST', `/orgs/${partner.id}/hostnames`, { hostname }, 201)
    const viewer = await signInToConsole(await newStaff(partner.id, 'viewer'))

    const list = await consoleGet(viewer, hostnamesPage(partner.id))
    expect(list.res.status).toBe(200)
    expect(list.html).toContain(hostname)
    expect(list.html).not.toContain('Attach a hostname')
    expect(list.html).toContain('You are a viewer here')
    const detail = await consoleGet(viewer, hostnamePage(partner.id, hostname))
    expect(detail.res.status).toBe(200)
    expect(detail.html).toContain(TEST_CNAME_TARGET)
    expect(detail.html).not.toContain('Check now</button>')
    expect(detail.html).not.toContain('Diagnose DNS</button>')
    expect(detail.html).not.toContain('Save callback mode')
    expect(detail.html).not.toContain('/detach')
    expect((await consoleGet(viewer, hostnamePage(partner.id, hostname, '/detach'))).res.status).toBe(403)

    const before = await hostnameRows(partner.id)
    const audit = await dbAll('SELECT id FROM audit_log WHERE org_id = ?', partner.id)
    for (const [path, fields] of [
      [hostnamesPage(partner.id), { hostname: subdomain() }],
      [hostnamePage(partner.id, hostname, '/check'), {}],
      [hostnamePage(partner.id, hostname, '/callback-mode'), { callbackMode: 'direct' }],
      [hostnamePage(partner.id, hostname, '/detach'), {}],
    ] as const) {
      const posted = await consolePost(viewer, path, fields)
      expect(posted.res.status, path).toBe(403)
    }
    expect(await hostnameRows(partner.id)).toEqual(before)
    expect(await dbAll('SELECT id FROM audit_log WHERE org_id = ?', partner.id)).toEqual(audit)
  })
})
