/**
 * An organization's audit log in the console: every change to it (and, for
 * a partner, to its customers), newest first, as `audit/read.ts` reads it for
 * the acting principal within this organization; filters are a GET form
 * over the API's own query schema, paged by its cursor. Each row says who
 * changed what, and the summary shows what changed in a line or two.
 */
import type { Hono } from 'hono'
import type * as z from 'zod/mini'
import { type auditEntrySchema, auditQuerySchema, readAuditLog } from '../../audit/read'
import type { OrgRow } from '../../db/schema'
import { parseWith } from '../../http/validate'
import { listOrgs } from '../../orgs/service'
import type { ConsoleContext, ConsoleEnv } from '../context'
import { attempt } from '../forms'
import { orgPath, renderOrgPage } from '../render'
import { errorFor, Field, FormAlert, type FormProblem, Pager, Select, When } from '../ui'

type AuditEntry = z.output<typeof auditEntrySchema>

/** The filters a person sets; the scope (`within`) and the page size are the page's, never the query string's. */
const FILTERS = ['orgId', 'action', 'actor', 'since'] as const
const PAGE_SIZE = '50'

const TARGETS: Record<string, string> = {
  organization: 'Organization',
  hostname: 'Hostname',
  phone_system: 'Phone system',
  sso_list: 'SSO list',
  api_key: 'API key',
  scim_token: 'SCIM token',
  microsoft_integration: 'Microsoft integration',
  tenant: 'Tenant',
  staff: 'Staff',
}

// ---------------------------------------------------------------- summaries

/**
 * Summaries are written without secrets; a field named like one is still
 * never shown, so a careless future summary cannot put one on a page.
 */
const SECRET_FIELD = /(secret|token|password|hash)$/i
/** Fields every record view repeats: the row's own columns say them already. */
const QUIET_FIELDS = new Set(['id', 'organizationId', 'orgId', 'createdAt', 'updatedAt', 'createdBy'])
const MAX_TEXT = 160

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text
}

/** A value in one line: objects as `name: value` pairs, lists comma-separated, secrets hidden. */
function shown(value: unknown, name = ''): string {
  if (SECRET_FIELD.test(name) && value !== null && typeof value !== 'boolean') return '(hidden)'
  if (isEmpty(value)) return 'none'
  if (Array.isArray(value)) return clip(value.map((item) => shown(item)).join(', '))
  if (isRecord(value)) {
    return clip(
      Object.entries(value)
        .filter(([, v]) => !isEmpty(v))
        .map(([k, v]) => `${k}: ${shown(v, k)}`)
        .join(', '),
    )
  }
  return clip(String(value))
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** Nothing to say: null, an empty list, or an object of nothing but such values (a branding never set). */
const isEmpty = (value: unknown): boolean =>
  value === null ||
  value === undefined ||
  (Array.isArray(value) && value.length === 0) ||
  (isRecord(value) && Object.values(value).every(isEmpty))

interface Line {
  name?: string
  text: string
}

/**
 * What a summary says, a line per field: a change as `before → after` of the
 * fields that changed; a creation or a removal as the record's set fields;
 * anything else (counts, reasons) as it is.
 */
function summaryLines(summary: Record<string, unknown> | null): Line[] {
  if (!summary) return []
  const { before, after, ...rest } = summary
  const lines: Line[] = []
  const fieldsOf = (record: Record<string, unknown>) =>
    Object.entries(record).filter(([name, value]) => !QUIET_FIELDS.has(name) && !isEmpty(value))
  if (isRecord(before) && isRecord(after)) {
    const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((n) => !QUIET_FIELDS.has(n))
    for (const name of names) {
      if (!same(before[name], after[name])) {
        lines.push({ name, text: `${shown(before[name], name)} → ${shown(after[name], name)}` })
      }
    }
    if (lines.length === 0) lines.push({ text: 'Nothing changed.' })
  } else if (isRecord(after)) {
    for (const [name, value] of fieldsOf(after)) lines.push({ name, text: shown(value, name) })
  } else if (isRecord(before)) {
    lines.push({ text: 'Was:' })
    for (const [name, value] of fieldsOf(before)) lines.push({ name, text: shown(value, name) })
  } else if (before !== undefined || after !== undefined) {
    lines.push({ text: `${shown(before)} → ${shown(after)}` })
  }
  for (const [name, value] of Object.entries(rest)) lines.push({ name, text: shown(value, name) })
  return lines
}

function Summary({ summary }: { summary: Record<string, unknown> | null }) {
  const lines = summaryLines(summary)
  if (lines.length === 0) return <span class="muted">No details</span>
  return (
    <>
      {lines.map((line) => (
        <div>
          {line.name ? (
            <>
              <code>{line.name}</code>:{' '}
            </>
          ) : null}
          {line.text}
        </div>
      ))}
    </>
  )
}

// ---------------------------------------------------------------- the page

type Filters = Partial<Record<(typeof FILTERS)[number], string>>

function filtersOf(c: ConsoleContext, org: OrgRow): Filters {
  const filters: Filters = {}
  for (const name of FILTERS) {
    // A customer's log is its own: there is no organization to choose.
    if (name === 'orgId' && org.kind !== 'partner') continue
    const value = c.req.query(name)?.trim()
    if (value) filters[name] = value
  }
  return filters
}

function FilterForm({
  org,
  customers,
  filters,
  problem,
}: {
  org: OrgRow
  customers: OrgRow[]
  filters: Filters
  problem?: FormProblem
}) {
  const action = orgPath(org.id, '/audit')
  return (
    <section class="card" aria-labelledby="filters">
      <h2 id="filters">Filter</h2>
      <form method="get" action={action}>
        <FormAlert problem={problem} />
        {org.kind === 'partner' ? (
          <Select
            name="orgId"
            label="Organization"
            value={filters.orgId ?? ''}
            error={errorFor(problem, 'orgId')}
            options={[
              { value: '', label: `All: ${org.name} and its customers` },
              { value: org.id, label: `${org.name} only` },
              ...customers.map((customer) => ({ value: customer.id, label: customer.name })),
            ]}
          />
        ) : null}
        <Field
          name="action"
          label="Action"
          hint="Exactly, such as staff.add or api_key.revoke. Any action in the list below is a link that filters by it."
          value={filters.action}
          error={errorFor(problem, 'action')}
        />
        <Field
          name="actor"
          label="Who"
          hint="Exactly, such as staff:ann@contoso.com, key:key_… (an API key), ops or system."
          value={filters.actor}
          error={errorFor(problem, 'actor')}
        />
        <Field
          name="since"
          label="Since"
          hint="A date or a time in UTC, such as 2026-11-29 or 2026-11-29T08:00:00Z."
          value={filters.since}
          error={errorFor(problem, 'since')}
        />
        <div class="actions">
          <button type="submit">Filter</button>
          <a href={action}>Clear filters</a>
        </div>
      </form>
    </section>
  )
}

function AuditTable({
  org,
  entries,
  names,
  filters,
}: {
  org: OrgRow
  entries: AuditEntry[]
  names: Map<string, string>
  filters: Filters
}) {
  const base = orgPath(org.id, '/audit')
  const filterBy = (name: 'action' | 'actor' | 'orgId', value: string) =>
    `${base}?${new URLSearchParams({ ...filters, [name]: value })}`
  const showOrg = org.kind === 'partner'
  return (
    <div class="table-wrap">
      <table>
        <caption>
          {Object.keys(filters).length > 0 ? 'Changes, newest first (filtered)' : 'Changes, newest first'}
        </caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">Action</th>
            {showOrg ? <th scope="col">Organization</th> : null}
            <th scope="col">Target</th>
            <th scope="col">What changed</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr>
              <td>
                <When at={entry.at} />
              </td>
              <td>
                <a href={filterBy('actor', entry.actor)}>
                  <code>{entry.actor}</code>
                </a>
              </td>
              <td>
                <a href={filterBy('action', entry.action)}>
                  <code>{entry.action}</code>
                </a>
              </td>
              {showOrg ? (
                <td>
                  {entry.organizationId ? (
                    <a href={filterBy('orgId', entry.organizationId)}>
                      {names.get(entry.organizationId) ?? entry.organizationId}
                    </a>
                  ) : null}
                </td>
              ) : null}
              <td>
                {TARGETS[entry.targetType] ?? entry.targetType} <code>{entry.targetId}</code>
              </td>
              <td>
                <Summary summary={entry.summary} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

async function auditPage(c: ConsoleContext) {
  const { org, principal } = c.var.acting
  const filters = filtersOf(c, org)
  const customers = org.kind === 'partner' ? await listOrgs(c.env.DB, principal, { parentId: org.id }) : []
  const names = new Map([org, ...customers].map((o) => [o.id, o.name]))
  const cursor = c.req.query('cursor')
  const result = await attempt(async () =>
    readAuditLog(
      c.env.DB,
      principal,
      parseWith(auditQuerySchema, { ...filters, ...(cursor ? { cursor } : {}), within: org.id, limit: PAGE_SIZE }),
    ),
  )
  // A bad cursor has no field on the form: its problem goes above the form.
  const problem = result.ok
    ? undefined
    : result.problem.field && (FILTERS as readonly string[]).includes(result.problem.field)
      ? result.problem
      : { message: result.problem.message }
  return renderOrgPage(
    c,
    'audit',
    { title: 'Audit log', status: result.ok ? 200 : result.status },
    <>
      <p>
        Every change made to {org.name}
        {org.kind === 'partner' ? ' and its customers' : ''}, in the console, through the admin API or by the gateway
        itself, with who made it.
      </p>
      <FilterForm org={org} customers={customers} filters={filters} problem={problem} />
      {!result.ok ? null : result.value.entries.length === 0 ? (
        <p>No changes {Object.keys(filters).length > 0 ? 'match these filters' : 'yet'}.</p>
      ) : (
        <>
          <AuditTable org={org} entries={result.value.entries} names={names} filters={filters} />
          <Pager base={orgPath(org.id, '/audit')} query={filters} nextCursor={result.value.nextCursor} />
        </>
      )}
    </>,
  )
}

export function auditPages(app: Hono<ConsoleEnv>): void {
  app.get('/orgs/:orgId/audit', (c) => auditPage(c))
}
