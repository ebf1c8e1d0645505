/**
 * The Workers `npm run bench:signin` runs, and the one place that names them:
 * the gateway (its bench entry, the wrangler config it is built with, its
 * bindings beyond dev/workerd.ts's), the peer using `@hono/oidc-auth`, both
 * built for production (minified) and run under one workerd.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { build } from 'esbuild'
import type { V4WorkerOptions } from 'miniflare'
import { unstable_readConfig } from 'wrangler'

const root = path.resolve(import.meta.dirname, '..', '..')

/**
 * The gateway under test. The entry wraps the gateway's module (its import
 * names it: the sign-in Worker's entry after the Worker split) and meters
 * its D1 binding; wrangler builds it with the settings of `wranglerConfig`,
 * as `wrangler deploy` builds production. `miniflare` adds to the gateway's
 * options in dev/workerd.ts (D1 `DB`, the REDIRECT_URIS Durable Object, the
 * vars): Durable Objects, queues, rate limits of the Worker under test.
 */
export const GATEWAY = {
  entry: 'bench/signin/worker/entry.ts',
  wranglerConfig: 'wrangler.toml',
  /** The environment `npm run deploy` deploys: its build settings (the vars come from dev/workerd.ts). */
  wranglerEnv: 'production',
  miniflare: (): Record<string, unknown> => ({
    // The meter's per-request counts (AsyncLocalStorage): a flag of the bench build only.
    compatibilityFlags: ['nodejs_als'],
    durableObjects: {
      REDIRECT_URIS: { className: 'EntraAppRegistrar', scriptName: 'admin' },
      SIGNIN_FLOWS: { className: 'SignInFlow', useSQLite: true },
    },
    // The rate limits of wrangler.toml, set out of the way: every sign-in comes from one address.
    ratelimits: rateLimitsAt(1e9),
  }),
}

export const PEER = {
  entry: 'bench/signin/worker/peer.ts',
  host: 'peer.localhost',
  clientId: '00000000-0000-4000-8000-0000000be7e1',
  secret: 'peer-client-secret',
  authSecret: 'peer-session-secret-0123456789abcdefghijklmnop',
}

interface RateLimit {
  name: string
  namespace_id: string | number
  simple: { limit: number; period: 10 | 60 }
}

function rateLimitsAt(limit: number): Record<string, unknown> {
  const config = unstable_readConfig({ config: path.join(root, GATEWAY.wranglerConfig) })
  return Object.fromEntries(
    ((config.ratelimits ?? []) as RateLimit[]).map((r) => [
      r.name,
      { namespace_id: String(r.namespace_id), simple: { limit, period: r.simple.period } },
    ]),
  )
}

export interface Built {
  scriptPath: string
  bytes: number
}

/** The gateway's bench entry, bundled by `wrangler deploy --dry-run` with the production config's build settings. */
export function buildGateway(outDir: string): Built {
  rmSync(outDir, { recursive: true, force: true })
  // Quiet unless it fails (wrangler warns that environments do not inherit the top level's vars: known here).
  execFileSync(
    path.join(root, 'node_modules', '.bin', 'wrangler'),
    [
      'deploy',
      GATEWAY.entry,
      '--config',
      GATEWAY.wranglerConfig,
      '--env',
      GATEWAY.wranglerEnv,
      '--dry-run',
      '--outdir',
      outDir,
      '--compatibility-flags',
      'nodejs_als',
    ],
    { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: 'false' }, stdio: 'pipe' },
  )
  const name = readdirSync(outDir).find((f) => f.endsWith('.js'))
  if (!name) throw new Error(`wrangler wrote no script to ${outDir}`)
  const scriptPath = path.join(outDir, name)
  return { scriptPath, bytes: readFileSync(scriptPath).length }
}

/**
 * Where `@hono/oidc-auth` comes from: the project's node_modules (a
 * devDependency), else BENCH_PEER_NODE_PATH (a folder holding it, e.g. after
 * `npm install --prefix /tmp/oidc-peer @hono/oidc-auth@1.8.1 hono@4.13.19`).
 */
function peerNodePaths(): string[] {
  if (existsSync(path.join(root, 'node_modules', '@hono', 'oidc-auth', 'package.json'))) return []
  const extra = process.env.BENCH_PEER_NODE_PATH ?? '/tmp/oidc-peer/node_modules'
  if (existsSync(path.join(extra, '@hono', 'oidc-auth', 'package.json'))) return [extra]
  throw new Error('@hono/oidc-auth is not installed: run `npm ci` (it is a devDependency) or set BENCH_PEER_NODE_PATH')
}

/** The peer, bundled with esbuild as wrangler would (ESM, workerd conditions, minified). */
export async function buildPeer(outDir: string): Promise<Built> {
  const scriptPath = path.join(outDir, 'peer.js')
  await build({
    entryPoints: [path.join(root, PEER.entry)],
    outfile: scriptPath,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    minify: true,
    nodePaths: peerNodePaths(),
    logLevel: 'warning',
  })
  return { scriptPath, bytes: readFileSync(scriptPath).length }
}

/** The peer as a Worker of dev/workerd.ts's workerd, on its own host. */
export function peerWorker(built: Built, issuer: string): V4WorkerOptions {
  return {
    name: 'peer',
    modules: true,
    scriptPath: built.scriptPath,
    modulesRoot: path.dirname(built.scriptPath),
    compatibilityDate: '2026-08-15',
    routes: [`${PEER.host}/*`],
    bindings: {
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_ID: PEER.clientId,
      OIDC_CLIENT_SECRET: PEER.secret,
      OIDC_REDIRECT_URI: `http://${PEER.host}/callback`,
      OIDC_AUTH_SECRET: PEER.authSecret,
    },
  }
}
