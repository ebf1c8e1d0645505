/**
 * Demo data for `npm start`, written through the admin API (the same way a
 * partner's script would), and only when it is not there yet.
 */
import { DEMO_CUSTOMERS, DEMO_USERS, WEBCLIENT_PORT } from './fixtures.ts'
import { requestWithHost } from './lib.ts'

export interface SeedTarget {
  port: number
  primaryHost: string
  adminKey: string
}

async function call(target: SeedTarget, method: string, path: string, body?: unknown): Promise<any> {
  const res = await requestWithHost({
    port: target.port,
    host: target.primaryHost,
    method,
    path: `/api/v1${path}`,
    headers: {
      authorization: `Bearer ${target.adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (res.status >= 300 && !(method === 'GET' && res.status === 404)) {
    throw new Error(`${method} ${path} answered ${res.status}: ${res.body}`)
  }
  return { status: res.status, body: res.body ? JSON.parse(res.body) : undefined }
}

/** Seeds the demo partner, its customers, phone systems and SSO lists; returns false when they were already there. */
export async function seedDemo(target: SeedTarget): Promise<boolean> {
  const existing = await call(target, 'GET', `/hostnames/${DEMO_CUSTOMERS[0]!.hostname}`)
  if (existing.status === 200) return false

  const partner = (await call(target, 'POST', '/orgs', {
    name: 'Demo Partner',
    kind: 'partner',
    branding: { displayName: 'Demo Partner Voice', accentColor: '#4b5563' },
  })).body
  for (const demo of DEMO_CUSTOMERS) {
    const customer = (await call(target, 'POST', '/orgs', {
      name: demo.displayName,
      kind: 'customer',
      parentId: partner.id,
      structure: 'nested',
      branding: { displayName: demo.displayName, accentColor: demo.accentColor },
    })).body
    await call(target, 'POST', `/orgs/${customer.id}/hostnames`, { hostname: demo.hostname })
    for (const system of demo.phoneSystems) {
      const slug = system.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')
      const ps = (await call(target, 'POST', `/orgs/${customer.id}/phone-systems`, {
        name: system.name,
        webClientUrl: `http://webclient.localhost:${WEBCLIENT_PORT}/${slug}/`,
        handoffUrl: `http://webclient.localhost:${WEBCLIENT_PORT}/${slug}/sso/handoff`,
        entraTenantId: system.tenant,
      })).body
      const users = DEMO_USERS.filter((u) => u.listedOn.includes(system.name)).map((u) => ({
        oid: u.oid,
        upn: u.upn,
        email: u.email,
        displayName: u.name,
        extension: u.extension,
      }))
      await call(target, 'PUT', `/phone-systems/${ps.id}/sso-users`, { users })
    }
  }
  return true
}
