/**
 * A phone system's SSO list as partners handle it: replaced whole
 * (`PUT …/sso-users`) and read page by page (the seed's eye icon), scoped to
 * the principal.
 */
import { base64url } from 'jose'
import * as z from 'zod/mini'
import type { Principal } from '../access/principal'
import { orgInScope } from '../access/scope'
import { auditStatement } from '../audit/write'
import { AppError } from '../errors'
import { guid, wholeNumber } from '../lib/fields'
import { iso } from '../lib/time'
import { getPhoneSystem } from '../phone-systems/service'
import { isScimPushed, listPushedByScim } from '../phone-systems/sync-source'
import { DuplicateSsoUserError, type ReplaceCounts } from './plan'
import { countSsoUsers, listSizesOfOrg, listSsoUsers, replaceSsoList } from './store'
import type { SsoUser, SsoUserFields } from './types'

/** The most users one list may hold, whether it is PUT or synced. */
export const MAX_SSO_USERS = 50_000

const EMAIL_LIKE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const EXTENSION = /^[0-9A-Za-z*#+.-]{1,32}$/

export const emailLike = (what: string) =>
  z
    .string()
    .check(
      z.trim(),
      z.maxLength(256, 'must be at most 256 characters'),
      z.regex(EMAIL_LIKE, `must be ${what} such as user@contoso.com`),
      z.toLowerCase(),
    )

export const ssoUserInputSchema = z
  .strictObject({
    oid: z.optional(guid),
    upn: z.optional(emailLike('a user principal name')),
    email: z.optional(emailLike('an email address')),
    displayName: z.optional(z.string().check(z.trim(), z.maxLength(256, 'must be at most 256 characters'))),
    extension: z.optional(z.string().check(z.regex(EXTENSION, 'must be 1 to 32 letters, digits or * # + . -'))),
  })
  .check(
    z.refine(
      (u) => u.oid !== undefined || u.upn !== undefined || u.email !== undefined,
      'needs at least one of "oid", "upn" or "email"',
    ),
  )

export const replaceSsoUsersSchema = z.strictObject({
  users: z.array(ssoUserInputSchema).check(z.maxLength(MAX_SSO_USERS, `must hold at most ${MAX_SSO_USERS} users`)),
})

export type SsoUserInput = z.output<typeof ssoUserInputSchema>

export const replaceCountsSchema = z.object({
  added: z.number(),
  removed: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  total: z.number(),
})

export const ssoUserSchema = z.object({
  id: z.string(),
  tid: z.string(),
  oid: z.nullable(z.string()),
  upn: z.nullable(z.string()),
  email: z.nullable(z.string()),
  displayName: z.nullable(z.string()),
  extension: z.nullable(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export const ssoUserPageSchema = z.object({ users: z.array(ssoUserSchema), nextCursor: z.nullable(z.string()) })

export function ssoUserView(user: SsoUser): z.output<typeof ssoUserSchema> {
  return {
    id: user.id,
    tid: user.tid,
    oid: user.oid,
    upn: user.upn,
    email: user.email,
    displayName: user.displayName,
    extension: user.extension,
    createdAt: iso(user.createdAt),
    updatedAt: iso(user.updatedAt),
  }
}

function toFields(user: SsoUserInput): SsoUserFields {
  return {
    oid: user.oid ?? null,
    upn: user.upn ?? null,
    email: user.email ?? null,
    displayName: user.displayName || null,
    extension: user.extension ?? null,
  }
}

/** `PUT …/sso-users`: the whole list, replaced atomically. */
export async function putSsoUsers(
  d1: D1Database,
  principal: Principal,
  phoneSystemId: string,
  users: readonly SsoUserInput[],
  now: number,
): Promise<ReplaceCounts> {
  const phoneSystem = await getPhoneSystem(d1, principal, phoneSystemId)
  // One writer per list; a switch to SCIM meanwhile bumps the list's version, so the replace's guard refuses too.
  if (isScimPushed(phoneSystem)) throw listPushedByScim()
  try {
    const { statements: _statements, ...counts } = await replaceSsoList(d1, phoneSystem, users.map(toFields), {
      now,
      alsoRun: (c) => [
        auditStatement(
          d1,
          principal,
          {
            orgId: phoneSystem.orgId,
            action: 'sso_list.replace',
            targetType: 'sso_list',
            targetId: phoneSystem.id,
            summary: { ...c },
          },
          now,
        ),
      ],
    })
    return counts
  } catch (error) {
    if (error instanceof DuplicateSsoUserError) {
      const field = `users[${error.index}].${error.field}`
      throw new AppError('invalid_request', `"${field}" repeats the ${error.field} of users[${error.firstIndex}]`, {
        field,
      })
    }
    throw error
  }
}

interface Position {
  sortKey: string
  id: string
}

const cursorSchema = z.pipe(
  z.string().check(z.maxLength(2048, 'is not a cursor this API returned')),
  z.transform((cursor: string, ctx): Position => {
    try {
      const value: unknown = JSON.parse(new TextDecoder().decode(base64url.decode(cursor)))
      if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
        return { sortKey: value[0], id: value[1] }
      }
    } catch {
      // not ours
    }
    ctx.issues.push({ code: 'custom', input: cursor, message: 'is not a cursor this API returned' })
    return z.NEVER
  }),
)

function encodeCursor(position: Position): string {
  return base64url.encode(JSON.stringify([position.sortKey, position.id]))
}

export const ssoUserPageQuerySchema = z.object({
  q: z.optional(z.string().check(z.maxLength(256, 'must be at most 256 characters'))),
  cursor: z.optional(cursorSchema),
  limit: wholeNumber(1, 1000, 100),
})

/** `GET …/sso-users`: one page in name order, with an opaque cursor for the next. */
export async function getSsoUsersPage(
  d1: D1Database,
  principal: Principal,
  phoneSystemId: string,
  query: z.output<typeof ssoUserPageQuerySchema>,
): Promise<z.output<typeof ssoUserPageSchema>> {
  await getPhoneSystem(d1, principal, phoneSystemId)
  const page = await listSsoUsers(d1, phoneSystemId, {
    q: query.q?.trim() || undefined,
    cursor: query.cursor,
    limit: query.limit,
  })
  return { users: page.users.map(ssoUserView), nextCursor: page.next ? encodeCursor(page.next) : null }
}

/** The counts beside a page of the list: the users on it, and those the search matches (all of them without one). */
export async function getSsoUserCounts(
  d1: D1Database,
  principal: Principal,
  phoneSystemId: string,
  q: string | undefined,
): Promise<{ total: number; matching: number }> {
  await getPhoneSystem(d1, principal, phoneSystemId)
  return countSsoUsers(d1, phoneSystemId, q?.trim() || undefined)
}

/** How many users the list of each phone system of `orgId` holds (absent: none). */
export async function getListSizes(d1: D1Database, principal: Principal, orgId: string): Promise<Map<string, number>> {
  await orgInScope(d1, principal, orgId)
  return listSizesOfOrg(d1, orgId)
}
