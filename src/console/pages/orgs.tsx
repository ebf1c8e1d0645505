/**
 * Organizations in the console: the sign-in page, the home page (the
 * organizations the user is staff of, or every partner for ops, with
 * search), an organization's overview (its facts, its customers for a
 * partner, creating a customer, rebranding, moving a flat customer to a
 * portal of its own). The rules are `orgs/service.ts`'s.
 */
import type { Hono } from 'hono'
import { OPS } from '../../access/principal'
import type { OrgRow } from '../../db/schema'
import { AppError } from '../../errors'
import { parseWith } from '../../http/validate'
import {
  createOrg,
  createOrgSchema,
  finishMove,
  listOrgs,
  moveOrg,
  moveOrgSchema,
  updateOrg,
  updateOrgSchema,
} from '../../orgs/service'
import type { Membership } from '../../staff/membership'
import { inTransition, isFlatCustomer } from '../../tenancy/portal'
import type { ConsoleContext, ConsoleEnv } from '../context'
import { attempt, parseForm } from '../forms'
import { noticeOf, orgPath, renderConsole, renderOrgPage, seeOther } from '../render'
import { Alert, Badge, CsrfField, errorFor, Field, FormAlert, type FormProblem, PostButton, Select, When } from '../ui'

export function SignInPage() {
  return (
    <section class="card">
      <p>Partners and the provider manage sign-in domains, phone systems and their single sign-on lists here.</p>
      <p>
        <a class="btn" href="/admin/login" id="sign-in">
          Sign in with Microsoft
        </a>
      </p>
      <p class="muted">Use the work account your console access was granted to.</p>
    </section>
  )
}

/** How an organization is shown in lists: its kind, and for a customer where its users sign in. */
export function OrgKind({ org }: { org: OrgRow }) {
  if (org.kind === 'partner') return <Badge tone="neutral">Partner</Badge>
  return org.structure === 'flat' ? (
    <Badge tone="neutral">Flat: lives in its partner's portal</Badge>
  ) : (
    <Badge tone="ok">Nested: its own portal</Badge>
  )
}

function RoleBadge({ role }: { role: Membership['role'] }) {
  return role === 'admin' ? <Badge tone="ok">Admin</Badge> : <Badge tone="neutral">Viewer: read only</Badge>
}

function OrgTable({
  orgs,
  caption,
  roles,
}: {
  orgs: OrgRow[]
  caption: string
  roles?: Map<string, Membership['role']>
}) {
  return (
    <div class="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            {roles ? <th scope="col">Your role</th> : null}
            <th scope="col">Id</th>
          </tr>
        </thead>
        <tbody>
          {orgs.map((org) => (
            <tr>
              <td>
                <a href={orgPath(org.id)}>{org.name}</a>
              </td>
              <td>
                <OrgKind org={org} />
              </td>
              {roles ? (
                <td>
                  <RoleBadge role={roles.get(org.id) ?? 'viewer'} />
                </td>
              ) : null}
              <td>
                <code>{org.id}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function SearchForm({ action, q, label }: { action: string; q: string; label: string }) {
  return (
    <form method="get" action={action} class="search">
      <div>
        <label for="q">{label}</label>
        <input type="search" id="q" name="q" value={q} maxlength={100} />
      </div>
      <button type="submit" class="secondary">
        Search
      </button>
    </form>
  )
}

const NOTICES = {
  created: 'Organization created.',
  updated: 'Saved.',
  moved: "Moved: the customer is now a portal of its own. Its partner's hosts keep serving it during the transition.",
  finished: "Transition ended: only the customer's own hosts serve it now.",
}

function NewPartnerForm({
  csrfToken,
  problem,
  values,
}: {
  csrfToken: string
  problem?: FormProblem
  values?: URLSearchParams
}) {
  return (
    <section class="card" aria-labelledby="new-partner">
      <h2 id="new-partner">Create a partner</h2>
      <form method="post" action="/admin/partners">
        <CsrfField token={csrfToken} />
        <FormAlert problem={problem} />
        <Field
          name="name"
          label="Partner name"
          value={values?.get('name')}
          error={errorFor(problem, 'name')}
          required
        />
        <div class="actions">
          <button type="submit">Create partner</button>
        </div>
      </form>
    </section>
  )
}

async function home(c: ConsoleContext, problem?: FormProblem, status?: 400 | 409) {
  const q = (c.req.query('q') ?? '').slice(0, 100)
  const { memberships, session } = c.var
  const isOps = memberships.some((m) => m.org === null)
  const notice = noticeOf(c, NOTICES)
  if (isOps) {
    const partners = await listOrgs(c.env.DB, OPS, { parentId: null, ...(q ? { q } : {}) })
    return renderConsole(
      c,
      { title: 'Organizations', status },
      <>
        {notice ? <Alert tone="ok">{notice}</Alert> : null}
        <p>
          You are an ops admin of the provider: every partner and customer. <a href="/admin/ops">Health and tenants</a>
        </p>
        <SearchForm action="/admin" q={q} label="Search partners by name" />
        <OrgTable orgs={partners} caption={`Partners (${partners.length})`} />
        <NewPartnerForm csrfToken={session.csrfToken} problem={problem} values={c.var.form} />
      </>,
    )
  }
  const roles = new Map(memberships.flatMap((m) => (m.org ? [[m.org.id, m.role] as const] : [])))
  const roots = memberships.flatMap((m) =>
    m.org && (!q || m.org.name.toLowerCase().includes(q.toLowerCase())) ? [m.org] : [],
  )
  return renderConsole(
    c,
    { title: 'Organizations', status },
    <>
      {notice ? <Alert tone="ok">{notice}</Alert> : null}
      <SearchForm action="/admin" q={q} label="Search your organizations by name" />
      <OrgTable orgs={roots} caption="Organizations you are staff of" roles={roles} />
      <p class="muted">A partner's customers are listed on the partner's page.</p>
    </>,
  )
}

function NewCustomerForm({
  org,
  csrfToken,
  problem,
  values,
}: {
  org: OrgRow
  csrfToken: string
  problem?: FormProblem
  values?: URLSearchParams
}) {
  return (
    <section class="card" aria-labelledby="new-customer">
      <h2 id="new-customer">Add a customer</h2>
      <form method="post" action={orgPath(org.id, '/customers')}>
        <CsrfField token={csrfToken} />
        <FormAlert problem={problem} />
        <Field
          name="name"
          label="Customer name"
          value={values?.get('name')}
          error={errorFor(problem, 'name')}
          required
        />
        <Select
          name="structure"
          label="Portal"
          value={values?.get('structure') ?? 'nested'}
          error={errorFor(problem, 'structure')}
          hint="Nested: the customer gets a portal of its own (its own hostnames and Microsoft integration). Flat: its users sign in on your portal's hosts."
          options={[
            { value: 'nested', label: 'Nested: its own portal' },
            { value: 'flat', label: "Flat: lives in this partner's portal" },
          ]}
        />
        <div class="actions">
          <button type="submit">Add customer</button>
        </div>
      </form>
    </section>
  )
}

function BrandingForm({
  org,
  csrfToken,
  problem,
  values,
}: {
  org: OrgRow
  csrfToken: string
  problem?: FormProblem
  values?: URLSearchParams
}) {
  const value = (name: string, current: string | null) => (values ? values.get(name) : current)
  return (
    <section class="card" aria-labelledby="branding">
      <h2 id="branding">Name and branding</h2>
      <form method="post" action={orgPath(org.id, '/edit')}>
        <CsrfField token={csrfToken} />
        <FormAlert problem={problem} />
        <Field name="name" label="Name" value={value('name', org.name)} error={errorFor(problem, 'name')} required />
        <Field
          name="branding.displayName"
          label="Display name on login pages"
          value={value('branding.displayName', org.displayName)}
          error={errorFor(problem, 'branding.displayName')}
        />
        <Field
          name="branding.logoUrl"
          label="Logo URL"
          type="url"
          hint="An https:// address of the logo image."
          value={value('branding.logoUrl', org.logoUrl)}
          error={errorFor(problem, 'branding.logoUrl')}
        />
        <Field
          name="branding.accentColor"
          label="Accent colour"
          hint="Written #rrggbb, such as #0f6cbd."
          value={value('branding.accentColor', org.accentColor)}
          error={errorFor(problem, 'branding.accentColor')}
        />
        <div class="actions">
          <button type="submit">Save</button>
        </div>
      </form>
    </section>
  )
}

function MoveSection({
  org,
  csrfToken,
  canChange,
  problem,
}: {
  org: OrgRow
  csrfToken: string
  canChange: boolean
  problem?: FormProblem
}) {
  const now = Date.now()
  if (isFlatCustomer(org)) {
    return (
      <section class="card" aria-labelledby="move">
        <h2 id="move">Give this customer a portal of its own</h2>
        <p>
          A flat customer lives in its partner's portal: it cannot own a hostname or a Microsoft integration. Moving it
          to a nested portal keeps its phone systems, lists and history; its partner's hosts keep serving it for the
          transition you choose, so nobody is locked out while its own hostname is set up.
        </p>
        {canChange ? (
          <form
            method="post"
            action={orgPath(org.id, '/move')}
            data-confirm={`Move ${org.name} to a portal of its own?`}
          >
            <CsrfField token={csrfToken} />
            <FormAlert problem={problem} />
            <Field
              name="keepPartnerHostsDays"
              label="Days the partner's hosts keep serving it"
              type="number"
              value="30"
              hint="0 to 90 days."
              error={errorFor(problem, 'keepPartnerHostsDays')}
            />
            <div class="actions">
              <button type="submit">Move to a portal of its own</button>
            </div>
          </form>
        ) : null}
      </section>
    )
  }
  if (org.kind === 'customer' && inTransition(org, now)) {
    return (
      <section class="card" aria-labelledby="move">
        <h2 id="move">Moving to a portal of its own</h2>
        <p>
          Its partner's hosts keep serving it until <When at={org.partnerHostsUntil} />.
        </p>
        <FormAlert problem={problem} />
        {canChange ? (
          <div class="actions">
            <PostButton
              action={orgPath(org.id, '/move/finish')}
              csrfToken={csrfToken}
              label="End the transition now"
              variant="secondary"
              confirm="Stop serving this customer on its partner's hosts now?"
            />
          </div>
        ) : null}
      </section>
    )
  }
  return null
}

async function overview(
  c: ConsoleContext,
  problems: { form?: 'customer' | 'branding' | 'move'; problem?: FormProblem } = {},
  status?: 400 | 409,
) {
  const { org, principal, role, parent } = c.var.acting
  const q = (c.req.query('q') ?? '').slice(0, 100)
  const canChange = role === 'admin'
  const csrfToken = c.var.session.csrfToken
  const customers =
    org.kind === 'partner' ? await listOrgs(c.env.DB, principal, { parentId: org.id, ...(q ? { q } : {}) }) : []
  const notice = noticeOf(c, NOTICES)
  const values = c.var.form
  return renderOrgPage(
    c,
    'overview',
    { title: org.name, status },
    <>
      {notice ? <Alert tone="ok">{notice}</Alert> : null}
      <section class="card" aria-labelledby="facts">
        <h2 id="facts">About</h2>
        <dl class="facts">
          <dt>Kind</dt>
          <dd>
            <OrgKind org={org} />
          </dd>
          {parent ? (
            <>
              <dt>Partner</dt>
              <dd>
                <a href={orgPath(parent.id)}>{parent.name}</a>
              </dd>
            </>
          ) : null}
          <dt>Id</dt>
          <dd>
            <code>{org.id}</code>
          </dd>
          <dt>Created</dt>
          <dd>
            <When at={org.createdAt} />
          </dd>
        </dl>
      </section>
      {org.kind === 'partner' ? (
        <section aria-labelledby="customers">
          <h2 id="customers">Customers</h2>
          <SearchForm action={orgPath(org.id)} q={q} label="Search customers by name" />
          <OrgTable orgs={customers} caption={`Customers of ${org.name} (${customers.length})`} />
        </section>
      ) : null}
      {org.kind === 'partner' && canChange ? (
        <NewCustomerForm
          org={org}
          csrfToken={csrfToken}
          problem={problems.form === 'customer' ? problems.problem : undefined}
          values={problems.form === 'customer' ? values : undefined}
        />
      ) : null}
      <MoveSection
        org={org}
        csrfToken={csrfToken}
        canChange={canChange && principal.kind !== 'customer'}
        problem={problems.form === 'move' ? problems.problem : undefined}
      />
      {canChange ? (
        <BrandingForm
          org={org}
          csrfToken={csrfToken}
          problem={problems.form === 'branding' ? problems.problem : undefined}
          values={problems.form === 'branding' ? values : undefined}
        />
      ) : null}
    </>,
  )
}

export function orgPages(app: Hono<ConsoleEnv>): void {
  app.get('/', (c) => home(c))

  app.post('/partners', async (c) => {
    const ops = c.var.memberships.find((m) => m.org === null)
    if (!ops) throw new AppError('forbidden', 'Only the provider creates partners')
    const result = await attempt(async () =>
      createOrg(
        c.env.DB,
        ops.principal,
        parseForm(createOrgSchema, withKind(c.var.form, 'partner'), ['name', 'kind']),
        Date.now(),
      ),
    )
    if (!result.ok) return home(c, result.problem, result.status === 409 ? 409 : 400)
    return seeOther(c, orgPath(result.value.id), 'created')
  })

  app.get('/orgs/:orgId', (c) => overview(c))

  app.post('/orgs/:orgId/customers', async (c) => {
    const { org, principal } = c.var.acting
    const form = withKind(c.var.form, 'customer')
    form.set('parentId', org.id)
    const result = await attempt(async () =>
      createOrg(
        c.env.DB,
        principal,
        parseForm(createOrgSchema, form, ['name', 'kind', 'parentId', 'structure']),
        Date.now(),
      ),
    )
    if (!result.ok) return overview(c, { form: 'customer', problem: result.problem }, result.status === 409 ? 409 : 400)
    return seeOther(c, orgPath(result.value.id), 'created')
  })

  app.post('/orgs/:orgId/edit', async (c) => {
    const { org, principal } = c.var.acting
    const result = await attempt(async () =>
      updateOrg(
        c.env.DB,
        c.var.config,
        principal,
        org.id,
        parseForm(updateOrgSchema, c.var.form, [
          'name',
          'branding.displayName',
          'branding.logoUrl',
          'branding.accentColor',
        ]),
        Date.now(),
      ),
    )
    if (!result.ok) return overview(c, { form: 'branding', problem: result.problem }, result.status === 409 ? 409 : 400)
    return seeOther(c, orgPath(org.id), 'updated')
  })

  app.post('/orgs/:orgId/move', async (c) => {
    const { org, principal } = c.var.acting
    const result = await attempt(async () => {
      // The API's body, with the one number a form carries as text.
      const days = c.var.form.get('keepPartnerHostsDays')?.trim()
      const body = {
        structure: 'nested',
        ...(days ? { keepPartnerHostsDays: /^\d{1,3}$/.test(days) ? Number(days) : days } : {}),
      }
      return moveOrg(c.env.DB, c.var.config, principal, org.id, parseWith(moveOrgSchema, body), Date.now())
    })
    if (!result.ok) return overview(c, { form: 'move', problem: result.problem }, result.status === 409 ? 409 : 400)
    return seeOther(c, orgPath(org.id), 'moved')
  })

  app.post('/orgs/:orgId/move/finish', async (c) => {
    const { org, principal } = c.var.acting
    const result = await attempt(async () => finishMove(c.env.DB, c.var.config, principal, org.id, Date.now()))
    if (!result.ok) return overview(c, { form: 'move', problem: result.problem }, result.status === 409 ? 409 : 400)
    return seeOther(c, orgPath(org.id), 'finished')
  })
}

/** The form with the organization kind a page decides (never the poster). */
function withKind(form: URLSearchParams, kind: 'partner' | 'customer'): URLSearchParams {
  const copy = new URLSearchParams()
  for (const name of ['name', 'structure']) {
    const value = form.get(name)
    if (value !== null) copy.set(name, value)
  }
  copy.set('kind', kind)
  return copy
}
