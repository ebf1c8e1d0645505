/**
 * Rendering console pages: the shell with the session's user, the
 * organization's breadcrumbs and tabs, and the headers every HTML answer
 * gets (CSP with the nonce for the one stylesheet and script, `no-store`).
 */
import type { Child } from 'hono/jsx'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { OrgRow } from '../db/schema'
import { newNonce } from '../http/headers'
import { renderPage } from '../http/render'
import { staffLabel } from '../staff/membership'
import type { ConsoleContext } from './context'
import { ConsoleLayout, type Crumb, type Tab } from './layout'
import { Alert } from './ui'

/** Where an organization's pages live; every link to them is built here. */
export const orgPath = (orgId: string, page = '') => `/admin/orgs/${encodeURIComponent(orgId)}${page}`

export type OrgTab = 'overview' | 'hostnames' | 'phone-systems' | 'api-keys' | 'staff' | 'sign-ins' | 'audit'

const TABS: Array<{ tab: OrgTab; label: string; page: string; partnersOnly?: boolean }> = [
  { tab: 'overview', label: 'Overview', page: '' },
  { tab: 'hostnames', label: 'Hostnames', page: '/hostnames' },
  { tab: 'phone-systems', label: 'Phone systems', page: '/phone-systems' },
  { tab: 'api-keys', label: 'API keys', page: '/api-keys', partnersOnly: true },
  { tab: 'staff', label: 'Staff', page: '/staff' },
  { tab: 'sign-ins', label: 'Sign-in log', page: '/sign-ins' },
  { tab: 'audit', label: 'Audit log', page: '/audit' },
]

export function orgTabs(org: OrgRow, current: OrgTab): Tab[] {
  return TABS.filter((t) => !t.partnersOnly || org.kind === 'partner').map((t) => ({
    label: t.label,
    href: orgPath(org.id, t.page),
    current: t.tab === current,
  }))
}

/** Console home, then the partner (when the user reaches it), then the organization. */
export function orgCrumbs(org: OrgRow, parent: OrgRow | null, ...more: Crumb[]): Crumb[] {
  const crumbs: Crumb[] = [{ label: 'Organizations', href: '/admin' }]
  if (parent) crumbs.push({ label: parent.name, href: orgPath(parent.id) })
  crumbs.push({ label: org.name, href: orgPath(org.id) }, ...more)
  return crumbs
}

export interface ConsolePageOptions {
  title: string
  status?: ContentfulStatusCode
  crumbs?: Crumb[]
  tabs?: Tab[]
}

/** A console page for the signed-in user. */
export function renderConsole(c: ConsoleContext, options: ConsolePageOptions, body: Child): Promise<Response> {
  const nonce = newNonce()
  const session = c.get('session')
  return renderPage(
    c,
    options.status ?? 200,
    <ConsoleLayout
      title={options.title}
      nonce={nonce}
      crumbs={options.crumbs}
      tabs={options.tabs}
      providerName={c.var.config.providerDisplayName}
      user={
        session ? { label: session.user.name ?? staffLabel(session.user), csrfToken: session.csrfToken } : undefined
      }
    >
      {body}
    </ConsoleLayout>,
    { nonce, script: true },
  )
}

/** The page for an organization: its crumbs and tabs. */
export function renderOrgPage(
  c: ConsoleContext,
  tab: OrgTab,
  options: { title: string; status?: ContentfulStatusCode; crumbs?: Crumb[] },
  body: Child,
): Promise<Response> {
  const { org, parent, role } = c.var.acting
  return renderConsole(
    c,
    {
      title: options.title,
      status: options.status,
      crumbs: orgCrumbs(org, parent, ...(options.crumbs ?? [])),
      tabs: orgTabs(org, tab),
    },
    <>
      {role === 'viewer' ? (
        <Alert tone="info">You are a viewer here: you can see everything and change nothing.</Alert>
      ) : null}
      {body}
    </>,
  )
}

/** After a change: back to a page (Post/Redirect/Get), with a notice the page names by code. */
export function seeOther(c: ConsoleContext, path: string, notice?: string): Response {
  const location = notice ? `${path}${path.includes('?') ? '&' : '?'}done=${encodeURIComponent(notice)}` : path
  return c.body(null, 303, { Location: location, 'Cache-Control': 'no-store' })
}

/** The notice a page shows after a change, from its own fixed messages (`?done=` only picks one of them). */
export function noticeOf(c: ConsoleContext, messages: Record<string, string>): string | undefined {
  const done = c.req.query('done')
  return done !== undefined && Object.hasOwn(messages, done) ? messages[done] : undefined
}
