/**
 * Demo data for `npm start`, written through the admin API (the same way a
 * partner's script would), and only when it is not there yet.
 */
import { DEMO_CUSTOMERS, DEMO_PARTNER_NAME, DEMO_STAFF, DEMO_USERS } from './fixtures.ts'
import { requestWithHost } from './lib.ts'

export interface SeedTarget {
  port: number
  primaryHost: string
  adminKey: string
  /** Where the demo web client listens: the phone systems' handoff URLs point there. */
  webclientPort: number
}

async function call(
  target: SeedTarget,
  method: string,
  path: string,
  body?: unknown,
  key = target.adminKey,
  /** An answer that is not a failure here (a GET's 404 always is not). */
  accept?: number,
): Promise<any> {
  const res = await requestWithHost({
    port: target.port,
    host: target.primaryHost,
    method,
    path: `/api/v1${path}`,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (res.status >= 300 && res.status !== accept && !(method === 'GET' && res.status === 404)) {
    throw new Error(`${method} ${path} answered ${res.status}: ${res.body}`)
  }
  return { status: res.status, body: res.body ? JSON.parse(res.body) : undefined }
}

/** Seeds the demo partner, its customers, phone systems and SSO lists; returns false when they were already there. */
export async function seedDemo(target: SeedTarget): Promise<boolean> {
  const existing = await call(target, 'GET', `/hostnames/${DEMO_CUSTOMERS[0]!.hostname}`)
  if (existing.status === 200) return false

  const partner = (
    await call(target, 'POST', '/orgs', {
      name: DEMO_PARTNER_NAME,
      kind: 'partner',
      branding: { displayName: 'Demo Partner Voice', accentColor: '#4b5563' },
    })
  ).body
  // The partner's own key, as its scripts would use it: what it creates names tenants it has not proven.
  const partnerKey = (await call(target, 'POST', `/orgs/${partner.id}/api-keys`, { label: 'demo partner script' })).body
    .key as string
  for (const demo of DEMO_CUSTOMERS) {
    const key = demo.byPartner ? partnerKey : target.adminKey
    const customer = (
      await call(
        target,
        'POST',
        '/orgs',
        {
          name: demo.displayName,
          kind: 'customer',
          parentId: partner.id,
          structure: 'nested',
          branding: { displayName: demo.displayName, accentColor: demo.accentColor },
        },
        key,
      )
    ).body
    await call(target, 'POST', `/orgs/${customer.id}/hostnames`, { hostname: demo.hostname }, key)
    for (const system of demo.phoneSystems) {
      const slug = system.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')
      const ps = (
        await call(
          target,
          'POST',
          `/orgs/${customer.id}/phone-systems`,
          {
            name: system.name,
            webClientUrl: `http://webclient.localhost:${target.webclientPort}/${slug}/`,
            handoffUrl: `http://webclient.localhost:${target.webclientPort}/${slug}/sso/handoff`,
            entraTenantId: system.tenant,
          },
          key,
        )
      ).body
      const users = DEMO_USERS.filter((u) => u.listedOn.includes(system.name)).map((u) => ({
        oid: u.oid,
        upn: u.upn,
        email: u.email,
        displayName: u.name,
        extension: u.extension,
      }))
      if (users.length > 0) await call(target, 'PUT', `/phone-systems/${ps.id}/sso-users`, { users })
    }
  }
  return true
}

/**
 * The demo partner's console staff (its admin and viewer, by UPN); those already there are left alone, so a
 * database seeded before the console existed gets them too. The ops admin is no record: wrangler.toml's
 * OPS_ADMINS names it.
 */
export async function seedStaff(target: SeedTarget): Promise<void> {
  const { orgs } = (await call(target, 'GET', '/orgs')).body as {
    orgs: Array<{ id: string; name: string; kind: string }>
  }
  const partner = orgs.find((o) => o.kind === 'partner' && o.name === DEMO_PARTNER_NAME)
  if (!partner) throw new Error(`No partner named ${DEMO_PARTNER_NAME} (npm run dev:reset starts over)`)
  for (const user of DEMO_STAFF) {
    if (user.role === 'ops') continue
    // 409: already staff (of any role: a role changed in the console stays as it was changed).
    await call(
      target,
      'POST',
      `/orgs/${partner.id}/admins`,
      { tid: user.tid, upn: user.upn, role: user.role },
      undefined,
      409,
    )
  }
}

/** The demo phone systems as the gateway knows them (id and name), by the slug in their handoff URL. */
export async function demoPhoneSystems(target: SeedTarget): Promise<Map<string, { id: string; name: string }>> {
  const systems = new Map<string, { id: string; name: string }>()
  const { orgs } = (await call(target, 'GET', '/orgs')).body as { orgs: Array<{ id: string }> }
  for (const org of orgs) {
    const { phoneSystems } = (await call(target, 'GET', `/orgs/${org.id}/phone-systems`)).body as {
      phoneSystems: Array<{ id: string; name: string; handoffUrl: string }>
    }
    for (const ps of phoneSystems) {
      const url = new URL(ps.handoffUrl)
      if (url.port !== String(target.webclientPort)) continue
      systems.set(url.pathname.split('/')[1]!, { id: ps.id, name: ps.name })
    }
  }
  return systems
}

/**
 * The demo phone systems whose Microsoft 365 is not connected yet, each with
 * a fresh connect link (links are one-time: a new one every start, until an
 * administrator has used one).
 */
export async function demoConnectLinks(
  target: SeedTarget,
): Promise<Array<{ id: string; name: string; connectUrl: string }>> {
  const links: Array<{ id: string; name: string; connectUrl: string }> = []
  const { orgs } = (await call(target, 'GET', '/orgs')).body as { orgs: Array<{ id: string }> }
  for (const org of orgs) {
    const { phoneSystems } = (await call(target, 'GET', `/orgs/${org.id}/phone-systems`)).body as {
      phoneSystems: Array<{ id: string; name: string; tenantStatus: string }>
    }
    for (const ps of phoneSystems.filter((p) => p.tenantStatus === 'unverified')) {
      const { connectUrl } = (await call(target, 'POST', `/phone-systems/${ps.id}/connect`)).body
      links.push({ id: ps.id, name: ps.name, connectUrl })
    }
  }
  return links
}
