/**
 * The sign-in's read path (ARCHITECTURE §9): reads go through one D1 read
 * session per request; the Entra client and the reach are cached per
 * isolate, and what they cache can never let anyone in. Each hostile case
 * warms the caches with a real sign-in, changes D1 behind their back (as
 * another isolate's write would: no cache of this isolate is told), and
 * signs in again: the completion must be refused at once.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'
import { forgetCachedReads } from '../../src/lib/ttl-cache'
import {
  addEntraUser,
  cookieFrom,
  createPartner,
  createPhoneSystem,
  HANDOFF_FIELD,
  listUsers,
  newTenantId,
  pickAccount,
  type SignInTenant,
  seedSignInTenant,
  signIn,
  uniqueLabel,
  withCookie,
  ZONE,
} from '../fixtures'

async function warmSignIn(): Promise<SignInTenant> {
  const tenant = await seedSignInTenant()
  const first = await signIn(tenant.hostname, tenant.user)
  expect(first.res.status, first.html.slice(0, 300)).toBe(200)
  expect(first.html).toContain(HANDOFF_FIELD)
  return tenant
}

async function expectRefused(tenant: SignInTenant): Promise<void> {
  const again = await signIn(tenant.hostname, tenant.user)
  expect(again.res.status).toBe(403)
  expect(again.html).not.toContain(HANDOFF_FIELD)
}

describe('cached sign-in reads never let anyone in', () => {
  it('a phone system whose tenant was released (unverified) elsewhere refuses the next completion', async () => {
    const tenant = await warmSignIn()
    await env.DB.prepare("UPDATE phone_systems SET tenant_status = 'unverified' WHERE id = ?")
      .bind(tenant.phoneSystemId)
      .run()
    await expectRefused(tenant)
  })

  it('a phone system deleted elsewhere refuses the next completion', async () => {
    const tenant = await warmSignIn()
    await env.DB.prepare('DELETE FROM phone_systems WHERE id = ?').bind(tenant.phoneSystemId).run()
    await expectRefused(tenant)
  })

  it('a phone system moved to an organization the portal does not serve refuses the next completion', async () => {
    // Created first: an admin API write empties this isolate's caches, and the point is that they are warm.
    const elsewhere = await createPartner('Elsewhere')
    const tenant = await warmSignIn()
    await env.DB.prepare('UPDATE phone_systems SET org_id = ? WHERE id = ?')
      .bind(elsewhere.id, tenant.phoneSystemId)
      .run()
    await expectRefused(tenant)
  })

  it("a portal's allowed tenants narrowed elsewhere refuse the next completion, whatever client the isolate cached", async () => {
    const tenant = await warmSignIn()
    // The isolate cached "no integration" (the provider's app, any tenant); the portal now allows one other tenant.
    const now = Date.now()
    await env.DB.prepare(
      `INSERT INTO microsoft_integrations (org_id, client_id, client_secret_enc, home_tenant_id, allowed_tenant_ids,
         secret_updated_at, created_at, updated_at) VALUES (?, ?, 'sealed', ?, ?, ?, ?, ?)`,
    )
      .bind(
        tenant.orgId,
        crypto.randomUUID(),
        crypto.randomUUID(),
        JSON.stringify([crypto.randomUUID()]),
        now,
        now,
        now,
      )
      .run()
    await expectRefused(tenant)
  })

  it('a user removed from the list elsewhere is refused at the next completion', async () => {
    const tenant = await warmSignIn()
    await env.DB.prepare('DELETE FROM sso_users WHERE phone_system_id = ?').bind(tenant.phoneSystemId).run()
    await expectRefused(tenant)
  })

  it('a phone system added through the admin API is reached at once by this isolate (a recorded change empties its caches)', async () => {
    const tenant = await warmSignIn()
    // A second phone system in a new tenant: the warm reach did not have that tenant.
    const tid = newTenantId()
    const ps = await createPhoneSystem(tenant.orgId, tid)
    const newcomer = await addEntraUser(tid, 'Nia Newcomer')
    await listUsers(ps.id, [newcomer])
    const result = await signIn(tenant.hostname, newcomer)
    expect(result.res.status, result.html.slice(0, 300)).toBe(200)
    expect(result.html).toContain(HANDOFF_FIELD)
  })
})

/** A binding that records what goes to the primary and what through sessions. */
function recordingD1(base: D1Database) {
  const calls = { primary: [] as string[], sessions: [] as string[], constraints: [] as Array<string | undefined> }
  const d1 = {
    prepare: (query: string) => {
      calls.primary.push(query)
      return base.prepare(query)
    },
    batch: (statements: D1PreparedStatement[]) => {
      calls.primary.push(`batch of ${statements.length}`)
      return base.batch(statements)
    },
    exec: (query: string) => base.exec(query),
    withSession: (constraint?: string) => {
      calls.constraints.push(constraint)
      const session = base.withSession(constraint as never)
      return {
        prepare: (query: string) => {
          calls.sessions.push(query)
          return session.prepare(query)
        },
        batch: (statements: D1PreparedStatement[]) => session.batch(statements),
        getBookmark: () => session.getBookmark(),
      }
    },
  } as unknown as D1Database
  return { d1, calls }
}

describe('the read session', () => {
  it('resolves an unknown host through one first-unconstrained session, never the primary', async () => {
    forgetCachedReads()
    const { d1, calls } = recordingD1(env.DB)
    const res = await app.request(`https://${uniqueLabel()}.${ZONE}/`, {}, { ...env, DB: d1 })
    expect(res.status).toBe(404)
    expect(calls.constraints).toEqual(['first-unconstrained'])
    expect(calls.sessions.some((sql) => sql.includes('"hostnames"'))).toBe(true)
    expect(calls.primary).toEqual([])
  })

  it('a cached host opens no session: the login page reads nothing', async () => {
    const tenant = await seedSignInTenant()
    await app.request(`https://${tenant.hostname}/`, {}, env)
    const { d1, calls } = recordingD1(env.DB)
    const res = await app.request(`https://${tenant.hostname}/`, {}, { ...env, DB: d1 })
    expect(res.status).toBe(200)
    expect(calls).toEqual({ primary: [], sessions: [], constraints: [] })
  })

  it('with warm caches, /sso/login reads nothing from D1 (host, client and reach come from memory)', async () => {
    const tenant = await warmSignIn()
    const { d1, calls } = recordingD1(env.DB)
    const res = await app.request(`https://${tenant.hostname}/sso/login`, { redirect: 'manual' }, { ...env, DB: d1 })
    expect(res.status).toBe(302)
    expect(calls.sessions).toEqual([])
    // Whatever the flow store writes goes to the primary; no read of the sign-in's own tables does.
    expect(calls.primary.filter((sql) => /from "(hostnames|phone_systems|microsoft_integrations)"/i.test(sql))).toEqual(
      [],
    )
  })
  it('a whole sign-in with warm caches reads D1 through the session once: the SSO list at completion', async () => {
    const tenant = await warmSignIn()
    const { d1, calls } = recordingD1(env.DB)
    const bindings = { ...env, DB: d1 }
    const login = await app.request(`https://${tenant.hostname}/sso/login`, { redirect: 'manual' }, bindings)
    expect(login.status).toBe(302)
    const cookie = cookieFrom(login)
    const callbackUrl = await pickAccount(new URL(login.headers.get('location')!), tenant.user)
    const central = await app.request(callbackUrl.href, withCookie(null), bindings)
    expect(central.status).toBe(303)
    const complete = await app.request(central.headers.get('location')!, withCookie(cookie), bindings)
    const html = await complete.text()
    expect(complete.status, html.slice(0, 300)).toBe(200)
    expect(html).toContain(HANDOFF_FIELD)
    expect(calls.sessions).toHaveLength(1)
    expect(calls.sessions[0]).toContain('sso_users')
    // Nothing the caches hold is read from the primary either (the flow store's own reads and writes go there).
    expect(
      calls.primary.filter((sql) => /from "?(hostnames|phone_systems|microsoft_integrations|sso_users)/i.test(sql)),
    ).toEqual([])
  })
})
