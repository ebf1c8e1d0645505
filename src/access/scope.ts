/**
 * What a principal may reach (ARCHITECTURE §5): ops everything; a partner
 * (key or staff) its own organization and its customers; a customer's staff
 * that customer; nothing else. Outside the
 * subtree every answer is the same 404 as for something that does not exist,
 * so a key cannot even learn which ids are taken.
 *
 * Lists are scoped by a subquery, never by a list of bound ids: D1 allows 100
 * bound parameters per statement, and a partner may have thousands of customers.
 */
import { eq, or, type SQL, sql } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'
import { getDb } from '../db/client'
import { type OrgRow, organizations } from '../db/schema'
import { AppError } from '../errors'
import type { Principal } from './principal'

export interface OrgLike {
  id: string
  parentId: string | null
}

/** Pure: whether `principal` reaches `org`: ops everything, a partner its subtree, a customer's staff that customer. */
export function reaches(principal: Principal, org: OrgLike): boolean {
  if (principal.kind === 'ops') return true
  if (principal.kind === 'customer') return org.id === principal.orgId
  return org.id === principal.orgId || org.parentId === principal.orgId
}

export function notFound(what: string, id: string): AppError {
  return new AppError('not_found', `No ${what} "${id}"`)
}

/**
 * For `.catch` after `orgInScope`: its 404 becomes `replacement` (the record
 * asked about); anything else, such as D1 being down, is rethrown as it is.
 */
export function asNotFound(replacement: () => AppError): (error: unknown) => never {
  return (error) => {
    throw error instanceof AppError && error.code === 'not_found' ? replacement() : error
  }
}

/** The organization, if it exists and the principal reaches it; else the same 404 either way. */
export async function orgInScope(d1: D1Database, principal: Principal, id: string): Promise<OrgRow> {
  const org = await getDb(d1).select().from(organizations).where(eq(organizations.id, id)).get()
  if (!org || !reaches(principal, org)) throw notFound('organization', id)
  return org
}

/**
 * A condition on `column` (an organization id) that holds for the
 * organizations the principal reaches; undefined for ops (everything).
 */
export function inSubtree(principal: Principal, column: SQLiteColumn): SQL | undefined {
  if (principal.kind === 'ops') return undefined
  if (principal.kind === 'customer') return eq(column, principal.orgId)
  return orgAndCustomers(principal.orgId, column)
}

/** A condition on `column` (an organization id) that holds for `root` and its customers (none for a customer). */
export function orgAndCustomers(root: string, column: SQLiteColumn): SQL {
  return or(
    eq(column, root),
    sql`${column} IN (SELECT ${organizations.id} FROM ${organizations} WHERE ${organizations.parentId} = ${root})`,
  )!
}
