/**
 * Demo data for `npm start`, written through the admin API (the same way a
 * partner's script would), and only when it is not there yet.
 */
import { requestWithHost } from './lib.ts'

export interface SeedTarget {
  port: number
  primaryHost: string
  adminKey: string
}

export interface DemoHost {
  hostname: string
  displayName: string
  accentColor: string
}

/** The demo partner's nested customers, one login host each. */
export const DEMO_HOSTS: DemoHost[] = [
  { hostname: 'acme.localhost', displayName: 'Acme Corporation', accentColor: '#c2410c' },
  { hostname: 'beta.localhost', displayName: 'Beta Industries', accentColor: '#1d4ed8' },
]

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

/** Seeds the demo partner and its customers; returns false when they were already there. */
export async function seedDemo(target: SeedTarget): Promise<boolean> {
  const existing = await call(target, 'GET', `/hostnames/${DEMO_HOSTS[0]!.hostname}`)
  if (existing.status === 200) return false

  const partner = (await call(target, 'POST', '/orgs', {
    name: 'Demo Partner',
    kind: 'partner',
    branding: { displayName: 'Demo Partner Voice', accentColor: '#4b5563' },
  })).body
  for (const demo of DEMO_HOSTS) {
    const customer = (await call(target, 'POST', '/orgs', {
      name: demo.displayName,
      kind: 'customer',
      parentId: partner.id,
      structure: 'nested',
      branding: { displayName: demo.displayName, accentColor: demo.accentColor },
    })).body
    await call(target, 'POST', `/orgs/${customer.id}/hostnames`, { hostname: demo.hostname })
  }
  return true
}
