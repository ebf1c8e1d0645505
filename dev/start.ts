/**
 * `npm start`: the Entra ID stand-in, the demo phone web client, and the
 * gateway under wrangler dev on local D1 with demo data; prints what to open
 * (the login pages, the admin console and its demo staff, the admin API).
 * PORT (8787), ENTRA_PORT (8790), WEBCLIENT_PORT (8789), GRAPH_PORT (8791,
 * the Microsoft Graph stand-in), CLOUDFLARE_PORT (8792, the Cloudflare for
 * SaaS API stand-in) and DNS_PORT (8793, the DNS over HTTPS stand-in) move them.
 */
import {
  CLOUDFLARE_PORT,
  DEMO_CUSTOMERS,
  DEMO_PARTNER_NAME,
  DEMO_STAFF,
  DEMO_USERS,
  DNS_PORT,
  ENTRA_PORT,
  GRAPH_PORT,
  WEBCLIENT_PORT,
} from './fixtures.ts'
import { requestWithHost } from './lib.ts'
import { demoConnectLinks } from './seed.ts'
import { PRIMARY_HOST, startStack } from './stack.ts'

const port = Number(process.env.PORT ?? 8787)
const STAFF_ROLE = {
  admin: `admin of ${DEMO_PARTNER_NAME}`,
  viewer: `viewer of ${DEMO_PARTNER_NAME}: sees everything, changes nothing`,
  ops: 'ops admin (OPS_ADMINS in wrangler.toml): every partner',
}
const webclientPort = Number(process.env.WEBCLIENT_PORT ?? WEBCLIENT_PORT)
const stack = await startStack({
  port,
  entraPort: Number(process.env.ENTRA_PORT ?? ENTRA_PORT),
  webclientPort,
  cloudflarePort: Number(process.env.CLOUDFLARE_PORT ?? CLOUDFLARE_PORT),
  graphPort: Number(process.env.GRAPH_PORT ?? GRAPH_PORT),
  dnsPort: Number(process.env.DNS_PORT ?? DNS_PORT),
})
const stop = () => void stack.stop().finally(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
stack.gateway.on('exit', (code) => {
  console.error(`wrangler dev exited (${code ?? 'signal'})`)
  void stack.stop().finally(() => process.exit(code ?? 1))
})

console.log(
  stack.seeded
    ? 'Seeded the demo partner, its customers, phone systems and SSO lists.'
    : 'Demo data already present (npm run dev:reset starts over).',
)
const login = await requestWithHost({ port, host: DEMO_CUSTOMERS[0]!.hostname, path: '/' })
if (login.status !== 200) throw new Error(`The acme login page answered ${login.status}`)
const target = { port, primaryHost: PRIMARY_HOST, adminKey: stack.adminKey, webclientPort }
const unconnected = await demoConnectLinks(target)
const adminCurl = (method: string, path: string) =>
  `curl -X ${method} -H "Host: ${PRIMARY_HOST}" -H "Authorization: Bearer $(grep ^ADMIN_API_KEY= .dev.vars | cut -d= -f2)" http://127.0.0.1:${port}/api/v1${path}`
const connectStory = unconnected.length
  ? `
  Tenant proof: the partner created Gamma Logistics with its own key, so Gamma's Microsoft 365
  is not connected yet (http://gamma.localhost:${port}/ says so). As Gamma's administrator:
    ${unconnected.map((u) => `${u.name}: open ${u.connectUrl}`).join('\n    ')}
    press "Connect Microsoft 365", pick Gina Grant twice (sign in, then accept the permissions);
  then Sync the list and sign in on gamma.localhost as Gus Green:
    ${unconnected.map((u) => adminCurl('POST', `/phone-systems/${u.id}/sync`)).join('\n    ')}
`
  : ''

console.log(`
  Edge SSO gateway is running (Entra ID stand-in: ${stack.entra.base}).

  Open in a browser (*.localhost reaches this machine):
    ${DEMO_CUSTOMERS.map((h) => `http://${h.hostname}:${port}/    ${h.displayName}'s branded login page`).join('\n    ')}
    http://${PRIMARY_HOST}:${port}/sso/webclient    the provider's tenant-agnostic login page

  Press "Sign in with Microsoft", pick a test user on the Entra stand-in's page,
  and you land in the demo phone web client (${stack.webclient.base}):
    ${DEMO_USERS.map((u) => `${u.name.padEnd(12)} ${u.upn.padEnd(18)} ${u.note}`).join('\n    ')}

  Admin console: http://${PRIMARY_HOST}:${port}/admin    "Sign in with Microsoft", then pick:
    ${DEMO_STAFF.map((u) => `${u.name.padEnd(12)} ${u.upn.padEnd(22)} ${STAFF_ROLE[u.role]}`).join('\n    ')}
    Any other test user is staff of nothing: the console says who can grant access.

  Admin API (ops key in .dev.vars):
    ${adminCurl('GET', '/orgs')}
  Ops health view (configuration, D1, scheduled jobs, the Entra secret's expiry, signing keys):
    ${adminCurl('GET', '/health')}
${connectStory}
  Press Ctrl-C to stop.
`)
