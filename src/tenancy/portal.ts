/**
 * The portal rule (ARCHITECTURE §2): a partner and each nested customer is a
 * portal (its own hosts, its own Microsoft integration); a flat customer
 * lives inside its partner's portal. So the phone systems a portal serves
 * are its own and its flat customers', and the Entra app a flat customer's
 * phone systems use is its partner's.
 *
 * A flat customer moved to a nested portal (`POST /orgs/{id}/move`) is in
 * transition until `partnerHostsUntil`: its partner's portal still serves it
 * as well as its own, so nobody loses the way in they know, and its phone
 * systems keep the partner's app until the customer has an integration of its
 * own. Written once, here: as pure functions over an organization and as one
 * SQL fragment.
 */
import { asc, eq, type SQL, type SQLWrapper, sql } from 'drizzle-orm'
import { type D1Reader, getDb } from '../db/client'
import { microsoftIntegrations, type OrgRow, organizations, type PhoneSystemRow, phoneSystems } from '../db/schema'
import { AppError } from '../errors'

type OrgShape = Pick<OrgRow, 'id' | 'kind' | 'structure' | 'parentId'>
type MovedShape = OrgShape & Pick<OrgRow, 'partnerHostsUntil'>

export function isFlatCustomer(org: Pick<OrgRow, 'kind' | 'structure'>): boolean {
  return org.kind === 'customer' && org.structure === 'flat'
}

/** The portal an organization belongs to: a flat customer's partner, else itself. */
export function portalIdOf(org: OrgShape): string {
  return isFlatCustomer(org) && org.parentId ? org.parentId : org.id
}

/**
 * Whether `org` is a customer moved from flat to nested whose partner's
 * hosts still serve it at `now` (the transition ends at `partnerHostsUntil`).
 */
export function inTransition(org: MovedShape, now: number): boolean {
  return (
    org.kind === 'customer' &&
    org.structure === 'nested' &&
    org.parentId !== null &&
    org.partnerHostsUntil !== null &&
    org.partnerHostsUntil > now
  )
}

/**
 * Every portal whose hosts serve the phone systems of `org` at `now`: its
 * own portal, and during a move's transition its partner's too.
 */
export function portalsServing(org: MovedShape, now: number): string[] {
  return inTransition(org, now) ? [org.id, org.parentId!] : [portalIdOf(org)]
}

/**
 * SQL: the phone system whose organization id is `orgIdColumn` is served by
 * portal `portalOrgId` at `now` (it is the portal's own, a flat customer's of
 * it, or a moved customer's of it still in transition). `portalsServing`
 * is the same rule over one organization.
 */
export function servedByPortal(orgIdColumn: SQLWrapper, portalOrgId: string, now: number): SQL {
  return sql`(${orgIdColumn} = ${portalOrgId} OR ${orgIdColumn} IN (SELECT ${organizations.id} FROM ${organizations} WHERE ${organizations.parentId} = ${portalOrgId} AND (${organizations.structure} = 'flat' OR (${organizations.structure} = 'nested' AND ${organizations.partnerHostsUntil} > ${now}))))`
}

/**
 * The portal whose Microsoft integration the phone systems of `org` use
 * (Sync, connect links, a portal's allowed tenants on the primary host): its
 * portal's; during a move's transition its partner's, until the customer has
 * an integration of its own (`hasIntegration`), since that is the app its
 * tenants consented to. Sign-ins on a host always use the host's portal's
 * app (`oidc/clients.ts`), so on the partner's hosts that is the partner's.
 */
export function appPortalIdOf(org: MovedShape, now: number, hasIntegration: (orgId: string) => boolean): string {
  return inTransition(org, now) && !hasIntegration(org.id) ? org.parentId! : portalIdOf(org)
}

/** The portal of an organization id (itself when unknown: nothing is served from a missing org anyway). */
export async function portalOf(d1: D1Database, orgId: string): Promise<string> {
  const org = await getDb(d1).select().from(organizations).where(eq(organizations.id, orgId)).get()
  return org ? portalIdOf(org) : orgId
}

/** `appPortalIdOf` for an organization id (itself when unknown). */
export async function appPortalOf(d1: D1Database, orgId: string, now: number): Promise<string> {
  const row = await getDb(d1)
    .select({ org: organizations, integration: microsoftIntegrations.orgId })
    .from(organizations)
    .leftJoin(microsoftIntegrations, eq(microsoftIntegrations.orgId, organizations.id))
    .where(eq(organizations.id, orgId))
    .get()
  return row ? appPortalIdOf(row.org, now, () => row.integration !== null) : orgId
}

/** The phone systems a portal serves at `now`. */
export async function phoneSystemsOfPortal(
  d1: D1Reader,
  portalOrgId: string,
  now: number = Date.now(),
): Promise<PhoneSystemRow[]> {
  return getDb(d1)
    .select()
    .from(phoneSystems)
    .where(servedByPortal(phoneSystems.orgId, portalOrgId, now))
    .orderBy(asc(phoneSystems.name), asc(phoneSystems.id))
    .all()
}

/** Refuses a flat customer where only a portal may go: a hostname, or a Microsoft integration of its own. */
export function assertIsPortal(
  org: Pick<OrgRow, 'id' | 'kind' | 'structure' | 'name'>,
  what: 'hostname' | 'integration',
): void {
  if (!isFlatCustomer(org)) return
  throw new AppError(
    'flat_customer_cannot_own_hostname',
    what === 'hostname'
      ? `Customer "${org.name}" is flat (it lives inside its partner's portal) and cannot own a hostname. ` +
          `Move it to a nested portal of its own first (POST /api/v1/orgs/${org.id}/move with {"structure": "nested"}: ` +
          "its users keep signing in on the partner's hosts meanwhile), then attach the hostname to it; " +
          'or attach the hostname to the partner, whose hosts serve its flat customers.'
      : `Customer "${org.name}" is flat: it signs in through its partner's portal and cannot have its own Microsoft integration. ` +
          `Move it to a nested portal first (POST /api/v1/orgs/${org.id}/move with {"structure": "nested"}), then give it its integration.`,
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
