/**
 * An organization's console staff: who may use the console for it, as admin
 * or viewer; adding someone by UPN within their Microsoft 365 tenant (the
 * record is linked to their account at their first sign-in), changing a
 * role, removing someone after a confirmation page. Memberships are read
 * from D1 on every request, so a change applies at the person's next click.
 * The rules, the self-lockout one included, are `staff/service.ts`'s.
 */
import type { Hono } from 'hono'
import type { OrgRow, StaffRow } from '../../db/schema'
import { AppError } from '../../errors'
import { isRecordOf, membershipFor } from '../../staff/membership'
import {
  addStaff,
  addStaffSchema,
  getStaff,
  keysEndingWith,
  listStaff,
  removeStaff,
  updateStaffRole,
  updateStaffSchema,
} from '../../staff/service'
import type { ConsoleContext, ConsoleEnv } from '../context'
import { type Attempt, attempt, parseForm } from '../forms'
import { noticeOf, orgPath, renderOrgPage, seeOther } from '../render'
import { Alert, Badge, CsrfField, errorFor, Field, FormAlert, type FormProblem, PostButton, Select, When } from '../ui'

const NOTICES = {
  added: 'Added. They get access when they sign in to the console with that account.',
  role: 'Role changed: it applies from their next click.',
  removed: 'Removed: their access ended.',
}

type Failure = Extract<Attempt<unknown>, { ok: false }>

/** Who a record is, as people read it: the UPN, or the object id of a record made by oid. */
const who = (row: StaffRow) => row.upn ?? row.oid ?? row.id

/** A staff record of the organization acted on; one elsewhere is not found here, whoever reaches it. */
async function recordOfOrg(c: ConsoleContext): Promise<StaffRow> {
  const { org, principal } = c.var.acting
  const row = await getStaff(c.env.DB, principal, c.req.param('staffId') ?? '')
  if (row.orgId !== org.id) throw new AppError('page_not_found', 'Not found')
  return row
}

function RoleBadge({ role }: { role: StaffRow['role'] }) {
  return role === 'admin' ? <Badge tone="ok">Admin</Badge> : <Badge tone="neutral">Viewer</Badge>
}

function StaffTable({
  org,
  rows,
  caption,
  me,
  actions,
}: {
  org: OrgRow
  rows: StaffRow[]
  caption: string
  me: ConsoleContext['var']['session']['user']
  /** The session's CSRF token when the rows can be changed here. */
  actions?: { csrfToken: string }
}) {
  return (
    <div class="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Tenant id</th>
            <th scope="col">Role</th>
            <th scope="col">Account</th>
            <th scope="col">Last sign-in</th>
            <th scope="col">Added</th>
            {actions ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr>
              <td>
                {row.upn ?? <code>{row.oid}</code>}
                {isRecordOf(row, me) ? (
                  <>
                    {' '}
                    <Badge tone="neutral">You</Badge>
                  </>
                ) : null}
              </td>
              <td>
                <code>{row.tid}</code>
              </td>
              <td>
                <RoleBadge role={row.role} />
              </td>
              <td>
                {row.oid ? (
                  <>
                    Linked: <code>{row.oid}</code>
                  </>
                ) : (
                  <Badge tone="warn">Not signed in yet</Badge>
                )}
              </td>
              <td>
                <When at={row.lastSignInAt} />
              </td>
              <td>
                <When at={row.createdAt} /> by <code>{row.createdBy}</code>
              </td>
              {actions ? (
                <td>
                  <div class="actions">
                    <PostButton
                      action={orgPath(org.id, `/staff/${encodeURIComponent(row.id)}/role`)}
                      csrfToken={actions.csrfToken}
                      fields={{ role: row.role === 'admin' ? 'viewer' : 'admin' }}
                      label={row.role === 'admin' ? 'Make viewer' : 'Make admin'}
                      accessibleName={`${row.role === 'admin' ? 'Make viewer' : 'Make admin'}: ${who(row)}`}
                      variant="small"
                    />
                    <a
                      href={orgPath(org.id, `/staff/${encodeURIComponent(row.id)}/remove`)}
                      aria-label={`Remove ${who(row)}`}
                    >
                      Remove…
                    </a>
                  </div>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function AddStaffForm({
  org,
  csrfToken,
  tid,
  problem,
  values,
}: {
  org: OrgRow
  csrfToken: string
  tid: string
  problem?: FormProblem
  values?: URLSearchParams
}) {
  const reach = org.kind === 'partner' ? `${org.name} and its customers` : org.name
  return (
    <section class="card" aria-labelledby="add-staff">
      <h2 id="add-staff">Add staff</h2>
      <form method="post" action={orgPath(org.id, '/staff')}>
        <CsrfField token={csrfToken} />
        <FormAlert problem={problem} />
        <Field
          name="upn"
          label="User principal name"
          hint="The name they sign in to Microsoft 365 with, such as ann@contoso.com. Their account is linked to this record at their first sign-in."
          value={values?.get('upn')}
          error={errorFor(problem, 'upn')}
          autocomplete="off"
          required
        />
        <Field
          name="tid"
          label="Tenant id"
          hint="The Microsoft 365 tenant of their account (a GUID). Filled in with your own tenant; change it for someone from another organization."
          value={values ? values.get('tid') : tid}
          error={errorFor(problem, 'tid')}
          required
        />
        <Select
          name="role"
          label="Role"
          value={values?.get('role') ?? 'viewer'}
          error={errorFor(problem, 'role')}
          hint={`Admin: sees and changes everything of ${reach}, staff included. Viewer: sees everything and changes nothing.`}
          options={[
            { value: 'viewer', label: 'Viewer: read only' },
            { value: 'admin', label: 'Admin' },
          ]}
        />
        <div class="actions">
          <button type="submit">Add staff</button>
        </div>
      </form>
    </section>
  )
}

/**
 * A customer's partner's staff, who reach the customer too: read through the
 * user's own way into the partner, if they have one; null when the
 * organization is a partner, "not listed" when the user cannot see them.
 */
async function partnerStaffOf(c: ConsoleContext): Promise<{ parent: OrgRow; rows: StaffRow[] } | 'not listed' | null> {
  const { org, parent } = c.var.acting
  if (org.kind !== 'customer') return null
  const through = parent ? membershipFor(c.var.memberships, parent) : null
  if (!parent || !through) return 'not listed'
  return { parent, rows: await listStaff(c.env.DB, through.principal, parent.id) }
}

function PartnerStaff({
  partnerStaff,
  me,
}: {
  partnerStaff: Awaited<ReturnType<typeof partnerStaffOf>>
  me: ConsoleContext['var']['session']['user']
}) {
  if (partnerStaff === null) return null
  if (partnerStaff === 'not listed') return <p class="muted">The staff of this customer's partner reach it too.</p>
  const { parent, rows } = partnerStaff
  return (
    <section aria-labelledby="partner-staff">
      <h2 id="partner-staff">Staff of {parent.name}</h2>
      <p>
        They reach this customer too. <a href={orgPath(parent.id, '/staff')}>Manage them on the partner's page</a>
      </p>
      <StaffTable org={parent} rows={rows} caption={`Staff of ${parent.name} (${rows.length})`} me={me} />
    </section>
  )
}

async function staffPage(c: ConsoleContext, failure?: { form: 'add' | 'row' } & Failure) {
  const { org, principal, role } = c.var.acting
  const canChange = role === 'admin'
  const rows = await listStaff(c.env.DB, principal, org.id)
  const partnerStaff = await partnerStaffOf(c)
  const notice = noticeOf(c, NOTICES)
  const csrfToken = c.var.session.csrfToken
  return renderOrgPage(
    c,
    'staff',
    { title: 'Staff', status: failure?.status },
    <>
      {notice ? <Alert tone="ok">{notice}</Alert> : null}
      {failure?.form === 'row' ? <Alert tone="error">{failure.problem.message}</Alert> : null}
      <p>
        Staff sign in to this console with their Microsoft 365 account. Changes apply at their next click; a removed
        person's access ends at once.
      </p>
      {rows.length > 0 ? (
        <StaffTable
          org={org}
          rows={rows}
          caption={`Staff of ${org.name} (${rows.length})`}
          me={c.var.session.user}
          actions={canChange ? { csrfToken } : undefined}
        />
      ) : (
        <p>{org.name} has no staff of its own yet.</p>
      )}
      <PartnerStaff partnerStaff={partnerStaff} me={c.var.session.user} />
      <p class="muted">The provider's ops admins reach every organization; they are configured, not listed here.</p>
      {canChange ? (
        <AddStaffForm
          org={org}
          csrfToken={csrfToken}
          tid={c.var.session.user.tid}
          problem={failure?.form === 'add' ? failure.problem : undefined}
          values={failure?.form === 'add' ? c.var.form : undefined}
        />
      ) : null}
    </>,
  )
}

async function removePage(c: ConsoleContext) {
  const { org, role } = c.var.acting
  const row = await recordOfOrg(c)
  const listPath = orgPath(org.id, '/staff')
  const yours = isRecordOf(row, c.var.session.user)
  const keys = await keysEndingWith(c.env.DB, row)
  return renderOrgPage(
    c,
    'staff',
    { title: `Remove ${who(row)}`, crumbs: [{ label: 'Staff', href: listPath }, { label: 'Remove' }] },
    <section class="card">
      <dl class="facts">
        <dt>User</dt>
        <dd>{who(row)}</dd>
        <dt>Tenant id</dt>
        <dd>
          <code>{row.tid}</code>
        </dd>
        <dt>Role</dt>
        <dd>
          <RoleBadge role={row.role} />
        </dd>
      </dl>
      {role !== 'admin' ? (
        <p>
          Only an admin can remove staff. <a href={listPath}>Back to staff</a>
        </p>
      ) : (
        <form method="post" action={orgPath(org.id, `/staff/${encodeURIComponent(row.id)}/remove`)}>
          <CsrfField token={c.var.session.csrfToken} />
          <p>
            {yours ? 'This is your own record. ' : ''}
            Their access to {org.name} through this record ends at their next click. To give it back, add them again.
          </p>
          {keys.length > 0 ? (
            <p>
              The {keys.length === 1 ? 'API key' : `${keys.length} API keys`} they created for {org.name} (
              {keys.map((key) => key.prefix).join(', ')}) {keys.length === 1 ? 'is' : 'are'} revoked with it.
            </p>
          ) : null}
          <div class="actions">
            <button type="submit" class="danger">
              Remove
            </button>
            <a href={listPath}>Cancel</a>
          </div>
        </form>
      )}
    </section>,
  )
}

export function staffPages(app: Hono<ConsoleEnv>): void {
  app.get('/orgs/:orgId/staff', (c) => staffPage(c))

  app.post('/orgs/:orgId/staff', async (c) => {
    const { org, principal } = c.var.acting
    const result = await attempt(async () =>
      addStaff(c.env.DB, principal, org.id, parseForm(addStaffSchema, c.var.form, ['upn', 'tid', 'role']), Date.now()),
    )
    if (!result.ok) return staffPage(c, { form: 'add', ...result })
    return seeOther(c, orgPath(org.id, '/staff'), 'added')
  })

  app.post('/orgs/:orgId/staff/:staffId/role', async (c) => {
    const { org, principal } = c.var.acting
    const row = await recordOfOrg(c)
    const result = await attempt(async () => {
      const { role } = parseForm(updateStaffSchema, c.var.form, ['role'])
      return updateStaffRole(c.env.DB, principal, row.id, role, Date.now())
    })
    if (!result.ok) return staffPage(c, { form: 'row', ...result })
    return seeOther(c, orgPath(org.id, '/staff'), 'role')
  })

  app.get('/orgs/:orgId/staff/:staffId/remove', (c) => removePage(c))

  app.post('/orgs/:orgId/staff/:staffId/remove', async (c) => {
    const { org, principal } = c.var.acting
    const row = await recordOfOrg(c)
    const result = await attempt(async () => removeStaff(c.env.DB, principal, row.id, Date.now()))
    if (!result.ok) return staffPage(c, { form: 'row', ...result })
    return seeOther(c, orgPath(org.id, '/staff'), 'removed')
  })
}
