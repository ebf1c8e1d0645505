/**
 * An organization's login hostnames in the console: the list and the attach
 * form (a provider subdomain or a custom domain), a hostname's page (its
 * status in plain words, the DNS records to publish, "Check now", the DNS
 * diagnosis, the callback mode, detaching after a confirmation page), and
 * for a flat customer why it cannot own one. The rules are
 * `hostnames/service.ts`'s, called with the same arguments as the admin API.
 */
import type { Hono } from 'hono'
import type { Config } from '../../config'
import type { HostnameRow, HostnameVerification, OrgRow } from '../../db/schema'
import { AppError } from '../../errors'
import type { ActionWords, Diagnosis } from '../../hostnames/diagnose'
import { redirectUrisOf } from '../../hostnames/redirect-uris'
import {
  attachHostname,
  attachHostnameSchema,
  checkHostname,
  detachHostname,
  diagnoseHostname,
  getHostname,
  listHostnames,
  PENDING_RELEASE_MS,
  updateHostname,
  updateHostnameSchema,
} from '../../hostnames/service'
import { callbackUri } from '../../signin/callback-uri'
import { membershipFor } from '../../staff/membership'
import { inTransition, isFlatCustomer } from '../../tenancy/portal'
import type { ConsoleContext, ConsoleEnv } from '../context'
import { attempt, parseForm } from '../forms'
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
  PostButton,
  Select,
  When,
} from '../ui'

const NOTICES = {
  attached: 'Hostname attached.',
  checked: 'Checked just now: the status below is the one stored now.',
  mode: 'Callback mode saved.',
  detached: 'Hostname detached: nobody can sign in on it any more.',
}

const hostnamesPath = (orgId: string) => orgPath(orgId, '/hostnames')
const hostnamePath = (orgId: string, hostname: string, page = '') =>
  orgPath(orgId, `/hostnames/${encodeURIComponent(hostname)}${page}`)

/** A page's status for a refusal it answers itself. */
type ProblemStatus = 400 | 409 | 422 | 502 | 503 | 504

// ---------------------------------------------------------------- shared pieces

export function StatusBadge({ status }: { status: HostnameRow['status'] }) {
  switch (status) {
    case 'active':
      return <Badge tone="ok">Active</Badge>
    case 'pending':
      return <Badge tone="warn">Pending: being set up</Badge>
    case 'failed':
      return <Badge tone="error">Failed</Badge>
    case 'moved':
      return <Badge tone="error">Moved away</Badge>
  }
}

function KindLabel({ kind }: { kind: HostnameRow['kind'] }) {
  return kind === 'subdomain' ? <span>Provider subdomain</span> : <span>Custom domain</span>
}

function ModeLabel({ mode }: { mode: HostnameRow['callbackMode'] }) {
  return mode === 'central' ? <span>Central</span> : <span>Direct</span>
}

function callbackModeHint(config: Config): string {
  return (
    `Central: Microsoft returns every sign-in to the provider's login host (${config.primaryHost}), which hands it back to this hostname; ` +
    'nothing to register, it works as soon as the hostname is active. ' +
    "Direct: Microsoft returns to this hostname itself (https://hostname/sso/callback), registered as a redirect URI on the portal's Microsoft app " +
    '(at most 256 per app); until it is registered (for a custom domain: once the domain is verified) sign-ins go through the central callback.'
  )
}

const CALLBACK_OPTIONS = [
  { value: 'central', label: "Central: through the provider's login host" },
  { value: 'direct', label: 'Direct: back to this hostname' },
]

/** The two kinds of hostname, in the deployment's own names. */
function KindsExplained({ config }: { config: Config }) {
  return (
    <ul>
      <li>
        <strong>A provider subdomain</strong>, <code>name.{config.providerZone}</code> (such as{' '}
        <code>acme.{config.providerZone}</code>): exactly one label below <code>{config.providerZone}</code>. It is
        active at once: the provider's DNS and certificate already cover it.
      </li>
      <li>
        <strong>A custom domain</strong> in your own DNS (such as <code>phones.acme.com</code>): you publish a CNAME
        record
        {config.customHostnameCnameTarget ? (
          <>
            {' '}
            pointing at <code>{config.customHostnameCnameTarget}</code>
          </>
        ) : null}{' '}
        and the TXT records its page lists;{' '}
        {config.cloudflare
          ? 'it becomes active once Cloudflare has verified them and issued its certificate.'
          : 'in this deployment custom domains are not verified through Cloudflare (CUSTOM_HOSTNAMES is "local"), so they are active at once.'}
      </li>
    </ul>
  )
}

/** The hostname of the URL, through the domain (normalized, in scope), and attached to the organization of the page. */
async function hostnameOfPage(c: ConsoleContext): Promise<HostnameRow> {
  const { org, principal } = c.var.acting
  const raw = c.req.param('hostname') ?? ''
  const row = await getHostname(c.env.DB, principal, raw).catch((error: unknown) => {
    // Not a hostname, not attached, or out of reach: there is no such page.
    if (error instanceof AppError && (error.status === 404 || error.status === 400)) {
      throw new AppError('page_not_found', 'Not found')
    }
    throw error
  })
  if (row.orgId !== org.id) throw new AppError('page_not_found', 'Not found')
  return row
}

// ---------------------------------------------------------------- the list

function HostnameTable({ orgId, rows, caption }: { orgId: string; rows: HostnameRow[]; caption: string }) {
  return (
    <div class="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Hostname</th>
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Callback</th>
            <th scope="col">Last checked</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr>
              <td>
                <a href={hostnamePath(orgId, row.hostname)}>{row.hostname}</a>
              </td>
              <td>
                <KindLabel kind={row.kind} />
              </td>
              <td>
                <StatusBadge status={row.status} />
              </td>
              <td>
                <ModeLabel mode={row.callbackMode} />
              </td>
              <td>
                {row.kind === 'subdomain' && row.checkedAt === null ? (
                  <span class="muted">not needed</span>
                ) : (
                  <When at={row.checkedAt} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function AttachForm({
  org,
  config,
  csrfToken,
  problem,
  values,
}: {
  org: OrgRow
  config: Config
  csrfToken: string
  problem?: FormProblem
  values?: URLSearchParams
}) {
  return (
    <section class="card" aria-labelledby="attach">
      <h2 id="attach">Attach a hostname</h2>
      <form method="post" action={hostnamesPath(org.id)}>
        <CsrfField token={csrfToken} />
        <FormAlert problem={problem} />
        <Field
          name="hostname"
          label="Hostname"
          value={values?.get('hostname')}
          hint={`A bare hostname, without https:// or a path: name.${config.providerZone} for a provider subdomain, or a name in your own domain such as phones.acme.com.`}
          placeholder={`acme.${config.providerZone}`}
          error={errorFor(problem, 'hostname')}
          required
        />
        <Select
          name="callbackMode"
          label="Callback mode"
          value={values?.get('callbackMode') ?? 'central'}
          hint={callbackModeHint(config)}
          error={errorFor(problem, 'callbackMode')}
          options={CALLBACK_OPTIONS}
        />
        <div class="actions">
          <button type="submit">Attach hostname</button>
        </div>
      </form>
    </section>
  )
}

/** A flat customer's hostname page: why it has none, where its users sign in, and the way to a portal of its own. */
function FlatCustomer({
  org,
  parent,
  partnerHosts,
  problem,
}: {
  org: OrgRow
  parent: OrgRow | null
  partnerHosts: HostnameRow[] | null
  problem?: FormProblem
}) {
  return (
    <section class="card" aria-labelledby="flat">
      <h2 id="flat">A flat customer cannot own a hostname</h2>
      {problem ? <Alert tone="error">{problem.message}</Alert> : null}
      <p>
        {org.name} is a flat customer: it lives in its partner's portal. Its users sign in on the partner's hosts, with
        the partner's branding and Microsoft app, so it has no hostname of its own and cannot attach one.
      </p>
      <p>
        To give it its own hostname, first <a href={`${orgPath(org.id)}#move`}>move it to a portal of its own</a>{' '}
        (nested). Its phone systems, lists and history stay; its partner's hosts keep serving it during the transition,
        so nobody is locked out while its own hostname is set up. Then attach the hostname here.
      </p>
      {partnerHosts && parent ? (
        partnerHosts.length > 0 ? (
          <HostnameTable
            orgId={parent.id}
            rows={partnerHosts}
            caption={`Hosts of ${parent.name} that serve ${org.name}`}
          />
        ) : (
          <p>
            Its partner <a href={hostnamesPath(parent.id)}>{parent.name}</a> has no hostname attached yet.
          </p>
        )
      ) : (
        <p class="muted">The hosts that serve it are its partner's.</p>
      )}
    </section>
  )
}

async function listPage(c: ConsoleContext, problem?: FormProblem, status?: ProblemStatus) {
  const { org, principal, role, parent } = c.var.acting
  const { config } = c.var
  const canChange = role === 'admin'
  const notice = noticeOf(c, NOTICES)
  const title = `Hostnames of ${org.name}`
  if (isFlatCustomer(org)) {
    // The partner's hosts, when the user reaches the partner (as the breadcrumbs do).
    const reaching = parent ? membershipFor(c.var.memberships, parent) : null
    const partnerHosts = parent && reaching ? await listHostnames(c.env.DB, reaching.principal, parent.id) : null
    return renderOrgPage(
      c,
      'hostnames',
      { title, status, crumbs: [{ label: 'Hostnames' }] },
      <>
        {notice ? <Alert tone="ok">{notice}</Alert> : null}
        <FlatCustomer org={org} parent={parent} partnerHosts={partnerHosts} problem={problem} />
      </>,
    )
  }
  const rows = await listHostnames(c.env.DB, principal, org.id)
  const now = Date.now()
  return renderOrgPage(
    c,
    'hostnames',
    { title, status, crumbs: [{ label: 'Hostnames' }] },
    <>
      {notice ? <Alert tone="ok">{notice}</Alert> : null}
      <section class="card" aria-labelledby="about-hostnames">
        <h2 id="about-hostnames">Where users sign in</h2>
        <p>
          Users of {org.name} sign in on its hostnames.
          {org.kind === 'partner' ? " They also serve the partner's flat customers." : null}
        </p>
        {parent && inTransition(org, now) ? (
          <p>
            Moving to a portal of its own: the hosts of <a href={hostnamesPath(parent.id)}>{parent.name}</a> keep
            serving it until <When at={org.partnerHostsUntil} />.
          </p>
        ) : null}
        <KindsExplained config={config} />
      </section>
      {rows.length > 0 ? (
        <HostnameTable orgId={org.id} rows={rows} caption={`Hostnames (${rows.length})`} />
      ) : (
        <p>No hostname is attached yet.</p>
      )}
      {canChange ? (
        <AttachForm
          org={org}
          config={config}
          csrfToken={c.var.session.csrfToken}
          problem={problem}
          values={c.var.form}
        />
      ) : null}
    </>,
  )
}

// ---------------------------------------------------------------- a hostname

/** What the status means for the person looking at it, and what to do. */
function StatusExplained({ row, config }: { row: HostnameRow; config: Config }) {
  const target = config.customHostnameCnameTarget
  switch (row.status) {
    case 'active':
      return (
        <Alert tone="ok" title="Active.">
          Users can sign in on <code>https://{row.hostname}</code>.
          {row.kind === 'subdomain'
            ? " The provider's DNS and certificate serve it: nothing to publish."
            : ' Keep its CNAME record as long as it is attached.'}
        </Alert>
      )
    case 'pending': {
      const detail = row.statusDetail ?? ''
      const ownership = /ownership/i.test(detail)
      const certificate = /certificate/i.test(detail)
      const releaseAt = row.pendingSince === null ? null : row.pendingSince + PENDING_RELEASE_MS
      return (
        <Alert tone="warn" title="Pending: not serving sign-ins yet.">
          <p>What is still missing:</p>
          <ul>
            {ownership || !certificate ? (
              <li>
                Proof that the domain is yours: Cloudflare has not verified it yet. Publish the ownership TXT record
                {target ? ' and the CNAME record' : ''} below.
              </li>
            ) : null}
            {certificate ? (
              <li>
                Its certificate: Cloudflare has verified the domain and is still issuing the certificate. Publish the
                certificate validation records below if they are not published yet.
              </li>
            ) : null}
            {row.callbackMode === 'direct' ? (
              <li>Its redirect URI, for the direct callback: it is registered once the domain is verified.</li>
            ) : null}
          </ul>
          {detail ? <p>Cloudflare says: {sentence(detail)}</p> : null}
          <p>
            DNS changes can take a while to be seen. The gateway checks again by itself
            {row.nextCheckAt ? (
              <>
                {' '}
                (next at <When at={row.nextCheckAt} />)
              </>
            ) : null}
            ; "Check now" asks Cloudflare at once, and "Diagnose DNS" shows what DNS answers now.
          </p>
          {releaseAt ? (
            <p>
              If it is not verified by <When at={releaseAt} />, it is released and has to be attached again.
            </p>
          ) : null}
        </Alert>
      )
    }
    case 'failed':
      return (
        <Alert tone="error" title="Failed: not serving sign-ins.">
          <p>Why: {sentence(row.statusDetail ?? 'Cloudflare gave up validating this hostname')}</p>
          <p>
            What to do: fix the DNS records ("Diagnose DNS" shows which one is wrong), then detach the hostname and
            attach it again to start validation over.
          </p>
        </Alert>
      )
    case 'moved':
      return (
        <Alert tone="error" title="Moved away: not serving sign-ins.">
          <p>
            Cloudflare reports that {row.hostname} no longer points at the provider
            {row.statusDetail ? ` (${row.statusDetail})` : ''}.
          </p>
          <p>
            What to do:{' '}
            {target ? (
              <>
                point it at <code>{target}</code> with a CNAME record again
              </>
            ) : (
              "point it back at the provider's CNAME target"
            )}
            , then press "Check now".
          </p>
        </Alert>
      )
  }
}

interface DnsRecordRow {
  purpose: string
  type: string
  name: string
  value: string
}

function recordsToPublish(row: HostnameRow, target: string | null): DnsRecordRow[] {
  const verification: HostnameVerification | null = row.verification
  const records: DnsRecordRow[] = []
  if (target)
    records.push({ purpose: 'Points the domain at the gateway', type: 'CNAME', name: row.hostname, value: target })
  if (verification?.ownership) {
    records.push({
      purpose: 'Ownership (proves the domain is yours)',
      type: 'TXT',
      name: verification.ownership.name,
      value: verification.ownership.value,
    })
  }
  for (const record of verification?.certificate ?? []) {
    records.push(
      record.type === 'txt'
        ? { purpose: 'Certificate validation', type: 'TXT', name: record.name, value: record.value }
        : {
            purpose: 'Certificate validation (a file served at this address)',
            type: 'HTTP',
            name: record.name,
            value: record.value,
          },
    )
  }
  return records
}

function DnsRecords({ row, config }: { row: HostnameRow; config: Config }) {
  const target = config.customHostnameCnameTarget
  const records = recordsToPublish(row, target)
  return (
    <section class="card" aria-labelledby="dns-records">
      <h2 id="dns-records">DNS records to publish</h2>
      <p>
        Publish these records in the DNS of your domain.
        {row.status === 'active'
          ? ' The CNAME must stay as long as the hostname is attached; the TXT records have done their job once it is active.'
          : ''}
      </p>
      {!target ? (
        <Alert tone="warn">
          The provider has not configured the CNAME target (CUSTOM_HOSTNAME_CNAME_TARGET): ask the provider what{' '}
          {row.hostname} must point at.
        </Alert>
      ) : null}
      {!row.cloudflareId ? (
        <p class="muted">
          This domain was attached without Cloudflare (CUSTOM_HOSTNAMES was "local"), so there are no TXT records to
          publish.
        </p>
      ) : null}
      {records.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption>Records for {row.hostname}</caption>
            <thead>
              <tr>
                <th scope="col">Purpose</th>
                <th scope="col">Type</th>
                <th scope="col">Name</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {records.map((record) => (
                <tr>
                  <td>{record.purpose}</td>
                  <td>{record.type}</td>
                  <td>
                    <CopyValue value={record.name} label={`${record.type} record name ${record.name}`} />
                  </td>
                  <td>
                    <CopyValue value={record.value} label={`${record.type} record value for ${record.name}`} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  )
}

function RedirectUriStatus({ row, config }: { row: HostnameRow; config: Config }) {
  if (row.callbackMode !== 'direct') {
    return <p>Central: sign-ins return through {config.primaryHost}; this hostname needs no redirect URI of its own.</p>
  }
  const uri = callbackUri(config, row.hostname)
  return (
    <dl class="facts">
      <dt>Redirect URI</dt>
      <dd>
        <code>{uri}</code>
      </dd>
      <dt>Registered</dt>
      <dd>
        {row.redirectUriRegistered ? (
          <Badge tone="ok">Registered on the portal's Microsoft app</Badge>
        ) : (
          <Badge tone="warn">Not registered: sign-ins use the central callback meanwhile</Badge>
        )}
      </dd>
      {row.redirectUriDetail ? (
        <>
          <dt>Detail</dt>
          <dd>{row.redirectUriDetail}</dd>
        </>
      ) : null}
    </dl>
  )
}

function CallbackModeSection({
  row,
  config,
  csrfToken,
  canChange,
  problem,
  values,
}: {
  row: HostnameRow
  config: Config
  csrfToken: string
  canChange: boolean
  problem?: FormProblem
  values?: URLSearchParams
}) {
  return (
    <section class="card" aria-labelledby="callback-mode">
      <h2 id="callback-mode">Callback mode</h2>
      <RedirectUriStatus row={row} config={config} />
      {canChange ? (
        <form method="post" action={hostnamePath(row.orgId, row.hostname, '/callback-mode')}>
          <CsrfField token={csrfToken} />
          <FormAlert problem={problem} />
          <Select
            name="callbackMode"
            label="Callback mode"
            value={values?.get('callbackMode') ?? row.callbackMode}
            hint={callbackModeHint(config)}
            error={errorFor(problem, 'callbackMode')}
            options={CALLBACK_OPTIONS}
          />
          <div class="actions">
            <button type="submit">Save callback mode</button>
          </div>
        </form>
      ) : null}
    </section>
  )
}

/** On the page, a diagnosis's fixes name the page's buttons rather than the API's calls. */
const CONSOLE_WORDS = (): ActionWords => ({
  check: 'press "Check now"',
  checkName: '"Check now"',
  diagnoseAgain: 'press "Diagnose DNS" again in a minute',
  reattach: 'detach it and attach it again',
})

const TXT_STATUS: Record<string, string> = { ok: 'Found', missing: 'Missing', wrong: 'Wrong value' }
const CNAME_STATUS: Record<string, string> = {
  ok: 'Found',
  wrong_target: 'Points elsewhere',
  not_cname: 'Addresses, not a CNAME',
  missing: 'Missing',
  not_checked: 'Not checked (no CNAME target configured)',
}

function Found({ values }: { values: string[] }) {
  if (values.length === 0) return <span class="muted">nothing</span>
  return (
    <>
      {values.map((v) => (
        <div>
          <code>{v}</code>
        </div>
      ))}
    </>
  )
}

function DiagnosisSection({ d }: { d: Diagnosis }) {
  const txt = [
    ...(d.dns.ownership ? [{ what: 'Ownership TXT', check: d.dns.ownership }] : []),
    ...d.dns.certificate.map((check) => ({ what: 'Certificate TXT', check })),
  ]
  return (
    <section class="card" aria-labelledby="diagnosis">
      <h2 id="diagnosis">Diagnosis</h2>
      <Alert tone={d.ok ? 'ok' : 'warn'}>
        {d.ok ? 'No problems found.' : `${d.problems.length} problem${d.problems.length === 1 ? '' : 's'} found.`}{' '}
        Diagnosed at <When at={d.diagnosedAt} />. Nothing was changed: the stored status ({d.stored.status}) changes
        with "Check now" or the gateway's own checks.
      </Alert>
      {d.problems.length > 0 ? (
        <>
          <h3>Problems and their fixes</h3>
          <ol>
            {d.problems.map((p) => (
              <li>
                <p>{sentence(p.message)}</p>
                <p>
                  <strong>Fix:</strong> {sentence(p.fix)}
                </p>
              </li>
            ))}
          </ol>
        </>
      ) : null}
      <h3>DNS: found and expected</h3>
      {d.dns.state !== 'checked' ? (
        <p>
          {d.dns.state === 'unavailable' ? 'DNS could not be read now' : 'Not applicable'}:{' '}
          {sentence(d.dns.reason ?? '')}
        </p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption>What DNS answers now</caption>
            <thead>
              <tr>
                <th scope="col">Record</th>
                <th scope="col">Name</th>
                <th scope="col">Expected</th>
                <th scope="col">Found</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {d.dns.cname ? (
                <tr>
                  <td>CNAME</td>
                  <td>
                    <code>{d.dns.cname.name}</code>
                  </td>
                  <td>{d.dns.cname.expected ? <code>{d.dns.cname.expected}</code> : <span class="muted">—</span>}</td>
                  <td>
                    <Found
                      values={d.dns.cname.found ? [d.dns.cname.found] : d.dns.cname.addresses.map((a) => `A ${a}`)}
                    />
                  </td>
                  <td>{CNAME_STATUS[d.dns.cname.status] ?? d.dns.cname.status}</td>
                </tr>
              ) : null}
              {txt.map(({ what, check }) => (
                <tr>
                  <td>{what}</td>
                  <td>
                    <code>{check.name}</code>
                  </td>
                  <td>
                    <code>{check.expected}</code>
                  </td>
                  <td>
                    <Found values={check.found} />
                  </td>
                  <td>
                    {TXT_STATUS[check.status] ?? check.status}
                    {check.required ? '' : ' (no longer needed: Cloudflare has validated it)'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Cloudflare's view</h3>
      {d.cloudflare.state !== 'checked' ? (
        <p>
          {d.cloudflare.state === 'unavailable' ? 'Cloudflare could not be read now' : 'Not applicable'}:{' '}
          {sentence(d.cloudflare.reason ?? '')}
        </p>
      ) : (
        <dl class="facts">
          <dt>Hostname</dt>
          <dd>{d.cloudflare.status ?? 'not found at Cloudflare'}</dd>
          <dt>Certificate</dt>
          <dd>{d.cloudflare.sslStatus ?? '—'}</dd>
          {d.cloudflare.verificationErrors.length > 0 ? (
            <>
              <dt>Cloudflare says</dt>
              <dd>{d.cloudflare.verificationErrors.join('; ')}</dd>
            </>
          ) : null}
          {d.cloudflare.statusIfChecked ? (
            <>
              <dt>"Check now" would store</dt>
              <dd>{d.cloudflare.statusIfChecked}</dd>
            </>
          ) : null}
        </dl>
      )}
      <h3>Redirect URI</h3>
      <p>
        {d.redirectUri.required
          ? `${d.redirectUri.uri}: ${d.redirectUri.registered ? 'registered' : 'not registered'}. ${d.redirectUri.detail ? sentence(d.redirectUri.detail) : ''}`
          : sentence(d.redirectUri.detail ?? 'Not needed')}
      </p>
    </section>
  )
}

interface DetailProblems {
  form?: 'check' | 'mode' | 'detach'
  problem?: FormProblem
  diagnosis?: Diagnosis
}

async function detailPage(c: ConsoleContext, row: HostnameRow, extra: DetailProblems = {}, status?: ProblemStatus) {
  const { org, role } = c.var.acting
  const { config } = c.var
  const canChange = role === 'admin'
  const csrfToken = c.var.session.csrfToken
  const notice = noticeOf(c, NOTICES)
  const problemOf = (form: DetailProblems['form']) => (extra.form === form ? extra.problem : undefined)
  return renderOrgPage(
    c,
    'hostnames',
    {
      title: row.hostname,
      status,
      crumbs: [{ label: 'Hostnames', href: hostnamesPath(org.id) }, { label: row.hostname }],
    },
    <>
      {notice ? <Alert tone="ok">{notice}</Alert> : null}
      <StatusExplained row={row} config={config} />
      <section class="card" aria-labelledby="facts">
        <h2 id="facts">About</h2>
        <dl class="facts">
          <dt>Kind</dt>
          <dd>
            <KindLabel kind={row.kind} />
          </dd>
          <dt>Status</dt>
          <dd>
            <StatusBadge status={row.status} />
          </dd>
          <dt>Callback</dt>
          <dd>
            <ModeLabel mode={row.callbackMode} />
          </dd>
          <dt>Attached</dt>
          <dd>
            <When at={row.createdAt} />
          </dd>
          <dt>Last checked</dt>
          <dd>
            <When at={row.checkedAt} />
          </dd>
        </dl>
        <FormAlert problem={problemOf('check')} />
        {canChange ? (
          <div class="actions">
            <PostButton action={hostnamePath(org.id, row.hostname, '/check')} csrfToken={csrfToken} label="Check now" />
            <PostButton
              action={hostnamePath(org.id, row.hostname, '/diagnose')}
              csrfToken={csrfToken}
              label="Diagnose DNS"
              variant="secondary"
            />
          </div>
        ) : null}
      </section>
      {extra.diagnosis ? <DiagnosisSection d={extra.diagnosis} /> : null}
      {row.kind === 'custom' ? <DnsRecords row={row} config={config} /> : null}
      <CallbackModeSection
        row={row}
        config={config}
        csrfToken={csrfToken}
        canChange={canChange}
        problem={problemOf('mode')}
        values={extra.form === 'mode' ? c.var.form : undefined}
      />
      {canChange ? (
        <section class="card" aria-labelledby="detach">
          <h2 id="detach">Detach</h2>
          <p>Detaching stops sign-ins on {row.hostname} at once.</p>
          <p>
            <a class="btn secondary" href={hostnamePath(org.id, row.hostname, '/detach')}>
              Detach {row.hostname}…
            </a>
          </p>
        </section>
      ) : null}
    </>,
  )
}

function detachPage(c: ConsoleContext, row: HostnameRow, problem?: FormProblem, status?: ProblemStatus) {
  const { org } = c.var.acting
  return renderOrgPage(
    c,
    'hostnames',
    {
      title: `Detach ${row.hostname}`,
      status,
      crumbs: [
        { label: 'Hostnames', href: hostnamesPath(org.id) },
        { label: row.hostname, href: hostnamePath(org.id, row.hostname) },
        { label: 'Detach' },
      ],
    },
    <section class="card" aria-labelledby="confirm">
      <h2 id="confirm">Detach {row.hostname}? Users of this hostname will no longer be able to sign in on it.</h2>
      {row.kind === 'custom' && row.cloudflareId ? (
        <p>It is removed at Cloudflare too; attaching it again later starts its verification over.</p>
      ) : null}
      {row.redirectUriRegistered ? <p>Its redirect URI is removed from the portal's Microsoft app.</p> : null}
      <form method="post" action={hostnamePath(org.id, row.hostname, '/detach')}>
        <CsrfField token={c.var.session.csrfToken} />
        <FormAlert problem={problem} />
        <div class="actions">
          <button type="submit" class="danger">
            Detach {row.hostname}
          </button>
          <a class="btn secondary" href={hostnamePath(org.id, row.hostname)}>
            Cancel
          </a>
        </div>
      </form>
    </section>,
  )
}

/** A message as one sentence: its own full stop, or one added. */
const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`)

const asStatus = (status: number): ProblemStatus => status as ProblemStatus

export function hostnamePages(app: Hono<ConsoleEnv>): void {
  app.get('/orgs/:orgId/hostnames', (c) => listPage(c))

  app.post('/orgs/:orgId/hostnames', async (c) => {
    const { org, principal } = c.var.acting
    const result = await attempt(async () =>
      attachHostname(
        c.env.DB,
        c.var.config,
        redirectUrisOf(c.env),
        principal,
        org.id,
        parseForm(attachHostnameSchema, c.var.form, ['hostname', 'callbackMode']),
        Date.now(),
      ),
    )
    if (!result.ok) return listPage(c, result.problem, asStatus(result.status))
    return seeOther(c, hostnamePath(org.id, result.value.hostname), 'attached')
  })

  app.get('/orgs/:orgId/hostnames/:hostname', async (c) => detailPage(c, await hostnameOfPage(c)))

  app.post('/orgs/:orgId/hostnames/:hostname/check', async (c) => {
    const row = await hostnameOfPage(c)
    const result = await attempt(async () =>
      checkHostname(c.env.DB, c.var.config, redirectUrisOf(c.env), c.var.acting.principal, row.hostname, Date.now()),
    )
    if (!result.ok) return detailPage(c, row, { form: 'check', problem: result.problem }, asStatus(result.status))
    return seeOther(c, hostnamePath(row.orgId, row.hostname), 'checked')
  })

  // A read (nothing is stored), so its answer is the page itself rather than a redirect.
  app.post('/orgs/:orgId/hostnames/:hostname/diagnose', async (c) => {
    const row = await hostnameOfPage(c)
    const diagnosis = await diagnoseHostname(
      c.env.DB,
      c.var.config,
      c.var.acting.principal,
      row.hostname,
      Date.now(),
      CONSOLE_WORDS,
    )
    return detailPage(c, row, { diagnosis })
  })

  app.post('/orgs/:orgId/hostnames/:hostname/callback-mode', async (c) => {
    const row = await hostnameOfPage(c)
    const result = await attempt(async () =>
      updateHostname(
        c.env.DB,
        c.var.config,
        redirectUrisOf(c.env),
        c.var.acting.principal,
        row.hostname,
        parseForm(updateHostnameSchema, c.var.form, ['callbackMode']),
        Date.now(),
      ),
    )
    if (!result.ok) return detailPage(c, row, { form: 'mode', problem: result.problem }, asStatus(result.status))
    return seeOther(c, hostnamePath(row.orgId, row.hostname), 'mode')
  })

  app.get('/orgs/:orgId/hostnames/:hostname/detach', async (c) => {
    const row = await hostnameOfPage(c)
    if (c.var.acting.role !== 'admin') {
      throw new AppError('forbidden', 'A viewer can look at everything but change nothing')
    }
    return detachPage(c, row)
  })

  app.post('/orgs/:orgId/hostnames/:hostname/detach', async (c) => {
    const row = await hostnameOfPage(c)
    const result = await attempt(async () =>
      detachHostname(c.env.DB, c.var.config, redirectUrisOf(c.env), c.var.acting.principal, row.hostname, Date.now()),
    )
    if (!result.ok) return detachPage(c, row, result.problem, asStatus(result.status))
    return seeOther(c, hostnamesPath(row.orgId), 'detached')
  })
}
