/**
 * The gateway's D1 schema. Every table and column is documented in
 * `src/db/README.md`; keep the two in step. Migrations are generated from this
 * file with `npm run db:generate` (drizzle-kit) and applied with
 * `wrangler d1 migrations apply`.
 *
 * Conventions: ids are prefixed random strings (`org_…`, `ps_…`, `usr_…`,
 * `key_…`); times are Unix milliseconds; GUIDs, UPNs, emails and hostnames are
 * stored lowercase so that equality in SQL is the equality the rules ask for.
 */
import { sql } from 'drizzle-orm'
import {
  type AnySQLiteColumn,
  check,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/sqlite-core'

export const ORG_KINDS = ['partner', 'customer'] as const
export const ORG_STRUCTURES = ['nested', 'flat'] as const
export const HOSTNAME_KINDS = ['subdomain', 'custom'] as const
export const HOSTNAME_STATUSES = ['pending', 'active', 'failed', 'moved'] as const
export const CALLBACK_MODES = ['central', 'direct'] as const
/** Whether a phone system's Entra tenant is proven (ARCHITECTURE §6): ops vouched, an administrator of it connected, or neither. */
export const TENANT_STATUSES = ['trusted', 'verified', 'unverified'] as const
/** Where a phone system's SSO list comes from: Sync pulls app assignments or one group from Graph; `scim` is pushed by Entra's provisioning (src/scim/). */
export const SYNC_SOURCES = ['app_assignments', 'group', 'scim'] as const

export type OrgKind = (typeof ORG_KINDS)[number]
export type OrgStructure = (typeof ORG_STRUCTURES)[number]
export type HostnameKind = (typeof HOSTNAME_KINDS)[number]
export type HostnameStatus = (typeof HOSTNAME_STATUSES)[number]
export type CallbackMode = (typeof CALLBACK_MODES)[number]
export type TenantStatus = (typeof TENANT_STATUSES)[number]

// Every table is `/* @__PURE__ */ sqliteTable(name, () => ({ columns }), …)`: with the columns behind a
// function the call has no side effects, so a bundle keeps only the tables its code uses. The sign-in
// Worker builds 7 of the 25 at startup instead of all of them (dev/check-bundle.ts checks it); drizzle-kit
// reads the same schema either way.
const timestamps = {
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
}

export const organizations = /* @__PURE__ */ sqliteTable(
  'organizations',
  () => ({
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ORG_KINDS }).notNull(),
    parentId: text('parent_id').references((): AnySQLiteColumn => organizations.id, { onDelete: 'restrict' }),
    structure: text('structure', { enum: ORG_STRUCTURES }),
    name: text('name').notNull(),
    displayName: text('display_name'),
    logoUrl: text('logo_url'),
    accentColor: text('accent_color'),
    /**
     * A customer moved from flat to nested (`POST /orgs/{id}/move`): until this time its partner's
     * hosts still serve it, besides its own (the portal rule, `src/tenancy/portal.ts`). NULL: never
     * moved, or moved without a transition.
     */
    partnerHostsUntil: integer('partner_hosts_until'),
    ...timestamps,
  }),
  (t) => [
    index('organizations_parent_idx').on(t.parentId),
    check(
      'organizations_tree_shape',
      sql`(${t.kind} = 'partner' AND ${t.parentId} IS NULL AND ${t.structure} IS NULL)
       OR (${t.kind} = 'customer' AND ${t.parentId} IS NOT NULL AND ${t.structure} IN ('nested', 'flat'))`,
    ),
  ],
)

export const hostnames = /* @__PURE__ */ sqliteTable(
  'hostnames',
  () => ({
    hostname: text('hostname').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'restrict' }),
    kind: text('kind', { enum: HOSTNAME_KINDS }).notNull(),
    status: text('status', { enum: HOSTNAME_STATUSES }).notNull(),
    statusDetail: text('status_detail'),
    verification: text('verification', { mode: 'json' }).$type<HostnameVerification | null>(),
    callbackMode: text('callback_mode', { enum: CALLBACK_MODES }).notNull().default('central'),
    redirectUriRegistered: integer('redirect_uri_registered', { mode: 'boolean' }).notNull().default(false),
    redirectUriDetail: text('redirect_uri_detail'),
    /** The Entra app (client id) the redirect URI was registered on, so it is removed from that one. */
    redirectUriAppId: text('redirect_uri_app_id'),
    /** When the schedule last confirmed (or repaired) that the registered URI is still on its app. */
    redirectUriCheckedAt: integer('redirect_uri_checked_at'),
    cloudflareId: text('cloudflare_id'),
    checkedAt: integer('checked_at'),
    /** Since when the hostname has been pending (unset while it is anything else): a pending week is released. */
    pendingSince: integer('pending_since'),
    checkCount: integer('check_count').notNull().default(0),
    nextCheckAt: integer('next_check_at'),
    ...timestamps,
  }),
  (t) => [
    index('hostnames_org_idx').on(t.orgId),
    index('hostnames_due_idx').on(t.nextCheckAt),
    // The cron's per-run queries at 100,000 hosts (migration 0019, test/db/query-plans.test.ts).
    index('hostnames_pending_since_idx').on(t.pendingSince),
    index('hostnames_registration_due_idx').on(t.callbackMode, t.redirectUriRegistered, t.status, t.updatedAt),
    index('hostnames_registration_check_idx').on(t.redirectUriRegistered, t.redirectUriCheckedAt),
    check('hostnames_lowercase', sql`${t.hostname} = lower(${t.hostname})`),
  ],
)

/** DNS records the partner must publish before Cloudflare activates a custom hostname. */
export interface HostnameVerification {
  ownership: { type: 'txt'; name: string; value: string } | null
  certificate: Array<{ type: 'txt' | 'http'; name: string; value: string }>
}

export const phoneSystems = /* @__PURE__ */ sqliteTable(
  'phone_systems',
  () => ({
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'restrict' }),
    name: text('name').notNull(),
    webClientUrl: text('web_client_url').notNull(),
    handoffUrl: text('handoff_url').notNull(),
    entraTenantId: text('entra_tenant_id').notNull(),
    /** Mirrors the tenant's claim for this phone system's partner subtree (`tenant_claims`); unverified serves nobody. */
    tenantStatus: text('tenant_status', { enum: TENANT_STATUSES }).notNull().default('unverified'),
    ssoListVersion: integer('sso_list_version').notNull().default(0),
    syncSource: text('sync_source', { enum: SYNC_SOURCES }).notNull().default('app_assignments'),
    syncGroupId: text('sync_group_id'),
    lastSyncAt: integer('last_sync_at'),
    lastSyncStatus: text('last_sync_status', { enum: ['success', 'failed'] }),
    lastSyncError: text('last_sync_error'),
    lastSyncCounts: text('last_sync_counts', { mode: 'json' }).$type<Record<string, number>>(),
    nextSyncAt: integer('next_sync_at'),
    ...timestamps,
  }),
  (t) => [
    index('phone_systems_org_idx').on(t.orgId),
    index('phone_systems_tenant_idx').on(t.entraTenantId),
    index('phone_systems_sync_due_idx').on(t.nextSyncAt),
    check('phone_systems_tenant_lowercase', sql`${t.entraTenantId} = lower(${t.entraTenantId})`),
  ],
)

export const ssoUsers = /* @__PURE__ */ sqliteTable(
  'sso_users',
  () => ({
    id: text('id').primaryKey(),
    phoneSystemId: text('phone_system_id')
      .notNull()
      .references(() => phoneSystems.id, { onDelete: 'cascade' }),
    tid: text('tid').notNull(),
    oid: text('oid'),
    upn: text('upn'),
    email: text('email'),
    displayName: text('display_name'),
    extension: text('extension'),
    sortKey: text('sort_key').notNull(),
    ...timestamps,
  }),
  (t) => [
    uniqueIndex('sso_users_ps_oid_uq').on(t.phoneSystemId, t.tid, t.oid),
    uniqueIndex('sso_users_ps_upn_uq').on(t.phoneSystemId, t.upn),
    uniqueIndex('sso_users_ps_email_uq').on(t.phoneSystemId, t.email),
    index('sso_users_ps_sort_idx').on(t.phoneSystemId, t.sortKey, t.id),
    // The sign-in path looks a user up by identity first, then filters by phone system.
    index('sso_users_tid_oid_idx').on(t.tid, t.oid),
    index('sso_users_tid_upn_idx').on(t.tid, t.upn),
    index('sso_users_tid_email_idx').on(t.tid, t.email),
    check('sso_users_has_identity', sql`${t.oid} IS NOT NULL OR ${t.upn} IS NOT NULL OR ${t.email} IS NOT NULL`),
    check(
      'sso_users_lowercase',
      sql`${t.tid} = lower(${t.tid}) AND (${t.oid} IS NULL OR ${t.oid} = lower(${t.oid}))
       AND (${t.upn} IS NULL OR ${t.upn} = lower(${t.upn})) AND (${t.email} IS NULL OR ${t.email} = lower(${t.email}))`,
    ),
  ],
)

export const apiKeys = /* @__PURE__ */ sqliteTable(
  'api_keys',
  () => ({
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'restrict' }),
    prefix: text('prefix').notNull(),
    secretHash: text('secret_hash').notNull(),
    label: text('label'),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at'),
    revokedAt: integer('revoked_at'),
  }),
  (t) => [uniqueIndex('api_keys_secret_hash_uq').on(t.secretHash), index('api_keys_org_idx').on(t.orgId)],
)

export const auditLog = /* @__PURE__ */ sqliteTable(
  'audit_log',
  () => ({
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    actor: text('actor').notNull(),
    orgId: text('org_id'),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    summary: text('summary', { mode: 'json' }).$type<Record<string, unknown>>(),
  }),
  (t) => [index('audit_log_org_idx').on(t.orgId, t.id), index('audit_log_target_idx').on(t.targetType, t.targetId)],
)

/**
 * A one-row scratch table for assertions inside a D1 batch: inserting 0 fails
 * the CHECK and rolls the whole batch back (see `db/guard.ts`).
 */
export const batchGuard = /* @__PURE__ */ sqliteTable(
  'batch_guard',
  () => ({
    ok: integer('ok').notNull(),
  }),
  (t) => [check('batch_guard_ok', sql`${t.ok} = 1`)],
)

/**
 * Legacy: sign-in flows past their callback, as the previous version kept
 * them. Flows now live in a Durable Object each (`signin/flow-object.ts`);
 * nothing writes this table, and the scheduled handler drains its expired
 * rows (`signin/legacy-flows.ts`) until a migration drops it.
 */
export const ssoFlows = /* @__PURE__ */ sqliteTable(
  'sso_flows',
  () => ({
    id: text('id').primaryKey(),
    hostname: text('hostname').notNull(),
    orgId: text('org_id'),
    redirectUri: text('redirect_uri').notNull(),
    tenant: text('tenant').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    consumedAt: integer('consumed_at'),
    result: text('result'),
    completionCodeHash: text('completion_code_hash'),
    completionExpiresAt: integer('completion_expires_at'),
    completedAt: integer('completed_at'),
    clientOrgId: text('client_org_id'),
    choices: text('choices'),
    choiceTokenHash: text('choice_token_hash'),
    chosenAt: integer('chosen_at'),
  }),
  (t) => [index('sso_flows_expires_idx').on(t.expiresAt)],
)

/** Every sign-in attempt that reached the callback: its outcome, never a token or code. */
export const signInAttempts = /* @__PURE__ */ sqliteTable(
  'sign_in_attempts',
  () => ({
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    result: text('result', { enum: ['success', 'failure', 'pending'] }).notNull(),
    reason: text('reason').notNull(),
    step: text('step').notNull(),
    hostname: text('hostname'),
    orgId: text('org_id'),
    phoneSystemId: text('phone_system_id'),
    tid: text('tid'),
    oid: text('oid'),
    /** The account's name as Entra gave it (preferred_username), for the sign-in log; null before the token. */
    account: text('account'),
    /**
     * Microsoft's answer to a failed step (`entra_*` reasons): its AADSTS number and OAuth error name as
     * `oidc/entra-errors.ts` words them, never Entra's free text; null otherwise.
     */
    detail: text('detail'),
    correlationId: text('correlation_id').notNull(),
    /**
     * The step's own id, chosen where it happened (`audit/queue.ts`): a queue delivers at least once, so a
     * redelivered row finds its id taken and adds nothing. Null for rows older than the queue.
     */
    eventId: text('event_id'),
  }),
  (t) => [
    index('sign_in_attempts_org_idx').on(t.orgId, t.at),
    index('sign_in_attempts_at_idx').on(t.at),
    uniqueIndex('sign_in_attempts_event_uq').on(t.eventId),
  ],
)

/**
 * A portal's own Microsoft integration: the Entra app its hosts sign in with
 * (instead of the provider's multi-tenant app) and the tenants allowed to.
 * The client secret is AES-GCM encrypted under DATA_KEY and never returned.
 */
export const microsoftIntegrations = /* @__PURE__ */ sqliteTable(
  'microsoft_integrations',
  () => ({
    orgId: text('org_id')
      .primaryKey()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    clientId: text('client_id').notNull(),
    clientSecretEnc: text('client_secret_enc').notNull(),
    homeTenantId: text('home_tenant_id').notNull(),
    allowedTenantIds: text('allowed_tenant_ids', { mode: 'json' }).$type<string[]>().notNull(),
    secretUpdatedAt: integer('secret_updated_at').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  }),
  // One portal per Entra app: its cached Graph tokens and its redirect URIs are that portal's alone.
  (t) => [uniqueIndex('microsoft_integrations_client_uq').on(t.clientId)],
)

/**
 * Which partner subtree an Entra tenant belongs to (ARCHITECTURE §6): claimed when
 * ops vouch for it (`trusted`) or an administrator of the tenant connects it
 * (`verified`). A tenant claimed in one subtree cannot be named in another;
 * only ops release it.
 */
export const tenantClaims = /* @__PURE__ */ sqliteTable('tenant_claims', () => ({
  tid: text('tid').primaryKey(),
  partnerId: text('partner_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'restrict' }),
  status: text('status', { enum: ['trusted', 'verified'] }).notNull(),
  /** Who vouched or proved it: the actor, and for a connect the administrator's tid, oid and UPN. */
  proof: text('proof', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
}))

/** One-time links an administrator of a phone system's tenant opens to connect it (ARCHITECTURE §6). */
export const connectLinks = /* @__PURE__ */ sqliteTable(
  'connect_links',
  () => ({
    id: text('id').primaryKey(),
    /** SHA-256 of the token in the link: the link itself is never stored. */
    tokenHash: text('token_hash').notNull(),
    phoneSystemId: text('phone_system_id')
      .notNull()
      .references(() => phoneSystems.id, { onDelete: 'cascade' }),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
  }),
  (t) => [uniqueIndex('connect_links_token_uq').on(t.tokenHash), index('connect_links_ps_idx').on(t.phoneSystemId)],
)

/**
 * A connect in progress: the administrator's sign-in, then Entra's admin
 * consent, each leg behind its own single-use state. Secrets are sealed.
 */
export const connectSessions = /* @__PURE__ */ sqliteTable(
  'connect_sessions',
  () => ({
    id: text('id').primaryKey(),
    linkId: text('link_id')
      .notNull()
      .references(() => connectLinks.id, { onDelete: 'cascade' }),
    /** SHA-256 of the state of the current leg. */
    stateHash: text('state_hash').notNull(),
    phase: text('phase', { enum: ['signin', 'signed_in', 'consent', 'done'] }).notNull(),
    /** Sealed: the sign-in leg's PKCE verifier and nonce, then the administrator who signed in. */
    secrets: text('secrets').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  }),
  (t) => [
    uniqueIndex('connect_sessions_state_uq').on(t.stateHash),
    index('connect_sessions_expires_idx').on(t.expiresAt),
  ],
)

/**
 * A sync under way (ARCHITECTURE §8): at most one per phone system. A sync starts
 * by claiming the row (`INSERT … ON CONFLICT DO UPDATE … WHERE` the holder is
 * stale) and deletes it in the same batch that records its outcome; every
 * write of a sync is conditional on still holding it. A crashed run's row
 * expires after `SYNC_CLAIM_TTL_MS`.
 */
export const syncRuns = /* @__PURE__ */ sqliteTable('sync_runs', () => ({
  phoneSystemId: text('phone_system_id')
    .primaryKey()
    .references(() => phoneSystems.id, { onDelete: 'cascade' }),
  /** Random, per run: the holder's proof that the claim is still its own. */
  runId: text('run_id').notNull(),
  startedAt: integer('started_at').notNull(),
}))

/** The last run of each scheduled job (`jobs/scheduled.ts`), for the ops health view. */
export const jobRuns = /* @__PURE__ */ sqliteTable('job_runs', () => ({
  job: text('job').primaryKey(),
  startedAt: integer('started_at').notNull(),
  finishedAt: integer('finished_at').notNull(),
  ok: integer('ok', { mode: 'boolean' }).notNull(),
  /** The job's counts, JSON (`{"deleted": 0, "backlog": 0}`). */
  result: text('result').notNull(),
  /** Why it failed: the error's message, never a secret. */
  error: text('error'),
  /** When it last succeeded (kept across failures). */
  lastOkAt: integer('last_ok_at'),
}))

/**
 * Incremental sync (`src/sync/delta*.ts`): per phone system, the Graph delta
 * links of its last sync, sealed under DATA_KEY and bound to the phone
 * system (they carry state tokens that read the tenant's changes), what they
 * were taken for (`scope`: the source and its groups), when, and the list
 * version that sync left; a list changed since (PUT, SCIM) makes the next
 * sync a full pull.
 */
export const syncDeltaState = /* @__PURE__ */ sqliteTable('sync_delta_state', () => ({
  phoneSystemId: text('phone_system_id')
    .primaryKey()
    .references(() => phoneSystems.id, { onDelete: 'cascade' }),
  scope: text('scope').notNull(),
  links: text('links').notNull(),
  linksAt: integer('links_at').notNull(),
  listVersion: integer('list_version').notNull(),
  fullAt: integer('full_at').notNull(),
}))

/**
 * The direct user members of the groups a phone system syncs from (`group_id`
 * '' for users assigned directly), keyed by user first: a delta sync looks its
 * candidates up by user.
 */
export const syncDeltaMembers = /* @__PURE__ */ sqliteTable(
  'sync_delta_members',
  () => ({
    phoneSystemId: text('phone_system_id')
      .notNull()
      .references(() => phoneSystems.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    groupId: text('group_id').notNull(),
  }),
  (t) => [
    primaryKey({ columns: [t.phoneSystemId, t.userId, t.groupId] }),
    index('sync_delta_members_direct_idx').on(t.phoneSystemId, t.userId).where(sql`${t.groupId} = ''`),
  ],
)

/** Members of a phone system's sources whose accounts are disabled: left off the list, not fetched again. */
export const syncDeltaDisabled = /* @__PURE__ */ sqliteTable(
  'sync_delta_disabled',
  () => ({
    phoneSystemId: text('phone_system_id')
      .notNull()
      .references(() => phoneSystems.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
  }),
  (t) => [primaryKey({ columns: [t.phoneSystemId, t.userId] })],
)

export const STAFF_ROLES = ['admin', 'viewer'] as const
export type StaffRole = (typeof STAFF_ROLES)[number]

/**
 * Console staff (ARCHITECTURE §7): an Entra user who administers (or only
 * views) an organization, and through a partner its customers. Named by
 * `oid` within `tid`, or by `upn` until its first sign-in pins the `oid`.
 */
export const staff = /* @__PURE__ */ sqliteTable(
  'staff',
  () => ({
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'restrict' }),
    tid: text('tid').notNull(),
    oid: text('oid'),
    upn: text('upn'),
    role: text('role', { enum: STAFF_ROLES }).notNull(),
    createdBy: text('created_by').notNull(),
    lastSignInAt: integer('last_sign_in_at'),
    ...timestamps,
  }),
  (t) => [
    uniqueIndex('staff_org_oid_uq').on(t.orgId, t.tid, t.oid),
    uniqueIndex('staff_org_upn_uq').on(t.orgId, t.tid, t.upn),
    index('staff_user_idx').on(t.tid, t.oid),
    index('staff_upn_idx').on(t.tid, t.upn),
    check('staff_named', sql`${t.oid} IS NOT NULL OR ${t.upn} IS NOT NULL`),
    check(
      'staff_lowercase',
      sql`${t.tid} = lower(${t.tid}) AND (${t.oid} IS NULL OR ${t.oid} = lower(${t.oid})) AND (${t.upn} IS NULL OR ${t.upn} = lower(${t.upn}))`,
    ),
  ],
)

/**
 * A signed-in console session (ARCHITECTURE §7): the cookie holds a random
 * token, D1 its SHA-256. At most 8 hours, 30 minutes idle, revocable.
 */
export const consoleSessions = /* @__PURE__ */ sqliteTable(
  'console_sessions',
  () => ({
    id: text('id').primaryKey(),
    tid: text('tid').notNull(),
    oid: text('oid').notNull(),
    upn: text('upn'),
    name: text('name'),
    csrfToken: text('csrf_token').notNull(),
    createdAt: integer('created_at').notNull(),
    lastSeenAt: integer('last_seen_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    revokedAt: integer('revoked_at'),
  }),
  (t) => [
    index('console_sessions_user_idx').on(t.tid, t.oid),
    index('console_sessions_expires_idx').on(t.expiresAt),
    // Ended sessions deleted by the cron (expired OR revoked OR idle): one index per term (migration 0019).
    index('console_sessions_revoked_idx').on(t.revokedAt),
    index('console_sessions_seen_idx').on(t.lastSeenAt),
  ],
)

/**
 * Microsoft Graph throttling a tenant (src/sync/fleet.ts): the schedule sends
 * none of its phone systems before `until`; `strikes` grows the next backoff,
 * a successful sync deletes the row. The row `*` is the app-wide backoff
 * (Graph throttling the provider's app across tenants), which slows the whole planner.
 */
export const graphTenantBackoff = /* @__PURE__ */ sqliteTable(
  'graph_tenant_backoff',
  () => ({
    tenantId: text('tenant_id').primaryKey(),
    until: integer('until').notNull(),
    strikes: integer('strikes').notNull(),
    throttledAt: integer('throttled_at').notNull(),
  }),
  (t) => [
    index('graph_tenant_backoff_throttled_idx').on(t.throttledAt),
    // The planner's "tenants backed off now" (`until > now`), read inside each run's pick of due phone systems.
    index('graph_tenant_backoff_until_idx').on(t.until),
  ],
)

/** One row type per table, for every module that reads them. */
export type OrgRow = typeof organizations.$inferSelect
export type HostnameRow = typeof hostnames.$inferSelect
export type PhoneSystemRow = typeof phoneSystems.$inferSelect
export type ApiKeyRow = typeof apiKeys.$inferSelect
export type AuditLogRow = typeof auditLog.$inferSelect
export type FlowRow = typeof ssoFlows.$inferSelect
export type MicrosoftIntegrationRow = typeof microsoftIntegrations.$inferSelect
export type TenantClaimRow = typeof tenantClaims.$inferSelect
export type ConnectLinkRow = typeof connectLinks.$inferSelect
export type ConnectSessionRow = typeof connectSessions.$inferSelect
export type SyncRunRow = typeof syncRuns.$inferSelect
export type JobRunRow = typeof jobRuns.$inferSelect
export type StaffRow = typeof staff.$inferSelect
export type ConsoleSessionRow = typeof consoleSessions.$inferSelect
export type GraphTenantBackoffRow = typeof graphTenantBackoff.$inferSelect

/**
 * SCIM 2.0 provisioning (src/scim/, ARCHITECTURE §12): the bearer
 * tokens an Entra enterprise app's provisioning presents for one phone
 * system, stored as SHA-256 like partner keys; the users and groups it
 * pushed, kept as SCIM knows them (an active user is also on the phone
 * system's SSO list, `sso_users` row with the same id, written in the same
 * batch).
 */
export const scimTokens = /* @__PURE__ */ sqliteTable(
  'scim_tokens',
  () => ({
    id: text('id').primaryKey(),
    phoneSystemId: text('phone_system_id')
      .notNull()
      .references(() => phoneSystems.id, { onDelete: 'cascade' }),
    prefix: text('prefix').notNull(),
    secretHash: text('secret_hash').notNull(),
    label: text('label'),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at'),
    revokedAt: integer('revoked_at'),
  }),
  (t) => [uniqueIndex('scim_tokens_secret_hash_uq').on(t.secretHash), index('scim_tokens_ps_idx').on(t.phoneSystemId)],
)

export const scimUsers = /* @__PURE__ */ sqliteTable(
  'scim_users',
  () => ({
    /** `usr_…`, also the id of its `sso_users` row while active: the assertion's `sub` survives a disable and re-enable. */
    id: text('id').primaryKey(),
    phoneSystemId: text('phone_system_id')
      .notNull()
      .references(() => phoneSystems.id, { onDelete: 'cascade' }),
    userName: text('user_name').notNull(),
    /** userName lowercased (JavaScript's full Unicode lowering, which SQLite's `lower` is not): SCIM compares userName case-insensitively (RFC 7643 §4.1.1), so uniqueness does too. */
    userNameKey: text('user_name_key').notNull(),
    externalId: text('external_id'),
    active: integer('active', { mode: 'boolean' }).notNull(),
    displayName: text('display_name'),
    /** The work (else primary, else first) email, lowercase. */
    email: text('email'),
    /** The resource's attributes as pushed (without id and meta), JSON, so a GET answers what was sent. */
    resource: text('resource', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    version: integer('version').notNull().default(1),
    ...timestamps,
  }),
  (t) => [
    uniqueIndex('scim_users_ps_user_name_uq').on(t.phoneSystemId, t.userNameKey),
    index('scim_users_ps_external_idx').on(t.phoneSystemId, t.externalId),
    index('scim_users_ps_created_idx').on(t.phoneSystemId, t.createdAt, t.id),
  ],
)

export const scimGroups = /* @__PURE__ */ sqliteTable(
  'scim_groups',
  () => ({
    id: text('id').primaryKey(),
    phoneSystemId: text('phone_system_id')
      .notNull()
      .references(() => phoneSystems.id, { onDelete: 'cascade' }),
    displayName: text('display_name').notNull(),
    externalId: text('external_id'),
    ...timestamps,
  }),
  (t) => [
    // A group's displayName compares case-insensitively (RFC 7643 §4.2, caseExact false), ASCII as SQLite folds it.
    index('scim_groups_ps_name_idx').on(t.phoneSystemId, sql`${t.displayName} COLLATE NOCASE`),
    index('scim_groups_ps_external_idx').on(t.phoneSystemId, t.externalId),
    index('scim_groups_ps_created_idx').on(t.phoneSystemId, t.createdAt, t.id),
  ],
)

export const scimGroupMembers = /* @__PURE__ */ sqliteTable(
  'scim_group_members',
  () => ({
    groupId: text('group_id')
      .notNull()
      .references(() => scimGroups.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => scimUsers.id, { onDelete: 'cascade' }),
  }),
  (t) => [primaryKey({ columns: [t.groupId, t.userId] }), index('scim_group_members_user_idx').on(t.userId)],
)

export type ScimTokenRow = typeof scimTokens.$inferSelect
export type ScimUserRow = typeof scimUsers.$inferSelect
export type ScimGroupRow = typeof scimGroups.$inferSelect
