import { describe, expect, it } from 'vitest'
import { bestPerPhoneSystem, matchRecord, type SsoRecord } from '../../src/authz/match'

const A = '11111111-1111-4111-8111-111111111111'
const B = '22222222-2222-4222-8222-222222222222'
const OID_ANN = 'aaaaaaaa-0000-4000-8000-000000000001'
const OID_EVE = 'eeeeeeee-0000-4000-8000-000000000002'

function record(fields: Partial<SsoRecord>): SsoRecord {
  return {
    id: 'usr_1',
    phoneSystemId: 'ps_1',
    tid: A,
    oid: null,
    upn: null,
    email: null,
    displayName: null,
    extension: null,
    ...fields,
  }
}

const ann = { tid: A, oid: OID_ANN, upn: 'ann@contoso.com', email: 'ann@contoso.com' }

describe('matchRecord: (token claims, synced record) -> outcome', () => {
  it.each([
    ['same tid and oid', ann, record({ oid: OID_ANN }), 'oid'],
    ['same oid, record also has other upn', ann, record({ oid: OID_ANN, upn: 'old-name@contoso.com' }), 'oid'],
    ['record without oid, same UPN', ann, record({ upn: 'ann@contoso.com' }), 'upn'],
    [
      'record without oid, same UPN in other case in the token',
      { ...ann, upn: 'Ann@Contoso.COM' },
      record({ upn: 'ann@contoso.com' }),
      'upn',
    ],
    ['record without oid, same email', ann, record({ email: 'ann@contoso.com' }), 'email'],
    [
      'nOAuth: record has another oid and the same email',
      { ...ann, oid: OID_EVE },
      record({ oid: OID_ANN, email: 'ann@contoso.com' }),
      null,
    ],
    [
      'nOAuth: record has another oid and the same UPN (UPN reused)',
      { ...ann, oid: OID_EVE },
      record({ oid: OID_ANN, upn: 'ann@contoso.com' }),
      null,
    ],
    ['same oid but another tenant', { ...ann, tid: B }, record({ oid: OID_ANN }), null],
    ['record without oid, same UPN, another tenant', { ...ann, tid: B }, record({ upn: 'ann@contoso.com' }), null],
    ['record without oid, same email, another tenant', { ...ann, tid: B }, record({ email: 'ann@contoso.com' }), null],
    [
      'record UPN equals the token email only',
      { ...ann, upn: 'a.other@contoso.com' },
      record({ upn: 'ann@contoso.com' }),
      null,
    ],
    ['record email equals the token UPN only', { ...ann, email: null }, record({ email: 'ann@contoso.com' }), null],
    [
      'token without UPN and email, record without oid',
      { ...ann, upn: null, email: null },
      record({ upn: 'ann@contoso.com' }),
      null,
    ],
    ['different person entirely', ann, record({ oid: OID_EVE, upn: 'eve@contoso.com' }), null],
  ])('%s', (_name, claims, rec, expected) => {
    expect(matchRecord(rec, claims)).toBe(expected)
  })
})

describe('bestPerPhoneSystem', () => {
  it('keeps one record per phone system, the strongest match', () => {
    const byUpn = {
      record: record({ id: 'usr_upn', phoneSystemId: 'ps_1', upn: 'ann@contoso.com' }),
      kind: 'upn' as const,
    }
    const byOid = { record: record({ id: 'usr_oid', phoneSystemId: 'ps_1', oid: OID_ANN }), kind: 'oid' as const }
    const other = {
      record: record({ id: 'usr_2', phoneSystemId: 'ps_2', email: 'ann@contoso.com' }),
      kind: 'email' as const,
    }
    expect(bestPerPhoneSystem([byUpn, other, byOid]).map((m) => m.record.id)).toEqual(['usr_oid', 'usr_2'])
  })
})
