/**
 * (finding, medium) A SCIM PATCH add or remove of many values against a multi-valued
 * attribute holding many compared every value sent with every value kept (a JSON
 * stringify each time): a hostile tenant's provisioning stores 8,000 short values (within
 * the 64 KiB a user may hold), then sends 150,000 in one 1 MiB PATCH — over a billion
 * comparisons, minutes of CPU in one request, holding the admin Worker's isolate (and
 * every request queued on it) the whole time, 1,200 times a minute. Fixed in
 * scim/patch.ts: values are compared by a key through a Set, linear in what is sent
 * and kept, with the same equality as before.
 */
import { describe, expect, it } from 'vitest'
import { applyPatch } from '../../src/scim/patch'
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
})
