/**
 * The sign-in log of an organization (a partner's includes its customers'):
 * recent attempts with their result, the reason in plain words, host, user
 * and phone system, filtered by a GET form; a failure says what the user was
 * told and links to the console page where the admin fixes it. The read and
 * its scope are `audit/sign-in-log.ts`'s, the words `sign-in-reasons.ts`'s.
 */
import type { Hono } from 'hono'
import { readSignInLog, SIGN_IN_RESULTS, type SignInAttemptView, signInLogQuerySchema } from '../../audit/sign-in-log'
import type { OrgRow } from '../../db/schema'
import { DAY_MS } from '../../lib/time'
import type { ConsoleContext, ConsoleEnv } from '../context'
import { attempt, parseForm } from '../forms'
import { orgPath, renderOrgPage } from '../render'
import { explainReason, FILTER_REASONS } from '../sign-in-reasons'
import { Alert, Badge, errorFor, Field, FormAlert, type FormProblem, Pager, Select, When } from '../ui'

const FILTERS = ['result', 'reason', 'hostname', 'q'] as const

const RESULT_WORDS: Record<(typeof SIGN_IN_RESULTS)[number], string> = {
  success: 'Succeeded',
  failure: 'Failed',
  pending: 'Continuing',
}

function ResultBadge({ result }: { result: SignInAttemptView['result'] }) {
  const tone = result === 'success' ? 'ok' : result === 'failure' ? 'error' : 'neutral'
  return <Badge tone={tone}>{RESULT_WORDS[result]}</Badge>
}

function FilterForm({ action, values, problem }: { action: string; values: URLSearchParams; problem?: FormProblem }) {
  return (
    <form method="get" action={action} class="card" aria-labelledby="filter-heading">
      <h2 id="filter-heading">Filter</h2>
      <FormAlert problem={problem} />
      <Select
        name="result"
        label="Result"
        value={values.get('result') ?? ''}
        error={errorFor(problem, 'result')}
        options={[
          { value: '', label: 'Any result' },
          ...SIGN_IN_RESULTS.map((result) => ({ value: result, label: RESULT_WORDS[result] })),
        ]}
      />
      <Select
        name="reason"
        label="Reason"
        value={values.get('reason') ?? ''}
        error={errorFor(problem, 'reason')}
        options={[
          { value: '', label: 'Any reason' },
          ...FILTER_REASONS.map((r) => ({ value: r.code, label: r.label })),
        ]}
      />
      <Field
        name="hostname"
        label="Host"
        hint="The whole sign-in hostname, such as login.example.com."
        value={values.get('hostname')}
        error={errorFor(problem, 'hostname')}
      />
      <Field
        name="q"
        type="search"
        label="User"
        hint="Part of the account name (UPN), or the user's object id."
        value={values.get('q')}
        error={errorFor(problem, 'q')}
      />
      <div class="actions">
        <button type="submit">Filter</button>
        <a href={action}>Clear filters</a>
      </div>
    </form>
  )
}

/** The reason in words, Microsoft's own error when it gave one, and the code to search for. */
function ReasonCell({ row }: { row: SignInAttemptView }) {
  const reason = explainReason(row.reason)
  return (
    <td>
      {reason.label}
      <br />
      <code class="muted">{row.reason}</code>
      {row.detail ? (
        <>
          <br />
          <span>{row.detail}</span>
        </>
      ) : null}
    </td>
  )
}

/** For a failure: what the user was told to do, and where in the console the admin fixes it. */
function WhatToDo({ row, fallbackOrgId }: { row: SignInAttemptView; fallbackOrgId: string }) {
  if (row.result !== 'failure') return <td />
  const reason = explainReason(row.reason)
  return (
    <td>
      {reason.fix ? (
        <a href={orgPath(row.organizationId ?? fallbackOrgId, reason.fix.page)}>{reason.fix.label}</a>
      ) : null}
      {reason.action ? (
        <p class="muted">
          <span>The user was told: </span>
          {reason.action}
        </p>
      ) : null}
    </td>
  )
}

function AttemptTable({ org, attempts }: { org: OrgRow; attempts: SignInAttemptView[] }) {
  const partner = org.kind === 'partner'
  return (
    <div class="table-wrap">
      <table>
        <caption>
          {partner ? `Sign-in attempts of ${org.name} and its customers` : `Sign-in attempts of ${org.name}`}, newest
          first
        </caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Result</th>
            <th scope="col">Reason</th>
            <th scope="col">What to do</th>
            <th scope="col">Host</th>
            <th scope="col">User</th>
            <th scope="col">Phone system</th>
            {partner ? <th scope="col">Organization</th> : null}
          </tr>
        </thead>
        <tbody>
          {attempts.map((row) => (
            <tr>
              <td>
                <When at={row.at} />
                <br />
                <span class="muted">
                  Reference <code>{row.correlationId}</code>
                </span>
              </td>
              <td>
                <ResultBadge result={row.result} />
              </td>
              <ReasonCell row={row} />
              <WhatToDo row={row} fallbackOrgId={org.id} />
              <td>{row.hostname ? <code>{row.hostname}</code> : <span class="muted">none</span>}</td>
              <td>{row.account ?? (row.oid ? <code>{row.oid}</code> : <span class="muted">not known yet</span>)}</td>
              <td>{row.phoneSystemName ?? row.phoneSystemId ?? <span class="muted">none</span>}</td>
              {partner ? <td>{row.organizationName ?? row.organizationId}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

async function signInLog(c: ConsoleContext) {
  const { org, principal } = c.var.acting
  const base = orgPath(org.id, '/sign-ins')
  const values = new URL(c.req.url).searchParams
  const filters = await attempt(async () => parseForm(signInLogQuerySchema, values, [...FILTERS, 'cursor']))
  const log = filters.ok ? await readSignInLog(c.env.DB, principal, org.id, filters.value) : null
  const kept = Math.round(c.var.config.signInAttemptsRetentionMs / DAY_MS)
  const chosen = Object.fromEntries(
    FILTERS.flatMap((name) => (values.get(name)?.trim() ? [[name, values.get(name)!.trim()]] : [])),
  )
  const filtered = Object.keys(chosen).length > 0
  return renderOrgPage(
    c,
    'sign-ins',
    { title: 'Sign-in log', status: filters.ok ? 200 : 400 },
    <>
      <p>
        Every sign-in on {org.kind === 'partner' ? 'your and your customers’' : 'this organization’s'} hosts that came
        back from Microsoft, kept {kept} days. A failed one says what went wrong and where to fix it; the reference is
        the one the user’s page showed.
      </p>
      <FilterForm action={base} values={values} problem={filters.ok ? undefined : filters.problem} />
      {log && log.attempts.length > 0 ? <AttemptTable org={org} attempts={log.attempts} /> : null}
      {log && log.attempts.length === 0 ? (
        <Alert tone="info">
          {filtered || values.has('cursor') ? 'No sign-in attempt matches these filters.' : 'No sign-in attempts yet.'}
        </Alert>
      ) : null}
      <Pager base={base} query={chosen} nextCursor={log?.nextCursor ?? null} />
      {values.has('cursor') ? (
        <p>
          <a href={filtered ? `${base}?${new URLSearchParams(chosen)}` : base}>Back to the newest</a>
        </p>
      ) : null}
    </>,
  )
}

export function signInLogPages(app: Hono<ConsoleEnv>): void {
  app.get('/orgs/:orgId/sign-ins', (c) => signInLog(c))
}
