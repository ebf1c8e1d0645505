/**
 * A portal's Microsoft integration (DESIGN 2): its own Entra app for the
 * sign-ins on its hosts, and the tenants allowed. The client secret is
 * encrypted at rest (AES-GCM under DATA_KEY, bound to the row) and no call
 * ever returns it.
 */
import { eq } from 'drizzle-orm'
import type { Config } from '../config'
import { encryptSecret } from '../crypto'
import { getDb } from '../db/client'
import { microsoftIntegrations } from '../db/schema'
import { toStatement } from '../db/statements'
import { AppError } from '../errors'
import { secretContext } from '../oidc/clients'
import { auditStatement, type Principal } from './audit'
import { iso } from './json'
import type { PutIntegrationInput } from './schemas'
import { orgInScope } from './scope'

type IntegrationRow = typeof microsoftIntegrations.$inferSelect

export function integrationJson(row: IntegrationRow) {
  return {
    organizationId: row.orgId,
    clientId: row.clientId,
    clientSecretSet: true,
    clientSecretUpdatedAt: iso(row.secretUpdatedAt),
    homeTenantId: row.homeTenantId,
    allowedTenantIds: row.allowedTenantIds,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  }
}

async function portal(d1: D1Database, principal: Principal, orgId: string) {
  const org = await orgInScope(d1, principal, orgId)
  if (org.kind === 'customer' && org.structure === 'flat') {
    throw new AppError(
      'flat_customer_cannot_own_hostname',
      `Customer "${org.name}" is flat: it signs in through its partner's portal and cannot have its own Microsoft integration. Move it to a nested portal first.`,
    )
  }
  return org
}

function find(d1: D1Database, orgId: string) {
  return getDb(d1).select().from(microsoftIntegrations).where(eq(microsoftIntegrations.orgId, orgId)).get()
}

export async function getIntegration(d1: D1Database, principal: Principal, orgId: string) {
  await orgInScope(d1, principal, orgId)
  const row = await find(d1, orgId)
  if (!row)
    throw new AppError(
      'not_found',
      "This organization has no Microsoft integration of its own (it uses the provider's app)",
    )
  return integrationJson(row)
}

/** Creates or replaces the integration; `clientSecret` may be left out to keep the stored one (same client id only). */
export async function putIntegration(
  d1: D1Database,
  config: Config,
  principal: Principal,
  orgId: string,
  input: PutIntegrationInput,
  now: number,
) {
  await portal(d1, principal, orgId)
  const before = await find(d1, orgId)
  if (input.clientSecret === undefined && (!before || before.clientId !== input.clientId)) {
    throw new AppError('invalid_request', '"clientSecret" is required for a new integration or a new client id', {
      field: 'clientSecret',
    })
  }
  const row: IntegrationRow = {
    orgId,
    clientId: input.clientId,
    clientSecretEnc:
      input.clientSecret === undefined
        ? before!.clientSecretEnc
        : await encryptSecret(input.clientSecret, config.dataKey, secretContext(orgId, input.clientId)),
    homeTenantId: input.homeTenantId,
    allowedTenantIds: [...new Set(input.allowedTenantIds ?? [])],
    secretUpdatedAt: input.clientSecret === undefined ? before!.secretUpdatedAt : now,
    createdAt: before?.createdAt ?? now,
    updatedAt: now,
  }
  await d1.batch([
    toStatement(
      d1,
      getDb(d1)
        .insert(microsoftIntegrations)
        .values(row)
        .onConflictDoUpdate({ target: microsoftIntegrations.orgId, set: row }),
    ),
    auditStatement(
      d1,
      principal,
      {
        orgId,
        action: before ? 'microsoft_integration.update' : 'microsoft_integration.create',
        targetType: 'microsoft_integration',
        targetId: orgId,
        // integrationJson never carries the secret; the summary only says whether it changed.
        summary: {
          before: before ? integrationJson(before) : null,
          after: integrationJson(row),
          secretChanged: input.clientSecret !== undefined,
        },
      },
      now,
    ),
  ])
  return integrationJson(row)
}

export async function deleteIntegration(d1: D1Database, principal: Principal, orgId: string, now: number) {
  await orgInScope(d1, principal, orgId)
  const before = await find(d1, orgId)
  if (!before) throw new AppError('not_found', 'This organization has no Microsoft integration of its own')
  await d1.batch([
    toStatement(d1, getDb(d1).delete(microsoftIntegrations).where(eq(microsoftIntegrations.orgId, orgId))),
    auditStatement(
      d1,
      principal,
      {
        orgId,
        action: 'microsoft_integration.delete',
        targetType: 'microsoft_integration',
        targetId: orgId,
        summary: { before: integrationJson(before) },
      },
      now,
    ),
  ])
}
