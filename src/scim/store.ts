/**
 * D1 side of SCIM: users and groups as pushed, and the SSO list kept in step
 * with them. Every write is ONE batch (one transaction) that also writes the
 * user's `sso_users` row (same id; present while the user is active, gone
 * while it is not), bumps the list's version (so a list PUT or a Sync read
 * before it fails its guard) and records the push time on the phone system.
 * A guard in the batch checks the phone system is still SCIM-pushed for the
 * same tenant, and a new active user that the list still has room for.
 */

import { and, eq } from 'drizzle-orm'
import { getDb } from '../db/client'
import { type PhoneSystemRow, type ScimGroupRow, type ScimUserRow, scimUsers } from '../db/schema'
import { guard, isGuardFailure, isUniqueViolation } from '../db/statements'
import { newId } from '../lib/ids'
import { forgetCachedReads } from '../lib/ttl-cache'
import { MAX_SSO_USERS } from '../sso/list'
import { sortKeyOf } from '../sso/plan'
import { ScimError } from './errors'
import type { GroupChange, GroupInput } from './group'
import { ssoFieldsOf, type UserFacts } from './user'

type Json = Record<string, unknown>
type PhoneSystemRef = Pick<PhoneSystemRow, 'id' | 'entraTenantId'>

export interface Page {
  /** 1-based, as SCIM counts. */
  startIndex: number
  count: number
}

export type UserFilter = { attribute: 'userName' | 'externalId' | 'id'; value: string }
export type GroupFilter = { attribute: 'displayName' | 'externalId' | 'id'; value: string }

// ---------------------------------------------------------------- reading

export async function findUser(d1: D1Database, phoneSystemId: string, id: string): Promise<ScimUserRow | undefined> {
  return getDb(d1)
    .select()
    .from(scimUsers)
    .where(and(eq(scimUsers.phoneSystemId, phoneSystemId), eq(scimUsers.id, id)))
    .get()
}

const USER_FILTER_SQL: Record<UserFilter['attribute'], string> = {
  userName: 'user_name_key = ?2',
  externalId: 'external_id = ?2',
  id: 'id = ?2',
}

interface UserSqlRow {
  id: string
  phone_system_id: string
  user_name: string
  user_name_key: string
  external_id: string | null
  active: number
  display_name: string | null
  email: string | null
  resource: string
  version: number
  created_at: number
  updated_at: number
}

function userFromSql(row: UserSqlRow): ScimUserRow {
  return {
    id: row.id,
    phoneSystemId: row.phone_system_id,
    userName: row.user_name,
    userNameKey: row.user_name_key,
    externalId: row.external_id,
    active: row.active === 1,
    displayName: row.display_name,
    email: row.email,
    resource: JSON.parse(row.resource) as Json,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** A page of a phone system's users, in creation order, and how many match in all. */
export async function listUsers(
  d1: D1Database,
  phoneSystemId: string,
  filter: UserFilter | null,
  page: Page,
): Promise<{ total: number; rows: ScimUserRow[] }> {
  // userName compares case-insensitively (RFC 7643 §4.1.1: caseExact false); externalId and id exactly.
  const value = filter ? (filter.attribute === 'userName' ? filter.value.toLowerCase() : filter.value) : null
  const where = `phone_system_id = ?1${filter ? ` AND ${USER_FILTER_SQL[filter.attribute]}` : ''}`
  const params = filter ? [phoneSystemId, value] : [phoneSystemId]
  const [count, rows] = await d1.batch([
    d1.prepare(`SELECT COUNT(*) AS n FROM scim_users WHERE ${where}`).bind(...params),
    d1
      .prepare(
        `SELECT * FROM scim_users WHERE ${where} ORDER BY created_at, id LIMIT ${page.count} OFFSET ${page.startIndex - 1}`,
      )
      .bind(...params),
  ])
  return {
    total: (count!.results[0] as { n: number }).n,
    rows: (rows!.results as UserSqlRow[]).map(userFromSql),
  }
}

const GROUP_FILTER_SQL: Record<GroupFilter['attribute'], string> = {
  displayName: 'display_name = ?2 COLLATE NOCASE',
  externalId: 'external_id = ?2',
  id: 'id = ?2',
}

interface GroupSqlRow {
  id: string
  phone_system_id: string
  display_name: string
  external_id: string | null
  created_at: number
  updated_at: number
}

function groupFromSql(row: GroupSqlRow): ScimGroupRow {
  return {
    id: row.id,
    phoneSystemId: row.phone_system_id,
    displayName: row.display_name,
    externalId: row.external_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/**
 * The most member ids one answer carries (a phone system may hold a million memberships: read at once, they
 * would take the isolate's memory, and every request sharing it, with them). One group as big as the list fits.
 */
export const MAX_MEMBERS_PER_ANSWER = 2 * MAX_SSO_USERS

export interface GroupWithMembers extends ScimGroupRow {
  members: string[]
}

/** A page of a phone system's groups with their member ids (one more read, none when `withMembers` is false). */
export async function listGroups(
  d1: D1Database,
  phoneSystemId: string,
  filter: GroupFilter | null,
  page: Page,
  withMembers: boolean,
): Promise<{ total: number; rows: GroupWithMembers[] }> {
  const where = `phone_system_id = ?1${filter ? ` AND ${GROUP_FILTER_SQL[filter.attribute]}` : ''}`
  const params = filter ? [phoneSystemId, filter.value] : [phoneSystemId]
  const [count, rows] = await d1.batch([
    d1.prepare(`SELECT COUNT(*) AS n FROM scim_groups WHERE ${where}`).bind(...params),
    d1
      .prepare(
        `SELECT * FROM scim_groups WHERE ${where} ORDER BY created_at, id LIMIT ${page.count} OFFSET ${page.startIndex - 1}`,
      )
      .bind(...params),
  ])
  const groups = (rows!.results as GroupSqlRow[]).map(groupFromSql)
  const members = new Map<string, string[]>(groups.map((g) => [g.id, []]))
  if (withMembers && groups.length > 0) {
    const { results } = await d1
      .prepare(
        'SELECT group_id, user_id FROM scim_group_members WHERE group_id IN (SELECT value FROM json_each(?1)) ORDER BY user_id LIMIT ?2',
      )
      .bind(JSON.stringify(groups.map((g) => g.id)), MAX_MEMBERS_PER_ANSWER + 1)
      .all<{ group_id: string; user_id: string }>()
    if (results.length > MAX_MEMBERS_PER_ANSWER) {
      throw new ScimError(
        400,
        `These groups have more than ${MAX_MEMBERS_PER_ANSWER.toLocaleString('en-US')} members in all: ask for fewer (count) or without members (excludedAttributes=members)`,
        'tooMany',
      )
    }
    for (const r of results) members.get(r.group_id)?.push(r.user_id)
  }
  return {
    total: (count!.results[0] as { n: number }).n,
    rows: groups.map((g) => ({ ...g, members: members.get(g.id)! })),
  }
}

export async function findGroup(
  d1: D1Database,
  phoneSystemId: string,
  id: string,
  withMembers: boolean,
): Promise<GroupWithMembers | undefined> {
  const { rows } = await listGroups(
    d1,
    phoneSystemId,
    { attribute: 'id', value: id },
    { startIndex: 1, count: 1 },
    withMembers,
  )
  return rows[0]
}

// ---------------------------------------------------------------- writing

const SOURCE_SQL = "EXISTS (SELECT 1 FROM phone_systems WHERE id = ? AND sync_source = 'scim' AND entra_tenant_id = ?)"

/** The phone system is still SCIM-pushed, for the tenant the request read. */
function sourceGuard(d1: D1Database, ps: PhoneSystemRef): D1PreparedStatement[] {
  return guard(d1, SOURCE_SQL, ps.id, ps.entraTenantId)
}

/**
 * What one phone system's SCIM may store beyond the list's own cap: users active or not (Entra disables
 * users that leave its scope and keeps pushing them), groups, and group memberships. Without them a
 * hostile tenant's provisioning could fill the one D1 every customer shares (64 KiB a user).
 */
export const SCIM_LIMITS = { users: 2 * MAX_SSO_USERS, groups: 10_000, memberships: 20 * MAX_SSO_USERS }

const MEMBERSHIPS_OF_SQL =
  '(SELECT COUNT(*) FROM scim_group_members WHERE group_id IN (SELECT id FROM scim_groups WHERE phone_system_id = ?))'

/**
 * `sourceGuard`, and room for one more SCIM user (active or not) or group, within `SCIM_LIMITS`: one guard,
 * so that a create costs what it did.
 */
function sourceAndRoomGuard(d1: D1Database, ps: PhoneSystemRef, kind: 'users' | 'groups'): D1PreparedStatement[] {
  return guard(
    d1,
    `${SOURCE_SQL} AND (SELECT COUNT(*) FROM scim_${kind} WHERE phone_system_id = ?) < ?`,
    ps.id,
    ps.entraTenantId,
    ps.id,
    SCIM_LIMITS[kind],
  )
}

/** After members were added: the memberships are within their cap (else the batch, adds and all, is undone). */
function membershipsGuard(d1: D1Database, ps: PhoneSystemRef): D1PreparedStatement[] {
  return guard(d1, `${MEMBERSHIPS_OF_SQL} <= ?`, ps.id, SCIM_LIMITS.memberships)
}

/** The list has room for one more. */
function roomGuard(d1: D1Database, ps: PhoneSystemRef): D1PreparedStatement[] {
  return guard(d1, '(SELECT COUNT(*) FROM sso_users WHERE phone_system_id = ?) < ?', ps.id, MAX_SSO_USERS)
}

/** The list changed: its version moves (a PUT or Sync planned on the old one fails), and the push is recorded. */
function pushedStatement(d1: D1Database, ps: PhoneSystemRef, now: number): D1PreparedStatement {
  return d1
    .prepare(
      "UPDATE phone_systems SET sso_list_version = sso_list_version + 1, last_sync_at = ?2, last_sync_status = 'success', last_sync_error = NULL WHERE id = ?1",
    )
    .bind(ps.id, now)
}

/** The user's SSO list row: written (inserted or updated in place, keeping its creation time) while active, else gone. */
function listRowStatement(d1: D1Database, ps: PhoneSystemRef, id: string, facts: UserFacts, now: number) {
  if (!facts.active) return d1.prepare('DELETE FROM sso_users WHERE id = ?1 AND phone_system_id = ?2').bind(id, ps.id)
  const fields = ssoFieldsOf(facts)
  return d1
    .prepare(
      `INSERT INTO sso_users (id, phone_system_id, tid, oid, upn, email, display_name, extension, sort_key, created_at, updated_at)
       VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, NULL, ?7, ?8, ?8)
       ON CONFLICT (id) DO UPDATE SET upn = excluded.upn, email = excluded.email, display_name = excluded.display_name,
         sort_key = excluded.sort_key, updated_at = excluded.updated_at`,
    )
    .bind(
      id,
      ps.id,
      ps.entraTenantId,
      fields.upn,
      fields.email,
      fields.displayName,
      sortKeyOf({ ...fields, oid: null, extension: null }),
      now,
    )
}

/**
 * The whole list from the active SCIM users (the switch to SCIM: whatever Sync or a PUT left goes).
 * `sort_key` as `sortKeyOf` makes it (SQLite's `lower` is ASCII-only; names differing beyond ASCII sort a little
 * differently until their next push rewrites the row).
 */
export function rebuildListStatements(d1: D1Database, ps: PhoneSystemRef, now: number): D1PreparedStatement[] {
  return [
    d1.prepare('DELETE FROM sso_users WHERE phone_system_id = ?1').bind(ps.id),
    d1
      .prepare(
        `INSERT INTO sso_users (id, phone_system_id, tid, oid, upn, email, display_name, extension, sort_key, created_at, updated_at)
         SELECT id, phone_system_id, ?2, NULL, user_name_key, email, display_name, NULL,
                lower(coalesce(nullif(display_name, ''), user_name_key)), ?3, ?3
         FROM scim_users WHERE phone_system_id = ?1 AND active = 1`,
      )
      .bind(ps.id, ps.entraTenantId, now),
    d1.prepare('UPDATE phone_systems SET sso_list_version = sso_list_version + 1 WHERE id = ?1').bind(ps.id),
  ]
}

/** Runs a SCIM write; a broken rule becomes its SCIM answer (never a 500), after asking D1 which one it was. */
async function runWrite(
  d1: D1Database,
  ps: PhoneSystemRef,
  statements: D1PreparedStatement[],
  addsMembers = false,
): Promise<void> {
  try {
    await d1.batch(statements)
  } catch (error) {
    if (isUniqueViolation(error)) {
      const message = error instanceof Error ? error.message : ''
      const what = /scim_users/.test(message)
        ? 'userName'
        : /email/.test(message)
          ? 'email (another user of this phone system has it)'
          : 'userName (as a UPN of this phone system)'
      throw new ScimError(409, `A user with this ${what} already exists`, 'uniqueness')
    }
    if (isGuardFailure(error)) throw await whyRefused(d1, ps, addsMembers)
    throw error
  }
  forgetCachedReads()
}

async function whyRefused(d1: D1Database, ps: PhoneSystemRef, addsMembers: boolean): Promise<ScimError> {
  const row = await d1
    .prepare(
      `SELECT sync_source, entra_tenant_id, (SELECT COUNT(*) FROM sso_users WHERE phone_system_id = ?1) AS n,
         (SELECT COUNT(*) FROM scim_users WHERE phone_system_id = ?1) AS users,
         (SELECT COUNT(*) FROM scim_groups WHERE phone_system_id = ?1) AS groups
       FROM phone_systems WHERE id = ?1`,
    )
    .bind(ps.id)
    .first<{ sync_source: string; entra_tenant_id: string; n: number; users: number; groups: number }>()
  if (row?.sync_source !== 'scim' || row.entra_tenant_id !== ps.entraTenantId) return notScimPushed()
  if (row.n >= MAX_SSO_USERS) return listFull()
  if (row.users >= SCIM_LIMITS.users) return scimFull('users (active or not)', SCIM_LIMITS.users)
  if (row.groups >= SCIM_LIMITS.groups) return scimFull('groups', SCIM_LIMITS.groups)
  // A group write's only other guard is on the memberships, checked after its adds.
  if (addsMembers) return scimFull('group memberships', SCIM_LIMITS.memberships)
  return new ScimError(409, 'The user changed while this request was applied; nothing was written. Retry.')
}

export function notScimPushed(): ScimError {
  return new ScimError(
    409,
    "This phone system's SSO list is not pushed by SCIM now (its source was changed to Graph sync); nothing was written. Create a SCIM token for it again to push.",
  )
}

export function listFull(): ScimError {
  return new ScimError(
    403,
    `This phone system's SSO list holds ${MAX_SSO_USERS.toLocaleString('en-US')} users, the most it may hold; nothing was written.`,
  )
}

function scimFull(what: string, limit: number): ScimError {
  return new ScimError(
    403,
    `This phone system's SCIM holds the most ${what} it may (${limit.toLocaleString('en-US')}); nothing was written. Delete some in Entra's scope first.`,
  )
}

export async function createUser(
  d1: D1Database,
  ps: PhoneSystemRef,
  resource: Json,
  facts: UserFacts,
  now: number,
): Promise<ScimUserRow> {
  const row: ScimUserRow = {
    id: newId('usr'),
    phoneSystemId: ps.id,
    userName: facts.userName,
    userNameKey: facts.userName.toLowerCase(),
    externalId: facts.externalId,
    active: facts.active,
    displayName: facts.displayName,
    email: facts.email,
    resource,
    version: 1,
    createdAt: now,
    updatedAt: now,
  }
  await runWrite(d1, ps, [
    ...sourceAndRoomGuard(d1, ps, 'users'),
    ...(facts.active ? roomGuard(d1, ps) : []),
    d1
      .prepare(
        `INSERT INTO scim_users (id, phone_system_id, user_name, user_name_key, external_id, active, display_name, email, resource, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?10)`,
      )
      .bind(
        row.id,
        ps.id,
        row.userName,
        row.userNameKey,
        row.externalId,
        row.active ? 1 : 0,
        row.displayName,
        row.email,
        JSON.stringify(resource),
        now,
      ),
    ...(facts.active ? [listRowStatement(d1, ps, row.id, facts, now)] : []),
    pushedStatement(d1, ps, now),
  ])
  return row
}

/** Replaces a user's attributes (a PATCH's result or a PUT), if it is still the version that was read. */
export async function replaceUser(
  d1: D1Database,
  ps: PhoneSystemRef,
  before: ScimUserRow,
  resource: Json,
  facts: UserFacts,
  now: number,
): Promise<ScimUserRow> {
  const after: ScimUserRow = {
    ...before,
    userName: facts.userName,
    userNameKey: facts.userName.toLowerCase(),
    externalId: facts.externalId,
    active: facts.active,
    displayName: facts.displayName,
    email: facts.email,
    resource,
    version: before.version + 1,
    updatedAt: now,
  }
  await runWrite(d1, ps, [
    ...sourceGuard(d1, ps),
    ...guard(d1, 'EXISTS (SELECT 1 FROM scim_users WHERE id = ? AND version = ?)', before.id, before.version),
    // Re-enabling puts the user back on the list: it must have room.
    ...(facts.active && !before.active ? roomGuard(d1, ps) : []),
    d1
      .prepare(
        `UPDATE scim_users SET user_name = ?2, user_name_key = ?3, external_id = ?4, active = ?5, display_name = ?6,
           email = ?7, resource = ?8, version = version + 1, updated_at = ?9 WHERE id = ?1`,
      )
      .bind(
        before.id,
        after.userName,
        after.userNameKey,
        after.externalId,
        after.active ? 1 : 0,
        after.displayName,
        after.email,
        JSON.stringify(resource),
        now,
      ),
    listRowStatement(d1, ps, before.id, facts, now),
    pushedStatement(d1, ps, now),
  ])
  return after
}

/** Deletes a user, its list row and its group memberships; false when there was none. */
export async function deleteUser(d1: D1Database, ps: PhoneSystemRef, id: string, now: number): Promise<boolean> {
  const existing = await findUser(d1, ps.id, id)
  if (!existing) return false
  await runWrite(d1, ps, [
    ...sourceGuard(d1, ps),
    d1.prepare('DELETE FROM sso_users WHERE id = ?1 AND phone_system_id = ?2').bind(id, ps.id),
    d1.prepare('DELETE FROM scim_users WHERE id = ?1 AND phone_system_id = ?2').bind(id, ps.id),
    pushedStatement(d1, ps, now),
  ])
  return true
}

/** Adds the users among `ids` that are this phone system's (another's ids, or unknown ones, add nothing). */
function addMembersStatement(d1: D1Database, ps: PhoneSystemRef, groupId: string, ids: string[]) {
  return d1
    .prepare(
      `INSERT OR IGNORE INTO scim_group_members (group_id, user_id)
       SELECT ?1, id FROM scim_users WHERE phone_system_id = ?2 AND id IN (SELECT value FROM json_each(?3))`,
    )
    .bind(groupId, ps.id, JSON.stringify(ids))
}

export async function createGroup(d1: D1Database, ps: PhoneSystemRef, input: GroupInput, now: number): Promise<string> {
  const id = newId('grp')
  await runWrite(
    d1,
    ps,
    [
      ...sourceAndRoomGuard(d1, ps, 'groups'),
      d1
        .prepare(
          'INSERT INTO scim_groups (id, phone_system_id, display_name, external_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)',
        )
        .bind(id, ps.id, input.displayName, input.externalId, now),
      ...(input.members.length > 0
        ? [addMembersStatement(d1, ps, id, input.members), ...membershipsGuard(d1, ps)]
        : []),
    ],
    input.members.length > 0,
  )
  return id
}

export async function changeGroup(
  d1: D1Database,
  ps: PhoneSystemRef,
  groupId: string,
  changes: readonly GroupChange[],
  now: number,
): Promise<void> {
  const statements = changes.map((change) => {
    switch (change.kind) {
      case 'displayName':
        return d1.prepare('UPDATE scim_groups SET display_name = ?2 WHERE id = ?1').bind(groupId, change.value)
      case 'externalId':
        return d1.prepare('UPDATE scim_groups SET external_id = ?2 WHERE id = ?1').bind(groupId, change.value)
      case 'addMembers':
        return addMembersStatement(d1, ps, groupId, change.ids)
      case 'removeMembers':
        return d1
          .prepare(
            'DELETE FROM scim_group_members WHERE group_id = ?1 AND user_id IN (SELECT value FROM json_each(?2))',
          )
          .bind(groupId, JSON.stringify(change.ids))
      default:
        return d1.prepare('DELETE FROM scim_group_members WHERE group_id = ?1').bind(groupId)
    }
  })
  const addsMembers = changes.some((change) => change.kind === 'addMembers')
  await runWrite(
    d1,
    ps,
    [
      ...sourceGuard(d1, ps),
      ...statements,
      ...(addsMembers ? membershipsGuard(d1, ps) : []),
      d1.prepare('UPDATE scim_groups SET updated_at = ?2 WHERE id = ?1').bind(groupId, now),
    ],
    addsMembers,
  )
}

export async function deleteGroup(d1: D1Database, ps: PhoneSystemRef, groupId: string): Promise<void> {
  await runWrite(d1, ps, [
    ...sourceGuard(d1, ps),
    d1.prepare('DELETE FROM scim_groups WHERE id = ?1 AND phone_system_id = ?2').bind(groupId, ps.id),
  ])
}
