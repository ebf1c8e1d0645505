/**
 * Organizations (ARCHITECTURE §2): partners under the provider, customers under a
 * partner, nested or flat. Creating, renaming and rebranding them, scoped to
 * the principal; every change with its audit row in the same batch.
 */
import { and, asc, eq, isNull } from 'drizzle-orm'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { inSubtree, notFound, orgInScope } from '../access/scope'
import { recordChange } from '../audit/write'
import type { Config } from '../config'
import { getDb } from '../db/client'
import { ORG_KINDS, ORG_STRUCTURES, type OrgRow, organizations } from '../db/schema'
import { AppError } from '../errors'
import { hostCache } from '../hosts/resolve'
import { boundedText, idParam } from '../lib/fields'
import { newId } from '../lib/ids'
import { iso } from '../lib/time'
import { isSafeLogoUrl } from '../tenancy/branding'

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
    createdAt: iso(org.createdAt),
    updatedAt: iso(org.updatedAt),
  }
}

export async function findOrg(d1: D1Database, id: string): Promise<OrgRow | undefined> {
  return getDb(d1).select().from(organizations).where(eq(organizations.id, id)).get()
}

/** The organizations the principal reaches; `parentId` null: partners only, a string: that partner's customers. */
export async function listOrgs(
  d1: D1Database,
  principal: Principal,
  filter: { parentId?: string | null },
): Promise<OrgRow[]> {
  const conditions = [inSubtree(principal, organizations.id)]
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

/** Who may create what: ops anything; a partner only customers of its own. */
async function checkParent(d1: D1Database, principal: Principal, input: CreateOrgInput): Promise<string | undefined> {
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
