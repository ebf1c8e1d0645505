/**
 * The sign-in log: an organization's recent sign-in attempts (the rows
 * `sign_in_attempts` keeps, `audit/sign-in-attempts.ts`), for its staff and
 * its partner. Scoped twice, both as subqueries (D1 allows 100 bound
 * parameters; a partner may have thousands of customers): to what the
 * principal reaches, and to the organization's own subtree (a partner and
 * its customers; a customer only itself). Newest first, paged by id.
 */
import { and, desc, eq, lt, or, type SQL, sql } from 'drizzle-orm'
import { alias, type SQLiteColumn } from 'drizzle-orm/sqlite-core'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { inSubtree, orgInScope } from '../access/scope'
import { getDb } from '../db/client'
import { type OrgRow, organizations, phoneSystems, signInAttempts } from '../db/schema'
import { iso } from '../lib/time'

export const SIGN_IN_LOG_PAGE = 50

export const SIGN_IN_RESULTS = ['success', 'failure', 'pending'] as const

/** The filters, as the API's query string and the console's filter form give them. */
export const signInLogQuerySchema = z.object({
  result: z.optional(z.enum(SIGN_IN_RESULTS)),
  reason: z.optional(
    z.string().check(z.regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a reason code such as not_listed or handoff')),
  ),
  hostname: z.optional(z.string().check(z.trim(), z.maxLength(253, 'must be at most 253 characters'), z.toLowerCase())),
  q: z.optional(
    z
      .string()
      .check(
        z.trim(),
        z.minLength(1, 'must not be empty'),
        z.maxLength(100, 'must be at most 100 characters'),
        z.toLowerCase(),
      ),
  ),
  cursor: z.optional(
    z.pipe(
      z.string().check(z.regex(/^\d{1,15}$/, 'is not a cursor this API returned')),
      z.transform((value: string) => Number(value)),
    ),
  ),
})

export type SignInLogQuery = z.output<typeof signInLogQuerySchema>

export const signInAttemptSchema = z.object({
  id: z.number(),
  at: z.string(),
  result: z.enum(SIGN_IN_RESULTS),
  /** `handoff`, `chooser`, `central_callback`, `console`, or the error code of a failure. */
  reason: z.string(),
  /** Microsoft's answer to an `entra_*` failure (its AADSTS number and error name). */
  detail: z.nullable(z.string()),
  step: z.string(),
  hostname: z.nullable(z.string()),
  organizationId: z.nullable(z.string()),
  organizationName: z.nullable(z.string()),
  phoneSystemId: z.nullable(z.string()),
  phoneSystemName: z.nullable(z.string()),
  tid: z.nullable(z.string()),
  oid: z.nullable(z.string()),
  /** The user's preferred_username (UPN), once Entra named them. */
  account: z.nullable(z.string()),
  /** The "Reference" the user's page showed. */
  correlationId: z.string(),
})

export type SignInAttemptView = z.output<typeof signInAttemptSchema>

export const signInLogSchema = z.object({
  attempts: z.array(signInAttemptSchema),
  nextCursor: z.nullable(z.string()),
})

/** The organization's own subtree: itself and, for a partner, its customers (a subquery, never a bound list). */
function ofOrgSubtree(org: OrgRow, column: SQLiteColumn): SQL {
  if (org.kind !== 'partner') return eq(column, org.id)
  return sql`${column} IN (SELECT ${organizations.id} FROM ${organizations} WHERE ${organizations.id} = ${org.id} OR ${organizations.parentId} = ${org.id})`
}

/** `orgId`'s sign-in attempts the principal may read (404 for an organization it does not reach). */
export async function readSignInLog(
  d1: D1Database,
  principal: Principal,
  orgId: string,
  query: SignInLogQuery,
): Promise<z.output<typeof signInLogSchema>> {
  const org = await orgInScope(d1, principal, orgId)
  // Aliased: the subtree's subquery reads `organizations` itself.
  const attemptOrg = alias(organizations, 'attempt_org')
  const conditions: Array<SQL | undefined> = [
    inSubtree(principal, signInAttempts.orgId),
    ofOrgSubtree(org, signInAttempts.orgId),
  ]
  if (query.result !== undefined) conditions.push(eq(signInAttempts.result, query.result))
  if (query.reason !== undefined) conditions.push(eq(signInAttempts.reason, query.reason))
  if (query.hostname !== undefined) conditions.push(eq(signInAttempts.hostname, query.hostname))
  if (query.q !== undefined) {
    // Accounts are stored lowercase; instr, unlike LIKE, gives no meaning to % or _ in what was typed.
    conditions.push(or(sql`instr(${signInAttempts.account}, ${query.q}) > 0`, eq(signInAttempts.oid, query.q)))
  }
  if (query.cursor !== undefined) conditions.push(lt(signInAttempts.id, query.cursor))
  const rows = await getDb(d1)
    .select({
      attempt: signInAttempts,
      organizationName: attemptOrg.name,
      phoneSystemName: phoneSystems.name,
    })
    .from(signInAttempts)
    .leftJoin(attemptOrg, eq(attemptOrg.id, signInAttempts.orgId))
    .leftJoin(phoneSystems, eq(phoneSystems.id, signInAttempts.phoneSystemId))
    .where(and(...conditions))
    .orderBy(desc(signInAttempts.id))
    .limit(SIGN_IN_LOG_PAGE + 1)
    .all()
  const page = rows.slice(0, SIGN_IN_LOG_PAGE)
  return {
    attempts: page.map(({ attempt, organizationName, phoneSystemName }) => ({
      id: attempt.id,
      at: iso(attempt.at),
      result: attempt.result,
      reason: attempt.reason,
      detail: attempt.detail,
      step: attempt.step,
      hostname: attempt.hostname,
      organizationId: attempt.orgId,
      organizationName,
      phoneSystemId: attempt.phoneSystemId,
      phoneSystemName,
      tid: attempt.tid,
      oid: attempt.oid,
      account: attempt.account,
      correlationId: attempt.correlationId,
    })),
    nextCursor: rows.length > SIGN_IN_LOG_PAGE ? String(page[page.length - 1]!.attempt.id) : null,
  }
}
