/** The pure parts of SCIM: the filter, PATCH, and what a user resource gives the SSO list. */
import { describe, expect, it } from 'vitest'
import { ScimError } from '../../src/scim/errors'
import { parseEqualityFilter } from '../../src/scim/filter'
import { groupChanges } from '../../src/scim/group'
import { applyPatch, parsePatchBody, parsePath } from '../../src/scim/patch'
import { normalizeUser, parseActive } from '../../src/scim/user'

const USER_ATTRS = ['userName', 'externalId', 'id'] as const

function scimTypeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    if (error instanceof ScimError) return error.scimType ?? `status ${error.status}`
    throw error
  }
  return 'no error'
}

describe('parseEqualityFilter', () => {
  it.each([
    ['userName eq "ann@contoso.example"', { attribute: 'userName', value: 'ann@contoso.example' }],
    ['USERNAME EQ "Ann"', { attribute: 'userName', value: 'Ann' }],
    ['externalid Eq "a\\"b"', { attribute: 'externalId', value: 'a"b' }],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"', { attribute: 'userName', value: 'x' }],
  ])('%s', (filter, expected) => {
    expect(parseEqualityFilter(filter, USER_ATTRS)).toEqual(expected)
  })

  it.each(['userName gt "a"', 'userName eq 1', 'name.givenName eq "a"', 'userName eq "a" and active eq true', ''])(
    'refuses %j',
    (filter) => {
      expect(scimTypeOf(() => parseEqualityFilter(filter, USER_ATTRS))).toBe('invalidFilter')
    },
  )
})

describe('PATCH', () => {
  const ops = (...operations: unknown[]) => parsePatchBody({ Operations: operations })

  it('takes operation names in any case', () => {
    expect(
      ops({ op: 'REPLACE', path: 'active', value: false }, { op: 'Add', path: 'x', value: 1 }).map((o) => o.op),
    ).toEqual(['replace', 'add'])
  })

  it('parses paths with a filter, a sub-attribute and an extension URN', () => {
    expect(parsePath('emails[type eq "work"].value')).toEqual({
      container: null,
      attribute: 'emails',
      filter: { attribute: 'type', value: 'work' },
      sub: 'value',
    })
    expect(parsePath('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager')).toEqual({
      container: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      attribute: 'manager',
      filter: null,
      sub: null,
    })
  })

  it('replaces the work email in place and keeps the others; attribute names match in any case', () => {
    const before = {
      userName: 'a',
      emails: [
        { type: 'home', value: 'h@x' },
        { type: 'work', value: 'w@x', primary: true },
      ],
    }
    const after = applyPatch(before, ops({ op: 'replace', path: 'EMAILS[TYPE eq "Work"].VALUE', value: 'new@x' }))
    expect(after.emails).toEqual([
      { type: 'home', value: 'h@x' },
      { type: 'work', value: 'new@x', primary: true },
    ])
    expect(before.emails[1]!.value).toBe('w@x')
  })

  it('adds to a multi-valued attribute without duplicates, and removes by value', () => {
    const before = { roles: [{ value: 'a' }] }
    const added = applyPatch(before, ops({ op: 'add', path: 'roles', value: [{ value: 'a' }, { value: 'b' }] }))
    expect(added.roles).toEqual([{ value: 'a' }, { value: 'b' }])
    expect(applyPatch(added, ops({ op: 'remove', path: 'roles', value: [{ value: 'a' }] })).roles).toEqual([
      { value: 'b' },
    ])
  })

  it('an added primary value takes primary from the others (the list then takes the new email)', () => {
    const before = { userName: 'a', emails: [{ type: 'work', value: 'old@x', primary: true }] }
    const after = applyPatch(
      before,
      ops({ op: 'Add', path: 'emails', value: [{ type: 'work', value: 'new@x', primary: true }] }),
    )
    expect(after.emails).toEqual([
      { type: 'work', value: 'old@x', primary: false },
      { type: 'work', value: 'new@x', primary: true },
    ])
    expect(normalizeUser(after).facts.email).toBe('new@x')
  })

  it('group changes: members added, removed by value or filter, replaced; displayName', () => {
    expect(
      groupChanges(
        ops(
          { op: 'Add', path: 'members', value: [{ value: 'usr_a' }] },
          { op: 'Remove', path: 'members[value eq "usr_a"]' },
          { op: 'Replace', path: 'members', value: [{ value: 'usr_b' }] },
          { op: 'Replace', value: { displayName: 'G2' } },
        ),
      ),
    ).toEqual([
      { kind: 'addMembers', ids: ['usr_a'] },
      { kind: 'removeMembers', ids: ['usr_a'] },
      { kind: 'clearMembers' },
      { kind: 'addMembers', ids: ['usr_b'] },
      { kind: 'displayName', value: 'G2' },
    ])
  })
})

describe('a user resource', () => {
  it.each([
    [true, true],
    ['False', false],
    ['TRUE', true],
    [undefined, true],
  ])('active %j is %j', (value, expected) => {
    expect(parseActive(value)).toBe(expected)
  })

  it('gives the list its work email (lowercase) when none is primary, and a display name from the name', () => {
    const { facts, resource } = normalizeUser({
      id: 'usr_forged',
      meta: { location: 'x' },
      userName: 'Ann@Contoso.example',
      emails: [
        { type: 'home', value: 'home@x' },
        { type: 'work', value: 'Work@X' },
      ],
      name: { givenName: 'Ann', familyName: 'Example' },
    })
    expect(facts).toEqual({
      userName: 'Ann@Contoso.example',
      externalId: null,
      active: true,
      displayName: 'Ann Example',
      email: 'work@x',
    })
    expect(resource).not.toHaveProperty('id')
    expect(resource).not.toHaveProperty('meta')
    expect(normalizeUser({ userName: 'c', password: 'P@ssw0rd!' }).resource).toEqual({ userName: 'c', active: true })
    expect(normalizeUser({ userName: 'b', emails: [{ value: 'p@x', primary: true }] }).facts.email).toBe('p@x')
  })
})
