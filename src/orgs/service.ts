/**
 * Organizations (ARCHITECTURE §2): partners under the provider, customers under a
 * partner, nested or flat. Creating, renaming, rebranding them and moving a
 * flat customer to a nested portal, scoped to the principal; every change
 * with its audit row in the same batch.
 */
import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { inSubtree, notFound, orgInScope } from '../access/scope'
import { recordChange } from '../audit/write'
import type { Config } from '../config'
import { getDb } from '../db/client'
import { ORG_KINDS, ORG_STRUCTURES, type OrgRow, organizations } from '../db/schema'
import { guard, isGuardFailure } from '../db/statements'
import { AppError } from '../errors'
import { hostCache } from '../hosts/resolve'
import { boundedText, idParam } from '../lib/fields'
import { newId } from '../lib/ids'
import { DAY_MS, iso, isoOrNull } from '../lib/time'
import { isSafeLogoUrl } from '../tenancy/branding'
import { inTransition, isFlatCustomer } from '../tenancy/portal'

const orgName = boundedText(200)

export const brandingInputSchema = z.strictObject({
  displayName: z.optional(boundedText(100)),
  logoUrl: z.optional(
    z.nullable(z.string().check(z.refine(isSafeLogoUrl, 'must be an absolute https:// URL without credentials'))),
  ),
  accentColor: z.optional(
    z
      .string()
      .check(z.regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour written #rrggbb, such as #0f6cbd'), z.toLowerCase()),
  ),
})

export const createOrgSchema = z
  .strictObject({
    name: orgName,
    kind: z.enum(ORG_KINDS, 'must be "partner" or "customer"'),
    parentId: z.optional(idParam),
    structure: z.optional(z.enum(ORG_STRUCTURES, 'must be "nested" or "flat"')),
    branding: z.optional(brandingInputSchema),
  })
  .check(
    z.superRefine((org, ctx) => {
      if (org.kind === 'partner' && org.parentId !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['parentId'],
          message: 'must be absent for a partner (partners sit directly under the provider)',
        })
      }
      if (org.kind === 'partner' && org.structure !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['structure'], message: 'applies to customers only' })
      }
    }),
  )

export const updateOrgSchema = z.strictObject({
  name: z.optional(orgName),
  branding: z.optional(brandingInputSchema),
})

export type CreateOrgInput = z.output<typeof createOrgSchema>
export type UpdateOrgInput = z.output<typeof updateOrgSchema>

export const orgSchema = z.object({
  id: z.string(),
  kind: z.enum(ORG_KINDS),
  parentId: z.nullable(z.string()),
  structure: z.nullable(z.enum(ORG_STRUCTURES)),
  name: z.string(),
  branding: z.object({
    displayName: z.nullable(z.string()),
    logoUrl: z.nullable(z.string()),
    accentColor: z.nullable(z.string()),
  }),
  partnerHostsUntil: z.nullable(
    z
      .string()
      .check(
        z.describe(
          "A customer moved from flat to nested: until this time its partner's hosts still serve it, besides its own; null if it was never moved, or moved without a transition",
        ),
      ),
  ),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export function orgView(org: OrgRow): z.output<typeof orgSchema> {
  return {
    id: org.id,
    kind: org.kind,
    parentId: org.parentId,
    structure: org.structure,
    name: org.name,
    branding: { displayName: org.displayName, logoUrl: org.logoUrl, accentColor: org.accentColor },
    partnerHostsUntil: isoOrNull(org.partnerHostsUntil),
    createdAt: iso(org.createdAt),
    updatedAt: iso(org.updatedAt),
  }
}

export async function findOrg(d1: D1Database, id: string): Promise<OrgRow | undefined> {
  return getDb(d1).select().from(organizations).where(eq(organizations.id, id)).get()
}

/**
 * The organizations the principal reaches; `parentId` null: partners only, a
 * string: that partner's customers; `q`: whose name contains it, in any case.
 */
export async function listOrgs(
  d1: D1Database,
  principal: Principal,
  filter: { parentId?: string | null; q?: string },
): Promise<OrgRow[]> {
  const conditions = [inSubtree(principal, organizations.id)]
  if (filter.q) conditions.push(sql`instr(lower(${organizations.name}), lower(${filter.q})) > 0`)
  if (filter.parentId !== undefined) {
    conditions.push(
      filter.parentId === null ? isNull(organizations.parentId) : eq(organizations.parentId, filter.parentId),
    )
  }
  return getDb(d1)
    .select()
    .from(organizations)
    .where(and(...conditions))
    .orderBy(asc(organizations.name), asc(organizations.id))
    .all()
}

/** Who may create what: ops anything; a partner only customers of its own; a customer's staff nothing. */
async function checkParent(d1: D1Database, principal: Principal, input: CreateOrgInput): Promise<string | undefined> {
  if (principal.kind === 'customer')
    throw new AppError('forbidden', 'Only the provider or a partner creates organizations')
  if (principal.kind === 'partner') {
    if (input.kind === 'partner') throw new AppError('forbidden', 'Only the provider creates partners')
    const parentId = input.parentId ?? principal.orgId
    if (parentId !== principal.orgId) throw notFound('organization', parentId)
    return parentId
  }
  if (input.kind === 'partner') return undefined
  if (input.parentId === undefined) {
    throw new AppError('invalid_request', '"parentId" is required for a customer: the id of its partner', {
      field: 'parentId',
    })
  }
  const parent = await findOrg(d1, input.parentId)
  if (parent?.kind !== 'partner') {
    throw new AppError('invalid_request', '"parentId" must be the id of an existing partner', { field: 'parentId' })
  }
  return parent.id
}

export async function createOrg(
  d1: D1Database,
  principal: Principal,
  input: CreateOrgInput,
  now: number,
): Promise<OrgRow> {
  const parentId = await checkParent(d1, principal, input)
  const org: OrgRow = {
    id: newId('org'),
    kind: input.kind,
    parentId: parentId ?? null,
    structure: input.kind === 'customer' ? (input.structure ?? 'nested') : null,
    name: input.name,
    displayName: input.branding?.displayName ?? null,
    logoUrl: input.branding?.logoUrl ?? null,
    accentColor: input.branding?.accentColor ?? null,
    partnerHostsUntil: null,
    createdAt: now,
    updatedAt: now,
  }
  await recordChange(
    d1,
    principal,
    {
      orgId: org.id,
      action: 'organization.create',
      targetType: 'organization',
      targetId: org.id,
      summary: { after: orgView(org) },
    },
    now,
    getDb(d1).insert(organizations).values(org),
  )
  return org
}

/** Renames or rebrands; every cached host answer of this isolate carries branding, so they are dropped. */
export async function updateOrg(
  d1: D1Database,
  config: Config,
  principal: Principal,
  id: string,
  input: UpdateOrgInput,
  now: number,
): Promise<OrgRow> {
  const before = await orgInScope(d1, principal, id)
  const branding = input.branding
  const after: OrgRow = {
    ...before,
    name: input.name ?? before.name,
    displayName: branding?.displayName !== undefined ? branding.displayName : before.displayName,
    logoUrl: branding?.logoUrl !== undefined ? branding.logoUrl : before.logoUrl,
    accentColor: branding?.accentColor !== undefined ? branding.accentColor : before.accentColor,
    updatedAt: now,
  }
  await recordChange(
    d1,
    principal,
    {
      orgId: id,
      action: 'organization.update',
      targetType: 'organization',
      targetId: id,
      summary: { before: orgView(before), after: orgView(after) },
    },
    now,
    getDb(d1)
      .update(organizations)
      .set({
        name: after.name,
        displayName: after.displayName,
        logoUrl: after.logoUrl,
        accentColor: after.accentColor,
        updatedAt: now,
      })
      .where(eq(organizations.id, id)),
  )
  hostCache(config).clear()
  return after
}

// ---------------------------------------------------------------- moving a flat customer to a nested portal

/** How long a moved customer stays served by its partner's hosts unless told otherwise, and at most. */
export const MOVE_TRANSITION_DAYS = { default: 30, max: 90 }

export const moveOrgSchema = z.strictObject({
  // Only "nested" is offered (and documented); "flat" gets the reason.
  structure: z.enum(['nested'], {
    error: (issue) =>
      issue.input === 'flat'
        ? 'must be "nested": a flat customer moves to a nested portal of its own, never back ' +
          '(a nested customer may own hostnames and its own Microsoft integration, which a flat customer cannot have, ' +
          'and its users would lose the way in they know)'
        : 'must be "nested"',
  }),
  keepPartnerHostsDays: z.optional(
    z
      .int()
      .check(
        z.gte(0, `must be a whole number of days from 0 to ${MOVE_TRANSITION_DAYS.max}`),
        z.lte(MOVE_TRANSITION_DAYS.max, `must be a whole number of days from 0 to ${MOVE_TRANSITION_DAYS.max}`),
        z.describe(
          `How many days its partner's hosts keep serving it (default ${MOVE_TRANSITION_DAYS.default}; 0: they stop at once)`,
        ),
      ),
  ),
})

export type MoveOrgInput = z.output<typeof moveOrgSchema>

/** Why an organization other than a flat customer cannot move. */
function cannotMove(org: OrgRow): AppError {
  if (org.kind === 'partner') {
    return new AppError(
      'partner_cannot_move',
      `"${org.name}" is a partner: it is a portal already. Only a flat customer moves to a nested portal.`,
    )
  }
  return new AppError(
    'already_nested',
    `Customer "${org.name}" is nested already: it is a portal of its own (its own hosts and Microsoft integration). ` +
      'Only a flat customer moves; moving back to flat is not offered.',
  )
}

/** A move changes where the partner's portal ends: the provider or the partner decides it, not the customer. */
function refuseCustomerStaff(principal: Principal): void {
  if (principal.kind === 'customer')
    throw new AppError('forbidden', 'Only the provider or the partner moves a customer')
}

/**
 * Moves a flat customer to a nested portal of its own (`POST /orgs/{id}/move`):
 * its structure changes, and nothing else it has (phone systems, SSO lists,
 * tenant claims, sign-in history keep their rows and ids). For
 * `keepPartnerHostsDays` (default 30) its partner's hosts keep serving it
 * besides its own, so sign-ins started before the move finish and its users
 * keep the way in they know until it has its own (the portal rule,
 * `tenancy/portal.ts`). One batch, guarded: it applies only if the customer
 * is still flat and unchanged since it was read, so of two moves at once one
 * wins and the other writes nothing.
 */
export async function moveOrg(
  d1: D1Database,
  config: Config,
  principal: Principal,
  id: string,
  input: MoveOrgInput,
  now: number,
): Promise<OrgRow> {
  const before = await orgInScope(d1, principal, id)
  refuseCustomerStaff(principal)
  if (!isFlatCustomer(before)) throw cannotMove(before)
  const days = input.keepPartnerHostsDays ?? MOVE_TRANSITION_DAYS.default
  const after: OrgRow = {
    ...before,
    structure: 'nested',
    partnerHostsUntil: days > 0 ? now + days * DAY_MS : null,
    updatedAt: now,
  }
  try {
    await recordChange(
      d1,
      principal,
      {
        orgId: id,
        action: 'organization.move',
        targetType: 'organization',
        targetId: id,
        summary: { before: orgView(before), after: orgView(after), keepPartnerHostsDays: days },
      },
      now,
      // Still flat and as read: a second move, or any change of the customer meanwhile, fails the whole batch.
      ...guard(
        d1,
        "EXISTS (SELECT 1 FROM organizations WHERE id = ? AND kind = 'customer' AND structure = 'flat' AND updated_at = ?)",
        id,
        before.updatedAt,
      ),
      getDb(d1)
        .update(organizations)
        .set({ structure: 'nested', partnerHostsUntil: after.partnerHostsUntil, updatedAt: now })
        .where(and(eq(organizations.id, id), eq(organizations.structure, 'flat'))),
    )
  } catch (error) {
    if (!isGuardFailure(error)) throw error
    const current = await findOrg(d1, id)
    if (current && !isFlatCustomer(current)) throw cannotMove(current)
    throw new AppError(
      'conflict',
      `Customer "${before.name}" changed while it was being moved; nothing was written. Retry.`,
    )
  }
  // The hosts this isolate cached carry their organization's structure: they are read again.
  hostCache(config).clear()
  return after
}

/**
 * Ends a moved customer's transition now (`POST /orgs/{id}/move/finish`):
 * its partner's hosts stop serving it, only its own do. Guarded like the move.
 */
export async function finishMove(
  d1: D1Database,
  config: Config,
  principal: Principal,
  id: string,
  now: number,
): Promise<OrgRow> {
  const before = await orgInScope(d1, principal, id)
  refuseCustomerStaff(principal)
  const notInTransition = () =>
    new AppError(
      'no_transition',
      `"${before.name}" is not in a move's transition: its partner's hosts do not serve it, so there is nothing to end.`,
    )
  if (!inTransition(before, now)) throw notInTransition()
  const after: OrgRow = { ...before, partnerHostsUntil: now, updatedAt: now }
  try {
    await recordChange(
      d1,
      principal,
      {
        orgId: id,
        action: 'organization.move_finish',
        targetType: 'organization',
        targetId: id,
        summary: { before: orgView(before), after: orgView(after) },
      },
      now,
      ...guard(
        d1,
        'EXISTS (SELECT 1 FROM organizations WHERE id = ? AND partner_hosts_until > ? AND updated_at = ?)',
        id,
        now,
        before.updatedAt,
      ),
      getDb(d1)
        .update(organizations)
        .set({ partnerHostsUntil: now, updatedAt: now })
        .where(and(eq(organizations.id, id), gt(organizations.partnerHostsUntil, now))),
    )
  } catch (error) {
    if (!isGuardFailure(error)) throw error
    const current = await findOrg(d1, id)
    if (current && !inTransition(current, now)) throw notInTransition()
    throw new AppError('conflict', `"${before.name}" changed meanwhile; nothing was written. Retry.`)
  }
  hostCache(config).clear()
  return after
}
