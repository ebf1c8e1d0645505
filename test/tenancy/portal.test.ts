/**
 * The portal rule (src/tenancy/portal.ts) as pure functions, and its one SQL
 * fragment against D1 agreeing with them: which portals serve an
 * organization's phone systems, and whose app they use, before, during and
 * after a move's transition.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import type { OrgRow } from '../../src/db/schema'
import {
  appPortalIdOf,
  inTransition,
  isFlatCustomer,
  phoneSystemsOfPortal,
  portalIdOf,
  portalsServing,
} from '../../src/tenancy/portal'
import { apiJson, createCustomer, createPartner, newTenantId, phoneSystemNamed } from '../fixtures'

type Shape = Pick<OrgRow, 'id' | 'kind' | 'structure' | 'parentId' | 'partnerHostsUntil'>

const NOW = 1_800_000_000_000
const partner: Shape = { id: 'org_p', kind: 'partner', structure: null, parentId: null, partnerHostsUntil: null }
const flat: Shape = { id: 'org_f', kind: 'customer', structure: 'flat', parentId: 'org_p', partnerHostsUntil: null }
const nested: Shape = { id: 'org_n', kind: 'customer', structure: 'nested', parentId: 'org_p', partnerHostsUntil: null }
const moving: Shape = { ...nested, id: 'org_m', partnerHostsUntil: NOW + 1 }
const moved: Shape = { ...nested, id: 'org_d', partnerHostsUntil: NOW }

const none = () => false
const all = () => true

describe('the portal rule, pure', () => {
  it.each([
    ['a partner', partner, false, ['org_p'], 'org_p'],
    ['a flat customer', flat, false, ['org_p'], 'org_p'],
    ['a nested customer', nested, false, ['org_n'], 'org_n'],
    ['a moved customer in transition', moving, true, ['org_m', 'org_p'], 'org_m'],
    ['a moved customer whose transition ended (at exactly its end)', moved, false, ['org_d'], 'org_d'],
  ] as const)('%s', (_name, org, transition, serving, portal) => {
    expect(inTransition(org, NOW)).toBe(transition)
    expect(portalsServing(org, NOW)).toEqual(serving)
    expect(portalIdOf(org)).toBe(portal)
  })

  it('a transition time on anything but a nested customer means nothing', () => {
    expect(inTransition({ ...flat, partnerHostsUntil: NOW + 1 }, NOW)).toBe(false)
    expect(portalsServing({ ...flat, partnerHostsUntil: NOW + 1 }, NOW)).toEqual(['org_p'])
    expect(inTransition({ ...partner, partnerHostsUntil: NOW + 1 }, NOW)).toBe(false)
    expect(isFlatCustomer(moving)).toBe(false)
  })

  it("whose app: the partner's for a flat customer and for a moved one without its own integration during the transition", () => {
    expect(appPortalIdOf(flat, NOW, none)).toBe('org_p')
    expect(appPortalIdOf(flat, NOW, all)).toBe('org_p')
    expect(appPortalIdOf(nested, NOW, none)).toBe('org_n')
    expect(appPortalIdOf(moving, NOW, none)).toBe('org_p')
    expect(appPortalIdOf(moving, NOW, (id) => id === 'org_m')).toBe('org_m')
    expect(appPortalIdOf(moved, NOW, none)).toBe('org_d')
    expect(appPortalIdOf(partner, NOW, none)).toBe('org_p')
  })
})

describe('servedByPortal in D1 agrees', () => {
  it("a partner's portal serves its own, its flat customers' and its customers' in transition; each nested customer its own", async () => {
    const p = await createPartner()
    const f = await createCustomer(p.id, { structure: 'flat' })
    const n = await createCustomer(p.id, { structure: 'nested' })
    const m = await createCustomer(p.id, { structure: 'flat' })
    await apiJson('POST', `/orgs/${m.id}/move`, { structure: 'nested', keepPartnerHostsDays: 10 })
    const tid = newTenantId()
    const ids: Record<string, string> = {}
    for (const [name, org] of [
      ['P', p],
      ['F', f],
      ['N', n],
      ['M', m],
    ] as const) {
      ids[(await phoneSystemNamed(org.id, name, tid)).id] = name
    }
    const names = async (portal: string, now?: number) =>
      (await phoneSystemsOfPortal(env.DB, portal, now)).map((ps) => ids[ps.id]).sort()

    const now = Date.now()
    expect(await names(p.id, now)).toEqual(['F', 'M', 'P'])
    expect(await names(m.id, now)).toEqual(['M'])
    expect(await names(n.id, now)).toEqual(['N'])
    expect(await names(f.id, now)).toEqual(['F'])
    // Eleven days on: the transition is over.
    expect(await names(p.id, now + 11 * 24 * 60 * 60 * 1000)).toEqual(['F', 'P'])
    expect(await names(m.id, now + 11 * 24 * 60 * 60 * 1000)).toEqual(['M'])
  })
})
