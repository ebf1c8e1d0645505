/**
 * The pure half of incremental sync (src/sync/delta-plan.ts): which users
 * Graph's changes touch, where each stands afterwards, and which stored
 * memberships change. No Graph, no D1.
 */
import { describe, expect, it } from 'vitest'
import type { MemberChange, UserChange } from '../../src/sync/delta-links'
import {
  candidatesOf,
  type DeltaChanges,
  DIRECT,
  decide,
  disabledChanges,
  incomingOf,
  type StoredFacts,
  settle,
} from '../../src/sync/delta-plan'

const G = 'group-1'
const H = 'group-2'

function changes(partial: Partial<DeltaChanges>): DeltaChanges {
  return { direct: new Set(), storedDirect: new Set(), members: [], users: new Map(), ...partial }
}

function facts(partial: Partial<StoredFacts> = {}): StoredFacts {
  return { memberships: new Map(), listed: new Map(), disabled: new Set(), ...partial }
}

const listed = (oid: string, extra: Partial<{ upn: string; email: string; displayName: string }> = {}) => ({
  id: `usr_${oid}`,
  oid,
  upn: extra.upn ?? `${oid}@contoso.example`,
  email: extra.email ?? null,
  displayName: extra.displayName ?? oid,
  extension: null,
  createdAt: 1,
})

const userChange = (id: string, user: Partial<UserChange['user']> = {}): [string, UserChange] => [
  id,
  { id, removed: false, user: { id, userPrincipalName: `${id}@contoso.example`, accountEnabled: true, ...user } },
]

const member = (userId: string, removed = false, groupId = G): MemberChange => ({ groupId, userId, removed })

describe('candidatesOf', () => {
  it('names users whose direct assignment changed, whose membership changed, and who changed', () => {
    const c = changes({
      direct: new Set(['a', 'b']),
      storedDirect: new Set(['b', 'c']),
      members: [member('d')],
      users: new Map([userChange('e')]),
    })
    expect(candidatesOf(c).sort()).toEqual(['a', 'c', 'd', 'e'])
  })

  it('names nobody when nothing changed', () => {
    expect(candidatesOf(changes({ direct: new Set(['a']), storedDirect: new Set(['a']) }))).toEqual([])
  })
})

describe('decide', () => {
  it('a member leaving one group stays while another group or the assignment grants them', () => {
    const c = changes({
      direct: new Set(['b']),
      storedDirect: new Set(['b']),
      members: [member('a', true), member('b', true)],
    })
    const d = decide(
      c,
      facts({
        memberships: new Map([
          ['a', new Set([G, H])],
          ['b', new Set([G, DIRECT])],
        ]),
        listed: new Map([
          ['a', listed('a')],
          ['b', listed('b')],
        ]),
      }),
      ['a', 'b'],
    )
    expect(d.standing.get('a')).toMatchObject({ kind: 'listed', changed: false })
    expect(d.standing.get('b')).toMatchObject({ kind: 'listed', changed: false })
    expect(d.memberRemoves.sort()).toEqual([
      [G, 'a'],
      [G, 'b'],
    ])
  })

  it('the last grant gone: off the list, and off the disabled set', () => {
    const d = decide(
      changes({ members: [member('a', true)] }),
      facts({ memberships: new Map([['a', new Set([G])]]), disabled: new Set(['a']) }),
      ['a'],
    )
    expect(d.standing.get('a')).toEqual({ kind: 'off' })
    expect(disabledChanges(d, facts({ disabled: new Set(['a']) }))).toEqual({ add: [], remove: ['a'] })
  })

  it('removed then added again in one round is a member (changes apply in Graph order)', () => {
    const d = decide(
      changes({ members: [member('a', true), member('a')] }),
      facts({ memberships: new Map([['a', new Set([G])]]), listed: new Map([['a', listed('a')]]) }),
      ['a'],
    )
    expect(d.standing.get('a')).toMatchObject({ kind: 'listed' })
    expect(d.memberAdds).toEqual([])
    expect(d.memberRemoves).toEqual([])
  })

  it('a deleted user loses every membership, direct included, whatever the assignment read said', () => {
    const d = decide(
      changes({
        direct: new Set(['a']),
        storedDirect: new Set(['a']),
        users: new Map([['a', { id: 'a', removed: true }]]),
      }),
      facts({ memberships: new Map([['a', new Set([G, DIRECT])]]), listed: new Map([['a', listed('a')]]) }),
      ['a'],
    )
    expect(d.standing.get('a')).toEqual({ kind: 'off' })
    expect(d.memberRemoves.sort()).toEqual([
      [DIRECT, 'a'],
      [G, 'a'],
    ])
  })

  it('a disabled member is kept as disabled; enabled again with its properties, listed', () => {
    const stored = facts({ memberships: new Map([['a', new Set([G])]]), listed: new Map([['a', listed('a')]]) })
    const off = decide(changes({ users: new Map([userChange('a', { accountEnabled: false })]) }), stored, ['a'])
    expect(off.standing.get('a')).toEqual({ kind: 'disabled' })
    expect(disabledChanges(off, stored)).toEqual({ add: ['a'], remove: [] })

    const back = decide(
      changes({ users: new Map([userChange('a', { displayName: 'Back' })]) }),
      facts({ memberships: new Map([['a', new Set([G])]]), disabled: new Set(['a']) }),
      ['a'],
    )
    expect(back.standing.get('a')).toMatchObject({ kind: 'listed', changed: true, fields: { displayName: 'Back' } })
  })

  it('properties Graph left out keep their stored values; a rename changes only what it names', () => {
    const d = decide(
      changes({ users: new Map([['a', { id: 'a', removed: false, user: { id: 'a', displayName: 'New name' } }]]) }),
      facts({
        memberships: new Map([['a', new Set([G])]]),
        listed: new Map([['a', listed('a', { email: 'a@contoso.example' })]]),
      }),
      ['a'],
    )
    expect(d.standing.get('a')).toEqual({
      kind: 'listed',
      changed: true,
      fields: {
        oid: 'a',
        upn: 'a@contoso.example',
        email: 'a@contoso.example',
        displayName: 'New name',
        extension: null,
      },
    })
  })

  it('a new member Graph said nothing else about is unknown until fetched; not found or disabled stays off', () => {
    const d = decide(changes({ members: [member('a'), member('b'), member('c')] }), facts(), ['a', 'b', 'c'])
    expect([...d.standing.values()].every((s) => s.kind === 'unknown')).toBe(true)
    settle(
      d,
      new Map([
        ['a', { id: 'A', userPrincipalName: 'A@Contoso.example', mail: null, displayName: 'A', accountEnabled: true }],
        ['b', { id: 'b', userPrincipalName: 'b@contoso.example', accountEnabled: false }],
      ]),
    )
    expect(d.standing.get('a')).toMatchObject({ kind: 'listed', fields: { oid: 'a', upn: 'a@contoso.example' } })
    expect(d.standing.get('b')).toEqual({ kind: 'disabled' })
    expect(d.standing.get('c')).toEqual({ kind: 'disabled' })
  })

  it('a change to a user none of the sources grant is ignored', () => {
    const d = decide(changes({ users: new Map([userChange('stranger')]) }), facts(), ['stranger'])
    expect(d.standing.get('stranger')).toEqual({ kind: 'off' })
    expect(d.memberAdds).toEqual([])
  })
})

describe('incomingOf', () => {
  it('an address held by someone the changes do not touch, or by an unchanged candidate, stays with its holder', () => {
    const d = decide(
      changes({
        users: new Map([
          userChange('a', { mail: 'taken@contoso.example' }),
          userChange('b', { mail: 'kept@contoso.example' }),
        ]),
        members: [member('c', false, H)],
      }),
      facts({
        memberships: new Map([
          ['a', new Set([G])],
          ['b', new Set([G])],
          ['c', new Set([G])],
        ]),
        listed: new Map([['c', listed('c', { email: 'kept@contoso.example' })]]),
      }),
      ['a', 'b', 'c'],
    )
    const incoming = incomingOf(d, { upns: new Set(), emails: new Set(['taken@contoso.example']) })
    const byOid = new Map(incoming.map((u) => [u.oid, u]))
    expect(byOid.get('a')?.email).toBeNull()
    expect(byOid.get('b')?.email).toBeNull()
    expect(byOid.get('c')?.email).toBe('kept@contoso.example')
  })
})
