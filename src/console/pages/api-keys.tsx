/**
 * A partner's API keys in the console: the list (prefixes, never the keys),
 * issuing one (the key is on the answer to the POST, once: it is never put
 * in a URL nor shown again), and revoking one after a confirmation page.
 * Partners only: a key acts for a partner and its customers. The rules are
 * `orgs/api-keys.ts`'s.
 */
import type { Hono } from 'hono'
import type * as z from 'zod/mini'
import { AppError } from '../../errors'
import {
  type apiKeySchema,
  createApiKey,
  createApiKeySchema,
  getApiKey,
  listApiKeys,
  revokeApiKey,
} from '../../orgs/api-keys'
import type { ConsoleContext, ConsoleEnv } from '../context'
import { attempt, parseForm } from '../forms'
import { noticeOf, orgPath, renderOrgPage, seeOther } from '../render'
import { Alert, Badge, CopyValue, CsrfField, errorFor, Field, FormAlert, type FormProblem, When } from '../ui'

type ApiKey = z.output<typeof apiKeySchema>

const NOTICES = { revoked: 'Key revoked: the admin API refuses it from now on.' }

/** The organization acted on, when it may hold keys: a customer has no API keys page at all. */
function partnerOnly(c: ConsoleContext) {
  const { org } = c.var.acting
  if (org.kind !== 'partner') throw new AppError('page_not_found', 'Not found')
  return org
}

/** A key of the organization acted on; another organization's key is not found here, whoever reaches it. */
async function keyOfOrg(c: ConsoleContext, keyId: string): Promise<ApiKey> {
  const { org, principal } = c.var.acting
  const key = await getApiKey(c.env.DB, principal, keyId)
  if (key.organizationId !== org.id) throw new AppError('page_not_found', 'Not found')
  return key
}

const apiBase = (c: ConsoleContext) => `${c.var.config.origin(c.var.config.primaryHost)}/api/v1`

function KeyStatus({ apiKey }: { apiKey: ApiKey }) {
  if (apiKey.revokedAt === null) return <Badge tone="ok">Active</Badge>
  return (
    <>
      <Badge tone="neutral">Revoked</Badge> <When at={apiKey.revokedAt} />
    </>
  )
}

function KeyTable({
  orgId,
  orgName,
  keys,
  canChange,
}: {
  orgId: string
  orgName: string
  keys: ApiKey[]
  canChange: boolean
}) {
  if (keys.length === 0) return <p>{orgName} has no API keys yet.</p>
  return (
    <div class="table-wrap">
      <table>
        <caption>{`API keys of ${orgName} (${keys.length})`}</caption>
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">Starts with</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
            {canChange ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {keys.map((apiKey) => (
            <tr>
              <td>{apiKey.label ?? <span class="muted">No label</span>}</td>
              <td>
                <code>{apiKey.prefix}…</code>
              </td>
              <td>
                <When at={apiKey.createdAt} /> by <code>{apiKey.createdBy}</code>
              </td>
              <td>
                <When at={apiKey.lastUsedAt} />
              </td>
              <td>
                <KeyStatus apiKey={apiKey} />
              </td>
              {canChange ? (
                <td>
                  {apiKey.revokedAt === null ? (
                    <a
                      href={orgPath(orgId, `/api-keys/${encodeURIComponent(apiKey.id)}/revoke`)}
                      aria-label={`Revoke key ${apiKey.prefix}`}
                    >
                      Revoke…
                    </a>
                  ) : null}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function Usage({ base, orgId }: { base: string; orgId: string }) {
  return (
    <>
      <p>
        Send the key in the <code>Authorization</code> header of every request to the admin API at <code>{base}</code>:{' '}
        <code>Authorization: Bearer sgk_…</code>. It acts for this partner and its customers, as you do here.
      </p>
      <p>
        For example: <code>{`curl -H "Authorization: Bearer $KEY" ${base}/orgs/${orgId}`}</code>. The API is described
        at <code>{`${base}/openapi.json`}</code>.
      </p>
    </>
  )
}

async function keysPage(c: ConsoleContext, problem?: FormProblem, status?: 400 | 409 | 422 | 502 | 503 | 504) {
  const org = partnerOnly(c)
  const { principal, role } = c.var.acting
  const canChange = role === 'admin'
  const keys = await listApiKeys(c.env.DB, principal, org.id)
  const notice = noticeOf(c, NOTICES)
  return renderOrgPage(
    c,
    'api-keys',
    { title: 'API keys', status },
    <>
      {notice ? <Alert tone="ok">{notice}</Alert> : null}
      <KeyTable orgId={org.id} orgName={org.name} keys={keys} canChange={canChange} />
      {canChange ? (
        <section class="card" aria-labelledby="new-key">
          <h2 id="new-key">Create a key</h2>
          <p>The key is shown once, on the next page: copy it then. Only its first characters are kept.</p>
          <form method="post" action={orgPath(org.id, '/api-keys')}>
            <CsrfField token={c.var.session.csrfToken} />
            <FormAlert problem={problem} />
            <Field
              name="label"
              label="Label (optional)"
              hint="What the key is for, such as “Billing system”, so you can tell keys apart later. Up to 100 characters."
              value={c.var.form?.get('label')}
              error={errorFor(problem, 'label')}
            />
            <div class="actions">
              <button type="submit">Create a key</button>
            </div>
          </form>
        </section>
      ) : null}
      <section class="card" aria-labelledby="using-keys">
        <h2 id="using-keys">Using a key</h2>
        <Usage base={apiBase(c)} orgId={org.id} />
      </section>
    </>,
  )
}

async function revokePage(c: ConsoleContext) {
  const org = partnerOnly(c)
  const apiKey = await keyOfOrg(c, c.req.param('keyId') ?? '')
  const canChange = c.var.acting.role === 'admin'
  const listPath = orgPath(org.id, '/api-keys')
  return renderOrgPage(
    c,
    'api-keys',
    { title: `Revoke key ${apiKey.prefix}…`, crumbs: [{ label: 'API keys', href: listPath }, { label: 'Revoke' }] },
    <section class="card">
      <dl class="facts">
        <dt>Label</dt>
        <dd>{apiKey.label ?? <span class="muted">No label</span>}</dd>
        <dt>Starts with</dt>
        <dd>
          <code>{apiKey.prefix}…</code>
        </dd>
        <dt>Last used</dt>
        <dd>
          <When at={apiKey.lastUsedAt} />
        </dd>
      </dl>
      {apiKey.revokedAt !== null ? (
        <p>
          This key was revoked on <When at={apiKey.revokedAt} />. <a href={listPath}>Back to API keys</a>
        </p>
      ) : !canChange ? (
        <p>
          Only an admin can revoke a key. <a href={listPath}>Back to API keys</a>
        </p>
      ) : (
        <form method="post" action={orgPath(org.id, `/api-keys/${encodeURIComponent(apiKey.id)}/revoke`)}>
          <CsrfField token={c.var.session.csrfToken} />
          <p>
            Every request with this key is refused from the moment you revoke it. This cannot be undone: whatever uses
            it needs a new key.
          </p>
          <div class="actions">
            <button type="submit" class="danger">
              Revoke key
            </button>
            <a href={listPath}>Cancel</a>
          </div>
        </form>
      )}
    </section>,
  )
}

export function apiKeyPages(app: Hono<ConsoleEnv>): void {
  app.get('/orgs/:orgId/api-keys', (c) => keysPage(c))

  app.post('/orgs/:orgId/api-keys', async (c) => {
    const org = partnerOnly(c)
    const result = await attempt(async () => {
      const { label } = parseForm(createApiKeySchema, c.var.form, ['label'])
      return createApiKey(c.env.DB, c.var.acting.principal, org.id, label, Date.now())
    })
    if (!result.ok) return keysPage(c, result.problem, result.status)
    const issued = result.value
    const listPath = orgPath(org.id, '/api-keys')
    // The answer to the POST itself: a redirect would have to carry the key in a URL.
    return renderOrgPage(
      c,
      'api-keys',
      { title: 'Your new API key', crumbs: [{ label: 'API keys', href: listPath }, { label: 'New key' }] },
      <>
        <Alert tone="warn" title="Copy the key now.">
          It will not be shown again: only its first characters are kept. If it is lost, create another key and revoke
          this one.
        </Alert>
        <section class="card" aria-labelledby="the-key">
          <h2 id="the-key">The key</h2>
          <CopyValue value={issued.key} label="the API key" />
          <dl class="facts">
            <dt>Label</dt>
            <dd>{issued.label ?? <span class="muted">No label</span>}</dd>
            <dt>Starts with</dt>
            <dd>
              <code>{issued.prefix}…</code>
            </dd>
            <dt>Created</dt>
            <dd>
              <When at={issued.createdAt} />
            </dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="using-it">
          <h2 id="using-it">Using it</h2>
          <Usage base={apiBase(c)} orgId={org.id} />
        </section>
        <p>
          <a href={listPath}>Back to API keys</a>
        </p>
      </>,
    )
  })

  app.get('/orgs/:orgId/api-keys/:keyId/revoke', (c) => revokePage(c))

  app.post('/orgs/:orgId/api-keys/:keyId/revoke', async (c) => {
    const org = partnerOnly(c)
    const apiKey = await keyOfOrg(c, c.req.param('keyId'))
    await revokeApiKey(c.env.DB, c.var.acting.principal, apiKey.id, Date.now())
    return seeOther(c, orgPath(org.id, '/api-keys'), 'revoked')
  })
}
