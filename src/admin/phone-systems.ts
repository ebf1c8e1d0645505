import { asc, eq } from 'drizzle-orm'
import { getDb } from '../db/client'
import { newId } from '../db/ids'
import { phoneSystems } from '../db/schema'
import { toStatement } from '../db/statements'
import { AppError } from '../errors'
import { DuplicateSsoUserError, type ReplaceCounts, type SsoUserFields } from '../sso/plan'
import { listSsoUsers, replaceSsoList, type SsoUserRecord } from '../sso/store'
import { auditStatement, type Principal } from './audit'
import { iso } from './json'
import type { CreatePhoneSystemInput, SsoUserInput, UpdatePhoneSystemInput } from './schemas'
import { orgInScope } from './scope'

export type PhoneSystemRow = typeof phoneSystems.$inferSelect

export function phoneSystemJson(row: PhoneSystemRow) {
  return {
    id: row.id,
    organizationId: row.orgId,
    name: row.name,
    webClientUrl: row.webClientUrl,
    handoffUrl: row.handoffUrl,
    entraTenantId: row.entraTenantId,
    sync: {
      source: row.syncSource,
      groupId: row.syncGroupId,
      lastSyncAt: row.lastSyncAt === null ? null : iso(row.lastSyncAt),
      lastSyncStatus: row.lastSyncStatus,
      lastSyncError: row.lastSyncError,
      lastSyncCounts: row.lastSyncCounts,
      nextSyncAt: row.nextSyncAt === null ? null : iso(row.nextSyncAt),
    },
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  }
}

export function ssoUserJson(user: SsoUserRecord) {
  return {
    id: user.id,
    tid: user.tid,
    oid: user.oid,
    upn: user.upn,
    email: user.email,
    displayName: user.displayName,
    extension: user.extension,
    createdAt: iso(user.createdAt),
    updatedAt: iso(user.updatedAt),
  }
}

export async function findPhoneSystem(d1: D1Database, id: string): Promise<PhoneSystemRow | undefined> {
  return getDb(d1).select().from(phoneSystems).where(eq(phoneSystems.id, id)).get()
}

/** The phone system, if its organization is one the principal reaches; the same 404 otherwise. */
export async function getPhoneSystem(d1: D1Database, principal: Principal, id: string): Promise<PhoneSystemRow> {
  const row = await findPhoneSystem(d1, id)
  const notFound = () => new AppError('not_found', `No phone system "${id}"`)
  if (!row) throw notFound()
  await orgInScope(d1, principal, row.orgId).catch(() => {
    throw notFound()
  })
  return row
}

export async function listPhoneSystems(d1: D1Database, principal: Principal, orgId: string): Promise<PhoneSystemRow[]> {
  await orgInScope(d1, principal, orgId)
  return getDb(d1)
    .select()
    .from(phoneSystems)
    .where(eq(phoneSystems.orgId, orgId))
    .orderBy(asc(phoneSystems.name), asc(phoneSystems.id))
    .all()
}

export async function createPhoneSystem(
  d1: D1Database,
  principal: Principal,
  orgId: string,
  input: CreatePhoneSystemInput,
  now: number,
): Promise<PhoneSystemRow> {
  await orgInScope(d1, principal, orgId)
  const row: PhoneSystemRow = {
    id: newId('ps'),
    orgId,
    ...input,
    ssoListVersion: 0,
    syncSource: 'app_assignments',
    syncGroupId: null,
    lastSyncAt: null,
    lastSyncStatus: null,
    lastSyncError: null,
    lastSyncCounts: null,
    nextSyncAt: null,
    createdAt: now,
    updatedAt: now,
  }
  await d1.batch([
    toStatement(d1, getDb(d1).insert(phoneSystems).values(row)),
    auditStatement(
      d1,
      principal,
      {
        orgId,
        action: 'phone_system.create',
        targetType: 'phone_system',
        targetId: row.id,
        summary: { after: phoneSystemJson(row) },
      },
      now,
    ),
  ])
  return row
}

export async function deletePhoneSystem(d1: D1Database, principal: Principal, id: string, now: number): Promise<void> {
  const row = await getPhoneSystem(d1, principal, id)
  await d1.batch([
    // sso_users go with it (ON DELETE CASCADE).
    toStatement(d1, getDb(d1).delete(phoneSystems).where(eq(phoneSystems.id, id))),
    auditStatement(
      d1,
      principal,
      {
        orgId: row.orgId,
        action: 'phone_system.delete',
        targetType: 'phone_system',
        targetId: id,
        summary: { before: phoneSystemJson(row) },
      },
      now,
    ),
  ])
}

function toFields(user: SsoUserInput): SsoUserFields {
  return {
    oid: user.oid ?? null,
    upn: user.upn ?? null,
    email: user.email ?? null,
    displayName: user.displayName || null,
    extension: user.extension ?? null,
  }
}

/** `PUT …/sso-users`: the whole list, replaced atomically. */
export async function putSsoUsers(
  d1: D1Database,
  principal: Principal,
  phoneSystemId: string,
  users: readonly SsoUserInput[],
  now: number,
): Promise<ReplaceCounts> {
  const phoneSystem = await getPhoneSystem(d1, principal, phoneSystemId)
  try {
    const { statements: _statements, ...counts } = await replaceSsoList(d1, phoneSystem, users.map(toFields), {
      now,
      alsoRun: (c) => [
        auditStatement(
          d1,
          principal,
          {
            orgId: phoneSystem.orgId,
            action: 'sso_list.replace',
            targetType: 'sso_list',
            targetId: phoneSystem.id,
            summary: { ...c },
          },
          now,
        ),
      ],
    })
    return counts
  } catch (error) {
    if (error instanceof DuplicateSsoUserError) {
      const field = `users[${error.index}].${error.field}`
      throw new AppError('invalid_request', `"${field}" repeats the ${error.field} of users[${error.firstIndex}]`, {
        field,
      })
    }
    throw error
  }
}

export interface SsoUserPageRequest {
  q?: string | undefined
  cursor?: string | undefined
  limit?: string | undefined
}

export const DEFAULT_PAGE_SIZE = 100
export const MAX_PAGE_SIZE = 1000

/** `GET …/sso-users`: one page, with an opaque cursor for the next. */
export async function getSsoUsersPage(
  d1: D1Database,
  principal: Principal,
  phoneSystemId: string,
  request: SsoUserPageRequest,
) {
  await getPhoneSystem(d1, principal, phoneSystemId)
  const limit = request.limit === undefined ? DEFAULT_PAGE_SIZE : Number(request.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new AppError('invalid_request', `"limit" must be a whole number from 1 to ${MAX_PAGE_SIZE}`, {
      field: 'limit',
    })
  }
  if (request.q !== undefined && request.q.length > 256) {
    throw new AppError('invalid_request', '"q" must be at most 256 characters', { field: 'q' })
  }
  const cursor = request.cursor === undefined ? undefined : decodeCursor(request.cursor)
  const page = await listSsoUsers(d1, phoneSystemId, { q: request.q?.trim() || undefined, cursor, limit })
  return { users: page.users.map(ssoUserJson), nextCursor: page.next ? encodeCursor(page.next) : null }
}

function encodeCursor(position: { sortKey: string; id: string }): string {
  const bytes = new TextEncoder().encode(JSON.stringify([position.sortKey, position.id]))
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
}

function decodeCursor(cursor: string): { sortKey: string; id: string } {
  try {
    if (cursor.length > 2048) throw new Error('too long')
    const binary = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'))
    const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))))
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      return { sortKey: value[0], id: value[1] }
    }
  } catch {
    // fall through
  }
  throw new AppError('invalid_request', '"cursor" is not a cursor this API returned', { field: 'cursor' })
}

export async function updatePhoneSystem(
  d1: D1Database,
  principal: Principal,
  id: string,
  input: UpdatePhoneSystemInput,
  now: number,
): Promise<PhoneSystemRow> {
  const before = await getPhoneSystem(d1, principal, id)
  const syncSource = input.syncSource ?? before.syncSource
  const syncGroupId = input.syncGroupId !== undefined ? input.syncGroupId : before.syncGroupId
  if (syncSource === 'group' && !syncGroupId) {
    throw new AppError(
      'invalid_request',
      '"syncGroupId" is required when "syncSource" is "group": the object id of the Entra group whose members may sign in',
      { field: 'syncGroupId' },
    )
  }
  const after: PhoneSystemRow = {
    ...before,
    name: input.name ?? before.name,
    webClientUrl: input.webClientUrl ?? before.webClientUrl,
    handoffUrl: input.handoffUrl ?? before.handoffUrl,
    syncSource,
    syncGroupId,
    updatedAt: now,
  }
  await d1.batch([
    toStatement(
      d1,
      getDb(d1)
        .update(phoneSystems)
        .set({
          name: after.name,
          webClientUrl: after.webClientUrl,
          handoffUrl: after.handoffUrl,
          syncSource,
          syncGroupId,
          updatedAt: now,
        })
        .where(eq(phoneSystems.id, id)),
    ),
    auditStatement(
      d1,
      principal,
      {
        orgId: before.orgId,
        action: 'phone_system.update',
        targetType: 'phone_system',
        targetId: id,
        summary: { before: phoneSystemJson(before), after: phoneSystemJson(after) },
      },
      now,
    ),
  ])
  return after
}
