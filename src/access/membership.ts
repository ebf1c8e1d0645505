/**
 * The console's view of who is acting (ARCHITECTURE §7), as types only: a
 * signed-in user, their session, their memberships and the organization a
 * request acts on. Kept here, beside `Principal`, so that the request context
 * (`http/context.ts`) can name them without depending on `staff/`.
 */
import type { EntraUserRef } from '../config'
import type { OrgRow, StaffRole } from '../db/schema'
import type { Principal } from './principal'

/** A console user, as their session knows them. */
export interface StaffUser extends EntraUserRef {
  upn: string | null
  name: string | null
}

/** A signed-in console session (`console/session.ts` keeps it): whose it is, and its CSRF token. */
export interface ConsoleSession {
  id: string
  user: StaffUser
  csrfToken: string
  expiresAt: number
}

/** The organization a console request acts on, and as whom (`console/app.tsx` decides it). */
export interface Acting {
  org: OrgRow
  /** The organization's partner, when the user reaches it too (breadcrumbs); null otherwise. */
  parent: OrgRow | null
  principal: Principal
  role: StaffRole
}

export interface Membership {
  /** Null for ops (OPS_ADMINS): every organization. */
  org: OrgRow | null
  role: StaffRole
  principal: Principal
}
