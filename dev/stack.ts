/**
 * The whole local stack: the Entra ID, Microsoft Graph, Cloudflare and DNS
 * over HTTPS stand-ins, the demo phone web client, and the gateway under `wrangler dev` on a local D1 (migrations applied,
 * demo data and the console's demo staff seeded through the admin API). `npm start` runs it on fixed
 * ports; the browser tests run it on free ports with a throw-away database.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { type CloudflareStandIn, startCloudflareStandIn } from './cloudflare/server.ts'
import { type DnsStandIn, startDnsStandIn } from './dns/server.ts'
import { type EntraStandIn, startEntraStandIn } from './entra/server.ts'
import {
  CLOUDFLARE_ZONE,
  CNAME_TARGET,
  DEMO_CLIENT_ID,
  DEMO_DIRECTORY,
  DEMO_HOME_TENANT,
  DEMO_STAFF,
  DEMO_USERS,
  NOT_YET_CONSENTED,
  SYNC_ROLES,
} from './fixtures.ts'
import { type GraphDirectoryStandIn, startGraphDirectoryStandIn } from './graph/directory.ts'
import { ensureDevVars, requestWithHost, run, waitFor } from './lib.ts'
import { demoPhoneSystems, seedDemo, seedStaff } from './seed.ts'
import { type DemoWebClient, startDemoWebClient } from './webclient/server.ts'

export const PRIMARY_HOST = 'login.localhost'
const root = path.resolve(import.meta.dirname, '..')
const wrangler = path.join(root, 'node_modules', '.bin', 'wrangler')

export interface StackOptions {
  port: number
  entraPort: number
  webclientPort: number
  cloudflarePort: number
  graphPort: number
  /** The DNS over HTTPS stand-in's port (a free one when absent). */
  dnsPort?: number
  /** D1 state directory; wrangler's default (.wrangler/state) when absent. */
  persistTo?: string
  /** Hide wrangler's own output (the browser tests). */
  quiet?: boolean
}

export interface Stack {
  port: number
  entra: EntraStandIn
  cloudflare: CloudflareStandIn
  graph: GraphDirectoryStandIn
  dns: DnsStandIn
  webclient: DemoWebClient
  gateway: ChildProcess
  seeded: boolean
  adminKey: string
  stop(): Promise<void>
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { port } = options
  // Offline: no metrics upload, no download of the Request.cf template.
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' }
  const { created, vars } = ensureDevVars(path.join(root, '.dev.vars'))
  if (created && !options.quiet) console.log('Wrote .dev.vars with fresh development secrets.')

  const entra = await startEntraStandIn({
    port: options.entraPort,
    apps: [
      {
        clientId: DEMO_CLIENT_ID,
        secret: vars.ENTRA_CLIENT_SECRET!,
        redirectUris: [
          `http://${PRIMARY_HOST}:${port}/sso/callback`,
          `http://${PRIMARY_HOST}:${port}/connect/callback`,
        ],
        grants: {
          [DEMO_HOME_TENANT]: ['Application.ReadWrite.OwnedBy'],
          ...Object.fromEntries(
            Object.keys(DEMO_DIRECTORY)
              .filter((tid) => !NOT_YET_CONSENTED.has(tid))
              .map((tid) => [tid, SYNC_ROLES]),
          ),
        },
      },
    ],
    users: [...DEMO_USERS, ...DEMO_STAFF],
  })
  const graph = await startGraphDirectoryStandIn(entra, options.graphPort)
  for (const [tid, upns] of Object.entries(DEMO_DIRECTORY)) {
    const directory = graph.directory(tid)
    for (const user of DEMO_USERS.filter((u) => u.tid === tid)) {
      directory.users.set(user.oid, {
        id: user.oid,
        userPrincipalName: user.upn,
        mail: user.email ?? null,
        displayName: user.name,
        accountEnabled: true,
      })
    }
    const members = DEMO_USERS.filter((u) => upns.includes(u.upn)).map((u) => u.oid)
    const groupId = `${tid.slice(0, 8)}-9999-4999-8999-999999999999`
    directory.groups.set(groupId, { id: groupId, displayName: 'Phone users', members })
    directory.servicePrincipals.set(DEMO_CLIENT_ID, {
      id: `${tid.slice(0, 8)}-5555-4555-8555-555555555555`,
      assignments: [{ principalId: groupId, principalType: 'Group' }],
    })
  }
  const webclient = await startDemoWebClient({
    gatewayOrigin: `http://${PRIMARY_HOST}:${port}`,
    gatewayPort: port,
    port: options.webclientPort,
  })
  // Custom domains validate by themselves 30 s after they are attached: the partner "publishes" their DNS
  // records in the DNS stand-in then (the ownership and certificate TXT records, the CNAME), and Cloudflare
  // validates from there, so the diagnosis sees what Cloudflare sees.
  const dns = await startDnsStandIn({ port: options.dnsPort ?? 0 })
  const cloudflare = await startCloudflareStandIn({
    zoneId: CLOUDFLARE_ZONE,
    apiToken: vars.CLOUDFLARE_API_TOKEN!,
    port: options.cloudflarePort,
    autoValidateAfterMs: 30_000,
    dns,
    cnameTarget: CNAME_TARGET,
  })
  const closeStandIns = () =>
    Promise.all([entra.close(), webclient.close(), cloudflare.close(), graph.close(), dns.close()])

  const persist = options.persistTo ? ['--persist-to', options.persistTo] : []
  const stdio = options.quiet ? 'ignore' : 'inherit'
  // wrangler prints a table per migration: one line says the same, and names the file that keeps the tables
  // (the whole output is shown on failure).
  const migrated = await run(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local', ...persist], env, 'capture')
  const migrationsLog = path.join(options.persistTo ?? path.join(root, '.wrangler'), 'migrations.log')
  mkdirSync(path.dirname(migrationsLog), { recursive: true })
  writeFileSync(migrationsLog, migrated)
  const applied = new Set(migrated.match(/\b\d{4}_[a-z0-9_]+\.sql\b/g) ?? [])
  if (!options.quiet) {
    const summary = applied.size > 0 ? `${applied.size} migration(s) applied` : 'migrations up to date'
    console.log(`local D1: ${summary} (wrangler's output: ${path.relative(process.cwd(), migrationsLog)})`)
  }

  const gateway = spawn(
    wrangler,
    [
      'dev',
      '--port',
      String(port),
      '--ip',
      '127.0.0.1',
      '--show-interactive-dev-session=false',
      '--log-level',
      'warn',
      '--var',
      `PUBLIC_PORT:${port}`,
      '--var',
      `ENTRA_AUTHORITY:${entra.base}`,
      '--var',
      `CLOUDFLARE_API_BASE:${cloudflare.base}`,
      '--var',
      `GRAPH_BASE:${graph.base}`,
      '--var',
      `DOH_URL:${dns.base}`,
      '--var',
      `CUSTOM_HOSTNAME_CNAME_TARGET:${CNAME_TARGET}`,
      ...persist,
    ],
    // Its own process group, so that stopping it also stops the workerd it starts.
    { cwd: root, env, stdio, detached: true },
  )
  const stopGateway = () => {
    if (gateway.exitCode === null && gateway.pid) {
      try {
        process.kill(-gateway.pid, 'SIGTERM')
      } catch {
        // already gone
      }
    }
  }
  process.once('exit', stopGateway)

  try {
    await waitFor(
      async () => (await requestWithHost({ port, host: PRIMARY_HOST, path: '/healthz' })).status === 200,
      'the gateway to answer /healthz',
      120_000,
    )
    const target = {
      port,
      primaryHost: PRIMARY_HOST,
      adminKey: vars.ADMIN_API_KEY!,
      webclientPort: options.webclientPort,
    }
    const seeded = await seedDemo(target)
    await seedStaff(target)
    for (const [slug, system] of await demoPhoneSystems(target)) webclient.phoneSystems.set(slug, system)
    // wrangler dev does not run cron triggers by itself: run the scheduled handler as the cron would.
    const cron = setInterval(() => {
      requestWithHost({ port, host: `127.0.0.1:${port}`, path: '/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*' }).catch(
        () => undefined,
      )
    }, 30_000)
    cron.unref()
    return {
      port,
      entra,
      cloudflare,
      graph,
      dns,
      webclient,
      gateway,
      seeded,
      adminKey: vars.ADMIN_API_KEY!,
      async stop() {
        clearInterval(cron)
        stopGateway()
        await closeStandIns()
      },
    }
  } catch (error) {
    stopGateway()
    await closeStandIns()
    throw error
  }
}
