/**
 * Every statement of the hot path, and of the per-run and partner-scale
 * queries that must stay cheap at 100,000 hosts and 1,000,000 SSO users,
 * uses an index: each is recorded as the code sends it (SQL and bound
 * values, on the primary and through read sessions), then SQLite's
 * `EXPLAIN QUERY PLAN` of it must not read a whole table of the schema.
 *
 * SQLite's planner has no statistics here (no ANALYZE: a fresh D1 has none
 * either), so its choice does not depend on how many rows the test's D1
 * holds: the plan seen on this small database is the plan at 100,000 hosts
 * (`npm run bench:scale` shows the same plans against the seeded one).
 * Caches of sign-in reads are emptied before every request, so each step
 * reads D1 as a cold isolate does.
 */
import { env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { insertSignInAttempts } from '../../src/audit/sign-in-attempts'
import { app } from '../../src/index'
import { forgetCachedReads } from '../../src/lib/ttl-cache'
import {
  apiJson,
  consent,
  cookieFrom,
  createCustomer,
  createPartner,
  dbAll,
  directory,
  dirUser,
  HANDOFF_FIELD,
  newTenantId,
  PRIMARY,
  partnerWithKey,
  phoneSystemNamed,
  pickAccount,
  putList,
  runCron,
  type SignInTenant,
  seedSignInTenant,
  uniqueLabel,
  withCookie,
} from '../fixtures'
import { fullScans, indexScans, namesIn, planOf, type Recorded, schemaTables, tracingD1 } from './plans'

/**
 * Tables that hold a handful of rows whatever the size of the fleet, where a scan costs what a lookup does:
 * `job_runs` has one row per cron job (ten), and `batch_guard` is always empty (its CHECK refuses every row;
 * an insert into it only guards a batch).
 */
const TINY_TABLES: ReadonlySet<string> = new Set(['job_runs', 'batch_guard'])

/**
 * Full walks of an index that are bounded all the same, each with why (anything else walking a whole index
 * fails): none so far.
 */
const BOUNDED_INDEX_SCANS: ReadonlyArray<RegExp> = []

/** Custom hostnames through Cloudflare for SaaS (the tests' Cloudflare stand-in), as production runs. */
const CLOUDFLARE = { CUSTOM_HOSTNAMES: 'cloudflare' }

let tables: Set<string>
beforeAll(async () => {
  tables = await schemaTables()
})

/** Runs `drive` with a D1 binding that records, returning what it recorded (every statement, with its values). */
async function recording(
  drive: (bindings: Cloudflare.Env) => Promise<void>,
  more: Record<string, string> = {},
): Promise<Recorded[]> {
  const statements: Recorded[] = []
  await drive({ ...env, ...more, DB: tracingD1(statements) } as Cloudflare.Env)
  return statements
}

/** A request to the combined Worker with cold isolate caches and `bindings`. */
function cold(url: string, init: RequestInit, bindings: Cloudflare.Env): Promise<Response> {
  forgetCachedReads()
  return Promise.resolve(app.request(url, init, bindings))
}

/** The statements of `statements` (each once) whose plan reads a whole table or walks a whole index, with the plan. */
async function unindexed(statements: Recorded[]): Promise<string[]> {
  const problems: string[] = []
  const seen = new Set<string>()
  for (const statement of statements) {
    const key = `${statement.sql}\u0000${JSON.stringify(statement.params)}`
    if (seen.has(key)) continue
    seen.add(key)
    const plan = await planOf(statement)
    const names = namesIn(statement.sql, tables)
    const scans = fullScans(plan, names, TINY_TABLES)
    const walks = indexScans(plan, names).filter((detail) => !BOUNDED_INDEX_SCANS.some((ok) => ok.test(detail)))
    if (scans.length || walks.length) {
      problems.push(
        `${statement.sql.replace(/\s+/g, ' ')}\n    plan: ${plan.map((r) => r.detail).join(' | ')}\n    values: ${JSON.stringify(statement.params)}`,
      )
    }
  }
  return problems
}

/**
 * Every plan of `statements` uses an index, and the scenario did read the tables it is about (not vacuous).
 * `mustSearch`: plan rows some statement must show, for lookups where a prefix of another index (a whole
 * tenant's users for `tid=?`) would pass the rule while reading far more than it should.
 */
async function expectIndexed(statements: Recorded[], mustTouch: string[], mustSearch: RegExp[] = []): Promise<void> {
  const problems = await unindexed(statements)
  expect(problems, `statements reading a whole table or index:\n${problems.join('\n')}`).toEqual([])
  const sql = statements.map((s) => s.sql.toLowerCase()).join('\n')
  for (const table of mustTouch) expect(sql, `no statement touched ${table}`).toContain(table)
  if (mustSearch.length === 0) return
  const plans = (await Promise.all(statements.map(planOf))).flat().map((row) => row.detail)
  for (const search of mustSearch)
    expect(plans, `no plan shows ${search}`).toContainEqual(expect.stringMatching(search))
}

/** The host lookup: the primary key, the whole name. */
const HOST_BY_NAME = /^SEARCH hostnames USING INDEX sqlite_autoindex_hostnames_1 \(hostname=\?\)$/
/** The completion's SSO-list lookup by identity: tenant and object id, both. */
const USER_BY_OID = /^SEARCH \w+ USING INDEX sso_users_tid_oid_idx \(tid=\? AND oid=\?\)$/

const form = (hostname: string, cookie: string, body: Record<string, string>): RequestInit => ({
  method: 'POST',
  redirect: 'manual',
  headers: {
    cookie: `__Host-sso_flow=${cookie}`,
    'content-type': 'application/x-www-form-urlencoded',
    origin: `https://${hostname}`,
    'sec-fetch-site': 'same-origin',
  },
  body: new URLSearchParams(body).toString(),
})

/** A whole sign-in, every step with cold caches and the recording binding; answers the last page. */
async function signInCold(tenant: SignInTenant, bindings: Cloudflare.Env): Promise<{ html: string; cookie: string }> {
  const login = await cold(`https://${tenant.hostname}/sso/login`, { redirect: 'manual' }, bindings)
  expect(login.status).toBe(302)
  const cookie = cookieFrom(login)!
  const callbackUrl = await pickAccount(new URL(login.headers.get('location')!), tenant.user)
  const direct = callbackUrl.hostname === tenant.hostname
  let res = await cold(callbackUrl.href, withCookie(direct ? cookie : null), bindings)
  if (!direct) {
    expect(res.status).toBe(303)
    res = await cold(res.headers.get('location')!, withCookie(cookie), bindings)
  }
  const html = await res.text()
  expect(res.status, html.slice(0, 300)).toBe(200)
  return { html, cookie }
}

describe('the hot path uses an index for every statement (EXPLAIN QUERY PLAN)', () => {
  it('the login page on a provider subdomain, cold', async () => {
    const tenant = await seedSignInTenant()
    const statements = await recording(async (bindings) => {
      const res = await cold(`https://${tenant.hostname}/`, {}, bindings)
      expect(await res.text()).toContain('Sign in with Microsoft')
    })
    await expectIndexed(statements, ['hostnames'], [HOST_BY_NAME])
  })

  it('the login page on a custom domain, cold', async () => {
    const tenant = await seedSignInTenant()
    const hostname = `${uniqueLabel('login')}.customer.example`
    const now = Date.now()
    await env.DB.prepare(
      "INSERT INTO hostnames (hostname, org_id, kind, status, callback_mode, created_at, updated_at) VALUES (?, ?, 'custom', 'active', 'central', ?, ?)",
    )
      .bind(hostname, tenant.orgId, now, now)
      .run()
    // As deployed: custom domains through Cloudflare for SaaS.
    const statements = await recording(async (bindings) => {
      const res = await cold(`https://${hostname}/`, {}, bindings)
      expect(await res.text()).toContain('Sign in with Microsoft')
    }, CLOUDFLARE)
    await expectIndexed(statements, ['hostnames'])
  })

  it('an unknown host, cold (what a flood of made-up names reads)', async () => {
    const statements = await recording(async (bindings) => {
      const res = await cold(`https://${uniqueLabel('nobody')}.localhost/`, {}, bindings)
      expect(res.status).toBe(404)
    })
    await expectIndexed(statements, ['hostnames'])
  })

  it('a whole central sign-in: /sso/login, /sso/callback on the primary host, /sso/complete', async () => {
    const tenant = await seedSignInTenant()
    const statements = await recording(async (bindings) => {
      const { html } = await signInCold(tenant, bindings)
      expect(html).toContain(HANDOFF_FIELD)
    })
    await expectIndexed(statements, ['hostnames', 'phone_systems', 'sso_users'], [HOST_BY_NAME, USER_BY_OID])
  })

  it('a whole direct sign-in: /sso/login, /sso/callback on the host itself', async () => {
    const tenant = await seedSignInTenant({ callbackMode: 'direct' })
    const statements = await recording(async (bindings) => {
      const { html } = await signInCold(tenant, bindings)
      expect(html).toContain(HANDOFF_FIELD)
    })
    await expectIndexed(statements, ['hostnames', 'phone_systems', 'sso_users'], [HOST_BY_NAME, USER_BY_OID])
  })

  it('a sign-in of a user on two lists: the chooser, then /sso/choose', async () => {
    const tenant = await seedSignInTenant()
    const second = await phoneSystemNamed(tenant.orgId, 'Support', tenant.tenantId)
    await putList(second.id, [{ oid: tenant.user.oid, extension: '900' }])
    const statements = await recording(async (bindings) => {
      const { html, cookie } = await signInCold(tenant, bindings)
      expect(html).toContain('Choose a phone system')
      const token = /name="token" value="([^"]+)"/.exec(html)![1]!
      const chosen = await cold(
        `https://${tenant.hostname}/sso/choose`,
        form(tenant.hostname, cookie, { token, phoneSystem: second.id }),
        bindings,
      )
      expect(await chosen.text()).toContain(HANDOFF_FIELD)
    })
    await expectIndexed(statements, ['hostnames', 'phone_systems', 'sso_users'])
  })

  it('/.well-known/jwks.json', async () => {
    const statements = await recording(async (bindings) => {
      const res = await cold(`https://${PRIMARY}/.well-known/jwks.json`, {}, bindings)
      expect(res.status).toBe(200)
    })
    // It reads no table at all today: every statement it might send is judged all the same.
    await expectIndexed(statements, [])
  })

  it("the sign-in audit queue's consumer (one insert per batch)", async () => {
    const statements = await recording(async (bindings) => {
      await insertSignInAttempts(bindings.DB, [
        {
          eventId: crypto.randomUUID(),
          at: Date.now(),
          result: 'success',
          reason: 'signed_in',
          step: 'complete',
          hostname: 'plans.localhost',
          orgId: null,
          phoneSystemId: null,
          tid: null,
          oid: null,
          account: null,
          detail: null,
          correlationId: crypto.randomUUID(),
        },
      ])
    })
    await expectIndexed(statements, ['sign_in_attempts'])
  })
})

describe('the per-run and partner-scale queries use an index', () => {
  it("the cron's run: due hostnames, due syncs, retention deletes, registrations", async () => {
    // Something due, so the per-item statements run too: a phone system whose Sync is due (its tenant consented,
    // two users assigned at Graph), and a custom hostname whose Cloudflare status is due for a refresh.
    const tid = newTenantId()
    await consent(tid)
    await directory(tid, { direct: [dirUser(1)], grouped: [dirUser(2)] })
    const customer = await createCustomer((await createPartner()).id)
    const ps = await phoneSystemNamed(customer.id, 'Synced', tid)
    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ? WHERE id = ?')
      .bind(Date.now() - 1, ps.id)
      .run()
    const now = Date.now()
    await env.DB.prepare(
      `INSERT INTO hostnames (hostname, org_id, kind, status, callback_mode, cloudflare_id, next_check_at, created_at, updated_at)
       VALUES (?, ?, 'custom', 'active', 'central', ?, ?, ?, ?)`,
    )
      .bind(`${uniqueLabel('due')}.customer.example`, customer.id, crypto.randomUUID(), now - 1, now, now)
      .run()
    // With Cloudflare for SaaS configured, as deployed: the refresh of due custom hostnames reads D1 only then.
    const statements = await recording((bindings) => runCron(bindings), CLOUDFLARE)
    await expectIndexed(statements, ['hostnames', 'phone_systems', 'sign_in_attempts', 'job_runs'])
    expect(
      statements.some((s) => /"next_check_at" <= \?/.test(s.sql)),
      'the due custom hostnames were read',
    ).toBe(true)
    expect((await dbAll('SELECT 1 FROM sso_users WHERE phone_system_id = ?', ps.id)).length, 'the due Sync ran').toBe(2)
  })

  it("a partner's hostnames and a phone system's SSO list searched and paged through the admin API", async () => {
    const { partner, key } = await partnerWithKey()
    const customer = await createCustomer(partner.id)
    for (let i = 0; i < 3; i++)
      await apiJson('POST', `/orgs/${customer.id}/hostnames`, { hostname: `${uniqueLabel('h')}.localhost` }, 201)
    const ps = await phoneSystemNamed(customer.id, 'Main', crypto.randomUUID())
    await putList(
      ps.id,
      Array.from({ length: 5 }, (_, i) => ({
        oid: crypto.randomUUID(),
        upn: `user${i}@contoso.example`,
        displayName: `User ${i}`,
      })),
    )
    const statements = await recording(async (bindings) => {
      const get = async (path: string) => {
        const res = await cold(
          `https://${PRIMARY}/api/v1${path}`,
          { headers: { authorization: `Bearer ${key}` } },
          bindings,
        )
        const text = await res.text()
        expect(res.status, text).toBe(200)
        return JSON.parse(text)
      }
      await get(`/orgs/${partner.id}/hostnames`)
      await get(`/orgs/${customer.id}/hostnames`)
      const first = await get(`/phone-systems/${ps.id}/sso-users?limit=2`)
      expect(first.nextCursor).toBeTruthy()
      await get(`/phone-systems/${ps.id}/sso-users?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`)
      await get(`/phone-systems/${ps.id}/sso-users?q=user1`)
      await get(`/orgs/${customer.id}/phone-systems`)
      // The other lists a partner reads: its organizations, sign-in attempts, audit log, administrators.
      await get('/orgs')
      await get(`/orgs/${partner.id}/sign-in-attempts`)
      await get(`/orgs/${customer.id}/sign-in-attempts`)
      await get('/audit-log')
      await get(`/orgs/${partner.id}/admins`)
    })
    await expectIndexed(statements, ['hostnames', 'sso_users', 'phone_systems'])
  })
})

describe('the check itself', () => {
  /** Runs `check` while the (non-unique) index `name` is gone, then puts it back as it was. */
  async function withoutIndex(name: string, check: () => Promise<void>): Promise<void> {
    // Not a unique index: while it is gone, no other test can write what it would have refused.
    const { sql } = (await env.DB.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?")
      .bind(name)
      .first<{ sql: string }>())!
    await env.DB.prepare(`DROP INDEX ${name}`).run()
    try {
      await check()
    } finally {
      await env.DB.prepare(sql).run()
    }
  }

  it("fails when an index the sign-in needs is dropped (phone_systems_org_idx: a portal's reach reads every phone system)", async () => {
    const tenant = await seedSignInTenant()
    const statements = await recording(async (bindings) => {
      await signInCold(tenant, bindings)
    })
    expect(await unindexed(statements)).toEqual([])
    await withoutIndex('phone_systems_org_idx', async () => {
      expect((await unindexed(statements)).join('\n')).toMatch(/plan: .*SCAN phone_systems(?! USING)/)
    })
    expect(await unindexed(statements)).toEqual([])
  })

  it('names the fallback the scan rule cannot see: without sso_users_tid_oid_idx the lookup reads a whole tenant', async () => {
    const tenant = await seedSignInTenant()
    const statements = await recording(async (bindings) => {
      await signInCold(tenant, bindings)
    })
    const plans = async () => (await Promise.all(statements.map(planOf))).flat().map((row) => row.detail)
    expect(await plans()).toContainEqual(expect.stringMatching(USER_BY_OID))
    await withoutIndex('sso_users_tid_oid_idx', async () => {
      // Still no SCAN (another index's `tid=?` prefix serves it), but the named lookup is gone.
      expect(await unindexed(statements)).toEqual([])
      expect(await plans()).not.toContainEqual(expect.stringMatching(USER_BY_OID))
    })
  })
})
