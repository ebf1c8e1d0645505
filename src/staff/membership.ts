/**
 * Who a signed-in console user is staff of (ARCHITECTURE §7), and the
 * principal each membership acts as. Resolved from D1 on every console
 * request, so a role change or a removal takes effect at once. Ops staff
 * are the `tid:oid` pairs of `OPS_ADMINS`.
 */
export type { Acting, ConsoleSession, Membership, StaffUser } from '../access/membership'

import { and, eq, isNull, or } from 'drizzle-orm'
import type { Membership, StaffUser } from '../access/membership'
import type { Person, Principal } from '../access/principal'
import { reaches } from '../access/scope'
import type { EntraUserRef } from '../config'
import { getDb } from '../db/client'
import { type OrgRow, organizations, type StaffRow, staff } from '../db/schema'

/** What changes are recorded against: the UPN, or the ids when Entra gave none. */
export function staffLabel(user: StaffUser): string {
  return user.upn ?? `${user.tid}:${user.oid}`
}

function principalOf(user: StaffUser, org: OrgRow | null): Principal {
  const actor = `${org ? 'staff' : 'ops'}:${staffLabel(user)}`
  const person: Person = { tid: user.tid, oid: user.oid, upn: user.upn }
  if (!org) return { kind: 'ops', actor, person }
  return org.kind === 'partner'
    ? { kind: 'partner', actor, orgId: org.id, person }
    : { kind: 'customer', actor, orgId: org.id, person }
}

/** The staff records that name this person: by oid, or by UPN where no oid is pinned yet, within their tenant. */
export function namesUser(user: Person) {
  const byOid = eq(staff.oid, user.oid)
  const whereUser = user.upn ? or(byOid, and(isNull(staff.oid), eq(staff.upn, user.upn))) : byOid
  return and(eq(staff.tid, user.tid), whereUser)
}

/** Whether `user` is one of the `OPS_ADMINS`. */
export function isOpsAdmin(opsAdmins: readonly EntraUserRef[], user: EntraUserRef): boolean {
  return opsAdmins.some((ops) => ops.tid === user.tid && ops.oid === user.oid)
}

/**
 * Every membership of `user`, by organization name. An ops admin has exactly
 * one, ops: staff records naming them (which a partner could plant) neither
 * narrow what they act as nor show up anywhere.
 */
export async function membershipsOf(
  d1: D1Database,
  opsAdmins: readonly EntraUserRef[],
  user: StaffUser,
): Promise<Membership[]> {
  if (isOpsAdmin(opsAdmins, user)) return [{ org: null, role: 'admin', principal: principalOf(user, null) }]
  const memberships: Membership[] = []
  const rows = await getDb(d1)
    .select({ org: organizations, role: staff.role })
    .from(staff)
    .innerJoin(organizations, eq(organizations.id, staff.orgId))
    .where(namesUser(user))
    .orderBy(organizations.name)
    .all()
  for (const { org, role } of rows) memberships.push({ org, role, principal: principalOf(user, org) })
  return memberships
}

/** Pure: whether a staff record names this person (as `namesUser` selects them). */
export function isRecordOf(row: Pick<StaffRow, 'tid' | 'oid' | 'upn'>, person: Person): boolean {
  return row.tid === person.tid && (row.oid === person.oid || (row.oid === null && row.upn === person.upn))
}

/**
 * At sign-in: UPN-only records of this user are pinned to the oid Entra
 * vouched for (within the tenant), and every record notes the sign-in. A
 * record whose organization already names this oid is left as it is
 * (`OR IGNORE`: the unique index).
 */
export async function noteStaffSignIn(d1: D1Database, user: StaffUser, now: number): Promise<void> {
  const statements = [
    d1.prepare('UPDATE staff SET last_sign_in_at = ? WHERE tid = ? AND oid = ?').bind(now, user.tid, user.oid),
  ]
  if (user.upn) {
    statements.push(
      d1
        .prepare(
          'UPDATE OR IGNORE staff SET oid = ?, last_sign_in_at = ?, updated_at = ? WHERE tid = ? AND oid IS NULL AND upn = ?',
        )
        .bind(user.oid, now, now, user.tid, user.upn),
    )
  }
  await d1.batch(statements)
}

/**
 * The membership `user` acts through on `org`: the one that reaches it,
 * admin before viewer, the closest organization first (a customer's own
 * record before its partner's). Null when none reaches it.
 */
export function membershipFor(memberships: readonly Membership[], org: OrgRow): Membership | null {
  const reaching = memberships.filter((m) => reaches(m.principal, org))
  const rank = (m: Membership) => (m.role === 'admin' ? 0 : 10) + (m.org === null ? 2 : m.org.id === org.id ? 0 : 1)
  return reaching.sort((a, b) => rank(a) - rank(b))[0] ?? null
}
