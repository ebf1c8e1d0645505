/**
 * The deployable bundles under one workerd, through Miniflare's API (no
 * wrangler dev proxy, warn-level logs), routed as in production: the sign-in
 * Worker on every host, the admin Worker on the primary host's /admin*, /api/*
 * and /connect/* (wrangler.admin.toml), both on one real D1 (migrations
 * applied, one tenant seeded through the admin API), beside a reference Worker
 * that returns a fixed HTML string. Used by `npm run bench` and by the bundle
 * check in `npm test`.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { readD1Migrations } from '@cloudflare/vitest-plugin'
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare, type V4WorkerOptions } from 'miniflare'
import { newSigningJwk } from './lib.ts'

const root = path.resolve(import.meta.dirname, '..')
export const ADMIN_KEY = 'bench-ops-key-0123456789abcdefghijklmnopqrstuvwxyz'
export const PRIMARY = 'login.localhost'
export const TENANT = 'acme.localhost'
export const REFERENCE = 'reference.bench'
/** The Entra tenant of the seeded tenant's phone system. */
export const TENANT_ID = '3f1c9a52-7d4e-4b8a-9c61-0a2b3c4d5e6f'

export const CLIENT_ID = '00000000-0000-4000-8000-00000000c11e'
export const CLIENT_SECRET = 'bundle-check-client-secret'

const wranglerVars = {
  PRIMARY_HOST: PRIMARY,
  PROVIDER_ZONE: 'localhost',
  PROVIDER_DISPLAY_NAME: 'Phone System',
  // Requests come in as http://host/ through Miniflare's dispatchFetch, without a port.
  PUBLIC_SCHEME: 'http',
  CUSTOM_HOSTNAMES: 'local',
  HOST_CACHE_TTL_SECONDS: '30',
  ADMIN_API_KEY: ADMIN_KEY,
  // Nothing listens here unless the caller passes a stand-in's address.
  ENTRA_AUTHORITY: 'http://127.0.0.1:9',
  ENTRA_CLIENT_ID: CLIENT_ID,
  ENTRA_CLIENT_SECRET: CLIENT_SECRET,
  FLOW_KEY: 'Xq2d7lY1c9n0k3v8J6mB4tR5wE2uI7oP1aS9dF3gH6k',
  DATA_KEY: 'mZ3q8rT1vW5yB7nC2xL9kJ4hG6fD0sA1pO8iU3eR5tY',
  SIGNING_KEYS: JSON.stringify([newSigningJwk()]),
}

/** The two production Workers: their wrangler configuration and entry (wrangler.toml's [env.production] `main`). */
const WORKERS = {
  signIn: { config: 'wrangler.toml', entry: 'sign-in-worker' },
  admin: { config: 'wrangler.admin.toml', entry: 'admin-worker' },
} as const

export interface Bundles {
  signIn: Buffer
  admin: Buffer
}

/** Builds both production bundles exactly as `npm run deploy` would upload them (into outDir/signIn, outDir/admin); returns their bytes. */
export function buildBundles(outDir: string): Bundles {
  rmSync(outDir, { recursive: true, force: true })
  const build = (worker: keyof typeof WORKERS) => {
    const { config, entry } = WORKERS[worker]
    const dir = path.join(outDir, worker)
    execFileSync(
      path.join(root, 'node_modules', '.bin', 'wrangler'),
      ['deploy', '--dry-run', '--env', 'production', '--config', config, '--outdir', dir],
      { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: 'false' }, stdio: 'ignore' },
    )
    return readFileSync(path.join(dir, `${entry}.js`))
  }
  return { signIn: build('signIn'), admin: build('admin') }
}

/** The reference Worker: a fixed string with fixed headers (by default a content type only). */
function referenceScript(html: string, headers: Record<string, string>): string {
  return `const HTML = ${JSON.stringify(html)};
const HEADERS = ${JSON.stringify(headers)};
export default { fetch() { return new Response(HTML, { headers: HEADERS }) } }`
}

/**
 * More options in Miniflare's v4 shape: for the sign-in Worker (`gateway`, e.g. `ratelimits`), the admin Worker,
 * Miniflare itself, and further Workers in the same workerd (each with `routes` of its own).
 */
export interface MoreOptions {
  gateway?: Record<string, unknown>
  admin?: Record<string, unknown>
  miniflare?: Record<string, unknown>
  workers?: V4WorkerOptions[]
  /** The reference Worker's response headers (default: a content type only). */
  referenceHeaders?: Record<string, string>
}

function newMiniflare(
  outDir: string,
  referenceHtml: string,
  bindings: Record<string, string>,
  more: MoreOptions,
): Miniflare {
  // Miniflare 5 takes a new options shape; the familiar v4 shape converts to it.
  return new Miniflare(
    convertV4MiniflareOptions({
      log: new Log(LogLevel.WARN),
      // The gateway logs a JSON line per request (what Workers Logs would collect): dropped here, so a bench's
      // hundred thousand requests neither flood the terminal nor spend the load generator's CPU on printing;
      // warnings and errors still show. (Miniflare 5 hands workerd's output over as structured logs.)
      handleStructuredLogs({ level, message }: { level: string; message: string }) {
        if (level === 'warn' || level === 'error') process.stderr.write(`${message}\n`)
      },
      cf: false,
      host: '127.0.0.1',
      port: 0,
      ...more.miniflare,
      // The first Worker answers every request no route claims: the sign-in Worker, as on `*/*` in production.
      workers: [
        {
          name: 'gateway',
          modules: true,
          scriptPath: path.join(outDir, 'signIn', `${WORKERS.signIn.entry}.js`),
          modulesRoot: path.join(outDir, 'signIn'),
          compatibilityDate: '2026-08-15',
          d1Databases: { DB: 'bench-db' },
          durableObjects: {
            REDIRECT_URIS: { className: 'EntraAppRegistrar', scriptName: 'admin' },
            // wrangler.toml's `new_sqlite_classes`: the flow object's synchronous storage needs SQLite.
            SIGNIN_FLOWS: { className: 'SignInFlow', useSQLite: true },
          },
          queueProducers: { SIGNIN_AUDIT: { queueName: 'sso-gateway-sign-in-audit' } },
          bindings: { ...wranglerVars, ...bindings },
          ...more.gateway,
        },
        {
          name: 'admin',
          modules: true,
          scriptPath: path.join(outDir, 'admin', `${WORKERS.admin.entry}.js`),
          modulesRoot: path.join(outDir, 'admin'),
          compatibilityDate: '2026-08-15',
          // wrangler.admin.toml's routes, on the local primary host.
          routes: [`${PRIMARY}/admin*`, `${PRIMARY}/api/*`, `${PRIMARY}/connect/*`],
          d1Databases: { DB: 'bench-db' },
          // Not SIGNIN_FLOWS: the sign-in Worker's own, which this Worker never calls (wrangler.admin.toml).
          durableObjects: { REDIRECT_URIS: 'EntraAppRegistrar' },
          // The sign-in audit queue: the sign-in Worker sends, this Worker consumes (wrangler.admin.toml);
          // batches of up to a second, as deployed Workers get them (up to five seconds there).
          queueProducers: {
            SIGNIN_AUDIT: { queueName: 'sso-gateway-sign-in-audit' },
            // Scheduled syncs: this Worker's cron sends, this Worker consumes (wrangler.admin.toml).
            SYNC_JOBS: { queueName: 'sso-gateway-sync' },
          },
          queueConsumers: {
            'sso-gateway-sign-in-audit': {
              maxBatchSize: 100,
              maxBatchTimeout: 1,
              maxRetries: 10,
              deadLetterQueue: 'sso-gateway-sign-in-audit-dlq',
            },
            'sso-gateway-sync': {
              maxBatchSize: 5,
              maxBatchTimeout: 1,
              maxRetries: 5,
              deadLetterQueue: 'sso-gateway-sync-dlq',
            },
          },
          bindings: { ...wranglerVars, ...bindings },
          ...more.admin,
        },
        {
          name: 'reference',
          modules: true,
          script: referenceScript(
            referenceHtml,
            more.referenceHeaders ?? { 'content-type': 'text/html; charset=utf-8' },
          ),
          compatibilityDate: '2026-08-15',
          // The bench loads it across many names, as it loads the gateway across many login hosts.
          routes: [`${REFERENCE}/*`, `*.${REFERENCE}/*`],
        },
        ...(more.workers ?? []),
      ],
    }),
  )
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now()
  const value = await fn()
  return [value, performance.now() - start]
}

/** The login hosts `seedHostnames` adds: `h0.bench.localhost` ... (so a bench spreads its load over many sites). */
export function benchHostname(i: number): string {
  return `h${i}.bench.localhost`
}

/**
 * Adds `count` active login hosts straight into D1 (one partner portal with its own branding per ten hosts), in
 * a few batches: seeding a thousand hosts through the admin API would take longer than the bench itself.
 */
export async function seedHostnames(mf: Miniflare, count: number): Promise<string[]> {
  const db = await mf.getD1Database('DB', 'gateway')
  const now = Date.now()
  const statements: ReturnType<typeof db.prepare>[] = []
  const hosts: string[] = []
  for (let i = 0; i < count; i++) {
    const orgId = `bench-portal-${Math.floor(i / 10)}`
    if (i % 10 === 0) {
      statements.push(
        db
          .prepare(
            "INSERT INTO organizations (id, kind, name, display_name, accent_color, created_at, updated_at) VALUES (?, 'partner', ?, ?, ?, ?, ?)",
          )
          .bind(orgId, `Portal ${i / 10}`, `Portal ${i / 10} Communications`, '#0f6cbd', now, now),
      )
    }
    const hostname = benchHostname(i)
    hosts.push(hostname)
    statements.push(
      db
        .prepare(
          "INSERT INTO hostnames (hostname, org_id, kind, status, callback_mode, created_at, updated_at) VALUES (?, ?, 'subdomain', 'active', 'central', ?, ?)",
        )
        .bind(hostname, orgId, now, now),
    )
  }
  for (let i = 0; i < statements.length; i += 200) await db.batch(statements.slice(i, i + 200))
  return hosts
}

export interface Running {
  mf: Miniflare
  port: string
  phoneSystemId: string
  /** Calls the admin API with the ops key. */
  admin(method: string, pathname: string, body?: unknown): Promise<any>
  readyMs: number
  firstGatewayMs: number
  firstReferenceMs: number
}

/**
 * A fresh workerd with both Workers, migrations applied and the tenant seeded; on a D1 an earlier start left
 * in Miniflare's `resourcePersistencePath` (`npm run bench:scale`), what that D1 holds, as it is.
 */
export async function startWorkerd(
  outDir: string,
  referenceHtml: string,
  bindings: Record<string, string> = {},
  more: MoreOptions = {},
): Promise<Running> {
  const [mf, readyMs] = await timed(async () => {
    const instance = newMiniflare(outDir, referenceHtml, bindings, more)
    await instance.ready
    return instance
  })
  const db = await mf.getD1Database('DB', 'gateway')
  // A D1 kept from an earlier start (Miniflare's `d1Persist`, as `npm run bench:scale` seeds it) is used as it is.
  const kept = await db
    .prepare('SELECT id FROM phone_systems WHERE entra_tenant_id = ?')
    .bind(TENANT_ID)
    .first<{ id: string }>()
    .catch(() => null)
  if (!kept) {
    for (const migration of await readD1Migrations(path.join(root, 'migrations'))) {
      for (const query of migration.queries) await db.prepare(query).run()
    }
  }
  const [, firstGatewayMs] = await timed(() => mf.dispatchFetch(`http://${PRIMARY}/healthz`).then((r) => r.text()))
  const [, firstReferenceMs] = await timed(() => mf.dispatchFetch(`http://${REFERENCE}/`).then((r) => r.text()))

  const admin = async (method: string, pathname: string, body?: unknown) => {
    const res = await mf.dispatchFetch(`http://${PRIMARY}/api/v1${pathname}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`${method} ${pathname}: ${res.status} ${await res.text()}`)
    return res.status === 204 ? undefined : (res.json() as Promise<any>)
  }
  if (kept)
    return { mf, port: (await mf.ready).port, phoneSystemId: kept.id, admin, readyMs, firstGatewayMs, firstReferenceMs }
  const partner = await admin('POST', '/orgs', { name: 'Bench Partner', kind: 'partner' })
  const customer = await admin('POST', '/orgs', {
    name: 'Acme',
    kind: 'customer',
    parentId: partner.id,
    branding: { displayName: 'Acme Corporation', accentColor: '#c2410c' },
  })
  await admin('POST', `/orgs/${customer.id}/hostnames`, { hostname: TENANT })
  const phoneSystem = await admin('POST', `/orgs/${customer.id}/phone-systems`, {
    name: 'HQ',
    webClientUrl: 'http://127.0.0.1:9/webclient',
    handoffUrl: 'http://127.0.0.1:9/sso/handoff',
    entraTenantId: TENANT_ID,
  })
  return {
    mf,
    port: (await mf.ready).port,
    phoneSystemId: phoneSystem.id,
    admin,
    readyMs,
    firstGatewayMs,
    firstReferenceMs,
  }
}

/** Builds both bundles (`buildBundles`); returns the sign-in Worker's bytes, the one every request but the admin surface runs. */
export function buildBundle(outDir: string): Buffer {
  return buildBundles(outDir).signIn
}
