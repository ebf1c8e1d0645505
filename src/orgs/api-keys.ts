/**
 * Partner API keys: `sgk_` + 32 random bytes (base64url). Shown once at
 * creation; D1 keeps only their SHA-256 and a short prefix that tells keys
 * apart in listings. Revocable; last use recorded (at most once a minute).
 */
import { and, desc, eq, inArray, isNull } from 'drizzle-orm'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { asNotFound, notFound, orgInScope } from '../access/scope'
import { recordChange } from '../audit/write'
import { getDb } from '../db/client'
import { type ApiKeyRow, apiKeys } from '../db/schema'
import { AppError } from '../errors'
import { issueBearerSecret, lastUseWorthRecording, sha256 } from '../lib/crypto'
import { boundedText } from '../lib/fields'
import { newId } from '../lib/ids'
import { iso, isoOrNull } from '../lib/time'

export const KEY_PREFIX = 'sgk_'

export const createApiKeySchema = z.strictObject({
  label: z.optional(boundedText(100)),
})

export const apiKeySchema = z.object({
  id: z.string(),
  organizationId: z.string(),
  prefix: z.string(),
  label: z.nullable(z.string()),
  createdBy: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.nullable(z.string()),
  revokedAt: z.nullable(z.string()),
})

/** The one answer that carries the key itself. */
export const issuedApiKeySchema = z.extend(apiKeySchema, { key: z.string() })

export function apiKeyView(row: ApiKeyRow): z.output<typeof apiKeySchema> {
  return {
    id: row.id,
    organizationId: row.orgId,
    prefix: row.prefix,
    label: row.label,
    createdBy: row.createdBy,
    createdAt: iso(row.createdAt),
    lastUsedAt: isoOrNull(row.lastUsedAt),
    revokedAt: isoOrNull(row.revokedAt),
  }
}

/** Issues a key to a partner (ops for any partner, a partner for itself). The only time the key is ever visible. */
export async function createApiKey(
  d1: D1Database,
  principal: Principal,
  orgId: string,
  label: string | undefined,
  now: number,
): Promise<z.output<typeof issuedApiKeySchema>> {
  const org = await orgInScope(d1, principal, orgId)
  if (org.kind !== 'partner') {
    throw new AppError('invalid_request', 'API keys are issued to partners; a partner key also reaches its customers', {
      field: 'id',
    })
  }
  const { secret: key, visiblePrefix } = issueBearerSecret(KEY_PREFIX)
  const row: ApiKeyRow = {
    id: newId('key'),
    orgId,
    prefix: visiblePrefix,
    secretHash: await sha256(key),
    label: label ?? null,
    createdBy: principal.actor,
    createdAt: now,
    lastUsedAt: null,
    revokedAt: null,
  }
  await recordChange(
    d1,
    principal,
    { orgId, action: 'api_key.create', targetType: 'api_key', targetId: row.id, summary: { after: apiKeyView(row) } },
    now,
    getDb(d1).insert(apiKeys).values(row),
  )
  return { ...apiKeyView(row), key }
}

export async function listApiKeys(d1: D1Database, principal: Principal, orgId: string) {
  await orgInScope(d1, principal, orgId)
  const rows = await getDb(d1)
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.orgId, orgId))
    .orderBy(desc(apiKeys.createdAt))
    .all()
  return rows.map(apiKeyView)
}

/** A key the principal reaches (never its secret); 404 alike for one that does not exist and one outside its reach. */
export async function getApiKey(d1: D1Database, principal: Principal, keyId: string) {
  return apiKeyView(await findKey(d1, principal, keyId))
}

async function findKey(d1: D1Database, principal: Principal, keyId: string): Promise<ApiKeyRow> {
  const row = await getDb(d1).select().from(apiKeys).where(eq(apiKeys.id, keyId)).get()
  if (!row) throw notFound('API key', keyId)
  await orgInScope(d1, principal, row.orgId).catch(asNotFound(() => notFound('API key', keyId)))
  return row
}

export async function revokeApiKey(d1: D1Database, principal: Principal, keyId: string, now: number) {
  const row = await findKey(d1, principal, keyId)
  if (row.revokedAt !== null) return apiKeyView(row)
  const revoked = { ...row, revokedAt: now }
  await recordChange(
    d1,
    principal,
    {
      orgId: row.orgId,
      action: 'api_key.revoke',
      targetType: 'api_key',
      targetId: keyId,
      summary: { after: apiKeyView(revoked) },
    },
    now,
    getDb(d1).update(apiKeys).set({ revokedAt: now }).where(eq(apiKeys.id, keyId)),
  )
  return apiKeyView(revoked)
}

/** The partner behind a presented key, or null (unknown, malformed or revoked). */
export async function principalForKey(d1: D1Database, presented: string, now: number): Promise<Principal | null> {
  if (!presented.startsWith(KEY_PREFIX)) return null
  const hash = await sha256(presented)
  const row = await getDb(d1).select().from(apiKeys).where(eq(apiKeys.secretHash, hash)).get()
  if (!row || row.revokedAt !== null) return null
  if (lastUseWorthRecording(row.lastUsedAt, now)) {
    await getDb(d1).update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, row.id))
  }
  return { kind: 'partner', actor: `key:${row.id}`, keyId: row.id, orgId: row.orgId }
}

/** The keys of `orgId` still active that one of `actors` created (a staff member's, as the audit names them). */
export async function activeKeysCreatedBy(d1: D1Database, orgId: string, actors: string[]): Promise<ApiKeyRow[]> {
  if (actors.length === 0) return []
  return getDb(d1)
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), isNull(apiKeys.revokedAt), inArray(apiKeys.createdBy, actors)))
    .orderBy(desc(apiKeys.createdAt))
    .all()
}

/** Revokes the keys `activeKeysCreatedBy` found, in the batch of the change that ends their creator's role. */
export function revokeKeysStatement(d1: D1Database, keys: ApiKeyRow[], now: number): D1PreparedStatement[] {
  if (keys.length === 0) return []
  const query = getDb(d1)
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(
      and(
        inArray(
          apiKeys.id,
          keys.map((key) => key.id),
        ),
        isNull(apiKeys.revokedAt),
      ),
    )
  const { sql, params } = query.toSQL()
  return [d1.prepare(sql).bind(...params)]
}
