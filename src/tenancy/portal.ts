/**
 * The portal rule (ARCHITECTURE §2): a partner and each nested customer is a
 * portal (its own hosts, its own Microsoft integration); a flat customer
 * lives inside its partner's portal. So the phone systems a portal serves
 * are its own and its flat customers', and the Entra app a flat customer's
 * phone systems use is its partner's. Written once, here: as a pure
 * function over an organization and as one SQL fragment.
 */
import { asc, eq, type SQL, type SQLWrapper, sql } from 'drizzle-orm'
import { getDb } from '../db/client'
import { type OrgRow, organizations, type PhoneSystemRow, phoneSystems } from '../db/schema'
import { AppError } from '../errors'

type OrgShape = Pick<OrgRow, 'id' | 'kind' | 'structure' | 'parentId'>

export function isFlatCustomer(org: Pick<OrgRow, 'kind' | 'structure'>): boolean {
  return org.kind === 'customer' && org.structure === 'flat'
}

/** The portal an organization belongs to: a flat customer's partner, else itself. */
export function portalIdOf(org: OrgShape): string {
  return isFlatCustomer(org) && org.parentId ? org.parentId : org.id
}

/**
 * SQL: the phone system whose organization id is `orgIdColumn` is served by
 * portal `portalOrgId` (it is the portal's own, or a flat customer's of it).
 */
export function servedByPortal(orgIdColumn: SQLWrapper, portalOrgId: string): SQL {
  return sql`(${orgIdColumn} = ${portalOrgId} OR ${orgIdColumn} IN (SELECT ${organizations.id} FROM ${organizations} WHERE ${organizations.parentId} = ${portalOrgId} AND ${organizations.structure} = 'flat'))`
}

/** The portal of an organization id (itself when unknown: nothing is served from a missing org anyway). */
export async function portalOf(d1: D1Database, orgId: string): Promise<string> {
  const org = await getDb(d1).select().from(organizations).where(eq(organizations.id, orgId)).get()
  return org ? portalIdOf(org) : orgId
}

/** The phone systems a portal serves. */
export async function phoneSystemsOfPortal(d1: D1Database, portalOrgId: string): Promise<PhoneSystemRow[]> {
  return getDb(d1)
    .select()
    .from(phoneSystems)
    .where(servedByPortal(phoneSystems.orgId, portalOrgId))
    .orderBy(asc(phoneSystems.name), asc(phoneSystems.id))
    .all()
}

/** Refuses a flat customer where only a portal may go: a hostname, or a Microsoft integration of its own. */
export function assertIsPortal(
  org: Pick<OrgRow, 'kind' | 'structure' | 'name'>,
  what: 'hostname' | 'integration',
): void {
  if (!isFlatCustomer(org)) return
  throw new AppError(
    'flat_customer_cannot_own_hostname',
    what === 'hostname'
      ? `Customer "${org.name}" is flat (it lives inside its partner's portal) and cannot own a hostname. ` +
          'Ask the provider to move it to a nested portal of its own, then attach the hostname to it; ' +
          'or attach the hostname to the partner, whose hosts serve its flat customers.'
      : `Customer "${org.name}" is flat: it signs in through its partner's portal and cannot have its own Microsoft integration. Move it to a nested portal first.`,
  )
}

/** The partner whose subtree an organization is in: itself for a partner, its parent for a customer. */
export function partnerIdOf(org: Pick<OrgRow, 'id' | 'kind' | 'parentId'>): string {
  return org.kind === 'partner' || !org.parentId ? org.id : org.parentId
}

/** SQL: the organization id `orgIdColumn` is in partner `partnerId`'s subtree. */
export function inPartnerSubtree(orgIdColumn: SQLWrapper, partnerId: string): SQL {
  return sql`(${orgIdColumn} = ${partnerId} OR ${orgIdColumn} IN (SELECT ${organizations.id} FROM ${organizations} WHERE ${organizations.parentId} = ${partnerId}))`
}
