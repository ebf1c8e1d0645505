/**
 * What a principal may reach (DESIGN 5): the ops key everything; a partner
 * key its own organization and its customers, nothing else. Outside the
 * subtree the API answers exactly as if the thing did not exist (404), so a
 * key cannot even learn which ids are taken.
 */
import { eq, or } from 'drizzle-orm'
import { getDb } from '../db/client'
import { organizations } from '../db/schema'
import { AppError } from '../errors'
import type { Principal } from './audit'

export interface OrgLike {
  id: string
  parentId: string | null
}

/** Pure: whether `principal` reaches `org`. */
export function reaches(principal: Principal, org: OrgLike): boolean {
  if (principal.kind === 'ops') return true
  return org.id === principal.orgId || org.parentId === principal.orgId
}

export function orgNotFound(id: string): AppError {
  return new AppError('not_found', `No organization "${id}"`)
}

/** The organization, if it exists and the principal reaches it; else the same 404 either way. */
export async function orgInScope(d1: D1Database, principal: Principal, id: string) {
  const org = await getDb(d1).select().from(organizations).where(eq(organizations.id, id)).get()
  if (!org || !reaches(principal, org)) throw orgNotFound(id)
  return org
}

/** Ids of every organization the principal reaches, or null for "all" (ops). */
export async function reachableOrgIds(d1: D1Database, principal: Principal): Promise<string[] | null> {
  if (principal.kind === 'ops') return null
  const rows = await getDb(d1)
    .select({ id: organizations.id })
    .from(organizations)
    .where(or(eq(organizations.id, principal.orgId), eq(organizations.parentId, principal.orgId)))
    .all()
  return rows.map((r) => r.id)
}
