/**
 * Review 8, a hostile customer tenant's Graph answering the sync: the app-only bearer token goes to
 * GRAPH_BASE's origin and nowhere else. A nextLink or deltaLink naming another host (or a look-alike
 * of GRAPH_BASE) is refused before any request; a redirect is never followed (it would carry the
 * token wherever it points); and the delta parser keeps only what the groups read may say:
 * members@delta of a group outside the filter, nested groups and malformed entries change nobody.
 */
import { env } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parseConfig } from '../../src/config'
import { AppError } from '../../src/errors'
import type { EntraClient } from '../../src/oidc/clients'
import { DeltaTooLong, MAX_DELTA_PAGES, readMemberChanges, readUserChanges } from '../../src/sync/delta-links'
import { type GraphSession, type PullStats, readAssignments } from '../../src/sync/pull'
import { graphRequest } from '../../src/upstream/graph'
import { graphControl } from '../fixtures'

const config = () => parseConfig(env)
const call = { permission: 'User.Read.All', retries: 0 }

afterEach(() => vi.restoreAllMocks())

describe('review 8: Graph links never take the bearer token elsewhere', () => {
  it.each([
    'https://evil.example/v1.0/users/delta?$deltatoken=x',
    `${env.GRAPH_BASE}@evil.example/v1.0/users`,
    `${env.GRAPH_BASE}.evil.example/v1.0/users`,
    `${env.GRAPH_BASE}:1@evil.example/v1.0/users`,
    '//evil.example/v1.0/users',
    '@evil.example/v1.0/users',
  ])('a link to %s is refused before any request', async (link) => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch')
    const error = await graphRequest(config(), 'SECRET-TOKEN', 'GET', link, call).catch((e: unknown) => e)
    // `//evil.example` appended to GRAPH_BASE is a path on GRAPH_BASE: followed there, never to evil.example.
    for (const [input] of fetchSpy.mock.calls)
      expect(new URL(String(input)).origin).toBe(new URL(env.GRAPH_BASE!).origin)
    if (fetchSpy.mock.calls.length === 0) expect((error as AppError).code).toBe('graph_unavailable')
  })

  it('a redirect from Graph is not followed: the token never reaches the place it points to', async () => {
    const base = new URL(env.GRAPH_BASE!)
    // Another origin of the same stand-in (localhost, not 127.0.0.1): it records every request it gets. Before the
    // fix workerd followed the redirect (dropping Authorization across origins, keeping it on the same one) and
    // the answer of wherever it pointed was read as Graph's.
    const elsewhere = `http://localhost:${base.port}/__hostile/capture?leak=1`
    const sameHost = `${env.GRAPH_BASE}/__hostile/capture?leak=2`
    await graphControl('captured', {})
    for (const to of [elsewhere, sameHost]) {
      const error = await graphRequest(
        config(),
        'SECRET-TOKEN',
        'GET',
        `/__hostile/redirect?to=${encodeURIComponent(to)}`,
        call,
      ).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AppError)
      expect((error as AppError).code).toBe('graph_unavailable')
      expect((error as AppError).message).toContain('redirect')
    }
    expect(await graphControl('captured', {})).toEqual([])
  })
})

/** A Graph session answering `pages` in turn (by link), as a hostile tenant's Graph might. */
function sessionAnswering(pages: Record<string, unknown>): GraphSession & { asked: string[] } {
  const asked: string[] = []
  const stats: PullStats = { requests: 0, pages: 0, assignedUsers: 0, assignedGroups: 0, disabled: 0 }
  return {
    asked,
    config: config(),
    token: 'T',
    stats,
    call: (permission) => ({ permission }),
    each: async <T>(path: string, _permission: string, onPage: (items: T[]) => void) => {
      let next: string | undefined = path
      while (next) {
        asked.push(next)
        const page = pages[next] as { value?: T[]; '@odata.nextLink'?: string } | undefined
        onPage(page?.value ?? [])
        next = page?.['@odata.nextLink']
      }
    },
    page: async <T>(path: string) => {
      asked.push(path)
      return (pages[path] ?? null) as T | null
    },
  }
}

const G1 = '11111111-1111-1111-1111-111111111111'
const OTHER = '99999999-9999-9999-9999-999999999999'
const U1 = 'aaaaaaaa-0000-0000-0000-000000000001'
const U2 = 'aaaaaaaa-0000-0000-0000-000000000002'
const U3 = 'aaaaaaaa-0000-0000-0000-000000000003'

describe('review 8: what a groups/delta page may change', () => {
  it('members@delta of a group not read, nested groups and malformed entries are ignored', async () => {
    const graph = sessionAnswering({
      link1: {
        value: [
          { id: G1, 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: U1 }] },
          // A group the phone system does not read: its members grant nothing here.
          { id: OTHER, 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: U2 }] },
          // A nested group is not expanded (Entra's rule for app assignments).
          { id: G1, 'members@delta': [{ '@odata.type': '#microsoft.graph.group', id: U3 }] },
          // An id that is no GUID would be interpolated into a users-by-id filter: `id in ('…')`.
          { id: G1, 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: "x') or (id ne '" }] },
          // Malformed: no id, a numeric id, members not an array, a member with no id.
          { 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: U3 }] },
          { id: 42, 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: U3 }] },
          { id: G1, 'members@delta': 'all' },
          { id: G1, 'members@delta': [null, { '@odata.type': '#microsoft.graph.user' }] },
          null,
        ],
        '@odata.deltaLink': '/next1',
      },
    })
    const { changes, links } = await readMemberChanges(graph, ['link1'], [G1])
    expect(changes).toEqual([{ groupId: G1, userId: U1, removed: false }])
    expect(links).toEqual(['/next1'])
  })

  it('users/delta entries that are not objects with a string id are skipped, not thrown on', async () => {
    const graph = sessionAnswering({
      u: {
        value: [null, 7, { id: 5 }, { id: "') or (1 eq 1" }, { id: U1.toUpperCase(), displayName: 'A' }],
        '@odata.deltaLink': '/u2',
      },
    })
    const { changes, link } = await readUserChanges(graph, 'u')
    expect([...changes.keys()]).toEqual([U1])
    expect(link).toBe('/u2')
  })

  it('users/delta properties of the wrong type, or not ours, are not read (absent: unchanged)', async () => {
    const graph = sessionAnswering({
      u: {
        value: [
          { id: U1, userPrincipalName: 42, mail: ['a@b'], displayName: 'Ann', accountEnabled: 'no', extension: '100' },
          { id: U2, userPrincipalName: 'B@X.example', mail: null, accountEnabled: false },
        ],
        '@odata.deltaLink': '/u2',
      },
    })
    const { changes } = await readUserChanges(graph, 'u')
    expect(changes.get(U1)).toEqual({ id: U1, removed: false, user: { id: U1, displayName: 'Ann' } })
    expect(changes.get(U2)).toEqual({
      id: U2,
      removed: false,
      user: { id: U2, userPrincipalName: 'B@X.example', mail: null, accountEnabled: false },
    })
  })

  it('a paging loop (a nextLink to itself) ends after MAX_DELTA_PAGES as DeltaTooLong: the caller pulls in full', async () => {
    const graph = sessionAnswering({ l: { value: 'x', '@odata.nextLink': 'l' } })
    await expect(readUserChanges(graph, 'l')).rejects.toBeInstanceOf(DeltaTooLong)
    expect(graph.asked).toHaveLength(MAX_DELTA_PAGES)
  })
  it('app role assignments whose principal is no GUID are not read (they would reach filters and paths)', async () => {
    const sp = '22222222-2222-2222-2222-222222222222'
    const client = { clientId: '33333333-3333-3333-3333-333333333333', clientSecret: 's', orgId: null } as EntraClient
    const graph = sessionAnswering({
      [`/v1.0/servicePrincipals(appId='${client.clientId}')?$select=id,appId`]: { id: sp },
      [`/v1.0/servicePrincipals/${sp}/appRoleAssignedTo?$select=principalId,principalType&$top=999`]: {
        value: [
          { principalId: U1.toUpperCase(), principalType: 'User' },
          { principalId: "x') or (1 eq 1", principalType: 'User' },
          { principalId: '../../users', principalType: 'Group' },
          { principalId: 7, principalType: 'Group' },
          null,
          { principalId: G1, principalType: 'Group' },
        ],
      },
    })
    const { userIds, groupIds } = await readAssignments(graph, client, 'tid')
    expect([...userIds]).toEqual([U1])
    expect(groupIds).toEqual([G1])
  })
  it('a deltaLink to another host ends the round: it is never stored (sealed) to be followed next sync', async () => {
    for (const link of ['https://evil.example/v1.0/users/delta?$deltatoken=x', `${env.GRAPH_BASE}@evil.example/`]) {
      const graph = sessionAnswering({ u: { value: [{ id: U1, displayName: 'A' }], '@odata.deltaLink': link } })
      const error = await readUserChanges(graph, 'u').catch((e: unknown) => e)
      expect((error as AppError).code).toBe('graph_unavailable')
    }
  })
})
