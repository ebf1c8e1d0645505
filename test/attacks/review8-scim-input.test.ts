/**
 * Review 8: what a hostile tenant's provisioning can send SCIM — PATCH paths aimed at
 * the prototype chain, values nested thousands deep, filters that try to escape their
 * quotes; the defences hold, the tests pin them (the depth bound was the finding).
 */
import { describe, expect, it } from 'vitest'
import { applyPatch, parsePatchBody } from '../../src/scim/patch'
import { dbAll } from '../fixtures'
import { entraUser, expectScimError, PATCH_OP, scim, scimJson, seedScimTenant } from '../scim/helpers'

const patch = (Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations })

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`
}

describe('review 8: PATCH paths never reach the prototype chain', () => {
  it.each([
    ['__proto__', { polluted: 'yes' }],
    ['__proto__.polluted', 'yes'],
    ['constructor.prototype', { polluted: 'yes' }],
    ['emails[type eq "work"].__proto__', { polluted: 'yes' }],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:__proto__', { polluted: 'yes' }],
  ])(
    'path %s: refused (400 invalidPath) or kept as an own attribute, and no object gains "polluted"',
    async (path, value) => {
      const tenant = await seedScimTenant()
      const user = await scimJson(await scim(tenant, 'POST', '/Users', entraUser('proto@contoso.example')), 201)
      const res = await scim(tenant, 'PATCH', `/Users/${user.id}`, patch([{ op: 'add', path, value }]))
      expect([200, 400]).toContain(res.status)
      if (res.status === 400) await expectScimError(res, 400, 'invalidPath')
      else await res.body?.cancel()
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect(Object.prototype).not.toHaveProperty('polluted')
      const [row] = await dbAll<{ resource: string; active: number }>(
        'SELECT resource, active FROM scim_users WHERE id = ?',
        user.id,
      )
      expect(row!.active).toBe(1)
      // Whatever was kept is data: parsing it back gives plain objects whose prototype is Object.prototype.
      const stored = JSON.parse(row!.resource)
      expect(Object.getPrototypeOf(stored)).toBe(Object.prototype)
    },
  )

  it('applied in the isolate: the path-less forms and "constructor" leave Object.prototype alone', () => {
    const ops = parsePatchBody(
      JSON.parse(
        '{"Operations":[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"__proto__":{"polluted":1}}}},' +
          '{"op":"replace","path":"constructor","value":{"prototype":{"polluted":1}}},' +
          '{"op":"add","path":"toString","value":"x"},' +
          '{"op":"add","path":"name.constructor","value":{"polluted":1}}]}',
      ),
    )
    const out = applyPatch({ userName: 'a@contoso.example' }, ops)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.hasOwn(out, 'constructor')).toBe(true)
    expect(() => applyPatch({}, parsePatchBody({ Operations: [{ op: 'add', value: { __proto__: 1 } }] }))).not.toThrow()
    expect(() =>
      applyPatch({}, parsePatchBody(JSON.parse('{"Operations":[{"op":"add","value":{"__proto__":{"polluted":1}}}]}'))),
    ).toThrow(/not supported/)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('review 8: values nested deep', () => {
  it('a user attribute nested 9,000 deep: refused with 400, never a 500, nothing stored', async () => {
    const tenant = await seedScimTenant()
    const rawBody = JSON.stringify(entraUser('deep@contoso.example')).replace(/}$/, `,"title":${nested(9_000)}}`)
    const res = await scim(tenant, 'POST', '/Users', undefined, { rawBody })
    await expectScimError(res, 400, 'invalidValue')
    expect(await dbAll('SELECT id FROM scim_users WHERE phone_system_id = ?', tenant.phoneSystemId)).toEqual([])
  })

  it('the same through PATCH: 400, the user as it was', async () => {
    const tenant = await seedScimTenant()
    const user = await scimJson(await scim(tenant, 'POST', '/Users', entraUser('deep2@contoso.example')), 201)
    const rawBody = `{"schemas":["${PATCH_OP}"],"Operations":[{"op":"add","path":"title","value":${nested(9_000)}}]}`
    await expectScimError(await scim(tenant, 'PATCH', `/Users/${user.id}`, undefined, { rawBody }), 400, 'invalidValue')
    expect(await dbAll('SELECT version FROM scim_users WHERE id = ?', user.id)).toEqual([{ version: 1 }])
    // Added to a multi-valued attribute (whose values are compared by their JSON): 400 too.
    const toArray = `{"schemas":["${PATCH_OP}"],"Operations":[{"op":"add","path":"emails","value":[${nested(9_000)}]}]}`
    await expectScimError(
      await scim(tenant, 'PATCH', `/Users/${user.id}`, undefined, { rawBody: toArray }),
      400,
      'invalidValue',
    )
    expect(await dbAll('SELECT version FROM scim_users WHERE id = ?', user.id)).toEqual([{ version: 1 }])
  })
})

describe('review 8: filters and case folding', () => {
  const list = async (tenant: Awaited<ReturnType<typeof seedScimTenant>>, filter: string) =>
    scim(tenant, 'GET', `/Users?filter=${encodeURIComponent(filter)}`)

  it('an escaped quote stays inside the value; or, sw and a 2,000-character filter are 400 invalidFilter', async () => {
    const tenant = await seedScimTenant()
    await scimJson(await scim(tenant, 'POST', '/Users', entraUser('ann@contoso.example')), 201)
    const escaped = await scimJson(await list(tenant, 'userName eq "x\\" or \\"1\\" eq \\"1"'), 200)
    expect(escaped.totalResults).toBe(0)
    for (const filter of [
      'userName eq "x" or userName eq "ann@contoso.example"',
      'userName sw "a"',
      'userName pr',
      `userName eq "${'a'.repeat(2000)}"`,
      'userName eq "ann@contoso.example") or (1 eq 1',
    ]) {
      await expectScimError(await list(tenant, filter), 400, 'invalidFilter')
    }
  })

  it('userName folds case as the list does: a JSON-escaped or differently cased name finds the user; a Kelvin sign is taken', async () => {
    const tenant = await seedScimTenant()
    const asa = await scimJson(await scim(tenant, 'POST', '/Users', entraUser('ÅSA@contoso.example')), 201)
    for (const filter of ['userName eq "åsa@contoso.example"', 'userName eq "\\u00c5sa@CONTOSO.example"']) {
      const found = await scimJson(await list(tenant, filter), 200)
      expect(found.Resources.map((r: { id: string }) => r.id)).toEqual([asa.id])
    }
    await scimJson(await scim(tenant, 'POST', '/Users', entraUser('kim@contoso.example')), 201)
    // U+212A KELVIN SIGN lowercases to "k": the same UPN on the list, so the same user.
    await expectScimError(
      await scim(tenant, 'POST', '/Users', entraUser('\u212aim@contoso.example', { email: 'other@contoso.example' })),
      409,
      'uniqueness',
    )
    expect(
      await dbAll('SELECT upn FROM sso_users WHERE phone_system_id = ? ORDER BY upn', tenant.phoneSystemId),
    ).toEqual([{ upn: 'kim@contoso.example' }, { upn: 'åsa@contoso.example' }])
  })
})
