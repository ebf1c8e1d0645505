/**
 * Part of `npm test`: the two bundles `npm run deploy` would upload (the
 * sign-in Worker at most 80 KiB gzip) start in workerd and work together,
 * routed as in production (minified, no vitest around it): pages, the neutral
 * 404, the admin API, and a whole sign-in against the Entra stand-in.
 * Catches what tests inside the vitest pool cannot, such as random values or
 * I/O at global scope, which the real runtime refuses at startup.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { startEntraStandIn } from './entra/server.ts'
import { buildBundles, CLIENT_ID, CLIENT_SECRET, PRIMARY, startWorkerd, TENANT, TENANT_ID } from './workerd.ts'

const outDir = mkdtempSync(path.join(tmpdir(), 'sso-gateway-bundle-'))
let failures = 0
function check(name: string, ok: boolean, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`)
  if (!ok) failures++
}

const user = {
  oid: '6a1d0c7e-5b2f-4e3a-8c9d-1e2f3a4b5c6d',
  tid: TENANT_ID,
  upn: 'ann@acme.example',
  email: 'ann@acme.example',
  name: 'Ann Acme',
}
const entra = await startEntraStandIn({
  apps: [{ clientId: CLIENT_ID, secret: CLIENT_SECRET, redirectUris: [`http://${PRIMARY}/sso/callback`] }],
  users: [user],
})
/** The sign-in Worker's budget (issue 13): what every location loads before a sign-in's first answer. */
const SIGN_IN_MAX_GZIP = 80 * 1024
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
try {
  const bundles = buildBundles(outDir)
  const signInGzip = gzipSync(bundles.signIn, { level: 9 }).length
  const adminGzip = gzipSync(bundles.admin, { level: 9 }).length
  console.log(
    `bundles: sign-in ${kib(bundles.signIn.length)}, gzip ${kib(signInGzip)}; admin ${kib(bundles.admin.length)}, gzip ${kib(adminGzip)}`,
  )
  // The margin left, so that a change which eats most of it is seen before the limit fails.
  check(
    `sign-in bundle at most ${kib(SIGN_IN_MAX_GZIP)} gzip`,
    signInGzip <= SIGN_IN_MAX_GZIP,
    `${kib(signInGzip)}, ${kib(SIGN_IN_MAX_GZIP - signInGzip)} left`,
  )
  // schema.ts's tables are pure (src/db/schema.ts): the sign-in bundle builds only those its code reads at
  // startup. A table of the admin side here means an import pulled it back (or the pure form was lost).
  const signInText = bundles.signIn.toString('utf8')
  const adminOnly = ['audit_log', 'sync_runs', 'scim_users', 'scim_tokens', 'connect_links', 'tenant_claims']
  const present = adminOnly.filter((table) => signInText.includes(`("${table}",`))
  check('sign-in bundle builds no admin-only table', present.length === 0, present.join(', ') || 'none of them')
  const { mf, admin, phoneSystemId } = await startWorkerd(outDir, '', { ENTRA_AUTHORITY: entra.base })
  await admin('PUT', `/phone-systems/${phoneSystemId}/sso-users`, {
    users: [{ oid: user.oid, displayName: user.name, extension: '101' }],
  })
  try {
    const login = await mf.dispatchFetch(`http://${TENANT}/`)
    const html = await login.text()
    check(
      'login page of a seeded tenant',
      login.status === 200 && html.includes('Sign in with Microsoft'),
      String(login.status),
    )
    const second = await (await mf.dispatchFetch(`http://${TENANT}/sso/webclient`)).text()
    check('a fresh CSP nonce per answer', second.match(/nonce="([^"]+)"/)?.[1] !== html.match(/nonce="([^"]+)"/)?.[1])
    const unknown = await mf.dispatchFetch('http://unknown.localhost/')
    check('unknown host is a 404', unknown.status === 404, String(unknown.status))
    await unknown.text()

    // A whole sign-in: /sso/login -> picker -> central callback -> /sso/complete.
    const start = await mf.dispatchFetch(`http://${TENANT}/sso/login`, { redirect: 'manual' })
    const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0]!
    const authorize = start.headers.get('location') ?? ''
    check(
      '/sso/login redirects to the stand-in',
      start.status === 302 && authorize.startsWith(entra.base),
      `${start.status}`,
    )
    const picked = await fetch(authorize, {
      method: 'POST',
      body: new URLSearchParams({ user: user.oid }),
      redirect: 'manual',
    })
    const callback = picked.headers.get('location') ?? ''
    const central = await mf.dispatchFetch(callback, { redirect: 'manual' })
    check(
      'central callback answers 303 to /sso/complete',
      central.status === 303,
      `${central.status} ${central.status === 303 ? '' : await central.text()}`,
    )
    const done = await mf.dispatchFetch(central.headers.get('location') ?? '', {
      redirect: 'manual',
      headers: { cookie },
    })
    const page = await done.text()
    check(
      'handed off with a signed assertion',
      done.status === 200 && page.includes('name="assertion"') && page.includes('Opening HQ'),
      String(done.status),
    )
    // The seeding above went through the admin API (/api/v1), which only the admin Worker serves.
    const consoleStart = await mf.dispatchFetch(`http://${PRIMARY}/admin/login`, { redirect: 'manual' })
    await consoleStart.text()
    check(
      "the console's sign-in answers on the primary host (admin Worker's route)",
      consoleStart.status === 302,
      String(consoleStart.status),
    )
    // The steps' audit rows come through the queue after the answers: the bundle's own consumer writes them.
    const db = await mf.getD1Database('DB', 'gateway')
    let stored = 0
    for (let waited = 0; waited <= 5000 && stored < 2; waited += 50) {
      stored = (await db.prepare('SELECT COUNT(*) AS n FROM sign_in_attempts').first<{ n: number }>())?.n ?? 0
      if (stored < 2) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    check('the sign-in audit rows land through the queue consumer', stored === 2, `${stored} rows`)
    const jwks = (await (await mf.dispatchFetch(`http://${PRIMARY}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ d?: string }>
    }
    check('JWKS publishes public keys only', jwks.keys.length === 1 && jwks.keys.every((k) => k.d === undefined))
  } finally {
    await mf.dispose()
  }
} finally {
  await entra.close()
  rmSync(outDir, { recursive: true, force: true })
}
if (failures > 0) {
  console.error(`${failures} bundle check(s) failed`)
  process.exit(1)
}
console.log('bundle checks passed')
