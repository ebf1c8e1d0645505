/**
 * A portal's Microsoft integration (ARCHITECTURE §2): its own Entra app for the
 * sign-ins on its hosts, and the tenants allowed. The client secret is
 * encrypted at rest (AES-GCM under DATA_KEY, bound to the row) and no call
 * ever returns it.
 */
import { and, eq, ne } from 'drizzle-orm'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { orgInScope } from '../access/scope'
import { recordChange } from '../audit/write'
import type { Config } from '../config'
import { getDb } from '../db/client'
import { type MicrosoftIntegrationRow, microsoftIntegrations } from '../db/schema'
import { isUniqueViolation } from '../db/statements'
import { AppError } from '../errors'
import { type HostMove, moveHostsToApp, type RedirectUris } from '../hostnames/redirect-uris'
import { encryptSecret } from '../lib/crypto'
import { guid } from '../lib/fields'
import { iso } from '../lib/time'
import { providerClient, secretContext } from '../oidc/clients'
import { assertIsPortal } from '../tenancy/portal'

export const putIntegrationSchema = z.strictObject({
  clientId: guid,
  clientSecret: z.optional(
    z.string().check(z.minLength(1, 'must not be empty'), z.maxLength(1024, 'must be at most 1024 characters')),
  ),
  homeTenantId: guid,
  allowedTenantIds: z.optional(z.array(guid).check(z.maxLength(100, 'must hold at most 100 tenant ids'))),
})

export type PutIntegrationInput = z.output<typeof putIntegrationSchema>

/** An integration as the API answers it: never the secret, only that one is set and when. */
export const integrationSchema = z.object({
  organizationId: z.string(),
  clientId: z.string(),
  clientSecretSet: z.boolean(),
  clientSecretUpdatedAt: z.string(),
  homeTenantId: z.string(),
  allowedTenantIds: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export function integrationView(row: MicrosoftIntegrationRow): z.output<typeof integrationSchema> {
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
  return integrationView(row)
}

/** Creates or replaces the integration; `clientSecret` may be left out to keep the stored one (same client id only). */
export async function putIntegration(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  principal: Principal,
  orgId: string,
  input: PutIntegrationInput,
  now: number,
) {
  assertIsPortal(await orgInScope(d1, principal, orgId), 'integration')
  const before = await find(d1, orgId)
  if (input.clientSecret === undefined && (!before || before.clientId !== input.clientId)) {
    throw new AppError('invalid_request', '"clientSecret" is required for a new integration or a new client id', {
      field: 'clientSecret',
    })
  }
  await assertClientIdFree(d1, config, orgId, input.clientId)
  const row: MicrosoftIntegrationRow = {
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
  // A new app always comes with its secret (refused above otherwise): the hosts' URIs move to it first.
  const previousApp = before?.clientId ?? config.entra.clientId
  const move =
    previousApp === row.clientId
      ? null
      : await moveHostsToApp(
          d1,
          config,
          uris,
          orgId,
          {
            clientId: row.clientId,
            clientSecret: input.clientSecret!,
            orgId,
            homeTenantId: row.homeTenantId,
            allowedTenantIds: row.allowedTenantIds.length > 0 ? row.allowedTenantIds : null,
          },
          now,
        )
  await storeWithMove(move, () =>
    recordChange(
      d1,
      principal,
      {
        orgId,
        action: before ? 'microsoft_integration.update' : 'microsoft_integration.create',
        targetType: 'microsoft_integration',
        targetId: orgId,
        // integrationView never carries the secret; the summary only says whether it changed.
        summary: {
          before: before ? integrationView(before) : null,
          after: integrationView(row),
          secretChanged: input.clientSecret !== undefined,
        },
      },
      now,
      getDb(d1)
        .insert(microsoftIntegrations)
        .values(row)
        .onConflictDoUpdate({ target: microsoftIntegrations.orgId, set: row }),
      ...(move?.statements ?? []),
    ),
  )
  return integrationView(row)
}

/**
 * Removes a portal's integration: its hosts sign in with the provider's app
 * again, their direct-mode URIs moved there first (or to the central callback).
 */
export async function deleteIntegration(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  principal: Principal,
  orgId: string,
  now: number,
) {
  await orgInScope(d1, principal, orgId)
  const before = await find(d1, orgId)
  if (!before) throw new AppError('not_found', 'This organization has no Microsoft integration of its own')
  const move = await moveHostsToApp(d1, config, uris, orgId, providerClient(config), now)
  await storeWithMove(move, () =>
    recordChange(
      d1,
      principal,
      {
        orgId,
        action: 'microsoft_integration.delete',
        targetType: 'microsoft_integration',
        targetId: orgId,
        summary: { before: integrationView(before) },
      },
      now,
      getDb(d1).delete(microsoftIntegrations).where(eq(microsoftIntegrations.orgId, orgId)),
      ...move.statements,
    ),
  )
}

/** Stores an integration change together with its hosts' moves; if storing fails, the moves are taken back. */
async function storeWithMove(move: HostMove | null, write: () => Promise<void>): Promise<void> {
  try {
    await write()
  } catch (error) {
    await move?.undo()
    if (isUniqueViolation(error)) throw clientIdInUse()
    throw error
  }
  await move?.stored()
}

function clientIdInUse(): AppError {
  return new AppError(
    'client_id_in_use',
    '"clientId" is already in use: it is the provider\'s own app, or another portal\'s integration uses it. ' +
      'Each portal needs an Entra app of its own (its tokens and redirect URIs are its alone).',
    { field: 'clientId' },
  )
}

/** One portal per Entra app, and never the provider's: a portal naming another's app would borrow its tokens. */
async function assertClientIdFree(d1: D1Database, config: Config, orgId: string, clientId: string): Promise<void> {
  if (clientId === config.entra.clientId) throw clientIdInUse()
  const other = await getDb(d1)
    .select({ orgId: microsoftIntegrations.orgId })
    .from(microsoftIntegrations)
    .where(and(eq(microsoftIntegrations.clientId, clientId), ne(microsoftIntegrations.orgId, orgId)))
    .get()
  if (other) throw clientIdInUse()
}
