/**
 * Phone systems in the console: an organization's list (tenant status, list
 * size, last sync), adding one, its page (facts, the Microsoft 365
 * connection with "Connect Microsoft 365", Sync and the last sync's record,
 * editing, deleting) and its SSO list (the seed's eye icon) with search and
 * pages. The rules are the domain's: `phone-systems/service.ts`,
 * `sync/sync.ts`, `connect/links.ts`, `sso/list.ts`, called as the admin
 * API's routes call them.
 */
import type { Hono } from 'hono'
import type * as z from 'zod/mini'
import { createConnectLink } from '../../connect/links'
import type { PhoneSystemRow, TenantStatus } from '../../db/schema'
import { AppError } from '../../errors'
import { redirectUrisOf } from '../../hostnames/redirect-uris'
import { parseWith } from '../../http/validate'
import {
  createPhoneSystem,
  createPhoneSystemSchema,
  deletePhoneSystem,
  getPhoneSystem,
  listPhoneSystems,
  updatePhoneSystem,
  updatePhoneSystemSchema,
} from '../../phone-systems/service'
import {
  createScimToken,
  createScimTokenSchema,
  listScimTokens,
  revokeScimToken,
  scimTenantUrl,
  type scimTokenSchema,
} from '../../scim/tokens'
import { getListSizes, getSsoUserCounts, getSsoUsersPage, ssoUserPageQuerySchema } from '../../sso/list'
import { type SyncActivity, type SyncResult, syncActivity, syncNow } from '../../sync/sync'
import { mayNameTenants } from '../../tenancy/claims'
import type { ConsoleContext, ConsoleEnv } from '../context'
import { type Attempt, attempt, parseForm } from '../forms'
import { noticeOf, orgPath, renderOrgPage, seeOther } from '../render'
import {
  Alert,
  Badge,
  CopyValue,
  CsrfField,
  errorFor,
  Field,
  FormAlert,
  type FormProblem,
  Pager,
  PostButton,
  Select,
  When,
} from '../ui'

const CREATE_FIELDS = ['name', 'webClientUrl', 'handoffUrl', 'entraTenantId'] as const
const EDIT_FIELDS = [...CREATE_FIELDS, 'syncSource', 'syncGroupId'] as const

/** The words of an empty list, on its page and wherever it is reported empty. */
const EMPTY_LIST_ADVICE = 'Add users to the Microsoft 365 integration, then Sync.'

const NOTICES = {
  created: 'Phone system added.',
  updated: 'Saved.',
  deleted: 'Phone system deleted, with its SSO list.',
  scimTokenRevoked: 'SCIM token revoked: Entra provisioning with it is refused from now on.',
}

const psPath = (orgId: string, id?: string, page = '') =>
  orgPath(orgId, `/phone-systems${id === undefined ? '' : `/${encodeURIComponent(id)}`}${page}`)

/** The phone system of the URL, if it is one of the acting organization's; the same 404 otherwise. */
async function phoneSystemOf(c: ConsoleContext): Promise<PhoneSystemRow> {
  const id = c.req.param('id') ?? ''
  const { org, principal } = c.var.acting
  const row =
    id.length <= 64
      ? await getPhoneSystem(c.env.DB, principal, id).catch((error: unknown) => {
          if (error instanceof AppError && error.code === 'not_found') return undefined
          throw error
        })
      : undefined
  if (!row || row.orgId !== org.id) throw new AppError('page_not_found', 'Not found')
  return row
}

// ---------------------------------------------------------------- shared pieces

function TenantBadge({ status }: { status: TenantStatus }) {
  return status === 'unverified' ? (
    <Badge tone="warn">Not connected: connect Microsoft 365</Badge>
  ) : (
    <Badge tone="ok">Connected</Badge>
  )
}

/** Who ran a sync, as a reader names them (the audit log's actor). */
function actorLabel(actor: string): string {
  if (actor === 'system') return 'the schedule'
  if (actor === 'ops') return 'the provider (ops API key)'
  if (actor.startsWith('key:')) return `API key ${actor.slice(4)}`
  if (actor.startsWith('ops:')) return `${actor.slice(4)} (provider)`
  if (actor.startsWith('staff:')) return actor.slice(6)
  return actor
}

function LastSyncCell({ ps }: { ps: PhoneSystemRow }) {
  if (ps.syncSource === 'scim') {
    return ps.lastSyncAt === null ? (
      <span class="muted">SCIM: nothing pushed yet</span>
    ) : (
      <>
        <Badge tone="ok">Pushed by SCIM</Badge> <When at={ps.lastSyncAt} />
      </>
    )
  }
  if (ps.lastSyncStatus === null) return <span class="muted">Never synced</span>
  return (
    <>
      {ps.lastSyncStatus === 'success' ? <Badge tone="ok">Synced</Badge> : <Badge tone="error">Failed</Badge>}{' '}
      <When at={ps.lastSyncAt} />
      {ps.lastSyncStatus === 'success' && ps.lastSyncCounts ? (
        <>
          <br />
          <span class="muted">{syncCountsLine(ps.lastSyncCounts)}</span>
        </>
      ) : null}
    </>
  )
}

function syncCountsLine(counts: Record<string, number>): string {
  const n = (key: string) => counts[key] ?? 0
  return `${n('added')} added, ${n('removed')} removed, ${n('updated')} updated, ${n('unchanged')} unchanged; ${n('total')} on the list`
}

/** The seed's eye icon, with the words for whoever does not see it. */
function EyeLink({ href, describedBy, named }: { href: string; describedBy?: string; named?: boolean }) {
  return (
    <a href={href} aria-describedby={describedBy} aria-label={named ? 'View SSO users' : undefined}>
      <span aria-hidden="true">👁 </span>View SSO users
    </a>
  )
}

function SyncButton({ ps, csrfToken }: { ps: PhoneSystemRow; csrfToken: string }) {
  return <PostButton action={psPath(ps.orgId, ps.id, '/sync')} csrfToken={csrfToken} label="Sync" />
}

const TENANT_HINT =
  'The GUID of the Microsoft 365 tenant whose users sign in (Microsoft Entra admin center, Overview, Tenant ID).'

// ---------------------------------------------------------------- the list

function NewPhoneSystemForm({
  orgId,
  csrfToken,
  problem,
  values,
}: {
  orgId: string
  csrfToken: string
  problem?: FormProblem
  values?: URLSearchParams
}) {
  return (
    <section class="card" aria-labelledby="new-phone-system">
      <h2 id="new-phone-system">Add a phone system</h2>
      <form method="post" action={psPath(orgId)}>
        <CsrfField token={csrfToken} />
        <FormAlert problem={problem} />
        <Field
          name="name"
          label="Name"
          hint="How you tell it apart, such as the site or customer it serves."
          value={values?.get('name')}
          error={errorFor(problem, 'name')}
          required
        />
        <Field
          name="webClientUrl"
          label="Web client URL"
          type="url"
          hint="The address of the phone system's web client, such as https://pbx.example.com/webclient (https:// only)."
          value={values?.get('webClientUrl')}
          error={errorFor(problem, 'webClientUrl')}
          required
        />
        <Field
          name="handoffUrl"
          label="Handoff URL"
          type="url"
          hint="Where the phone system takes the signed sign-in (its single sign-on endpoint); https:// only."
          value={values?.get('handoffUrl')}
          error={errorFor(problem, 'handoffUrl')}
          required
        />
        <Field
          name="entraTenantId"
          label="Microsoft 365 tenant id"
          hint={`${TENANT_HINT} Unless the provider vouches for the tenant, nothing is read from it and nobody signs in until one of its administrators connects it (Connect Microsoft 365, on the phone system's page).`}
          value={values?.get('entraTenantId')}
          error={errorFor(problem, 'entraTenantId')}
          required
        />
        <div class="actions">
          <button type="submit">Add phone system</button>
        </div>
      </form>
    </section>
  )
}

async function listPage(c: ConsoleContext, problem?: FormProblem, status?: 400 | 409 | 422) {
  const { org, principal, role } = c.var.acting
  const canChange = role === 'admin'
  const [phoneSystems, sizes] = await Promise.all([
    listPhoneSystems(c.env.DB, principal, org.id),
    getListSizes(c.env.DB, principal, org.id),
  ])
  const notice = noticeOf(c, NOTICES)
  return renderOrgPage(
    c,
    'phone-systems',
    { title: 'Phone systems', status },
    <>
      {notice ? <Alert tone="ok">{notice}</Alert> : null}
      <p>
        A phone system's users sign in with their Microsoft 365 account once its tenant is connected and its SSO list is
        synced from Microsoft 365.
      </p>
      {phoneSystems.length === 0 ? (
        <p>{org.name} has no phone system yet.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption>{`Phone systems of ${org.name} (${phoneSystems.length})`}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Microsoft 365 tenant</th>
                <th scope="col">Status</th>
                <th scope="col">SSO users</th>
                <th scope="col">Last sync</th>
              </tr>
            </thead>
            <tbody>
              {phoneSystems.map((ps) => (
                <tr>
                  <th scope="row" id={`ps-${ps.id}`}>
                    <a href={psPath(org.id, ps.id)}>{ps.name}</a>
                  </th>
                  <td>
                    <code>{ps.entraTenantId}</code>
                  </td>
                  <td>
                    <TenantBadge status={ps.tenantStatus} />
                  </td>
                  <td>
                    {sizes.get(ps.id) ?? 0}
                    <br />
                    <EyeLink href={psPath(org.id, ps.id, '/users')} describedBy={`ps-${ps.id}`} />
                  </td>
                  <td>
                    <LastSyncCell ps={ps} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {canChange && mayNameTenants(c.var.acting.principal) ? (
        <NewPhoneSystemForm
          orgId={org.id}
          csrfToken={c.var.session.csrfToken}
          problem={problem}
          values={problem ? c.var.form : undefined}
        />
      ) : null}
      {canChange && !mayNameTenants(c.var.acting.principal) ? (
        <p class="muted">
          A new phone system names its Microsoft 365 tenant, which your partner does: ask them to add it.
        </p>
      ) : null}
    </>,
  )
}

// ---------------------------------------------------------------- a phone system's page

/** What the page shows above everything, once, after a press: a sync's outcome or a new connect link. */
type Outcome =
  | { kind: 'sync'; result: Attempt<SyncResult> }
  | { kind: 'connect'; link: { connectUrl: string; expiresAt: string } }
  | { kind: 'edit'; problem: FormProblem }
  | { kind: 'scimToken'; token: string }

const STATUS_EXPLAINED: Record<TenantStatus, string> = {
  trusted: 'Connected: the provider vouched for this tenant. Sync reads its users, and they can sign in.',
  verified:
    'Connected: an administrator of this tenant connected it and granted the permissions. Sync reads its users, and they can sign in.',
  unverified:
    'Not connected: naming a tenant proves nothing, so nothing is read from it and nobody of it signs in yet. An administrator of the tenant must connect it: press Connect Microsoft 365 and send them the link.',
}

/** Why a sync read the whole list, in words (src/sync/delta.ts `FULL_REASONS`). */
const FULL_REASON_TEXT: Record<NonNullable<SyncResult['fullReason']>, string> = {
  first: 'the first sync',
  list_changed: 'the list was changed here since the last sync',
  links_expired: 'the last sync was more than a week ago',
  source_changed: 'the source or the app changed',
  groups_changed: 'the groups assigned to the app changed',
  resync_required: 'Microsoft 365 asked for a full read',
  many_new_users: 'many members joined at once',
  many_changes: 'more changes than a full read costs',
}

function SyncOutcome({ result, reference }: { result: Attempt<SyncResult>; reference: string }) {
  if (!result.ok) {
    return (
      <section class="card" aria-labelledby="sync-outcome">
        <h2 id="sync-outcome">Sync result</h2>
        <Alert tone="error" title={`Sync failed (${result.status}); the SSO list is as it was.`}>
          {result.problem.message}
        </Alert>
        {result.status >= 500 ? (
          <p>
            When the message names a missing permission or consent, an administrator of the tenant grants it again:
            press Connect Microsoft 365 below and send them the link (or they reprovision the phone system's Microsoft
            365 integration), then Sync again.
          </p>
        ) : null}
        <p class="muted">
          Reference: <code>{reference}</code>
        </p>
      </section>
    )
  }
  const r = result.value
  return (
    <section class="card" aria-labelledby="sync-outcome">
      <h2 id="sync-outcome">Sync result</h2>
      <Alert tone="ok" title="Synced.">
        The SSO list now holds {r.total} {r.total === 1 ? 'user' : 'users'}.
      </Alert>
      <dl class="facts">
        <dt>Added</dt>
        <dd>{r.added}</dd>
        <dt>Removed</dt>
        <dd>{r.removed}</dd>
        <dt>Updated</dt>
        <dd>{r.updated}</dd>
        <dt>Unchanged</dt>
        <dd>{r.unchanged}</dd>
        <dt>Total on the list</dt>
        <dd>{r.total}</dd>
        <dt>Disabled accounts left out</dt>
        <dd>{r.disabledSkipped}</dd>
        <dt>Read from Microsoft 365</dt>
        <dd>
          {r.mode === 'delta'
            ? 'Only the changes since the last sync'
            : `The whole list (${FULL_REASON_TEXT[r.fullReason ?? 'first']})`}
          , {r.graphRequests} {r.graphRequests === 1 ? 'request' : 'requests'}
        </dd>
      </dl>
      {r.total === 0 ? <p>{EMPTY_LIST_ADVICE}</p> : null}
    </section>
  )
}

function ConnectLinkPanel({ ps, link }: { ps: PhoneSystemRow; link: { connectUrl: string; expiresAt: string } }) {
  return (
    <section class="card" aria-labelledby="connect-link">
      <h2 id="connect-link">Connect link</h2>
      <Alert tone="ok" title="Connect link created.">
        It is shown only here and now: copy it before you leave this page.
      </Alert>
      <p>
        Send it to an administrator of the Microsoft 365 tenant <code>{ps.entraTenantId}</code> (a Global, Privileged
        Role, Application or Cloud Application Administrator). They sign in with Microsoft and grant the permissions
        Sync needs; then the phone system is connected.
      </p>
      <CopyValue value={link.connectUrl} label="connect link" />
      <p>
        It works once, until <When at={link.expiresAt} />. A newer link replaces it.
      </p>
      <p>
        If you are an administrator of that tenant yourself, at this keyboard:{' '}
        <a class="btn secondary" href={link.connectUrl} rel="noreferrer">
          Open it now
        </a>
      </p>
    </section>
  )
}

function ConnectionSection({
  ps,
  csrfToken,
  canChange,
}: {
  ps: PhoneSystemRow
  csrfToken: string
  canChange: boolean
}) {
  const unverified = ps.tenantStatus === 'unverified'
  return (
    <section class="card" aria-labelledby="connection">
      <h2 id="connection">Microsoft 365 connection</h2>
      <p>
        <TenantBadge status={ps.tenantStatus} /> Tenant <code>{ps.entraTenantId}</code>
      </p>
      <p>{STATUS_EXPLAINED[ps.tenantStatus]}</p>
      {canChange ? (
        <>
          {unverified ? null : (
            <p class="muted">
              If Sync reports a missing permission, an administrator of the tenant grants it again by opening a new
              connect link.
            </p>
          )}
          <div class="actions">
            <PostButton
              action={psPath(ps.orgId, ps.id, '/connect')}
              csrfToken={csrfToken}
              label="Connect Microsoft 365"
              variant={unverified ? undefined : 'secondary'}
            />
          </div>
          <p class="muted">
            Creates a one-time link for an administrator of the tenant, valid for 7 days; an older unused link of this
            phone system stops working.
          </p>
        </>
      ) : null}
    </section>
  )
}

function SyncSection({
  ps,
  activity,
  csrfToken,
  canChange,
}: {
  ps: PhoneSystemRow
  activity: SyncActivity
  csrfToken: string
  canChange: boolean
}) {
  if (ps.syncSource === 'scim') return <PushedSection ps={ps} />
  const source =
    ps.syncSource === 'group' ? (
      <>
        the members of group <code>{ps.syncGroupId}</code>
      </>
    ) : (
      'the users and groups assigned to the sign-in app'
    )
  return (
    <section class="card" aria-labelledby="sync">
      <h2 id="sync">Sync from Microsoft 365</h2>
      <p>
        Sync replaces the SSO list with {source} in the tenant, in one step: a failed sync changes nothing. Extensions
        set on the list are kept.
      </p>
      {activity.underWaySince !== null ? (
        <Alert tone="info">
          A sync is under way since <When at={activity.underWaySince} />.
        </Alert>
      ) : null}
      <h3>Last sync</h3>
      {ps.lastSyncStatus === null ? (
        <p class="muted">Never synced.</p>
      ) : (
        <dl class="facts">
          <dt>When</dt>
          <dd>
            <When at={ps.lastSyncAt} />
          </dd>
          {activity.lastSyncedBy ? (
            <>
              <dt>By</dt>
              <dd>{actorLabel(activity.lastSyncedBy)}</dd>
            </>
          ) : null}
          <dt>Result</dt>
          <dd>
            {ps.lastSyncStatus === 'success' ? (
              <>
                <Badge tone="ok">Synced</Badge> {ps.lastSyncCounts ? syncCountsLine(ps.lastSyncCounts) : null}
              </>
            ) : (
              <>
                <Badge tone="error">Failed</Badge> {ps.lastSyncError}
              </>
            )}
          </dd>
        </dl>
      )}
      <p>
        {ps.nextSyncAt !== null ? (
          <>
            Next scheduled sync: <When at={ps.nextSyncAt} />.
          </>
        ) : (
          'Not synced on a schedule yet: the schedule starts with the first successful sync.'
        )}
      </p>
      <div class="actions">
        {canChange ? <SyncButton ps={ps} csrfToken={csrfToken} /> : null}
        <EyeLink href={psPath(ps.orgId, ps.id, '/users')} named />
      </div>
    </section>
  )
}

/** The Sync area of a SCIM-pushed list: nothing to press, the last push instead. */
function PushedSection({ ps }: { ps: PhoneSystemRow }) {
  return (
    <section class="card" aria-labelledby="sync">
      <h2 id="sync">SSO list pushed by SCIM</h2>
      <p>
        Microsoft Entra provisioning pushes this SSO list (SCIM): users assigned to the enterprise app are added as
        Entra provisions them, and a user Entra disables or removes leaves the list at once. Sync does not run; change
        who may sign in in Microsoft Entra.
      </p>
      <p>
        {ps.lastSyncAt !== null ? (
          <>
            Last pushed: <When at={ps.lastSyncAt} />.
          </>
        ) : (
          'Nothing pushed yet: start provisioning in Microsoft Entra with the Tenant URL and a secret token below.'
        )}
      </p>
      <div class="actions">
        <EyeLink href={psPath(ps.orgId, ps.id, '/users')} named />
      </div>
    </section>
  )
}

function ScimTokenPanel({ token }: { token: string }) {
  return (
    <section class="card" aria-labelledby="scim-token">
      <h2 id="scim-token">New SCIM token</h2>
      <Alert tone="ok" title="SCIM token created.">
        It is shown only here and now: copy it into Microsoft Entra (Secret token) before you leave this page.
      </Alert>
      <CopyValue value={token} label="SCIM token" />
    </section>
  )
}

type ScimTokenView = z.output<typeof scimTokenSchema>

function ScimSection({
  ps,
  tokens,
  tenantUrl,
  csrfToken,
  canChange,
}: {
  ps: PhoneSystemRow
  tokens: ScimTokenView[]
  tenantUrl: string
  csrfToken: string
  canChange: boolean
}) {
  return (
    <section class="card" aria-labelledby="scim">
      <h2 id="scim">SCIM provisioning</h2>
      <p>
        Instead of Sync, Microsoft Entra can push this phone system's users: in the Entra admin center, open the
        enterprise app for this phone system, Provisioning, mode Automatic, and enter the Tenant URL and a secret token
        from here. Creating the first token makes SCIM the source of the SSO list: Sync stops, and the list holds only
        what Entra pushes (empty until Entra's first provisioning cycle). A token works only while this phone system
        stays in the Microsoft 365 tenant it was created for: a change of tenant revokes them all, so create a new one
        for the new tenant's Entra.
      </p>
      <dl class="facts">
        <dt>Tenant URL</dt>
        <dd>
          <CopyValue value={tenantUrl} label="Tenant URL" />
        </dd>
      </dl>
      {tokens.length === 0 ? (
        <p class="muted">No SCIM token yet.</p>
      ) : (
        <table>
          <caption>SCIM tokens</caption>
          <thead>
            <tr>
              <th scope="col">Token</th>
              <th scope="col">Label</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr>
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td>{t.label ?? ''}</td>
                <td>
                  <When at={t.createdAt} />
                </td>
                <td>{t.lastUsedAt ? <When at={t.lastUsedAt} /> : 'Never'}</td>
                <td>
                  {t.revokedAt ? (
                    <Badge tone="error">Revoked</Badge>
                  ) : canChange ? (
                    <PostButton
                      action={psPath(ps.orgId, ps.id, `/scim-tokens/${encodeURIComponent(t.id)}/revoke`)}
                      csrfToken={csrfToken}
                      label="Revoke"
                      accessibleName={`Revoke SCIM token ${t.prefix}`}
                      variant="danger"
                      confirm="Revoke this SCIM token? Entra provisioning with it stops at once."
                    />
                  ) : (
                    <Badge tone="ok">Active</Badge>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canChange ? (
        <form method="post" action={psPath(ps.orgId, ps.id, '/scim-tokens')}>
          <CsrfField token={csrfToken} />
          <Field name="label" label="Label (optional)" hint="To tell tokens apart, e.g. the Entra app's name." />
          <div class="actions">
            <button type="submit">Create SCIM token</button>
          </div>
        </form>
      ) : null}
    </section>
  )
}

function EditForm({
  ps,
  csrfToken,
  problem,
  values,
  mayNameTenant,
}: {
  ps: PhoneSystemRow
  csrfToken: string
  mayNameTenant: boolean
  problem?: FormProblem
  values?: URLSearchParams
}) {
  const value = (name: string, current: string | null) => (values ? values.get(name) : current)
  return (
    <section class="card" aria-labelledby="edit">
      <h2 id="edit">Edit</h2>
      <form method="post" action={psPath(ps.orgId, ps.id, '/edit')}>
        <CsrfField token={csrfToken} />
        <FormAlert problem={problem} />
        <Field name="name" label="Name" value={value('name', ps.name)} error={errorFor(problem, 'name')} required />
        <Field
          name="webClientUrl"
          label="Web client URL"
          type="url"
          hint="The address of the phone system's web client (https:// only)."
          value={value('webClientUrl', ps.webClientUrl)}
          error={errorFor(problem, 'webClientUrl')}
          required
        />
        <Field
          name="handoffUrl"
          label="Handoff URL"
          type="url"
          hint="Where the phone system takes the signed sign-in (https:// only)."
          value={value('handoffUrl', ps.handoffUrl)}
          error={errorFor(problem, 'handoffUrl')}
          required
        />
        {mayNameTenant ? (
          <Field
            name="entraTenantId"
            label="Microsoft 365 tenant id"
            hint={`${TENANT_HINT} Another tenant starts over: the SSO list and the sync record are emptied, and unless the provider vouches for the new tenant it is not connected (nothing is read, nobody signs in) until one of its administrators connects it.`}
            value={value('entraTenantId', ps.entraTenantId)}
            error={errorFor(problem, 'entraTenantId')}
            required
          />
        ) : (
          <p>
            Microsoft 365 tenant <code>{ps.entraTenantId}</code>: only your partner can change it.
          </p>
        )}
        <Select
          name="syncSource"
          label="Sync reads"
          value={value('syncSource', ps.syncSource) ?? ps.syncSource}
          error={errorFor(problem, 'syncSource')}
          options={[
            { value: 'app_assignments', label: 'The users and groups assigned to the sign-in app' },
            { value: 'group', label: 'The members of one group' },
          ]}
        />
        <Field
          name="syncGroupId"
          label="Group object id"
          hint="Only when Sync reads one group: the object id (a GUID) of the Entra group whose members may sign in."
          value={value('syncGroupId', ps.syncGroupId)}
          error={errorFor(problem, 'syncGroupId')}
        />
        <div class="actions">
          <button type="submit">Save</button>
        </div>
      </form>
    </section>
  )
}

async function detailPage(c: ConsoleContext, outcome?: Outcome, status?: 200 | 400 | 409 | 422 | 502 | 503 | 504) {
  const ps = await phoneSystemOf(c)
  const { org, role } = c.var.acting
  const canChange = role === 'admin'
  const csrfToken = c.var.session.csrfToken
  const notice = noticeOf(c, NOTICES)
  const [activity, scimTokens] = await Promise.all([
    syncActivity(c.env.DB, ps, Date.now()),
    listScimTokens(c.env.DB, c.var.acting.principal, ps.id),
  ])
  return renderOrgPage(
    c,
    'phone-systems',
    { title: ps.name, status, crumbs: [{ label: 'Phone systems', href: psPath(org.id) }, { label: ps.name }] },
    <>
      {notice ? <Alert tone="ok">{notice}</Alert> : null}
      {outcome?.kind === 'sync' ? <SyncOutcome result={outcome.result} reference={c.var.correlationId} /> : null}
      {outcome?.kind === 'connect' ? <ConnectLinkPanel ps={ps} link={outcome.link} /> : null}
      {outcome?.kind === 'scimToken' ? <ScimTokenPanel token={outcome.token} /> : null}
      <section class="card" aria-labelledby="facts">
        <h2 id="facts">About</h2>
        <dl class="facts">
          <dt>Web client URL</dt>
          <dd>
            <code>{ps.webClientUrl}</code>
          </dd>
          <dt>Handoff URL</dt>
          <dd>
            <code>{ps.handoffUrl}</code>
          </dd>
          <dt>Microsoft 365 tenant</dt>
          <dd>
            <code>{ps.entraTenantId}</code> <TenantBadge status={ps.tenantStatus} />
          </dd>
          <dt>Id</dt>
          <dd>
            <code>{ps.id}</code>
          </dd>
          <dt>Created</dt>
          <dd>
            <When at={ps.createdAt} />
          </dd>
          <dt>Changed</dt>
          <dd>
            <When at={ps.updatedAt} />
          </dd>
        </dl>
      </section>
      <ConnectionSection ps={ps} csrfToken={csrfToken} canChange={canChange} />
      <SyncSection ps={ps} activity={activity} csrfToken={csrfToken} canChange={canChange} />
      <ScimSection
        ps={ps}
        tokens={scimTokens}
        tenantUrl={scimTenantUrl(c.var.config.origin(c.var.config.primaryHost), ps.id)}
        csrfToken={csrfToken}
        canChange={canChange}
      />
      {canChange ? (
        <>
          <EditForm
            ps={ps}
            csrfToken={csrfToken}
            mayNameTenant={mayNameTenants(c.var.acting.principal)}
            problem={outcome?.kind === 'edit' ? outcome.problem : undefined}
            values={outcome?.kind === 'edit' ? c.var.form : undefined}
          />
          <section class="card" aria-labelledby="delete">
            <h2 id="delete">Delete</h2>
            <p>Deleting the phone system deletes its SSO list: its users can no longer sign in to it.</p>
            <p>
              <a href={psPath(org.id, ps.id, '/delete')}>Delete this phone system…</a>
            </p>
          </section>
        </>
      ) : null}
    </>,
  )
}

async function deletePage(c: ConsoleContext) {
  const ps = await phoneSystemOf(c)
  const { org, principal, role } = c.var.acting
  const { total } = await getSsoUserCounts(c.env.DB, principal, ps.id, undefined)
  return renderOrgPage(
    c,
    'phone-systems',
    {
      title: `Delete ${ps.name}?`,
      crumbs: [
        { label: 'Phone systems', href: psPath(org.id) },
        { label: ps.name, href: psPath(org.id, ps.id) },
        { label: 'Delete' },
      ],
    },
    <section class="card" aria-labelledby="consequences">
      <h2 id="consequences">What deleting does</h2>
      <ul>
        <li>
          Its SSO list ({total} {total === 1 ? 'user' : 'users'}) is deleted with it, and its users can no longer sign
          in to it.
        </li>
        <li>Its unused connect links stop working, and it is no longer synced.</li>
        <li>The audit log keeps a record of it. Nothing else changes.</li>
      </ul>
      {role === 'admin' ? (
        <form method="post" action={psPath(org.id, ps.id, '/delete')}>
          <CsrfField token={c.var.session.csrfToken} />
          <div class="actions">
            <button type="submit" class="danger">
              Delete phone system
            </button>
            <a href={psPath(org.id, ps.id)}>Cancel</a>
          </div>
        </form>
      ) : null}
    </section>,
  )
}

// ---------------------------------------------------------------- the SSO list (the eye)

async function usersPage(c: ConsoleContext) {
  const ps = await phoneSystemOf(c)
  const { org, principal, role } = c.var.acting
  const q = c.req.query('q')?.trim() ?? ''
  const cursor = c.req.query('cursor') ?? ''
  // The API's query, so the page size and the search are the API's.
  const query = parseWith(ssoUserPageQuerySchema, { ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) })
  const [page, counts] = await Promise.all([
    getSsoUsersPage(c.env.DB, principal, ps.id, query),
    getSsoUserCounts(c.env.DB, principal, ps.id, q || undefined),
  ])
  const base = psPath(org.id, ps.id, '/users')
  const shown = page.users.length
  return renderOrgPage(
    c,
    'phone-systems',
    {
      title: `SSO users of ${ps.name}`,
      crumbs: [
        { label: 'Phone systems', href: psPath(org.id) },
        { label: ps.name, href: psPath(org.id, ps.id) },
        { label: 'SSO users' },
      ],
    },
    <>
      <p>
        Who may sign in to {ps.name} with single sign-on: {counts.total} {counts.total === 1 ? 'user' : 'users'} on the
        list.
        {q ? ` ${counts.matching} ${counts.matching === 1 ? 'matches' : 'match'} “${q}”.` : ''}{' '}
        {`Showing ${shown} on this page.`}
      </p>
      {counts.total === 0 ? (
        <section class="card" aria-labelledby="empty">
          <h2 id="empty">The list is empty</h2>
          <p>{EMPTY_LIST_ADVICE}</p>
          {role === 'admin' ? (
            <div class="actions">
              <SyncButton ps={ps} csrfToken={c.var.session.csrfToken} />
            </div>
          ) : null}
        </section>
      ) : (
        <>
          <form method="get" action={base} class="search">
            <div>
              <label for="q">Search by name, UPN, email or object id</label>
              <input type="search" id="q" name="q" value={q} maxlength={256} />
            </div>
            <button type="submit" class="secondary">
              Search
            </button>
          </form>
          {shown === 0 ? (
            <p>
              {q ? `No user on the list matches “${q}”.` : 'No more users.'} <a href={base}>Show the whole list</a>
            </p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption>{`SSO users of ${ps.name}${q ? ` matching “${q}”` : ''}: ${shown} on this page`}</caption>
                <thead>
                  <tr>
                    <th scope="col">UPN</th>
                    <th scope="col">Email</th>
                    <th scope="col">Display name</th>
                    <th scope="col">Extension</th>
                    <th scope="col">Object id</th>
                  </tr>
                </thead>
                <tbody>
                  {page.users.map((u) => (
                    <tr>
                      <th scope="row">{u.upn ?? <span class="muted">none</span>}</th>
                      <td>{u.email ?? <span class="muted">none</span>}</td>
                      <td>{u.displayName ?? <span class="muted">none</span>}</td>
                      <td>{u.extension ?? <span class="muted">none</span>}</td>
                      <td>{u.oid ? <code>{u.oid}</code> : <span class="muted">none</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager base={base} query={q ? { q } : {}} nextCursor={page.nextCursor} />
          {cursor ? (
            <p>
              <a href={q ? `${base}?${new URLSearchParams({ q })}` : base}>Back to the first page</a>
            </p>
          ) : null}
        </>
      )}
    </>,
  )
}

// ---------------------------------------------------------------- routes

const PS = '/orgs/:orgId/phone-systems'

export function phoneSystemPages(app: Hono<ConsoleEnv>): void {
  app.get(PS, (c) => listPage(c))

  app.post(PS, async (c) => {
    const { org, principal } = c.var.acting
    const result = await attempt(async () =>
      createPhoneSystem(
        c.env.DB,
        principal,
        org.id,
        parseForm(createPhoneSystemSchema, c.var.form, CREATE_FIELDS),
        Date.now(),
      ),
    )
    if (!result.ok)
      return listPage(c, result.problem, result.status === 409 || result.status === 422 ? result.status : 400)
    return seeOther(c, psPath(org.id, result.value.id), 'created')
  })

  app.get(`${PS}/:id`, (c) => detailPage(c))

  app.post(`${PS}/:id/edit`, async (c) => {
    const ps = await phoneSystemOf(c)
    const result = await attempt(async () =>
      updatePhoneSystem(
        c.env.DB,
        c.var.acting.principal,
        ps.id,
        parseForm(
          updatePhoneSystemSchema,
          c.var.form,
          mayNameTenants(c.var.acting.principal) ? EDIT_FIELDS : EDIT_FIELDS.filter((f) => f !== 'entraTenantId'),
        ),
        Date.now(),
      ),
    )
    if (!result.ok) return detailPage(c, { kind: 'edit', problem: result.problem }, result.status)
    return seeOther(c, psPath(ps.orgId, ps.id), 'updated')
  })

  app.post(`${PS}/:id/sync`, async (c) => {
    const ps = await phoneSystemOf(c)
    const result = await attempt(async () =>
      syncNow(c.env.DB, c.var.config, redirectUrisOf(c.env), c.var.acting.principal, ps, Date.now()),
    )
    return detailPage(c, { kind: 'sync', result }, result.ok ? 200 : result.status)
  })

  app.post(`${PS}/:id/connect`, async (c) => {
    const ps = await phoneSystemOf(c)
    // A page, not a redirect: the link must never travel in a URL (history, logs, Referer).
    const link = await createConnectLink(c.env.DB, c.var.config, c.var.acting.principal, ps.id, Date.now())
    return detailPage(c, { kind: 'connect', link })
  })

  app.post(`${PS}/:id/scim-tokens`, async (c) => {
    const ps = await phoneSystemOf(c)
    const { label } = parseForm(createScimTokenSchema, c.var.form, ['label'])
    // A page, not a redirect: the token must never travel in a URL.
    const issued = await createScimToken(
      c.env.DB,
      c.var.acting.principal,
      ps.id,
      label,
      c.var.config.origin(c.var.config.primaryHost),
      Date.now(),
    )
    return detailPage(c, { kind: 'scimToken', token: issued.token })
  })

  app.post(`${PS}/:id/scim-tokens/:tokenId/revoke`, async (c) => {
    const ps = await phoneSystemOf(c)
    await revokeScimToken(c.env.DB, c.var.acting.principal, ps.id, c.req.param('tokenId'), Date.now())
    return seeOther(c, psPath(ps.orgId, ps.id), 'scimTokenRevoked')
  })

  app.get(`${PS}/:id/delete`, (c) => deletePage(c))

  app.post(`${PS}/:id/delete`, async (c) => {
    const ps = await phoneSystemOf(c)
    await deletePhoneSystem(c.env.DB, c.var.acting.principal, ps.id, Date.now())
    return seeOther(c, psPath(ps.orgId), 'deleted')
  })

  app.get(`${PS}/:id/users`, (c) => usersPage(c))
}
