/**
 * The admin console (ARCHITECTURE §7), under `/admin` on the primary host
 * only. This module holds the console's access rules, once:
 *
 * - a session (`session.ts`) or the sign-in page; staff sign in through the
 *   gateway's own flow on the primary host (`/admin/login` → Entra →
 *   `/sso/callback`, which hands a console flow to `sign-in.ts`);
 * - every POST is a same-origin form (`Sec-Fetch-Site`/`Origin`) carrying the
 *   session's CSRF token, read within the form limit before any handler;
 * - under `/admin/orgs/:orgId` the organization must be one the user's
 *   memberships reach (else the same 404 as a missing one), and a POST
 *   needs the admin role there (a viewer's POST is refused with 403);
 * - per session within the admin rate limit.
 *
 * Pages (`pages/`) call the same domain services as the admin API.
 */
import { Hono, type MiddlewareHandler } from 'hono'
import { AppError } from '../errors'
import { readBodyText } from '../http/body'
import type { AppEnv } from '../http/context'
import { NO_STORE_REDIRECT } from '../http/headers'
import { spendAllowance } from '../http/rate-limit'
import { sameOriginForms } from '../http/same-origin'
import { clientForOrg } from '../oidc/clients'
import { authorizationUrl, discover } from '../oidc/entra'
import { MULTI_TENANT } from '../oidc/tenant'
import { findOrg } from '../orgs/service'
import { callbackRoute } from '../signin/callback-uri'
import { startFlow } from '../signin/flow'
import { membershipFor, membershipsOf } from '../staff/membership'
import type { ConsoleEnv } from './context'
import { apiKeyPages } from './pages/api-keys'
import { auditPages } from './pages/audit'
import { hostnamePages } from './pages/hostnames'
import { opsPages } from './pages/ops'
import { orgPages, SignInPage } from './pages/orgs'
import { phoneSystemPages } from './pages/phone-systems'
import { signInLogPages } from './pages/sign-ins'
import { staffPages } from './pages/staff'
import { renderConsole, seeOther } from './render'
import { clearSessionCookie, csrfTokenMatches, currentSession, endSession, hasSessionCookie } from './session'
import { CSRF_FIELD } from './ui'

export const consoleApp = new Hono<ConsoleEnv>()

consoleApp.use('*', async (c, next) => {
  // Elsewhere than the primary host the console does not exist.
  if (c.var.site.kind !== 'primary') throw new AppError('page_not_found', 'Not found')
  await next()
})

/** Starts a staff sign-in: the primary host's flow on `organizations`, marked as a console sign-in. */
consoleApp.get('/login', async (c) => {
  const { config, site } = c.var
  const client = await clientForOrg(c.env.DB, config, null)
  const as = await discover(config, MULTI_TENANT)
  const { redirectUri } = callbackRoute(config, site)
  const request = await startFlow(c, { clientOrgId: null, redirectUri, tenant: MULTI_TENANT, purpose: 'console' })
  const target = authorizationUrl(client, as, { redirectUri, ...request })
  return c.body(null, 302, { ...NO_STORE_REDIRECT, Location: target.href })
})

const sameOrigin = sameOriginForms('forbidden', 'Cross-site form refused')

consoleApp.use('*', async (c, next) => {
  const now = Date.now()
  const session = await currentSession(c, now)
  if (!session) {
    // An ended session's cookie goes too, so the browser stops sending it.
    if (hasSessionCookie(c)) clearSessionCookie(c)
    if (c.req.method === 'GET' && (c.req.path === '/admin' || c.req.path === '/admin/')) {
      return renderConsole(c, { title: 'Sign in' }, <SignInPage />)
    }
    if (c.req.method === 'GET') return seeOther(c, '/admin')
    throw new AppError('session_expired', 'No console session')
  }
  c.set('session', session)
  await spendAllowance(c, 'ADMIN_RATE_LIMIT', `console:${session.id}`)
  const memberships = await membershipsOf(c.env.DB, c.var.config.opsAdmins, session.user)
  c.set('memberships', memberships)
  if (c.req.method === 'POST') {
    await sameOrigin(c, async () => {})
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/x-www-form-urlencoded') throw new AppError('forbidden', 'Console changes are form posts')
    const form = new URLSearchParams(await readBodyText(c, 'form'))
    if (!(await csrfTokenMatches(session, form.get(CSRF_FIELD)))) {
      throw new AppError('forbidden', 'The form is from another session; reload the page and try again')
    }
    c.set('form', form)
  }
  // Sign-out works for anyone signed in; everything else needs a membership.
  if (!(c.req.method === 'POST' && c.req.path === '/admin/logout') && memberships.length === 0) {
    throw new AppError('not_staff', `${session.user.tid}/${session.user.oid} is staff of nothing`)
  }
  await next()
})

consoleApp.post('/logout', async (c) => {
  await endSession(c, c.var.session, Date.now())
  return seeOther(c, '/admin')
})

/** Under an organization: reached through one of the user's memberships, and as admin for any change. */
const actOnOrg: MiddlewareHandler<AppEnv> = async (c, next) => {
  const orgId = c.req.param('orgId') ?? ''
  const org = orgId.length <= 64 ? await findOrg(c.env.DB, orgId) : undefined
  const membership = org ? membershipFor(c.var.memberships, org) : null
  if (!org || !membership) throw new AppError('page_not_found', 'Not found')
  if (c.req.method === 'POST' && membership.role !== 'admin') {
    throw new AppError('forbidden', 'A viewer can look at everything but change nothing')
  }
  const parentRow = org.parentId ? await findOrg(c.env.DB, org.parentId) : undefined
  const parent = parentRow && membershipFor(c.var.memberships, parentRow) ? parentRow : null
  c.set('acting', { org, parent, principal: membership.principal, role: membership.role })
  await next()
}
consoleApp.use('/orgs/:orgId', actOnOrg)
consoleApp.use('/orgs/:orgId/*', actOnOrg)

orgPages(consoleApp)
hostnamePages(consoleApp)
phoneSystemPages(consoleApp)
apiKeyPages(consoleApp)
staffPages(consoleApp)
signInLogPages(consoleApp)
auditPages(consoleApp)
opsPages(consoleApp)
