/**
 * `npm start`: the gateway under wrangler dev on local D1 (migrations applied),
 * demo data seeded, and the URLs to open printed.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { ensureDevVars, requestWithHost, run, stopChildrenOnExit, waitFor } from './lib.ts'
import { DEMO_HOSTS, seedDemo } from './seed.ts'

const root = path.resolve(import.meta.dirname, '..')
const port = Number(process.env.PORT ?? 8787)
const primaryHost = 'login.localhost'
const wrangler = path.join(root, 'node_modules', '.bin', 'wrangler')
// Offline: no metrics upload, no download of the Request.cf template.
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' }

const { created, vars } = ensureDevVars(path.join(root, '.dev.vars'))
if (created) console.log('Wrote .dev.vars with fresh development secrets.')

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
console.log(seeded ? 'Seeded the demo partner and its customers.' : 'Demo data already present.')

const login = await requestWithHost({ port, host: DEMO_HOSTS[0]!.hostname, path: '/' })
if (login.status !== 200) throw new Error(`The acme login page answered ${login.status}`)

console.log(`
  Edge SSO gateway is running.

  Open in a browser (*.localhost reaches this machine):
    ${DEMO_HOSTS.map((h) => `http://${h.hostname}:${port}/    ${h.displayName}'s branded login page`).join('\n    ')}
    http://${primaryHost}:${port}/sso/webclient    the provider's tenant-agnostic login page

  Admin API (ops key in .dev.vars):
    curl -H "Host: ${primaryHost}" -H "Authorization: Bearer $(grep ^ADMIN_API_KEY= .dev.vars | cut -d= -f2)" \\
      http://127.0.0.1:${port}/api/v1/orgs

  Press Ctrl-C to stop.
`)
