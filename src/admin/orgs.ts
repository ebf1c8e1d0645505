import { and, asc, eq, inArray, isNull } from 'drizzle-orm'
import { getDb } from '../db/client'
import { newId } from '../db/ids'
import { organizations } from '../db/schema'
import { toStatement } from '../db/statements'
import { AppError } from '../errors'
import { auditStatement, type Principal } from './audit'
import { iso } from './json'
import type { CreateOrgInput, UpdateOrgInput } from './schemas'
import { orgInScope, orgNotFound, reachableOrgIds } from './scope'

export type OrgRow = typeof organizations.$inferSelect

export function orgJson(org: OrgRow) {
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

export async function listOrgs(
  d1: D1Database,
  principal: Principal,
  filter: { parentId?: string | null },
): Promise<OrgRow[]> {
  const conditions = []
  if (filter.parentId !== undefined) {
    conditions.push(
      filter.parentId === null ? isNull(organizations.parentId) : eq(organizations.parentId, filter.parentId),
    )
  }
  const reachable = await reachableOrgIds(d1, principal)
  if (reachable !== null) conditions.push(inArray(organizations.id, reachable))
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
    if (parentId !== principal.orgId) throw orgNotFound(parentId)
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
  await d1.batch([
    toStatement(d1, getDb(d1).insert(organizations).values(org)),
    auditStatement(
      d1,
      principal,
      {
        orgId: org.id,
        action: 'organization.create',
        targetType: 'organization',
        targetId: org.id,
        summary: { after: orgJson(org) },
      },
      now,
    ),
  ])
  return org
}

export async function updateOrg(
  d1: D1Database,
  principal: Principal,
  id: string,
  input: UpdateOrgInput,
  now: number,
): Promise<OrgRow> {
  const before = await orgInScope(d1, principal, id)
  const after: OrgRow = {
    ...before,
    name: input.name ?? before.name,
    displayName: input.branding?.displayName !== undefined ? input.branding.displayName : before.displayName,
    logoUrl: input.branding?.logoUrl !== undefined ? input.branding.logoUrl : before.logoUrl,
    accentColor: input.branding?.accentColor !== undefined ? input.branding.accentColor : before.accentColor,
    updatedAt: now,
  }
  await d1.batch([
    toStatement(
      d1,
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
    ),
    auditStatement(
      d1,
      principal,
      {
        orgId: id,
        action: 'organization.update',
        targetType: 'organization',
        targetId: id,
        summary: { before: orgJson(before), after: orgJson(after) },
      },
      now,
    ),
  ])
  return after
}
