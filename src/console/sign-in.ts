/**
 * The end of a staff sign-in (ARCHITECTURE §7): `/sso/callback` on the
 * primary host hands over a console flow's verified identity. Staff get a
 * session and the console; anyone else gets the page that says who can
 * grant access, and no session.
 */
import type { Context } from 'hono'
import { AppError } from '../errors'
import type { AppEnv } from '../http/context'
import type { Identity } from '../oidc/identity'
import { noteAttempt } from '../signin/attempts'
import { clearFlowCookie } from '../signin/flow'
import { isOpsAdmin, membershipsOf, noteStaffSignIn, type StaffUser } from '../staff/membership'
import { seeOther } from './render'
import { startSession } from './session'

export async function consoleSignedIn(c: Context<AppEnv>, identity: Identity): Promise<Response> {
  const now = Date.now()
  // GUIDs are compared lowercase everywhere (staff records, OPS_ADMINS).
  const user: StaffUser = {
    tid: identity.tid.toLowerCase(),
    oid: identity.oid.toLowerCase(),
    upn: identity.upn,
    name: identity.name,
  }
  clearFlowCookie(c)
  // Pinned first: a UPN-only record becomes this oid's, so the memberships below include it. An ops admin's never
  // is: records naming them are not theirs to act through (`membershipsOf`), and would show their oid and sign-ins.
  if (!isOpsAdmin(c.var.config.opsAdmins, user)) await noteStaffSignIn(c.env.DB, user, now)
  const memberships = await membershipsOf(c.env.DB, c.var.config.opsAdmins, user)
  if (memberships.length === 0) {
    throw new AppError('not_staff', `Console sign-in by ${identity.tid}/${identity.oid}: staff of nothing`, {
      detail: `Signed in as ${identity.upn ?? identity.oid}`,
    })
  }
  await startSession(c, user, now)
  noteAttempt(c, { result: 'success', reason: 'console' })
  return seeOther(c as never, '/admin')
}
