/**
 * SCIM tokens: the "Secret token" an Entra enterprise app's provisioning
 * presents as `Authorization: Bearer …` on one phone system's SCIM
 * endpoint. `scim_` + 32 random bytes (base64url), shown once at creation;
 * D1 keeps a SHA-256 of it bound to the phone system and the Entra tenant it
 * was created for (`tokenHash`), and a short prefix that tells tokens apart.
 * A token reaches only that phone system, and only while it is in that
 * tenant: a phone system pointed at another tenant starts over (its list and
 * what SCIM pushed are emptied), and the old tenant's provisioning must not
 * push users that would carry the new tenant's tid. Revocable at once; last
 * use recorded (at most once a minute).
 *
 * The first token switches the phone system's list source to `scim`: Sync
 * stops (its schedule is cleared) and the list becomes what SCIM pushed
 * (the users SCIM already holds, active ones; none the first time).
 */
import { and, desc, eq, isNull } from 'drizzle-orm'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { recordChange } from '../audit/write'
import { getDb } from '../db/client'
import { type PhoneSystemRow, phoneSystems, type ScimTokenRow, scimTokens } from '../db/schema'
import { guard, isGuardFailure, toStatement } from '../db/statements'
import { AppError } from '../errors'
import { issueBearerSecret, lastUseWorthRecording, sha256 } from '../lib/crypto'
import { boundedText } from '../lib/fields'
import { newId } from '../lib/ids'
import { iso, isoOrNull } from '../lib/time'
import { getPhoneSystem } from '../phone-systems/service'
import { rebuildListStatements } from './store'

export const SCIM_TOKEN_PREFIX = 'scim_'
/** Active (unrevoked) tokens a phone system may have: one in Entra's settings, and room to rotate it. */
export const MAX_ACTIVE_SCIM_TOKENS = 5

export const createScimTokenSchema = z.strictObject({
  label: z.optional(boundedText(100)),
})

export const scimTokenSchema = z.object({
  id: z.string(),
  phoneSystemId: z.string(),
  prefix: z.string(),
  label: z.nullable(z.string()),
  createdBy: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.nullable(z.string()),
  revokedAt: z.nullable(z.string()),
})

/** The one answer that carries the secret, with the Tenant URL to paste next to it in Entra. */
export const issuedScimTokenSchema = z.extend(scimTokenSchema, { token: z.string(), tenantUrl: z.string() })

export function scimTokenView(row: ScimTokenRow): z.output<typeof scimTokenSchema> {
  return {
    id: row.id,
    phoneSystemId: row.phoneSystemId,
    prefix: row.prefix,
    label: row.label,
    createdBy: row.createdBy,
    createdAt: iso(row.createdAt),
    lastUsedAt: isoOrNull(row.lastUsedAt),
    revokedAt: isoOrNull(row.revokedAt),
  }
}

/**
 * What D1 keeps of a token: its hash together with the phone system and the tenant it was created for, so
 * that under another tenant (or on another phone system) it matches nothing.
 */
export function tokenHash(token: string, phoneSystem: Pick<PhoneSystemRow, 'id' | 'entraTenantId'>): Promise<string> {
  return sha256(`${phoneSystem.id}\n${phoneSystem.entraTenantId}\n${token}`)
}

/** The "Tenant URL" Entra's provisioning is given for a phone system. */
export function scimTenantUrl(origin: string, phoneSystemId: string): string {
  return `${origin}/scim/v2/phone-systems/${phoneSystemId}`
}

export async function createScimToken(
  d1: D1Database,
  principal: Principal,
  phoneSystemId: string,
  label: string | undefined,
  origin: string,
  now: number,
): Promise<z.output<typeof issuedScimTokenSchema>> {
  const phoneSystem = await getPhoneSystem(d1, principal, phoneSystemId)
  const { secret: token, visiblePrefix } = issueBearerSecret(SCIM_TOKEN_PREFIX)
  const row: ScimTokenRow = {
    id: newId('sct'),
    phoneSystemId,
    prefix: visiblePrefix,
    secretHash: await tokenHash(token, phoneSystem),
    label: label ?? null,
    createdBy: principal.actor,
    createdAt: now,
    lastUsedAt: null,
    revokedAt: null,
  }
  const switches = phoneSystem.syncSource !== 'scim'
  try {
    await createRecorded()
  } catch (error) {
    if (!isGuardFailure(error)) throw error
    throw new AppError(
      'too_many_scim_tokens',
      `This phone system already has ${MAX_ACTIVE_SCIM_TOKENS} active SCIM tokens; nothing was created. Revoke one that is no longer used (Entra's provisioning holds only one), then create the new one.`,
    )
  }
  return { ...scimTokenView(row), token, tenantUrl: scimTenantUrl(origin, phoneSystemId) }

  function createRecorded() {
    return recordChange(
      d1,
      principal,
      {
        orgId: phoneSystem.orgId,
        action: 'scim_token.create',
        targetType: 'scim_token',
        targetId: row.id,
        summary: {
          after: scimTokenView(row),
          ...(switches ? { syncSource: { before: phoneSystem.syncSource, after: 'scim' } } : {}),
        },
      },
      now,
      // Every SCIM request reads its phone system's active tokens: their number stays small, even under racing creations.
      ...guard(
        d1,
        '(SELECT count(*) FROM scim_tokens WHERE phone_system_id = ? AND revoked_at IS NULL) < ?',
        phoneSystemId,
        MAX_ACTIVE_SCIM_TOKENS,
      ),
      getDb(d1).insert(scimTokens).values(row),
      ...(switches ? switchToScimStatements(d1, phoneSystem, now) : []),
    )
  }
}

/** The list becomes SCIM's: the schedule stops, and the list is rebuilt from the active SCIM users. */
function switchToScimStatements(d1: D1Database, phoneSystem: PhoneSystemRow, now: number): D1PreparedStatement[] {
  return [
    toStatement(
      d1,
      getDb(d1)
        .update(phoneSystems)
        .set({
          syncSource: 'scim',
          syncGroupId: null,
          nextSyncAt: null,
          lastSyncAt: null,
          lastSyncStatus: null,
          lastSyncError: null,
          lastSyncCounts: null,
          updatedAt: now,
        })
        .where(eq(phoneSystems.id, phoneSystem.id)),
    ),
    ...rebuildListStatements(d1, phoneSystem, now),
  ]
}

export async function listScimTokens(d1: D1Database, principal: Principal, phoneSystemId: string) {
  await getPhoneSystem(d1, principal, phoneSystemId)
  const rows = await getDb(d1)
    .select()
    .from(scimTokens)
    .where(eq(scimTokens.phoneSystemId, phoneSystemId))
    .orderBy(desc(scimTokens.createdAt))
    .all()
  return rows.map(scimTokenView)
}

export async function revokeScimToken(
  d1: D1Database,
  principal: Principal,
  phoneSystemId: string,
  tokenId: string,
  now: number,
): Promise<void> {
  const phoneSystem = await getPhoneSystem(d1, principal, phoneSystemId)
  const row = await getDb(d1)
    .select()
    .from(scimTokens)
    .where(and(eq(scimTokens.id, tokenId), eq(scimTokens.phoneSystemId, phoneSystemId)))
    .get()
  if (!row) throw new AppError('not_found', `No SCIM token "${tokenId}"`)
  if (row.revokedAt !== null) return
  await recordChange(
    d1,
    principal,
    {
      orgId: phoneSystem.orgId,
      action: 'scim_token.revoke',
      targetType: 'scim_token',
      targetId: tokenId,
      summary: { after: scimTokenView({ ...row, revokedAt: now }) },
    },
    now,
    getDb(d1)
      .update(scimTokens)
      .set({ revokedAt: now })
      .where(and(eq(scimTokens.id, tokenId), isNull(scimTokens.revokedAt))),
  )
}

/**
 * The token presented for `phoneSystemId` and its phone system, in one read (the phone system's unrevoked
 * tokens, a handful, each checked against the hash bound to the phone system's tenant now); null for an
 * unknown or revoked token, another phone system's, or one created while the phone system was in another tenant.
 */
export async function tokenFor(
  d1: D1Database,
  phoneSystemId: string,
  presented: string,
  now: number,
): Promise<{ token: ScimTokenRow; phoneSystem: PhoneSystemRow } | null> {
  if (!presented.startsWith(SCIM_TOKEN_PREFIX)) return null
  const rows = await getDb(d1)
    .select({ token: scimTokens, phoneSystem: phoneSystems })
    .from(scimTokens)
    .innerJoin(phoneSystems, eq(phoneSystems.id, scimTokens.phoneSystemId))
    .where(and(eq(scimTokens.phoneSystemId, phoneSystemId), isNull(scimTokens.revokedAt)))
    .all()
  if (rows.length === 0) return null
  const expected = await tokenHash(presented, rows[0]!.phoneSystem)
  const row = rows.find((r) => r.token.secretHash === expected)
  if (!row) return null
  if (lastUseWorthRecording(row.token.lastUsedAt, now)) {
    await getDb(d1).update(scimTokens).set({ lastUsedAt: now }).where(eq(scimTokens.id, row.token.id))
  }
  return row
}
