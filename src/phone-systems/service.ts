/**
 * Phone systems (ARCHITECTURE §2): each belongs to an organization, names its Entra
 * tenant, and says where its web client is and where the handoff assertion
 * goes. Scoped to the principal; every change with its audit row.
 */
import { and, asc, eq, isNull, sql } from 'drizzle-orm'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { asNotFound, notFound, orgInScope } from '../access/scope'
import { recordChange } from '../audit/write'
import { getDb } from '../db/client'
import {
  type PhoneSystemRow,
  phoneSystems,
  SYNC_SOURCES,
  scimGroups,
  scimTokens,
  scimUsers,
  ssoUsers,
  TENANT_STATUSES,
} from '../db/schema'
import { guard, isGuardFailure } from '../db/statements'
import { AppError } from '../errors'
import { boundedText, guid } from '../lib/fields'
import { newId } from '../lib/ids'
import { isSafeClientUrl } from '../lib/net'
import { iso, isoOrNull } from '../lib/time'
import { nameTenant, tenantChangedMeanwhile } from '../tenancy/claims'

const clientUrl = z
  .string()
  .check(
    z.maxLength(2048, 'must be at most 2048 characters'),
    z.refine(isSafeClientUrl, 'must be an absolute https:// URL without credentials or fragment'),
  )

export const createPhoneSystemSchema = z.strictObject({
  name: boundedText(200),
  webClientUrl: clientUrl,
  handoffUrl: clientUrl,
  entraTenantId: guid,
})

export const updatePhoneSystemSchema = z.strictObject({
  name: z.optional(boundedText(200)),
  webClientUrl: z.optional(clientUrl),
  handoffUrl: z.optional(clientUrl),
  /** A new tenant starts over: its SSO list is emptied, and with a partner key it is unverified until connected. */
  entraTenantId: z.optional(guid),
  /** `scim` is not chosen here: creating the first SCIM token switches to it (src/scim/tokens.ts). */
  syncSource: z.optional(z.enum(['app_assignments', 'group'], 'must be "app_assignments" or "group"')),
  syncGroupId: z.optional(z.nullable(guid)),
})

export type CreatePhoneSystemInput = z.output<typeof createPhoneSystemSchema>
export type UpdatePhoneSystemInput = z.output<typeof updatePhoneSystemSchema>

export const phoneSystemSchema = z.object({
  id: z.string(),
  organizationId: z.string(),
  name: z.string(),
  webClientUrl: z.string(),
  handoffUrl: z.string(),
  entraTenantId: z.string(),
  /** `trusted` (ops vouched), `verified` (an administrator of the tenant connected it) or `unverified` (serves nobody yet). */
  tenantStatus: z.enum(TENANT_STATUSES),
  sync: z.object({
    source: z.enum(SYNC_SOURCES),
    groupId: z.nullable(z.string()),
    lastSyncAt: z.nullable(z.string()),
    lastSyncStatus: z.nullable(z.enum(['success', 'failed'])),
    lastSyncError: z.nullable(z.string()),
    lastSyncCounts: z.nullable(z.record(z.string(), z.number())),
    nextSyncAt: z.nullable(z.string()),
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export function phoneSystemView(row: PhoneSystemRow): z.output<typeof phoneSystemSchema> {
  return {
    id: row.id,
    organizationId: row.orgId,
    name: row.name,
    webClientUrl: row.webClientUrl,
    handoffUrl: row.handoffUrl,
    entraTenantId: row.entraTenantId,
    tenantStatus: row.tenantStatus,
    sync: {
      source: row.syncSource,
      groupId: row.syncGroupId,
      lastSyncAt: isoOrNull(row.lastSyncAt),
      lastSyncStatus: row.lastSyncStatus,
      lastSyncError: row.lastSyncError,
      lastSyncCounts: row.lastSyncCounts,
      nextSyncAt: isoOrNull(row.nextSyncAt),
    },
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  }
}

export async function findPhoneSystem(d1: D1Database, id: string): Promise<PhoneSystemRow | undefined> {
  return getDb(d1).select().from(phoneSystems).where(eq(phoneSystems.id, id)).get()
}

/** The phone system, if its organization is one the principal reaches; the same 404 otherwise. */
export async function getPhoneSystem(d1: D1Database, principal: Principal, id: string): Promise<PhoneSystemRow> {
  const row = await findPhoneSystem(d1, id)
  if (!row) throw notFound('phone system', id)
  await orgInScope(d1, principal, row.orgId).catch(asNotFound(() => notFound('phone system', id)))
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
  const org = await orgInScope(d1, principal, orgId)
  const tenant = await nameTenant(d1, principal, org, input.entraTenantId, now)
  const row: PhoneSystemRow = {
    id: newId('ps'),
    orgId,
    ...input,
    tenantStatus: tenant.status,
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
  try {
    await recordChange(
      d1,
      principal,
      {
        orgId,
        action: 'phone_system.create',
        targetType: 'phone_system',
        targetId: row.id,
        summary: { after: phoneSystemView(row) },
      },
      now,
      getDb(d1).insert(phoneSystems).values(row),
      ...tenant.statements,
    )
  } catch (error) {
    if (isGuardFailure(error)) throw tenantChangedMeanwhile(input.entraTenantId)
    throw error
  }
  return row
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
  const newTenant = input.entraTenantId !== undefined && input.entraTenantId !== before.entraTenantId
  // Naming a tenant again with the ops key vouches for it; with a partner key only a new tenant is news.
  const namesTenant = newTenant || (input.entraTenantId !== undefined && principal.kind === 'ops')
  const tenant = namesTenant
    ? await nameTenant(d1, principal, await orgInScope(d1, principal, before.orgId), input.entraTenantId!, now)
    : null
  // Only what this request changes is written: a concurrent change to anything else (a release, a sync) stands.
  const changes: Partial<PhoneSystemRow> = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.webClientUrl !== undefined ? { webClientUrl: input.webClientUrl } : {}),
    ...(input.handoffUrl !== undefined ? { handoffUrl: input.handoffUrl } : {}),
    ...(input.syncSource !== undefined ? { syncSource: input.syncSource } : {}),
    ...(input.syncGroupId !== undefined ? { syncGroupId: input.syncGroupId } : {}),
    ...(tenant ? { entraTenantId: input.entraTenantId!, tenantStatus: tenant.status } : {}),
    // The list and the sync record belonged to the old tenant.
    ...(newTenant
      ? { lastSyncAt: null, lastSyncStatus: null, lastSyncError: null, lastSyncCounts: null, nextSyncAt: null }
      : {}),
    updatedAt: now,
  }
  const after: PhoneSystemRow = { ...before, ...changes }
  try {
    await recordChange(
      d1,
      principal,
      {
        orgId: before.orgId,
        action: 'phone_system.update',
        targetType: 'phone_system',
        targetId: id,
        summary: { before: phoneSystemView(before), after: phoneSystemView(after) },
      },
      now,
      // A tenant change is decided on the tenant, status and list read above: if any moved meanwhile, nothing is written.
      ...(tenant
        ? guard(
            d1,
            'EXISTS (SELECT 1 FROM phone_systems WHERE id = ? AND entra_tenant_id = ? AND tenant_status = ? AND sso_list_version = ?)',
            id,
            before.entraTenantId,
            before.tenantStatus,
            before.ssoListVersion,
          )
        : []),
      getDb(d1)
        .update(phoneSystems)
        .set({ ...changes, ...(newTenant ? { ssoListVersion: sql`${phoneSystems.ssoListVersion} + 1` } : {}) })
        .where(eq(phoneSystems.id, id)),
      ...(newTenant
        ? [
            getDb(d1).delete(ssoUsers).where(eq(ssoUsers.phoneSystemId, id)),
            // What SCIM pushed was the old tenant's too: Entra's next cycle finds nothing and creates its users again.
            getDb(d1).delete(scimUsers).where(eq(scimUsers.phoneSystemId, id)),
            getDb(d1).delete(scimGroups).where(eq(scimGroups.phoneSystemId, id)),
            // And its SCIM tokens were the old tenant's Entra app's Secret token: revoked, so the list shows them so.
            getDb(d1)
              .update(scimTokens)
              .set({ revokedAt: now })
              .where(and(eq(scimTokens.phoneSystemId, id), isNull(scimTokens.revokedAt))),
          ]
        : []),
      ...(tenant?.statements ?? []),
    )
  } catch (error) {
    // Only a tenant change is guarded: the phone system, or the tenant's claim, moved since they were read.
    if (isGuardFailure(error)) throw tenantChangedMeanwhile(input.entraTenantId!)
    throw error
  }
  return (await findPhoneSystem(d1, id)) ?? after
}

export async function deletePhoneSystem(d1: D1Database, principal: Principal, id: string, now: number): Promise<void> {
  const row = await getPhoneSystem(d1, principal, id)
  await recordChange(
    d1,
    principal,
    {
      orgId: row.orgId,
      action: 'phone_system.delete',
      targetType: 'phone_system',
      targetId: id,
      summary: { before: phoneSystemView(row) },
    },
    now,
    // sso_users go with it (ON DELETE CASCADE).
    getDb(d1).delete(phoneSystems).where(eq(phoneSystems.id, id)),
  )
}
