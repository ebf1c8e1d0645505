/**
 * Connect links (ARCHITECTURE §6): a partner asks for one, sends it to an
 * administrator of the phone system's Microsoft 365 tenant, who opens it to
 * prove the tenant is theirs. One-time, at most 7 days, stored hashed; a
 * newer link replaces the older unused ones of the same phone system.
 */
import { and, eq, isNull, type SQL } from 'drizzle-orm'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { recordChange } from '../audit/write'
import type { Config } from '../config'
import { getDb } from '../db/client'
import {
  type ConnectLinkRow,
  connectLinks,
  type OrgRow,
  organizations,
  type PhoneSystemRow,
  phoneSystems,
} from '../db/schema'
import { AppError } from '../errors'
import { randomToken, sha256 } from '../lib/crypto'
import { newId } from '../lib/ids'
import { iso } from '../lib/time'
import { getPhoneSystem } from '../phone-systems/service'
import { findClaim, tenantClaimed } from '../tenancy/claims'
import { appPortalOf, inTransition, partnerIdOf, portalIdOf } from '../tenancy/portal'

export const CONNECT_LINK_TTL_MS = 7 * 24 * 60 * 60 * 1000

export const connectLinkSchema = z.object({ connectUrl: z.string(), expiresAt: z.string() })

/** The URL an administrator opens: on the primary host, whatever the phone system's own hosts. */
export function connectUrl(config: Config, token: string): string {
  return `${config.origin(config.primaryHost)}/connect/${token}`
}

export async function createConnectLink(
  d1: D1Database,
  config: Config,
  principal: Principal,
  phoneSystemId: string,
  now: number,
): Promise<z.output<typeof connectLinkSchema>> {
  const phoneSystem = await getPhoneSystem(d1, principal, phoneSystemId)
  const token = randomToken(32)
  const link: ConnectLinkRow = {
    id: newId('cl'),
    tokenHash: await sha256(token),
    phoneSystemId,
    createdBy: principal.actor,
    createdAt: now,
    expiresAt: now + CONNECT_LINK_TTL_MS,
    usedAt: null,
  }
  await recordChange(
    d1,
    principal,
    {
      orgId: phoneSystem.orgId,
      action: 'phone_system.connect_link',
      targetType: 'phone_system',
      targetId: phoneSystemId,
      summary: { linkId: link.id, tenant: phoneSystem.entraTenantId, expiresAt: iso(link.expiresAt) },
    },
    now,
    // Only the newest link of a phone system works: an older one sent to the wrong person is void.
    getDb(d1)
      .delete(connectLinks)
      .where(and(eq(connectLinks.phoneSystemId, phoneSystemId), isNull(connectLinks.usedAt))),
    getDb(d1).insert(connectLinks).values(link),
  )
  return { connectUrl: connectUrl(config, token), expiresAt: iso(link.expiresAt) }
}

export interface OpenLink {
  link: ConnectLinkRow
  phoneSystem: PhoneSystemRow
  /** The portal the phone system belongs to (its look, its Entra app). */
  portal: OrgRow
}

export function linkInvalid(): AppError {
  return new AppError('connect_link_invalid', 'Connect link unknown, expired, used or replaced')
}

/** The link, its phone system and portal, if the link is still usable; the same refusal for every reason. */
async function usableLink(d1: D1Database, where: SQL, now: number): Promise<OpenLink> {
  const db = getDb(d1)
  const found = await db
    .select({ link: connectLinks, phoneSystem: phoneSystems, org: organizations })
    .from(connectLinks)
    .innerJoin(phoneSystems, eq(phoneSystems.id, connectLinks.phoneSystemId))
    .innerJoin(organizations, eq(organizations.id, phoneSystems.orgId))
    .where(where)
    .get()
  if (!found || found.link.usedAt !== null || found.link.expiresAt <= now) throw linkInvalid()
  // The portal whose app its Sync uses (a moved customer's partner's during its transition, until it has its own).
  const portalId = inTransition(found.org, now) ? await appPortalOf(d1, found.org.id, now) : portalIdOf(found.org)
  const portal =
    portalId === found.org.id
      ? found.org
      : await db.select().from(organizations).where(eq(organizations.id, portalId)).get()
  if (!portal) throw linkInvalid()
  // Another partner's subtree proved this tenant meanwhile: its administrator must not consent to this portal's app.
  const claim = await findClaim(d1, found.phoneSystem.entraTenantId)
  if (claim && claim.partnerId !== partnerIdOf(portal)) throw tenantClaimed(found.phoneSystem.entraTenantId)
  return { link: found.link, phoneSystem: found.phoneSystem, portal }
}

/** The link behind a token an administrator opened. */
export async function openLink(d1: D1Database, token: string, now: number): Promise<OpenLink> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw linkInvalid()
  return usableLink(d1, eq(connectLinks.tokenHash, await sha256(token)), now)
}

/** The link a connect in progress started from. */
export async function linkById(d1: D1Database, linkId: string, now: number): Promise<OpenLink> {
  return usableLink(d1, eq(connectLinks.id, linkId), now)
}
