/**
 * The demo world of `npm start`: customers of one partner, their phone
 * systems in their Entra tenants, the Entra test users of the stand-in, and
 * the console's staff (the partner's admin and viewer, the provider's ops admin).
 */
import type { EntraUser } from './entra/server.ts'

export const ACME_TENANT = 'a1ce0000-0000-4000-8000-0000000000a1'
export const BETA_TENANT = 'be7a0000-0000-4000-8000-0000000000b2'
/** Gamma's tenant: named by the partner's key, so unverified until Gamma's administrator connects it. */
export const GAMMA_TENANT = '9a770000-0000-4000-8000-0000000000c3'
const GLOBAL_ADMINISTRATOR = '62e90394-69f5-4237-9190-012177145e10'

export const DEMO_CLIENT_ID = '00000000-0000-4000-8000-00000000c11e'
/** Where the provider's demo app is registered (Graph edits its redirect URIs there). */
export const DEMO_HOME_TENANT = '0e0e0e0e-0000-4000-8000-00000000e0e0'
/** The demo partner's own Entra tenant, where its console staff sign in from. */
export const DEMO_PARTNER_TENANT = 'de300000-0000-4000-8000-0000000000d4'
/** The provider's tenant (where its app is registered): its ops admin signs in from there. */
export const PROVIDER_TENANT = DEMO_HOME_TENANT
export const ENTRA_PORT = 8790
export const WEBCLIENT_PORT = 8789
export const CLOUDFLARE_PORT = 8792
export const GRAPH_PORT = 8791
export const CLOUDFLARE_ZONE = 'local-saas-zone'
/** The DNS over HTTPS stand-in (wrangler.toml's local DOH_URL names this port). */
export const DNS_PORT = 8793
/** What custom domains are CNAMEs to locally (wrangler.toml's local CUSTOM_HOSTNAME_CNAME_TARGET). */
export const CNAME_TARGET = 'customers.localhost'

export interface DemoUser extends EntraUser {
  extension: string
  /** Names of the phone systems whose SSO list holds this user. */
  listedOn: string[]
  /** What picking this user shows in the demo. */
  note: string
}

export const DEMO_USERS: DemoUser[] = [
  {
    oid: '0a0a0a0a-1111-4aaa-8aaa-000000000001',
    tid: ACME_TENANT,
    upn: 'ann@acme.example',
    email: 'ann@acme.example',
    name: 'Ann Archer',
    extension: '101',
    listedOn: ['Acme HQ'],
    note: 'listed on one phone system: straight into the web client',
  },
  {
    oid: '0a0a0a0a-1111-4aaa-8aaa-000000000002',
    tid: ACME_TENANT,
    upn: 'bob@acme.example',
    email: 'bob@acme.example',
    name: 'Bob Baker',
    extension: '102',
    listedOn: ['Acme HQ', 'Acme Support Line'],
    note: 'listed on two phone systems: the chooser',
  },
  {
    oid: '0a0a0a0a-1111-4aaa-8aaa-000000000003',
    tid: ACME_TENANT,
    upn: 'carl@acme.example',
    email: 'carl@acme.example',
    name: 'Carl Cole',
    extension: '103',
    listedOn: [],
    note: 'in Acme\'s Entra tenant but on no SSO list: "not set up for SSO"',
  },
  {
    oid: '0b0b0b0b-2222-4bbb-8bbb-000000000001',
    tid: BETA_TENANT,
    upn: 'bea@beta.example',
    email: 'bea@beta.example',
    name: 'Bea Brooks',
    extension: '201',
    listedOn: ['Beta Main'],
    note: 'Beta Industries: sign in on beta.localhost or the primary host',
  },
  {
    oid: '0c0c0c0c-3333-4ccc-8ccc-000000000001',
    tid: GAMMA_TENANT,
    upn: 'gina@gamma.example',
    email: 'gina@gamma.example',
    name: 'Gina Grant',
    wids: [GLOBAL_ADMINISTRATOR],
    extension: '301',
    listedOn: [],
    note: "Gamma's Global Administrator: opens the connect link (below)",
  },
  {
    oid: '0c0c0c0c-3333-4ccc-8ccc-000000000002',
    tid: GAMMA_TENANT,
    upn: 'gus@gamma.example',
    email: 'gus@gamma.example',
    name: 'Gus Green',
    extension: '302',
    listedOn: [],
    note: 'Gamma Logistics: on the list once Gina connected and Sync ran',
  },
]

export interface DemoCustomer {
  hostname: string
  displayName: string
  accentColor: string
  phoneSystems: Array<{ name: string; tenant: string }>
  /** Created with the partner's own key (the tenant is then a claim until connected), not the ops key. */
  byPartner?: boolean
}

export const DEMO_CUSTOMERS: DemoCustomer[] = [
  {
    hostname: 'acme.localhost',
    displayName: 'Acme Corporation',
    accentColor: '#c2410c',
    phoneSystems: [
      { name: 'Acme HQ', tenant: ACME_TENANT },
      { name: 'Acme Support Line', tenant: ACME_TENANT },
    ],
  },
  {
    hostname: 'beta.localhost',
    displayName: 'Beta Industries',
    accentColor: '#1d4ed8',
    phoneSystems: [{ name: 'Beta Main', tenant: BETA_TENANT }],
  },
  {
    hostname: 'gamma.localhost',
    displayName: 'Gamma Logistics',
    accentColor: '#047857',
    phoneSystems: [{ name: 'Gamma Desk', tenant: GAMMA_TENANT }],
    byPartner: true,
  },
]

/**
 * The demo tenants' directories in the Graph stand-in: who is assigned to the
 * sign-in app there (through a "Phone users" group). Differs on purpose from
 * the seeded SSO lists: pressing Sync for an Acme phone system lets Carl in.
 */
export const DEMO_DIRECTORY: Record<string, string[]> = {
  [ACME_TENANT]: ['ann@acme.example', 'bob@acme.example', 'carl@acme.example'],
  [BETA_TENANT]: ['bea@beta.example'],
  [GAMMA_TENANT]: ['gina@gamma.example', 'gus@gamma.example'],
}

/** Tenants whose administrators have not consented yet: the connect link is how that happens. */
export const NOT_YET_CONSENTED = new Set([GAMMA_TENANT])

export const SYNC_ROLES = ['Application.Read.All', 'User.Read.All', 'GroupMember.Read.All']

/** The demo partner's name: the staff below are staff of it. */
export const DEMO_PARTNER_NAME = 'Demo Partner'

export interface DemoStaff extends EntraUser {
  /** Admin or viewer of the demo partner, or ops (the `OPS_ADMINS` of wrangler.toml's top level). */
  role: 'admin' | 'viewer' | 'ops'
}

/**
 * The console's demo staff, Entra users of the stand-in. The ops admin's `tid:oid` is wrangler.toml's
 * local `OPS_ADMINS`; the partner's admin and viewer are staff records of the demo partner, by UPN (pinned
 * to their oid at their first sign-in, as the console does for anyone added by name).
 */
export const DEMO_STAFF: DemoStaff[] = [
  {
    oid: '0d0d0d0d-4444-4ddd-8ddd-000000000001',
    tid: DEMO_PARTNER_TENANT,
    upn: 'pat@partner.example',
    email: 'pat@partner.example',
    name: 'Pat Palmer',
    role: 'admin',
  },
  {
    oid: '0d0d0d0d-4444-4ddd-8ddd-000000000002',
    tid: DEMO_PARTNER_TENANT,
    upn: 'vic@partner.example',
    email: 'vic@partner.example',
    name: 'Vic Vance',
    role: 'viewer',
  },
  {
    oid: '0e0e0e0e-5555-4eee-8eee-000000000001',
    tid: PROVIDER_TENANT,
    upn: 'olive@provider.example',
    email: 'olive@provider.example',
    name: 'Olive Ops',
    role: 'ops',
  },
]

/** A demo end user who is staff of nothing: the console refuses them. */
export const NOT_STAFF = DEMO_USERS.find((u) => u.upn === 'carl@acme.example')!
