/**
 * The flow cookie on its own. End to end, the flow store's host condition
 * already refuses another host's flow, which hides whether the cookie is
 * bound to its host too; here the cookie's own bindings are pinned.
 */
import { describe, expect, it } from 'vitest'
import { flowIdFromCookie, sealFlowCookie } from '../../src/signin/flow'
import type { Site } from '../../src/tenancy/site'

const KEY = new Uint8Array(32).fill(5)
const branding = { displayName: 'X', logoUrl: null, accentColor: '#000000' }
const site = (hostname: string, orgId: string): Site => ({
  kind: 'tenant',
  hostname,
  status: 'active',
  callbackMode: 'central',
  redirectUriRegistered: false,
  org: { id: orgId, kind: 'customer', structure: 'nested', name: 'Org' },
  branding,
})

describe('the flow cookie', () => {
  it('reads back on the host and organization it was sealed for', async () => {
    const acme = site('acme.localhost', 'org_acme')
    expect(await flowIdFromCookie(await sealFlowCookie('flow-1', acme, KEY), acme, KEY)).toBe('flow-1')
  })

  it('is no cookie on another host, even one of the same organization', async () => {
    const value = await sealFlowCookie('flow-1', site('acme.localhost', 'org_acme'), KEY)
    expect(await flowIdFromCookie(value, site('phones.acme.example', 'org_acme'), KEY)).toBeNull()
  })

  it('is no cookie once its host belongs to another organization', async () => {
    const value = await sealFlowCookie('flow-1', site('acme.localhost', 'org_acme'), KEY)
    expect(await flowIdFromCookie(value, site('acme.localhost', 'org_new_owner'), KEY)).toBeNull()
  })

  it('is no cookie when tampered with, sealed under another key, absent or absurdly long', async () => {
    const acme = site('acme.localhost', 'org_acme')
    const value = await sealFlowCookie('flow-1', acme, KEY)
    expect(await flowIdFromCookie(`${value.slice(0, -2)}AA`, acme, KEY)).toBeNull()
    expect(await flowIdFromCookie(value, acme, new Uint8Array(32).fill(6))).toBeNull()
    expect(await flowIdFromCookie(undefined, acme, KEY)).toBeNull()
    expect(await flowIdFromCookie('x'.repeat(5000), acme, KEY)).toBeNull()
  })
})
