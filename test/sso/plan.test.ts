import { describe, expect, it } from 'vitest'
import { DuplicateSsoUserError, planReplace, type StoredSsoUser, sortKeyOf } from '../../src/sso/plan'
import type { SsoUserFields } from '../../src/sso/types'

const OID_1 = 'aaaaaaaa-0000-4000-8000-000000000001'
const OID_2 = 'aaaaaaaa-0000-4000-8000-000000000002'

function user(fields: Partial<SsoUserFields>): SsoUserFields {
  return { oid: null, upn: null, email: null, displayName: null, extension: null, ...fields }
}

function stored(id: string, fields: Partial<SsoUserFields>): StoredSsoUser {
  return { id, createdAt: 1, ...user(fields) }
}

let counter = 0
const newId = () => `usr_new${++counter}`

describe('planReplace', () => {
  it('counts added, removed, updated and unchanged, and keeps ids of records that stay', () => {
    const existing = [
      stored('usr_keep', { oid: OID_1, upn: 'ann@contoso.com', displayName: 'Ann' }),
      stored('usr_change', { oid: OID_2, upn: 'bob@contoso.com', extension: '101' }),
      stored('usr_gone', { upn: 'carl@contoso.com' }),
    ]
    const plan = planReplace(
      existing,
      [
        user({ oid: OID_1, upn: 'ann@contoso.com', displayName: 'Ann' }),
        user({ oid: OID_2, upn: 'bob@contoso.com', extension: '102' }),
        user({ upn: 'dora@contoso.com' }),
      ],
      newId,
      5,
    )
    expect(plan.counts).toEqual({ added: 1, removed: 1, updated: 1, unchanged: 1, total: 3 })
    expect(plan.deleteIds.sort()).toEqual(['usr_change', 'usr_gone'])
    expect(plan.insertRows.map((r) => [r.id, r.createdAt])).toEqual([
      ['usr_change', 1],
      [expect.stringMatching(/^usr_new/), 5],
    ])
  })

  it('lets a record without oid be adopted by the same UPN once Entra gives its oid', () => {
    const plan = planReplace(
      [stored('usr_upn', { upn: 'ann@contoso.com' })],
      [user({ oid: OID_1, upn: 'ann@contoso.com' })],
      newId,
      5,
    )
    expect(plan.counts).toMatchObject({ updated: 1, added: 0, removed: 0 })
    expect(plan.insertRows[0]).toMatchObject({ id: 'usr_upn', oid: OID_1 })
  })

  it('never matches a record that has an oid by UPN: a reused UPN is another person', () => {
    const plan = planReplace(
      [stored('usr_leaver', { oid: OID_1, upn: 'ann@contoso.com' })],
      [user({ oid: OID_2, upn: 'ann@contoso.com' })],
      newId,
      5,
    )
    expect(plan.counts).toMatchObject({ added: 1, removed: 1, updated: 0 })
    expect(plan.deleteIds).toEqual(['usr_leaver'])
    expect(plan.insertRows[0]!.id).not.toBe('usr_leaver')
  })

  it('never matches a record that has an oid by email either', () => {
    const plan = planReplace(
      [stored('usr_a', { oid: OID_1, email: 'ann@contoso.com' })],
      [user({ email: 'ann@contoso.com' })],
      newId,
      5,
    )
    expect(plan.counts).toMatchObject({ added: 1, removed: 1 })
  })

  it('swapping UPNs between two people deletes both rows before writing them back (no transient duplicate)', () => {
    const plan = planReplace(
      [stored('usr_1', { oid: OID_1, upn: 'a@contoso.com' }), stored('usr_2', { oid: OID_2, upn: 'b@contoso.com' })],
      [user({ oid: OID_1, upn: 'b@contoso.com' }), user({ oid: OID_2, upn: 'a@contoso.com' })],
      newId,
      5,
    )
    expect(plan.counts).toMatchObject({ updated: 2 })
    expect(plan.deleteIds.sort()).toEqual(['usr_1', 'usr_2'])
  })

  it('an empty list removes everyone', () => {
    const plan = planReplace([stored('usr_1', { upn: 'a@contoso.com' })], [], newId, 5)
    expect(plan.counts).toEqual({ added: 0, removed: 1, updated: 0, unchanged: 0, total: 0 })
  })

  it.each([
    ['oid', [user({ oid: OID_1 }), user({ oid: OID_1, upn: 'x@contoso.com' })]],
    ['upn', [user({ upn: 'a@contoso.com' }), user({ oid: OID_1 }), user({ upn: 'a@contoso.com' })]],
    ['email', [user({ email: 'a@contoso.com' }), user({ email: 'a@contoso.com', upn: 'b@contoso.com' })]],
  ])('refuses two entries with the same %s', (field, incoming) => {
    expect(() => planReplace([], incoming, newId, 5)).toThrow(DuplicateSsoUserError)
    try {
      planReplace([], incoming, newId, 5)
    } catch (error) {
      expect(error).toMatchObject({ field, index: incoming.length - 1, firstIndex: 0 })
    }
  })

  it('sorts by the name a person would look for', () => {
    expect(sortKeyOf(user({ displayName: 'Ärne Öst', upn: 'z@c.com' }))).toBe('ärne öst')
    expect(sortKeyOf(user({ upn: 'z@c.com' }))).toBe('z@c.com')
    expect(sortKeyOf(user({ oid: OID_1 }))).toBe(OID_1)
  })
})
