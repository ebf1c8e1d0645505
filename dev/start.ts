/**
 * `npm start`: the Entra ID stand-in, then the gateway under wrangler dev on
 * local D1 (migrations applied), demo data seeded, and the URLs to open printed.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { ensureDevVars, requestWithHost, run, stopChildrenOnExit, waitFor } from './lib.ts'
import { startEntraStandIn } from './entra/server.ts'
import { DEMO_CLIENT_ID, DEMO_CUSTOMERS, DEMO_USERS, ENTRA_PORT } from './fixtures.ts'
import { seedDemo } from './seed.ts'

const root = path.resolve(import.meta.dirname, '..')
const port = Number(process.env.PORT ?? 8787)
const primaryHost = 'login.localhost'
const wrangler = path.join(root, 'node_modules', '.bin', 'wrangler')
// Offline: no metrics upload, no download of the Request.cf template.
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' }

const { created, vars } = ensureDevVars(path.join(root, '.dev.vars'))
if (created) console.log('Wrote .dev.vars with fresh development secrets.')

const entra = await startEntraStandIn({
  port: ENTRA_PORT,
  apps: [
    {
      clientId: DEMO_CLIENT_ID,
      secret: vars.ENTRA_CLIENT_SECRET!,
      redirectUris: [`http://${primaryHost}:${port}/sso/callback`],
    },
  ],
  users: DEMO_USERS,
})
console.log(`Entra ID stand-in on ${entra.base}`)

console.log('Applying D1 migrations to the local database…')
await run(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local'], env)

console.log(`Starting the gateway on port ${port}…`)
const gateway = spawn(
  wrangler,
  ['dev', '--port', String(port), '--ip', '127.0.0.1', '--show-interactive-dev-session=false', '--log-level', 'warn'],
  { cwd: root, env, stdio: 'inherit' },
)
stopChildrenOnExit([gateway])
gateway.on('exit', (code) => {
  console.error(`wrangler dev exited (${code ?? 'signal'})`)
  process.exit(code ?? 1)
})

await waitFor(
  async () => (await requestWithHost({ port, host: primaryHost, path: '/healthz' })).status === 200,
  'the gateway to answer /healthz',
  120_000,
)
const seeded = await seedDemo({ port, primaryHost, adminKey: vars.ADMIN_API_KEY! })
console.log(seeded ? 'Seeded the demo partner, its customers, phone systems and SSO lists.' : 'Demo data already present (npm run dev:reset starts over).')

const login = await requestWithHost({ port, host: DEMO_CUSTOMERS[0]!.hostname, path: '/' })
if (login.status !== 200) throw new Error(`The acme login page answered ${login.status}`)

console.log(`
  Edge SSO gateway is running.

  Open in a browser (*.localhost reaches this machine):
    ${DEMO_CUSTOMERS.map((h) => `http://${h.hostname}:${port}/    ${h.displayName}'s branded login page`).join('\n    ')}
    http://${primaryHost}:${port}/sso/webclient    the provider's tenant-agnostic login page

  Press "Sign in with Microsoft", then pick a test user on the Entra stand-in's page:
    ${DEMO_USERS.map((u) => `${u.name.padEnd(12)} ${u.upn.padEnd(18)} ${u.note}`).join('\n    ')}

  Admin API (ops key in .dev.vars):
    curl -H "Host: ${primaryHost}" -H "Authorization: Bearer $(grep ^ADMIN_API_KEY= .dev.vars | cut -d= -f2)" \\
      http://127.0.0.1:${port}/api/v1/orgs

  Press Ctrl-C to stop.
`)
