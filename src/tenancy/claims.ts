/**
 * Tenant proof (ARCHITECTURE §6): an Entra tenant id is a claim until an
 * administrator of that tenant proves it, or ops vouch for it. A proven
 * tenant belongs to one partner's subtree (`tenant_claims`); every phone
 * system of that subtree naming it carries the claim's status, every other
 * phone system naming it is `unverified` and serves nobody: no Sync, no
 * sign-in. The rule lives here; phone systems, the connect flow and ops'
 * release call it.
 */
import { and, asc, count, eq, gt, type SQL, sql } from 'drizzle-orm'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { recordChange } from '../audit/write'
import { getDb } from '../db/client'
import {
  type OrgRow,
  organizations,
  phoneSystems,
  type TenantClaimRow,
  type TenantStatus,
  tenantClaims,
} from '../db/schema'
import { guard, toStatement } from '../db/statements'
import { AppError } from '../errors'
import { guid } from '../lib/fields'
import { iso } from '../lib/time'
import { inPartnerSubtree, partnerIdOf } from './portal'

export async function findClaim(d1: D1Database, tid: string): Promise<TenantClaimRow | undefined> {
  return getDb(d1).select().from(tenantClaims).where(eq(tenantClaims.tid, tid)).get()
}

export function tenantClaimed(tid: string): AppError {
  return new AppError(
    'tenant_claimed',
    `The Microsoft 365 tenant ${tid} is already connected to another partner's organizations, so it cannot be named here. ` +
      'If it really belongs here, ask the provider to release it.',
    { field: 'entraTenantId' },
  )
}

/** 409 for a change decided on a claim that was released, proven or vouched for before it was written (a `nameTenant` guard). */
export function tenantChangedMeanwhile(tid: string): AppError {
  return new AppError(
    'conflict',
    `The phone system, or the connection of the Microsoft 365 tenant ${tid}, changed while this request was being processed; nothing was written. Retry.`,
    { field: 'entraTenantId' },
  )
}

/** Fails the batch if another partner's subtree claimed `tid` after it was read (two proofs at once). */
function unclaimedElsewhere(d1: D1Database, tid: string, partnerId: string): D1PreparedStatement[] {
  return guard(d1, 'NOT EXISTS (SELECT 1 FROM tenant_claims WHERE tid = ? AND partner_id != ?)', tid, partnerId)
}

/** The statement that gives every phone system of a subtree naming `tid` the status `status`. */
function statusOfSubtree(d1: D1Database, partnerId: string, tid: string, status: TenantStatus, now: number) {
  return toStatement(
    d1,
    getDb(d1)
      .update(phoneSystems)
      .set({ tenantStatus: status, updatedAt: now })
      .where(and(eq(phoneSystems.entraTenantId, tid), inPartnerSubtree(phoneSystems.orgId, partnerId)) as SQL),
  )
}

export interface TenantDecision {
  /** The status a phone system of `org` naming the tenant has from now on. */
  status: TenantStatus
  /** What records it (a new claim, the subtree's phone systems), to run in the same batch as the change. */
  statements: D1PreparedStatement[]
}

/**
 * Whether the principal may name a phone system's tenant. A customer's staff
 * may not: a tenant's claim counts for the whole partner subtree, so a
 * customer naming a tenant its partner already proved (or one a sibling's
 * administrator will prove) would read that sibling's directory. The partner
 * or the provider names tenants; a customer's staff then connect and sync.
 */
export function mayNameTenants(principal: Principal): boolean {
  return principal.kind !== 'customer'
}

/**
 * What naming tenant `tid` for a phone system of `org` means: refused (409
 * `tenant_claimed`) when another partner's subtree holds the tenant; the
 * subtree's own claim if it has one; else, with the ops key, vouched for
 * (`trusted`, for the whole subtree), with a partner key `unverified` until
 * an administrator of the tenant connects it. The statements re-check the
 * claim read here inside the batch: if it was released, proven or vouched
 * for meanwhile, the batch fails on a guard (`isGuardFailure`) and nothing
 * is written.
 */
export async function nameTenant(
  d1: D1Database,
  principal: Principal,
  org: Pick<OrgRow, 'id' | 'kind' | 'parentId'>,
  tid: string,
  now: number,
): Promise<TenantDecision> {
  if (!mayNameTenants(principal)) {
    throw new AppError(
      'forbidden',
      "Only the partner or the provider names a phone system's Microsoft 365 tenant; ask your partner to add or change it",
    )
  }
  const partnerId = partnerIdOf(org)
  const claim = await findClaim(d1, tid)
  if (claim && claim.partnerId !== partnerId) throw tenantClaimed(tid)
  if (claim) return { status: claim.status, statements: claimAsRead(d1, tid, claim) }
  if (principal.kind === 'ops') {
    return {
      status: 'trusted',
      statements: [
        ...claimAsRead(d1, tid, undefined),
        toStatement(
          d1,
          getDb(d1)
            .insert(tenantClaims)
            .values({
              tid,
              partnerId,
              status: 'trusted',
              proof: { by: principal.actor },
              createdAt: now,
              updatedAt: now,
            }),
        ),
        statusOfSubtree(d1, partnerId, tid, 'trusted', now),
      ],
    }
  }
  return { status: 'unverified', statements: claimAsRead(d1, tid, undefined) }
}

/**
 * Fails the batch unless the tenant's claim is still the one a decision was
 * read from: the same subtree's, with the same status, or still none. A
 * release (or a proof) committing between the read and the write would
 * otherwise leave a phone system `trusted` with no claim behind it.
 */
function claimAsRead(d1: D1Database, tid: string, claim: TenantClaimRow | undefined): D1PreparedStatement[] {
  return claim
    ? guard(
        d1,
        'EXISTS (SELECT 1 FROM tenant_claims WHERE tid = ? AND partner_id = ? AND status = ?)',
        tid,
        claim.partnerId,
        claim.status,
      )
    : guard(d1, 'NOT EXISTS (SELECT 1 FROM tenant_claims WHERE tid = ?)', tid)
}

/**
 * An administrator of `tid` connected it for `partnerId`'s subtree: the
 * claim (verified, with who proved it) and every phone system of the
 * subtree naming it. Refused when another subtree holds it meanwhile.
 */
export async function verifyTenant(
  d1: D1Database,
  partnerId: string,
  tid: string,
  proof: Record<string, unknown>,
  now: number,
): Promise<D1PreparedStatement[]> {
  const claim = await findClaim(d1, tid)
  if (claim && claim.partnerId !== partnerId) throw tenantClaimed(tid)
  // A trusted claim stays trusted (ops' word is not weakened); its proof gains the administrator's.
  const status = claim?.status ?? 'verified'
  return [
    ...unclaimedElsewhere(d1, tid, partnerId),
    toStatement(
      d1,
      getDb(d1)
        .insert(tenantClaims)
        .values({ tid, partnerId, status, proof, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({
          target: tenantClaims.tid,
          set: { status, proof, updatedAt: now },
          setWhere: eq(tenantClaims.partnerId, partnerId),
        }),
    ),
    statusOfSubtree(d1, partnerId, tid, status, now),
  ]
}

/** Ops release a tenant: no subtree holds it any more, and every phone system naming it is unverified. */
export function releaseStatements(d1: D1Database, claim: TenantClaimRow, now: number): D1PreparedStatement[] {
  return [
    toStatement(d1, getDb(d1).delete(tenantClaims).where(eq(tenantClaims.tid, claim.tid))),
    toStatement(
      d1,
      getDb(d1)
        .update(phoneSystems)
        .set({ tenantStatus: 'unverified', updatedAt: now })
        .where(eq(phoneSystems.entraTenantId, claim.tid)),
    ),
  ]
}

/** `POST /tenants/{tid}/release` (ops only): the tenant can be named and connected in another subtree afterwards. */
export async function releaseTenant(
  d1: D1Database,
  principal: Principal,
  tid: string,
  now: number,
): Promise<{ tid: string; partnerId: string; status: 'trusted' | 'verified' }> {
  if (principal.kind !== 'ops') throw new AppError('forbidden', 'Only the provider releases a tenant')
  const claim = await findClaim(d1, tid)
  if (!claim) throw new AppError('not_found', `The tenant ${tid} is not connected to any partner's organizations`)
  await recordChange(
    d1,
    principal,
    {
      orgId: claim.partnerId,
      action: 'tenant.release',
      targetType: 'tenant',
      targetId: tid,
      summary: { before: { partnerId: claim.partnerId, status: claim.status, proof: claim.proof } },
    },
    now,
    ...releaseStatements(d1, claim, now),
  )
  return { tid, partnerId: claim.partnerId, status: claim.status }
}

export const CLAIMS_PAGE = 50

/** The filters of the claims list: part of a tenant id, and where the previous page ended. */
export const claimsQuerySchema = z.object({
  q: z.optional(
    z
      .string()
      .check(
        z.trim(),
        z.regex(/^[0-9a-fA-F-]{1,36}$/, 'must be part of a tenant id (hexadecimal digits and dashes)'),
        z.toLowerCase(),
      ),
  ),
  cursor: z.optional(guid),
})

export type ClaimsQuery = z.output<typeof claimsQuerySchema>

export const claimSchema = z.object({
  tid: z.string(),
  partnerId: z.string(),
  partnerName: z.nullable(z.string()),
  status: z.enum(['trusted', 'verified']),
  /** Who vouched (`{by: "ops"}`) or proved it (the connect link and the administrator). */
  proof: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export type ClaimView = z.output<typeof claimSchema>

export const claimsPageSchema = z.object({ tenants: z.array(claimSchema), nextCursor: z.nullable(z.string()) })

function claimView(claim: TenantClaimRow, partnerName: string | null): ClaimView {
  return {
    tid: claim.tid,
    partnerId: claim.partnerId,
    partnerName,
    status: claim.status,
    proof: claim.proof,
    createdAt: iso(claim.createdAt),
    updatedAt: iso(claim.updatedAt),
  }
}

function opsOnly(principal: Principal, what: string): void {
  // Claims name every partner's tenants: only the provider sees them all.
  if (principal.kind !== 'ops') throw new AppError('forbidden', `Only the provider ${what}`)
}

/** `GET /tenants` (ops only): every claimed tenant, by tenant id, with the partner that holds it. */
export async function listClaims(
  d1: D1Database,
  principal: Principal,
  query: ClaimsQuery,
): Promise<z.output<typeof claimsPageSchema>> {
  opsOnly(principal, 'lists claimed tenants')
  const conditions: SQL[] = []
  if (query.q !== undefined) conditions.push(sql`instr(${tenantClaims.tid}, ${query.q}) > 0`)
  if (query.cursor !== undefined) conditions.push(gt(tenantClaims.tid, query.cursor))
  const rows = await getDb(d1)
    .select({ claim: tenantClaims, partnerName: organizations.name })
    .from(tenantClaims)
    .leftJoin(organizations, eq(organizations.id, tenantClaims.partnerId))
    .where(and(...conditions))
    .orderBy(asc(tenantClaims.tid))
    .limit(CLAIMS_PAGE + 1)
    .all()
  const page = rows.slice(0, CLAIMS_PAGE)
  return {
    tenants: page.map(({ claim, partnerName }) => claimView(claim, partnerName)),
    nextCursor: rows.length > CLAIMS_PAGE ? page[page.length - 1]!.claim.tid : null,
  }
}

/**
 * A claim as ops see it before releasing it (ops only; 404 when no subtree
 * holds the tenant): with the phone systems its release makes unverified.
 */
export async function claimBeforeRelease(
  d1: D1Database,
  principal: Principal,
  tid: string,
): Promise<{
  claim: ClaimView
  phoneSystems: { count: number; named: Array<{ id: string; name: string; orgName: string }> }
}> {
  opsOnly(principal, 'releases a tenant')
  const db = getDb(d1)
  const row = await db
    .select({ claim: tenantClaims, partnerName: organizations.name })
    .from(tenantClaims)
    .leftJoin(organizations, eq(organizations.id, tenantClaims.partnerId))
    .where(eq(tenantClaims.tid, tid))
    .get()
  if (!row) throw new AppError('not_found', `The tenant ${tid} is not connected to any partner's organizations`)
  const [total, named] = await Promise.all([
    db.select({ n: count() }).from(phoneSystems).where(eq(phoneSystems.entraTenantId, tid)).get(),
    db
      .select({ id: phoneSystems.id, name: phoneSystems.name, orgName: organizations.name })
      .from(phoneSystems)
      .innerJoin(organizations, eq(organizations.id, phoneSystems.orgId))
      .where(eq(phoneSystems.entraTenantId, tid))
      .orderBy(asc(organizations.name), asc(phoneSystems.name))
      .limit(20)
      .all(),
  ])
  return { claim: claimView(row.claim, row.partnerName), phoneSystems: { count: total?.n ?? 0, named } }
}
