/**
 * The proof itself (ARCHITECTURE §6): the person who opened the link is an
 * administrator of the phone system's tenant (their ID token's `wids`), and
 * the admin consent Entra reports is real: an app-only token in that tenant
 * is issued for the portal's app after it. Only then is the tenant verified
 * for the portal's partner subtree, the link used up, and who proved it
 * written to the audit log, in one batch.
 */
import { decodeJwt } from 'jose'
import { recordChange } from '../audit/write'
import type { Config } from '../config'
import { guard, isGuardFailure } from '../db/statements'
import { AppError } from '../errors'
import { clientForOrg } from '../oidc/clients'
import type { Identity } from '../oidc/identity'
import { SYNC_PERMISSIONS } from '../sync/pull'
import { findClaim, tenantClaimed, verifyTenant } from '../tenancy/claims'
import { partnerIdOf } from '../tenancy/portal'
import { appOnlyToken } from '../upstream/graph'
import { linkInvalid, type OpenLink } from './links'

/** Directory roles that may connect a tenant (role template ids, as Entra puts them in `wids`). */
export const ADMINISTRATOR_ROLES: Record<string, string> = {
  '62e90394-69f5-4237-9190-012177145e10': 'Global Administrator',
  'e8611ab8-c189-46e8-94e1-60213ab1f814': 'Privileged Role Administrator',
  '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3': 'Application Administrator',
  '158c047a-c907-4556-b7ef-446551a6b5f7': 'Cloud Application Administrator',
}

/** The administrator role a signed-in user holds, if any. Pure. */
export function administratorRole(identity: Pick<Identity, 'directoryRoles'>): string | null {
  const role = (identity.directoryRoles ?? []).find((id) => id in ADMINISTRATOR_ROLES)
  return role ? ADMINISTRATOR_ROLES[role]! : null
}

/** The Sync permissions an app-only token does not carry in its `roles` claim (all of them, for a token that is no JWT). */
export function missingPermissions(accessToken: string): string[] {
  let roles: unknown
  try {
    roles = decodeJwt(accessToken).roles
  } catch {
    roles = undefined
  }
  const granted = new Set(Array.isArray(roles) ? roles : [])
  return SYNC_PERMISSIONS.map((p) => p.name).filter((name) => !granted.has(name))
}

export interface ConsentAnswer {
  adminConsent: string | null
  tenant: string | null
}

/** Verifies the tenant for the link's partner subtree, once Entra has really granted consent. */
export async function proveTenant(
  d1: D1Database,
  config: Config,
  opened: OpenLink,
  admin: Identity & { role: string },
  answer: ConsentAnswer,
  now: number,
): Promise<void> {
  const { link, phoneSystem, portal } = opened
  const tid = phoneSystem.entraTenantId
  // The admin signed in to this very tenant (the ID token's tid was checked against it as the authority).
  if (admin.tid !== tid) throw linkInvalid()
  if (answer.adminConsent !== 'True' || answer.tenant?.toLowerCase() !== tid) {
    throw new AppError('connect_declined', 'The consent answer did not report consent for this tenant')
  }
  const client = await clientForOrg(d1, config, portal.id)
  let token: string
  try {
    // The consent answer is an unsigned redirect anyone can type: a new app-only token is the proof.
    token = await appOnlyToken(config, client, tid, { permission: SYNC_PERMISSIONS[0].name, fresh: true, retries: 1 })
  } catch (error) {
    throw new AppError('connect_not_confirmed', `No app-only token for ${client.clientId} in ${tid} after consent`, {
      cause: error,
    })
  }
  // Entra issues app-only tokens once the app is in the tenant, consented or not: the roles it carries are the consent.
  const missing = missingPermissions(token)
  if (missing.length > 0) {
    throw new AppError(
      'connect_not_confirmed',
      `The app-only token for ${client.clientId} in ${tid} lacks ${missing.join(', ')} after consent`,
      { detail: `Not granted: ${missing.join(', ')}` },
    )
  }
  const proof = {
    by: 'connect link',
    linkId: link.id,
    linkCreatedBy: link.createdBy,
    administrator: { tid: admin.tid, oid: admin.oid, upn: admin.upn, name: admin.name, role: admin.role },
  }
  const claim = await verifyTenant(d1, partnerIdOf(portal), tid, proof, now)
  try {
    await recordChange(
      d1,
      'system',
      {
        orgId: phoneSystem.orgId,
        action: 'tenant.connect',
        targetType: 'tenant',
        targetId: tid,
        summary: { phoneSystemId: phoneSystem.id, ...proof },
      },
      now,
      // The link is used once: a second administrator finishing at the same moment changes nothing.
      ...guard(d1, 'EXISTS (SELECT 1 FROM connect_links WHERE id = ? AND used_at IS NULL)', link.id),
      d1.prepare('UPDATE connect_links SET used_at = ?2 WHERE id = ?1').bind(link.id, now),
      ...claim,
    )
  } catch (error) {
    if (!isGuardFailure(error)) throw error
    // Either another administrator used the link first, or another partner's subtree proved the tenant meanwhile.
    const claim = await findClaim(d1, tid)
    if (claim && claim.partnerId !== partnerIdOf(portal)) throw tenantClaimed(tid)
    throw linkInvalid()
  }
}
