/**
 * Console staff (ARCHITECTURE §7): who may use the admin console, for which
 * organization, as admin or viewer. Managed through the admin API
 * (`/orgs/{id}/admins`) and the console's staff page, with the same rules:
 * ops for any organization, a partner (key or admin) within its subtree, a
 * customer's admin for that customer. Nobody removes or demotes the admin
 * record that is their own last way in. Every change writes its audit row in
 * the same batch.
 */
import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { asNotFound, notFound, orgInScope } from '../access/scope'
import { recordChange } from '../audit/write'
import { getDb } from '../db/client'
import { organizations, STAFF_ROLES, type StaffRow, staff } from '../db/schema'
import { guard, isGuardFailure } from '../db/statements'
import { AppError } from '../errors'
import { guid } from '../lib/fields'
import { newId } from '../lib/ids'
import { iso, isoOrNull } from '../lib/time'
import { activeKeysCreatedBy, revokeKeysStatement } from '../orgs/api-keys'
import { emailLike } from '../sso/list'
import { isRecordOf, namesUser } from './membership'

export const staffRoleSchema = z.enum(STAFF_ROLES)

export const addStaffSchema = z
  .strictObject({
    tid: guid,
    oid: z.optional(guid),
    upn: z.optional(emailLike('a user principal name')),
    role: staffRoleSchema,
  })
  .check(
    z.refine((input) => input.oid !== undefined || input.upn !== undefined, {
      message: 'is required when "oid" is not given',
      path: ['upn'],
    }),
  )

export const updateStaffSchema = z.strictObject({ role: staffRoleSchema })

export type AddStaffInput = z.output<typeof addStaffSchema>

export const staffSchema = z.object({
  id: z.string(),
  orgId: z.string(),
  tid: z.string(),
  oid: z.nullable(z.string()),
  upn: z.nullable(z.string()),
  role: staffRoleSchema,
  createdBy: z.string(),
  lastSignInAt: z.nullable(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export function staffView(row: StaffRow): z.output<typeof staffSchema> {
  return {
    id: row.id,
    orgId: row.orgId,
    tid: row.tid,
    oid: row.oid,
    upn: row.upn,
    role: row.role,
    createdBy: row.createdBy,
    lastSignInAt: isoOrNull(row.lastSignInAt),
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  }
}

function staffExists(who: string): AppError {
  return new AppError('staff_exists', `${who} is already staff of this organization; change their role instead`, {
    field: 'upn',
  })
}

/** Adds a staff record to an organization the principal reaches. */
export async function addStaff(
  d1: D1Database,
  principal: Principal,
  orgId: string,
  input: AddStaffInput,
  now: number,
): Promise<StaffRow> {
  await orgInScope(d1, principal, orgId)
  const row: StaffRow = {
    id: newId('stf'),
    orgId,
    tid: input.tid,
    oid: input.oid ?? null,
    upn: input.upn ?? null,
    role: input.role,
    createdBy: principal.actor,
    lastSignInAt: null,
    createdAt: now,
    updatedAt: now,
  }
  try {
    await recordChange(
      d1,
      principal,
      { orgId, action: 'staff.add', targetType: 'staff', targetId: row.id, summary: { after: staffView(row) } },
      now,
      getDb(d1).insert(staff).values(row),
    )
  } catch (error) {
    if (String((error as Error)?.message).includes('UNIQUE')) throw staffExists(row.upn ?? row.oid ?? 'This user')
    throw error
  }
  return row
}

export async function listStaff(d1: D1Database, principal: Principal, orgId: string): Promise<StaffRow[]> {
  await orgInScope(d1, principal, orgId)
  return getDb(d1).select().from(staff).where(eq(staff.orgId, orgId)).orderBy(asc(staff.upn), asc(staff.id)).all()
}

/** A staff record the principal reaches; 404 alike for one that does not exist and one outside its reach. */
export async function getStaff(d1: D1Database, principal: Principal, id: string): Promise<StaffRow> {
  const row = await getDb(d1).select().from(staff).where(eq(staff.id, id)).get()
  if (!row) throw notFound('staff member', id)
  await orgInScope(d1, principal, row.orgId).catch(asNotFound(() => notFound('staff member', id)))
  return row
}

function selfLockout(): AppError {
  return new AppError(
    'self_lockout',
    'This is your own admin record, and nothing else makes you an admin of this organization: removing it or making it a viewer would lock you out',
  )
}

/**
 * A change that takes the admin role away from `row` must not be the acting
 * person's own last way to administer its organization (their record there,
 * or on its partner): a slip would lock them out of what they manage, and
 * only someone else could let them back in. Refused when it would; else the
 * guard that keeps it true when the change lands (their other admin record
 * may be removed at the same moment). Keys are no person; ops administer
 * everything by configuration.
 */
async function ownAdminKept(d1: D1Database, principal: Principal, row: StaffRow): Promise<D1PreparedStatement[]> {
  const person = principal.person
  if (!person || principal.kind === 'ops' || row.role !== 'admin' || !isRecordOf(row, person)) return []
  const org = await getDb(d1)
    .select({ parentId: organizations.parentId })
    .from(organizations)
    .where(eq(organizations.id, row.orgId))
    .get()
  const reaching = org?.parentId ? [row.orgId, org.parentId] : [row.orgId]
  const otherAdminRecord = getDb(d1)
    .select({ one: sql`1` })
    .from(staff)
    .where(and(ne(staff.id, row.id), eq(staff.role, 'admin'), inArray(staff.orgId, reaching), namesUser(person)))
    .limit(1)
  if (!(await otherAdminRecord.get())) throw selfLockout()
  const { sql: query, params } = otherAdminRecord.toSQL()
  return guard(d1, `EXISTS (${query})`, ...params)
}

/** Runs a staff change whose batch may carry `ownAdminKept`'s guard. */
async function withOwnAdminKept(work: () => Promise<void>): Promise<void> {
  try {
    await work()
  } catch (error) {
    if (isGuardFailure(error)) throw selfLockout()
    throw error
  }
}

/** The actor names a staff record's person is audited under (`membership.ts` writes them). */
function actorsOf(row: StaffRow): string[] {
  return [row.upn ? `staff:${row.upn}` : null, row.oid ? `staff:${row.tid}:${row.oid}` : null].filter(
    (actor): actor is string => actor !== null,
  )
}

/**
 * The organization's API keys that this staff member created and that are
 * still active. Ending their admin role (removal, or becoming a viewer)
 * revokes them in the same batch: a key minted before would otherwise keep
 * the access that was just taken away.
 */
export function keysEndingWith(d1: D1Database, row: StaffRow) {
  return activeKeysCreatedBy(d1, row.orgId, actorsOf(row))
}

export async function updateStaffRole(
  d1: D1Database,
  principal: Principal,
  id: string,
  role: StaffRow['role'],
  now: number,
): Promise<StaffRow> {
  const before = await getStaff(d1, principal, id)
  if (before.role === role) return before
  const after: StaffRow = { ...before, role, updatedAt: now }
  const kept = role === 'admin' ? [] : await ownAdminKept(d1, principal, before)
  const keys = role === 'admin' ? [] : await keysEndingWith(d1, before)
  await withOwnAdminKept(() =>
    recordChange(
      d1,
      principal,
      {
        orgId: before.orgId,
        action: 'staff.update',
        targetType: 'staff',
        targetId: id,
        summary: { before: staffView(before), after: staffView(after), ...revoked(keys) },
      },
      now,
      ...kept,
      ...revokeKeysStatement(d1, keys, now),
      getDb(d1).update(staff).set({ role, updatedAt: now }).where(eq(staff.id, id)),
    ),
  )
  return after
}

export async function removeStaff(d1: D1Database, principal: Principal, id: string, now: number): Promise<void> {
  const before = await getStaff(d1, principal, id)
  const kept = await ownAdminKept(d1, principal, before)
  const keys = await keysEndingWith(d1, before)
  await withOwnAdminKept(() =>
    recordChange(
      d1,
      principal,
      {
        orgId: before.orgId,
        action: 'staff.remove',
        targetType: 'staff',
        targetId: id,
        summary: { before: staffView(before), ...revoked(keys) },
      },
      now,
      ...kept,
      ...revokeKeysStatement(d1, keys, now),
      getDb(d1).delete(staff).where(eq(staff.id, id)),
    ),
  )
}

/** What the audit row says of the keys a change revoked (their ids and prefixes, never a key). */
function revoked(keys: Array<{ id: string; prefix: string }>) {
  return keys.length > 0 ? { revokedApiKeys: keys.map((key) => ({ id: key.id, prefix: key.prefix })) } : {}
}
