/**
 * The Graph stand-in's change tracking behaves as Microsoft Graph documents
 * it (dev/graph/delta.ts): "sync from now", links that are not single use
 * (a replay answers the same changes), `members@delta` with `@removed` and
 * member types, `id eq` filters of at most 50, paging through
 * `@odata.nextLink`, and expired tokens answered `syncStateNotFound` in
 * Graph's error shape. Driven with a real app-only token, over HTTP.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { getConfig } from '../../src/config'
import { appOnlyToken } from '../../src/upstream/graph'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../bindings'
import { consent, dirUser, graphControl, newTenantId } from '../fixtures'

const client = {
  clientId: TEST_CLIENT_ID,
  clientSecret: TEST_CLIENT_SECRET,
  orgId: null,
  homeTenantId: null,
  allowedTenantIds: null,
}

async function tenant() {
  const tid = newTenantId()
  await consent(tid)
  const token = await appOnlyToken(getConfig(env as never), client, tid, { permission: 'User.Read.All' })
  const get = async (pathOrUrl: string) => {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${env.GRAPH_BASE}${pathOrUrl}`
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    return { status: res.status, body: (await res.json()) as any }
  }
  return { tid, get }
}

/** Every page of a round: the items, and the link it ends with. */
async function round(get: (u: string) => Promise<{ status: number; body: any }>, first: string) {
  const items: any[] = []
  let next: string | undefined = first
  let pages = 0
  while (next) {
    const { status, body } = await get(next)
    expect(status).toBe(200)
    pages++
    items.push(...body.value)
    if (body['@odata.deltaLink']) return { items, link: body['@odata.deltaLink'] as string, pages }
    next = body['@odata.nextLink']
  }
  throw new Error('a round without a delta link')
}

describe('users/delta and groups/delta in the stand-in', () => {
  it('$deltatoken=latest answers no data and a link; the link answers what changed after, every time it is followed', async () => {
    const { tid, get } = await tenant()
    const [a, b] = [dirUser(1), dirUser(2)]
    await graphControl(`tenants/${tid}`, { users: [a, b] })
    const latest = await get('/v1.0/users/delta?$select=id,displayName,accountEnabled&$deltatoken=latest')
    expect(latest.body.value).toEqual([])
    const link = latest.body['@odata.deltaLink'] as string
    expect(link).toContain('$deltatoken=')

    await graphControl(`tenants/${tid}`, { updateUsers: [{ id: a.id, displayName: 'Renamed' }], removeUsers: [b.id] })
    const once = await round(get, link)
    expect(once.items).toHaveLength(2)
    expect(once.items).toEqual(
      expect.arrayContaining([
        { id: a.id, displayName: 'Renamed', accountEnabled: true },
        { id: b.id, '@removed': { reason: 'changed' } },
      ]),
    )
    // Not single use: the same link again, the same changes (a replay).
    expect((await round(get, link)).items).toEqual(once.items)
    // The new link: nothing since.
    expect((await round(get, once.link)).items).toEqual([])
  })

  it('groups/delta filtered by id: members@delta with types and @removed; nested groups named as groups', async () => {
    const { tid, get } = await tenant()
    const [a, b, c] = [dirUser(1), dirUser(2), dirUser(3)]
    const [g, nested, other] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()]
    await graphControl(`tenants/${tid}`, {
      users: [a, b, c],
      groups: [
        { id: g, displayName: 'G', members: [a.id] },
        { id: nested, displayName: 'Nested', members: [] },
        { id: other, displayName: 'Other', members: [] },
      ],
    })
    const filter = encodeURIComponent(`id eq '${g}'`)
    const latest = await get(`/v1.0/groups/delta?$filter=${filter}&$select=members&$deltatoken=latest`)
    await graphControl(`tenants/${tid}`, {
      addMembers: [
        { groupId: g, ids: [b.id, nested] },
        { groupId: other, ids: [c.id] },
      ],
      removeMembers: [{ groupId: g, ids: [a.id] }],
    })
    const { items } = await round(get, latest.body['@odata.deltaLink'])
    expect(items).toEqual([
      {
        id: g,
        displayName: 'G',
        'members@delta': [
          { '@odata.type': '#microsoft.graph.user', id: b.id },
          { '@odata.type': '#microsoft.graph.group', id: nested },
          { '@odata.type': '#microsoft.graph.user', id: a.id, '@removed': { reason: 'deleted' } },
        ],
      },
    ])
  })

  it('a filter of more than 50 ids, or on anything but id, is refused', async () => {
    const { get } = await tenant()
    const ids = Array.from({ length: 51 }, () => `id eq '${crypto.randomUUID()}'`).join(' or ')
    const tooMany = await get(`/v1.0/groups/delta?$filter=${encodeURIComponent(ids)}&$deltatoken=latest`)
    expect(tooMany.status).toBe(400)
    const byName = await get(`/v1.0/groups/delta?$filter=${encodeURIComponent("displayName eq 'x'")}`)
    expect(byName.status).toBe(400)
    expect(byName.body.error.code).toBe('Request_UnsupportedQuery')
  })

  it('many changes are paged: nextLinks (200 users a page), then the delta link', async () => {
    const { tid, get } = await tenant()
    const latest = await get('/v1.0/users/delta?$deltatoken=latest')
    await graphControl(`tenants/${tid}`, { users: Array.from({ length: 450 }, (_, i) => dirUser(i)) })
    const { items, pages } = await round(get, latest.body['@odata.deltaLink'])
    expect(items).toHaveLength(450)
    expect(pages).toBe(3)
  })

  it('an expired link answers syncStateNotFound in Graph error shape (410 unless told otherwise)', async () => {
    const { tid, get } = await tenant()
    const latest = await get('/v1.0/users/delta?$deltatoken=latest')
    await graphControl(`tenants/${tid}`, { expireDeltaLinks: true })
    const expired = await get(latest.body['@odata.deltaLink'])
    expect(expired.status).toBe(410)
    expect(expired.body.error).toMatchObject({
      code: 'syncStateNotFound',
      message: expect.stringContaining('The delta token is expired'),
      innerError: { 'request-id': expect.any(String) },
    })
    // A link taken after the expiry works.
    const fresh = await get('/v1.0/users/delta?$deltatoken=latest')
    expect((await get(fresh.body['@odata.deltaLink'])).status).toBe(200)
  })
})
