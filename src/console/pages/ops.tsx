/**
 * The provider's own pages, for ops admins only (`OPS_ADMINS`; everyone
 * else gets the same 404 as for a page that does not exist): the health
 * view (`ops/health.ts`, what `GET /api/v1/health` answers) and the tenants
 * claimed by partner subtrees, each of which ops may release
 * (`tenancy/claims.ts`, as `POST /api/v1/tenants/{tid}/release`).
 */
import type { Hono, MiddlewareHandler } from 'hono'
import { AppError } from '../../errors'
import { guid } from '../../lib/fields'
import { type Health, healthOf, SIGNING_KEY_WARNING_DAYS, STALE_JOB_MS } from '../../ops/health'
import type { Membership } from '../../staff/membership'
import { type ClaimView, claimBeforeRelease, claimsQuerySchema, listClaims, releaseTenant } from '../../tenancy/claims'
import type { ConsoleContext, ConsoleEnv } from '../context'
import { attempt, parseForm } from '../forms'
import { noticeOf, orgPath, renderConsole, seeOther } from '../render'
import { Alert, Badge, CsrfField, errorFor, Field, FormAlert, type FormProblem, Pager, When } from '../ui'

const OPS_PATH = '/admin/ops'
const TENANTS_PATH = '/admin/ops/tenants'
const tenantPath = (tid: string, page = '') => `${TENANTS_PATH}/${encodeURIComponent(tid)}${page}`

/** The user's ops membership; anyone else is told the page does not exist. */
function opsMembership(c: ConsoleContext): Membership {
  const ops = c.var.memberships.find((m) => m.org === null)
  if (!ops) throw new AppError('page_not_found', 'Not found')
  return ops
}

const opsOnly: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  opsMembership(c)
  await next()
}

const OPS_CRUMBS = [{ label: 'Organizations', href: '/admin' }]

// ---------------------------------------------------------------- health

function StatusBadge({ ok, warn, label }: { ok: boolean; warn?: boolean; label: string }) {
  return <Badge tone={ok ? 'ok' : warn ? 'warn' : 'error'}>{label}</Badge>
}

function Yes({ value }: { value: boolean }) {
  return <>{value ? 'Yes' : 'No'}</>
}

function Configuration({ configuration }: { configuration: Health['configuration'] }) {
  return (
    <section class="card" aria-labelledby="configuration">
      <h2 id="configuration">Configuration</h2>
      <p class="muted">As this Worker reads it; secrets are only said to be set, never shown.</p>
      <dl class="facts">
        <dt>Primary host</dt>
        <dd>
          <code>{configuration.primaryHost}</code>
        </dd>
        <dt>Provider zone</dt>
        <dd>
          <code>{configuration.providerZone}</code>
        </dd>
        <dt>Custom hostnames</dt>
        <dd>
          <code>{configuration.customHostnames}</code>
        </dd>
        <dt>Cloudflare API configured</dt>
        <dd>
          <Yes value={configuration.cloudflareConfigured} />
        </dd>
        <dt>Entra authority</dt>
        <dd>
          <code>{configuration.entraAuthority}</code>
        </dd>
        <dt>Entra client id</dt>
        <dd>
          <code>{configuration.entraClientId}</code>
        </dd>
        <dt>Entra home tenant</dt>
        <dd>
          <code>{configuration.entraHomeTenantId}</code>
        </dd>
        <dt>Microsoft Graph</dt>
        <dd>
          <code>{configuration.graphBase}</code>
        </dd>
        <dt>Ops API key set</dt>
        <dd>
          <Yes value={configuration.opsKeySet} />
        </dd>
        <dt>Sync interval</dt>
        <dd>{configuration.syncIntervalHours} hours</dd>
        <dt>Sign-in attempts kept</dt>
        <dd>{configuration.signInAttemptsRetentionDays} days</dd>
        <dt>Analytics Engine (metrics)</dt>
        <dd>
          <Yes value={configuration.analytics} />
        </dd>
      </dl>
    </section>
  )
}

function Database({ database }: { database: Health['database'] }) {
  return (
    <section class="card" aria-labelledby="database">
      <h2 id="database">D1 database</h2>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge ok={database.status === 'ok'} label={database.status === 'ok' ? 'Answering' : 'Unreachable'} />
          {database.error ? (
            <>
              {' '}
              <code>{database.error}</code>
            </>
          ) : null}
        </dd>
        <dt>Latency</dt>
        <dd>{database.latencyMs} ms</dd>
        <dt>Latest migration</dt>
        <dd>
          {database.latestMigration ? <code>{database.latestMigration}</code> : <span class="muted">unknown</span>}
        </dd>
      </dl>
    </section>
  )
}

const CRON_WORDS: Record<string, string> = {
  ok: 'Running',
  failing: 'Running, with a failing job',
  stale: 'Stopped: no run in the last 15 minutes',
  never_run: 'Never run',
  unknown: 'Unknown (D1 did not answer)',
}

function JobResult({ result }: { result: Record<string, number> }) {
  const entries = Object.entries(result)
  if (entries.length === 0) return <span class="muted">nothing to report</span>
  return (
    <>
      {entries.map(([name, n], i) => (
        <>
          {i > 0 ? ', ' : null}
          {name}: {n}
        </>
      ))}
    </>
  )
}

function Scheduled({ scheduled, now }: { scheduled: Health['scheduled']; now: number }) {
  return (
    <section class="card" aria-labelledby="scheduled">
      <h2 id="scheduled">Scheduled jobs</h2>
      <p>
        <StatusBadge
          ok={scheduled.status === 'ok'}
          warn={scheduled.status === 'failing'}
          label={CRON_WORDS[scheduled.status] ?? scheduled.status}
        />{' '}
        Last run: <When at={scheduled.lastRunAt} />
      </p>
      {scheduled.jobs.length === 0 ? (
        <p class="muted">No job has run yet.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption>The last run of each job (the cron runs every 5 minutes)</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Last run</th>
                <th scope="col">Outcome</th>
                <th scope="col">Result</th>
                <th scope="col">Error</th>
                <th scope="col">Last success</th>
              </tr>
            </thead>
            <tbody>
              {scheduled.jobs.map((job) => {
                const stale = now - Date.parse(job.startedAt) > STALE_JOB_MS
                return (
                  <tr>
                    <th scope="row">
                      <code>{job.job}</code>
                    </th>
                    <td>
                      <When at={job.startedAt} /> ({job.durationMs} ms)
                      {stale ? (
                        <>
                          {' '}
                          <Badge tone="warn">Stale</Badge>
                        </>
                      ) : null}
                    </td>
                    <td>
                      <StatusBadge ok={job.ok} label={job.ok ? 'Succeeded' : 'Failed'} />
                    </td>
                    <td>
                      <JobResult result={job.result} />
                    </td>
                    <td>{job.error ?? <span class="muted">none</span>}</td>
                    <td>
                      <When at={job.lastOkAt} />
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

const SECRET_WORDS: Record<Health['entraClientSecret']['status'], string> = {
  ok: 'Valid',
  expiring: 'Expiring soon',
  expired: 'Expired',
  not_listed: 'Not found on the app',
  unknown: 'Unknown',
}

function ClientSecret({ secret }: { secret: Health['entraClientSecret'] }) {
  return (
    <section class="card" aria-labelledby="client-secret">
      <h2 id="client-secret">Entra client secret</h2>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge
            ok={secret.status === 'ok'}
            warn={secret.status === 'expiring' || secret.status === 'unknown'}
            label={SECRET_WORDS[secret.status]}
          />
        </dd>
        <dt>Expires</dt>
        <dd>
          {secret.expiresAt ? (
            <>
              <When at={secret.expiresAt} /> ({secret.daysLeft} days left)
            </>
          ) : (
            <span class="muted">unknown</span>
          )}
        </dd>
      </dl>
      {secret.message ? <p>{secret.message}</p> : null}
      {secret.credentials.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption>The app registration's client secrets (Graph shows only their first characters)</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Starts with</th>
                <th scope="col">Expires</th>
                <th scope="col">In use</th>
              </tr>
            </thead>
            <tbody>
              {secret.credentials.map((credential) => (
                <tr>
                  <td>{credential.displayName ?? <span class="muted">unnamed</span>}</td>
                  <td>{credential.hint ? <code>{credential.hint}</code> : <span class="muted">unknown</span>}</td>
                  <td>
                    <When at={credential.expiresAt} />
                  </td>
                  <td>
                    <Yes value={credential.inUse} />
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

function SigningKeys({ keys }: { keys: Health['signingKeys'] }) {
  return (
    <section class="card" aria-labelledby="signing-keys">
      <h2 id="signing-keys">Signing keys</h2>
      <div class="table-wrap">
        <table>
          <caption>
            The keys that sign handoff assertions, current first (rotate after {SIGNING_KEY_WARNING_DAYS} days)
          </caption>
          <thead>
            <tr>
              <th scope="col">Key id</th>
              <th scope="col">Use</th>
              <th scope="col">Created</th>
              <th scope="col">Age</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr>
                <th scope="row">
                  <code>{key.kid}</code>
                </th>
                <td>{key.current ? 'Signs now' : 'Published only'}</td>
                <td>{key.createdOn ?? <span class="muted">unknown</span>}</td>
                <td>
                  {key.ageDays === null ? (
                    <span class="muted">unknown</span>
                  ) : (
                    <>
                      {key.ageDays} days
                      {key.current && key.ageDays > SIGNING_KEY_WARNING_DAYS ? (
                        <>
                          {' '}
                          <Badge tone="warn">Rotate</Badge>
                        </>
                      ) : null}
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}

const OVERALL: Record<Health['status'], { tone: 'ok' | 'warn' | 'error'; words: string }> = {
  ok: { tone: 'ok', words: 'Everything is working.' },
  warning: { tone: 'warn', words: 'Working, with warnings below.' },
  unavailable: { tone: 'error', words: 'D1 is not answering: sign-ins and the admin API fail until it does.' },
}

async function healthPage(c: ConsoleContext) {
  const ops = opsMembership(c)
  const now = Date.now()
  const health = await healthOf(c.env.DB, c.var.config, ops.principal, { metrics: c.env.METRICS !== undefined }, now)
  const overall = OVERALL[health.status]
  return renderConsole(
    c,
    { title: 'Health', crumbs: [...OPS_CRUMBS, { label: 'Health' }] },
    <>
      <Alert tone={overall.tone} title="Status:">
        {overall.words} Checked <When at={health.checkedAt} />.
      </Alert>
      <p>
        The same view as <code>GET /api/v1/health</code>. <a href={TENANTS_PATH}>Claimed Microsoft 365 tenants</a>
      </p>
      <section aria-labelledby="warnings">
        <h2 id="warnings">Warnings</h2>
        {health.warnings.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <Alert tone="warn">
            <ul>
              {health.warnings.map((warning) => (
                <li>{warning}</li>
              ))}
            </ul>
          </Alert>
        )}
      </section>
      <Configuration configuration={health.configuration} />
      <Database database={health.database} />
      <Scheduled scheduled={health.scheduled} now={now} />
      <ClientSecret secret={health.entraClientSecret} />
      <SigningKeys keys={health.signingKeys} />
    </>,
  )
}

// ---------------------------------------------------------------- tenant claims

/** Who vouched for or proved a tenant, from the claim's proof as `tenancy/claims.ts` and `connect/prove.ts` write it. */
function ProofText({ proof }: { proof: ClaimView['proof'] }) {
  const by = typeof proof.by === 'string' ? proof.by : 'unknown'
  const admin = proof.administrator as { upn?: unknown; oid?: unknown; role?: unknown } | undefined
  if (by === 'connect link' && admin) {
    const who = typeof admin.upn === 'string' ? admin.upn : typeof admin.oid === 'string' ? admin.oid : 'unknown'
    return (
      <>
        Connected by its administrator {who}
        {typeof admin.role === 'string' ? ` (${admin.role})` : ''}
        {typeof proof.linkCreatedBy === 'string' ? `, link from ${proof.linkCreatedBy}` : ''}
      </>
    )
  }
  return <>Vouched for by {by}</>
}

function ClaimStatus({ status }: { status: ClaimView['status'] }) {
  return status === 'verified' ? (
    <Badge tone="ok">Verified by an administrator</Badge>
  ) : (
    <Badge tone="neutral">Trusted by ops</Badge>
  )
}

const TENANT_NOTICES = {
  released: 'Tenant released. Its phone systems are unverified until an administrator of the tenant connects it again.',
}

async function tenantsPage(c: ConsoleContext) {
  const ops = opsMembership(c)
  const values = new URL(c.req.url).searchParams
  const query = await attempt(async () => parseForm(claimsQuerySchema, values, ['q', 'cursor']))
  const page = query.ok ? await listClaims(c.env.DB, ops.principal, query.value) : null
  const problem: FormProblem | undefined = query.ok ? undefined : query.problem
  const q = values.get('q')?.trim() ?? ''
  const notice = noticeOf(c, TENANT_NOTICES)
  return renderConsole(
    c,
    {
      title: 'Claimed tenants',
      status: query.ok ? 200 : 400,
      crumbs: [...OPS_CRUMBS, { label: 'Health', href: OPS_PATH }, { label: 'Claimed tenants' }],
    },
    <>
      {notice ? <Alert tone="ok">{notice}</Alert> : null}
      <p>
        A Microsoft 365 tenant belongs to one partner's organizations once ops vouch for it or an administrator of the
        tenant connects it; no other partner can name it. Release a tenant that was claimed by mistake.
      </p>
      <form method="get" action={TENANTS_PATH} class="search">
        <Field
          name="q"
          type="search"
          label="Search by tenant id"
          hint="The whole id or a part of it."
          value={q}
          error={errorFor(problem, 'q')}
        />
        <button type="submit" class="secondary">
          Search
        </button>
      </form>
      <FormAlert problem={problem} />
      {page && page.tenants.length === 0 ? (
        <Alert tone="info">{q ? 'No claimed tenant matches.' : 'No tenant is claimed yet.'}</Alert>
      ) : null}
      {page && page.tenants.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption>Claimed tenants, by tenant id</caption>
            <thead>
              <tr>
                <th scope="col">Tenant id</th>
                <th scope="col">Partner</th>
                <th scope="col">Status</th>
                <th scope="col">Proof</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {page.tenants.map((claim) => (
                <tr>
                  <th scope="row">
                    <code>{claim.tid}</code>
                  </th>
                  <td>
                    <a href={orgPath(claim.partnerId)}>{claim.partnerName ?? claim.partnerId}</a>
                  </td>
                  <td>
                    <ClaimStatus status={claim.status} />
                  </td>
                  <td>
                    <ProofText proof={claim.proof} />, <When at={claim.updatedAt} />
                  </td>
                  <td>
                    <a href={tenantPath(claim.tid, '/release')} aria-label={`Release tenant ${claim.tid}`}>
                      Release
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager base={TENANTS_PATH} query={q ? { q } : {}} nextCursor={page?.nextCursor ?? null} />
    </>,
  )
}

/** The tenant id of the path, or the same 404 as any page that does not exist. */
function tidParam(c: ConsoleContext): string {
  const parsed = guid.safeParse(c.req.param('tid'))
  if (!parsed.success) throw new AppError('page_not_found', 'Not found')
  return parsed.data
}

async function releasePage(c: ConsoleContext, problem?: FormProblem, status?: 409 | 400 | 502 | 503 | 504 | 422) {
  const ops = opsMembership(c)
  const tid = tidParam(c)
  const { claim, phoneSystems } = await claimBeforeRelease(c.env.DB, ops.principal, tid)
  const partnerName = claim.partnerName ?? claim.partnerId
  return renderConsole(
    c,
    {
      title: 'Release a tenant',
      status,
      crumbs: [
        ...OPS_CRUMBS,
        { label: 'Health', href: OPS_PATH },
        { label: 'Claimed tenants', href: TENANTS_PATH },
        { label: tid },
      ],
    },
    <>
      <FormAlert problem={problem} />
      <section class="card" aria-labelledby="claim">
        <h2 id="claim">The claim</h2>
        <dl class="facts">
          <dt>Tenant id</dt>
          <dd>
            <code>{claim.tid}</code>
          </dd>
          <dt>Partner</dt>
          <dd>
            <a href={orgPath(claim.partnerId)}>{partnerName}</a>
          </dd>
          <dt>Status</dt>
          <dd>
            <ClaimStatus status={claim.status} />
          </dd>
          <dt>Proof</dt>
          <dd>
            <ProofText proof={claim.proof} />, <When at={claim.updatedAt} />
          </dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="effect">
        <h2 id="effect">What releasing does</h2>
        <p>
          {partnerName}'s organizations no longer hold this tenant, and any partner may name it afterwards. Every phone
          system naming it becomes <strong>unverified</strong>: nobody signs in to it and it is not synced until an
          administrator of the tenant connects it again (a connect link).
        </p>
        <p>
          {phoneSystems.count === 0
            ? 'No phone system names this tenant now.'
            : `${phoneSystems.count} phone system${phoneSystems.count === 1 ? '' : 's'} name${phoneSystems.count === 1 ? 's' : ''} it:`}
        </p>
        {phoneSystems.named.length > 0 ? (
          <ul>
            {phoneSystems.named.map((ps) => (
              <li>
                {ps.name} ({ps.orgName})
              </li>
            ))}
            {phoneSystems.count > phoneSystems.named.length ? (
              <li>and {phoneSystems.count - phoneSystems.named.length} more</li>
            ) : null}
          </ul>
        ) : null}
        <form method="post" action={tenantPath(tid, '/release')}>
          <CsrfField token={c.var.session.csrfToken} />
          <div class="actions">
            <button type="submit" class="danger">
              Release tenant {tid}
            </button>
            <a href={TENANTS_PATH}>Cancel</a>
          </div>
        </form>
      </section>
    </>,
  )
}

export function opsPages(app: Hono<ConsoleEnv>): void {
  app.use('/ops', opsOnly)
  app.use('/ops/*', opsOnly)

  app.get('/ops', (c) => healthPage(c))
  app.get('/ops/tenants', (c) => tenantsPage(c))
  app.get('/ops/tenants/:tid/release', (c) => releasePage(c))

  app.post('/ops/tenants/:tid/release', async (c) => {
    const ops = opsMembership(c)
    const tid = tidParam(c)
    const result = await attempt(async () => releaseTenant(c.env.DB, ops.principal, tid, Date.now()))
    if (!result.ok) return releasePage(c, result.problem, result.status)
    return seeOther(c, TENANTS_PATH, 'released')
  })
}
