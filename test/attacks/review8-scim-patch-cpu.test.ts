/**
 * (finding, medium) A SCIM PATCH add or remove of many values against a multi-valued
 * attribute holding many compared every value sent with every value kept (a JSON
 * stringify each time): a hostile tenant's provisioning stores 8,000 short values (within
 * the 64 KiB a user may hold), then sends 150,000 in one 1 MiB PATCH — over a billion
 * comparisons, minutes of CPU in one request, holding the admin Worker's isolate (and
 * every request queued on it) the whole time, 1,200 times a minute. Fixed in
 * scim/patch.ts: values are compared by a key through a Set, linear in what is sent
 * and kept, with the same equality as before.
 *
 * (finding, medium) The same holds for a path-less operation: each key of its value looked
 * its attribute up among all the resource's keys (case-insensitively), growing with every
 * key added, so 30,000 keys took 40 s and a 1 MiB body's 120,000 many minutes. Fixed in
 * scim/patch.ts: at most MAX_PATCH_PATHS attributes change in one request (400 tooMany).
 *
 * (finding, medium) And for a filtered path whose value is an object: every matching
 * element took every key of the value, 9,000 elements times 80,000 keys in one body.
 * Fixed in scim/patch.ts: at most MAX_FILTERED_WRITES such writes per operation.
 */
import { describe, expect, it } from 'vitest'
import { applyPatch, MAX_FILTERED_WRITES, MAX_PATCH_PATHS, parsePatchBody } from '../../src/scim/patch'
import { expectScimError, PATCH_OP, scim, scimJson, seedScimTenant } from '../scim/helpers'

const many = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`)

describe('review 8: a PATCH of many values against many stays linear', () => {
  it('20,000 values added to, then removed from, 10,000 kept: well under a second each', () => {
    const kept = many(10_000, 'k')
    let started = Date.now()
    const added = applyPatch({ x: kept }, [{ op: 'add', path: 'x', value: [...many(20_000, 'n'), 'k5'] }])
    expect(Date.now() - started).toBeLessThan(1_000)
    expect((added.x as string[]).length).toBe(30_000)
    started = Date.now()
    const removed = applyPatch(added, [{ op: 'remove', path: 'x', value: many(20_000, 'n') }])
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(removed.x).toEqual(kept)
  })

  it('the same equality as before: by "value" (type and all), else by JSON; object values equal nothing', () => {
    const current = [{ value: 'a', type: 'work' }, { value: 1 }, { value: { deep: 1 } }, 'plain', { other: 1 }]
    const out = applyPatch({ x: current }, [
      {
        op: 'add',
        path: 'x',
        value: [
          { value: 'a', type: 'home' },
          { value: '1' },
          { value: { deep: 1 } },
          'plain',
          { other: 1 },
          { other: 2 },
        ],
      },
    ])
    expect(out.x).toEqual([...current, { value: '1' }, { value: { deep: 1 } }, { other: 2 }])
    const left = applyPatch({ x: current }, [
      { op: 'remove', path: 'x', value: [{ value: 'a' }, 'plain', { value: { deep: 1 } }] },
    ])
    expect(left.x).toEqual([{ value: 1 }, { value: { deep: 1 } }, { other: 1 }])
  })

  it('through SCIM: 100,000 values (under 1 MiB) against 8,000 kept answers at once', async () => {
    const tenant = await seedScimTenant()
    const user = await scimJson(
      await scim(tenant, 'POST', '/Users', { userName: 'cpu@contoso.example', x: many(8_000, 'k') }),
      201,
    )
    const started = Date.now()
    const res = await scim(tenant, 'PATCH', `/Users/${user.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'x', value: many(100_000, 'n') }],
    })
    // Refused for its size once applied (a user holds at most 64 KiB); what matters is how soon.
    const refused = await expectScimError(res, 413)
    expect(refused.detail).toMatch(/KiB of attributes/)
    expect(Date.now() - started).toBeLessThan(5_000)
  }, 30_000)

  it('a path-less value of 30,000 attributes: 400 tooMany at once, the user as it was; 256 still apply', async () => {
    const tenant = await seedScimTenant()
    const user = await scimJson(await scim(tenant, 'POST', '/Users', { userName: 'keys@contoso.example' }), 201)
    const keys = (n: number) => Object.fromEntries(many(n, 'a').map((k) => [k, 1]))
    const started = Date.now()
    await expectScimError(
      await scim(tenant, 'PATCH', `/Users/${user.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'add', value: keys(30_000) }],
      }),
      400,
      'tooMany',
    )
    expect(Date.now() - started).toBeLessThan(2_000)
    // Spread over operations, the count is the same.
    expect(() =>
      parsePatchBody({
        Operations: [
          { op: 'add', value: keys(200) },
          { op: 'add', value: keys(100) },
        ],
      }),
    ).toThrow(/attributes may change/)
    const fits = await scimJson(
      await scim(tenant, 'PATCH', `/Users/${user.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'add', value: keys(MAX_PATCH_PATHS) }],
      }),
      200,
    )
    expect(fits[`a${MAX_PATCH_PATHS - 1}`]).toBe(1)
  }, 60_000)

  it('a filtered path matching 9,000 elements with an object of 80,000 keys: 400 tooMany at once', async () => {
    const tenant = await seedScimTenant()
    const user = await scimJson(await scim(tenant, 'POST', '/Users', { userName: 'filtered@contoso.example' }), 201)
    const started = Date.now()
    await expectScimError(
      await scim(tenant, 'PATCH', `/Users/${user.id}`, {
        schemas: [PATCH_OP],
        Operations: [
          { op: 'add', path: 'x', value: Array.from({ length: 9_000 }, () => ({ t: 'w' })) },
          {
            op: 'replace',
            path: 'x[t eq "w"]',
            value: Object.fromEntries(many(80_000, 'a').map((k) => [k, 1])),
          },
        ],
      }),
      400,
      'tooMany',
    )
    expect(Date.now() - started).toBeLessThan(2_000)
    // Within the bound it applies (what Entra sends: one element, a few keys).
    const out = applyPatch({ emails: [{ type: 'work', value: 'a@b' }] }, [
      { op: 'replace', path: 'emails[type eq "work"]', value: { value: 'c@d', primary: true } },
    ])
    expect(out.emails).toEqual([{ type: 'work', value: 'c@d', primary: true }])
    expect(MAX_FILTERED_WRITES).toBeGreaterThanOrEqual(1_000)
  }, 120_000)
})
