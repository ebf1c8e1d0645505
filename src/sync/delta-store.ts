/**
 * D1 side of incremental sync (tables `sync_delta_state`,
 * `sync_delta_members`, `sync_delta_disabled`, src/db/README.md): the stored
 * delta links, sealed (AES-GCM under DATA_KEY, bound to the phone system,
 * as client secrets are: a link read out of D1 alone reads nobody's
 * directory); the candidates' stored facts, read in one batch; and the
 * statements that record a sync's state, run in the same batch as the list
 * write so a failed write never moves a link past changes it did not apply.
 */
import type { Config } from '../config'
import { decryptSecret, encryptSecret } from '../lib/crypto'
import { log } from '../log'
import type { StoredSsoUser } from '../sso/plan'
import { jsonChunks, STORED_USER_COLUMNS, type StoredUserSqlRow, storedUserOf } from '../sso/store'
import type { DeltaLinks } from './delta-links'
import { DIRECT, type StoredFacts } from './delta-plan'
import type { PulledSources } from './pull'

/** What the links were taken for: the source, the app that took them, and the groups read. */
export interface DeltaScope {
  source: 'app_assignments' | 'group'
  app: string
  groups: string[]
}

export interface DeltaState {
  scope: DeltaScope
  links: DeltaLinks
  linksAt: number
  listVersion: number
}

/**
 * Every read of a delta sync, by what it reads; each is answered from an
 * index (test/sync/delta-query-plans.test.ts asserts it with EXPLAIN QUERY
 * PLAN). JSON arrays of ids are bound as one parameter and expanded with
 * `json_each`. The direct assignments' `group_id = ''` is written out, not
 * bound: only then may SQLite use the partial index made for them.
 */
export const DELTA_READS = {
  state: 'SELECT scope, links, links_at, list_version FROM sync_delta_state WHERE phone_system_id = ?',
  direct: "SELECT user_id FROM sync_delta_members WHERE phone_system_id = ? AND group_id = ''",
  size: 'SELECT COUNT(*) AS n FROM sso_users WHERE phone_system_id = ?',
  memberships:
    'SELECT group_id, user_id FROM sync_delta_members WHERE phone_system_id = ?1 AND user_id IN (SELECT value FROM json_each(?2))',
  listed: `SELECT ${STORED_USER_COLUMNS} FROM sso_users
           WHERE phone_system_id = ?1 AND tid = ?2 AND oid IN (SELECT value FROM json_each(?3))`,
  disabled:
    'SELECT user_id FROM sync_delta_disabled WHERE phone_system_id = ?1 AND user_id IN (SELECT value FROM json_each(?2))',
  upns: 'SELECT oid, upn FROM sso_users WHERE phone_system_id = ?1 AND upn IN (SELECT value FROM json_each(?2))',
  emails: 'SELECT oid, email FROM sso_users WHERE phone_system_id = ?1 AND email IN (SELECT value FROM json_each(?2))',
} as const

const linkContext = (phoneSystemId: string) => `sync-delta-links|${phoneSystemId}`

export function sameScope(a: DeltaScope, b: DeltaScope): boolean {
  return (
    a.source === b.source &&
    a.app === b.app &&
    a.groups.length === b.groups.length &&
    a.groups.every((g, i) => g === b.groups[i])
  )
}

/** The phone system's stored state, or null (none, or unreadable: a full pull starts it again). */
export async function readDeltaState(
  d1: D1Database,
  config: Config,
  phoneSystemId: string,
): Promise<DeltaState | null> {
  const row = await d1
    .prepare(DELTA_READS.state)
    .bind(phoneSystemId)
    .first<{ scope: string; links: string; links_at: number; list_version: number }>()
  if (!row) return null
  try {
    const links = JSON.parse(await decryptSecret(row.links, config.dataKey, linkContext(phoneSystemId))) as DeltaLinks
    return { scope: JSON.parse(row.scope) as DeltaScope, links, linksAt: row.links_at, listVersion: row.list_version }
  } catch {
    // A rotated DATA_KEY, or a row copied from another phone system: start again from a full pull.
    log('warn', 'stored delta links could not be opened; the sync pulls in full', { phoneSystemId })
    return null
  }
}

/** Users assigned directly at the last sync. */
export async function readStoredDirect(d1: D1Database, phoneSystemId: string): Promise<Set<string>> {
  const { results } = await d1.prepare(DELTA_READS.direct).bind(phoneSystemId).all<{ user_id: string }>()
  return new Set(results.map((r) => r.user_id))
}

/**
 * The candidates' memberships, list rows and disabled marks, and the list's
 * size: one batch (one round trip), the candidates bound as JSON arrays.
 */
export async function readStoredFacts(
  d1: D1Database,
  phoneSystem: { id: string; entraTenantId: string },
  candidates: readonly string[],
): Promise<StoredFacts & { size: number; statements: number }> {
  const ps = phoneSystem.id
  const chunks = jsonChunks(candidates)
  const statements: D1PreparedStatement[] = [d1.prepare(DELTA_READS.size).bind(ps)]
  for (const ids of chunks) {
    statements.push(
      d1.prepare(DELTA_READS.memberships).bind(ps, ids),
      d1.prepare(DELTA_READS.listed).bind(ps, phoneSystem.entraTenantId, ids),
      d1.prepare(DELTA_READS.disabled).bind(ps, ids),
    )
  }
  const results = await d1.batch<Record<string, unknown>>(statements)
  const size = Number((results[0]?.results[0] as { n: number } | undefined)?.n ?? 0)
  const memberships = new Map<string, Set<string>>()
  const listed = new Map<string, StoredSsoUser>()
  const disabled = new Set<string>()
  for (let c = 0; c < chunks.length; c++) {
    for (const r of results[1 + c * 3]!.results as Array<{ group_id: string; user_id: string }>) {
      const set = memberships.get(r.user_id) ?? new Set<string>()
      set.add(r.group_id)
      memberships.set(r.user_id, set)
    }
    for (const r of results[2 + c * 3]!.results as StoredUserSqlRow[]) listed.set(r.oid as string, storedUserOf(r))
    for (const r of results[3 + c * 3]!.results as Array<{ user_id: string }>) disabled.add(r.user_id)
  }
  return { memberships, listed, disabled, size, statements: statements.length }
}

/** The addresses among `addresses` held on the list by users other than the candidates. */
export async function readTakenAddresses(
  d1: D1Database,
  phoneSystemId: string,
  candidates: readonly string[],
  addresses: { upns: readonly string[]; emails: readonly string[] },
): Promise<{ upns: Set<string>; emails: Set<string>; statements: number }> {
  const upnStatements = perChunk(d1, DELTA_READS.upns, addresses.upns, phoneSystemId)
  const statements = [...upnStatements, ...perChunk(d1, DELTA_READS.emails, addresses.emails, phoneSystemId)]
  const taken = { upns: new Set<string>(), emails: new Set<string>(), statements: statements.length }
  if (statements.length === 0) return taken
  const candidateSet = new Set(candidates)
  const results = await d1.batch<{ oid: string | null; upn?: string; email?: string }>(statements)
  results.forEach((result, i) => {
    for (const r of result.results) {
      if (r.oid !== null && candidateSet.has(r.oid)) continue
      if (i < upnStatements.length && r.upn) taken.upns.add(r.upn)
      if (i >= upnStatements.length && r.email) taken.emails.add(r.email)
    }
  })
  return taken
}

const INSERT_MEMBERS_OF_GROUP =
  'INSERT OR IGNORE INTO sync_delta_members (phone_system_id, group_id, user_id) SELECT ?1, ?2, value FROM json_each(?3)'
const INSERT_DISABLED =
  'INSERT OR IGNORE INTO sync_delta_disabled (phone_system_id, user_id) SELECT ?1, value FROM json_each(?2)'

/** One statement of `sql` per JSON chunk of `items` (none for none), bound as `leading` then the chunk. */
function perChunk(
  d1: D1Database,
  sql: string,
  items: readonly unknown[],
  ...leading: unknown[]
): D1PreparedStatement[] {
  return jsonChunks(items).map((chunk) => d1.prepare(sql).bind(...leading, chunk))
}

async function stateStatement(
  d1: D1Database,
  config: Config,
  phoneSystemId: string,
  scope: DeltaScope,
  links: DeltaLinks,
  linksAt: number,
  fullAt: number | null,
): Promise<D1PreparedStatement> {
  const sealed = await encryptSecret(JSON.stringify(links), config.dataKey, linkContext(phoneSystemId))
  // The list version is read inside the batch, after its bump: the version this very write leaves.
  return d1
    .prepare(
      `INSERT INTO sync_delta_state (phone_system_id, scope, links, links_at, list_version, full_at)
       VALUES (?1, ?2, ?3, ?4, (SELECT sso_list_version FROM phone_systems WHERE id = ?1), COALESCE(?5, ?4))
       ON CONFLICT (phone_system_id) DO UPDATE SET scope = excluded.scope, links = excluded.links,
         links_at = excluded.links_at, list_version = excluded.list_version,
         full_at = COALESCE(?5, sync_delta_state.full_at)`,
    )
    .bind(phoneSystemId, JSON.stringify(scope), sealed, linksAt, fullAt)
}

/** After a full pull: the state replaced whole (links, every membership, every disabled member). */
export async function fullStateStatements(
  d1: D1Database,
  config: Config,
  phoneSystemId: string,
  scope: DeltaScope,
  links: DeltaLinks,
  linksAt: number,
  sources: PulledSources,
): Promise<D1PreparedStatement[]> {
  const statements = [
    d1.prepare('DELETE FROM sync_delta_members WHERE phone_system_id = ?').bind(phoneSystemId),
    d1.prepare('DELETE FROM sync_delta_disabled WHERE phone_system_id = ?').bind(phoneSystemId),
  ]
  // In key order: appended to the tables' b-trees rather than scattered through them.
  const sorted = (ids: Iterable<string>) => [...ids].sort()
  statements.push(...perChunk(d1, INSERT_MEMBERS_OF_GROUP, sorted(sources.direct), phoneSystemId, DIRECT))
  for (const [groupId, ids] of sources.members)
    statements.push(...perChunk(d1, INSERT_MEMBERS_OF_GROUP, sorted(ids), phoneSystemId, groupId))
  statements.push(...perChunk(d1, INSERT_DISABLED, sorted(sources.disabled), phoneSystemId))
  statements.push(await stateStatement(d1, config, phoneSystemId, scope, links, linksAt, linksAt))
  return statements
}

/** After a delta sync: the new links, and only the memberships and disabled marks that changed. */
export async function deltaStateStatements(
  d1: D1Database,
  config: Config,
  phoneSystemId: string,
  scope: DeltaScope,
  links: DeltaLinks,
  linksAt: number,
  changes: {
    memberAdds: Array<[string, string]>
    memberRemoves: Array<[string, string]>
    disabledAdd: string[]
    disabledRemove: string[]
  },
): Promise<D1PreparedStatement[]> {
  const statements = [
    ...perChunk(
      d1,
      `DELETE FROM sync_delta_members WHERE phone_system_id = ?1 AND (user_id, group_id) IN
       (SELECT json_extract(value, '$[1]'), json_extract(value, '$[0]') FROM json_each(?2))`,
      changes.memberRemoves,
      phoneSystemId,
    ),
    ...perChunk(
      d1,
      `INSERT OR IGNORE INTO sync_delta_members (phone_system_id, group_id, user_id)
       SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2)`,
      changes.memberAdds,
      phoneSystemId,
    ),
    ...perChunk(
      d1,
      'DELETE FROM sync_delta_disabled WHERE phone_system_id = ?1 AND user_id IN (SELECT value FROM json_each(?2))',
      changes.disabledRemove,
      phoneSystemId,
    ),
    ...perChunk(d1, INSERT_DISABLED, changes.disabledAdd, phoneSystemId),
  ]
  statements.push(await stateStatement(d1, config, phoneSystemId, scope, links, linksAt, null))
  return statements
}
