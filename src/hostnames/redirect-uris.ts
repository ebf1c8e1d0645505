/**
 * Direct callback mode (ARCHITECTURE §4), the host side: which hosts have their
 * `/sso/callback` registered, on which Entra app, and keeping that true.
 * A host is only ever marked registered when its URI is on the app it signs
 * in with; anything else leaves it on the central callback (which needs no
 * URI of its own) with the reason in `redirectUriDetail`, so nobody meets
 * AADSTS50011. Every change to an app's list goes through that app's
 * registrar (one writer per app, `registrar.ts`); each host records the app
 * its URI is on, so it is removed from that one.
 */
import { and, asc, eq, isNull, lt, or, type SQL, sql } from 'drizzle-orm'
import type { Config } from '../config'
import { getDb } from '../db/client'
import { type HostnameRow, hostnames } from '../db/schema'
import { guard, toStatement } from '../db/statements'
import type { Env } from '../env'
import { AppError } from '../errors'
import { hostCache } from '../hosts/resolve'
import { log } from '../log'
import { clientForOrg, type EntraClient, providerClient } from '../oidc/clients'
import { callbackUri } from '../signin/callback-uri'
import type { EntraAppRegistrar, RegistrarResult } from './registrar'

/** The redirect-URI lists of Entra apps, changed through each app's registrar. */
export interface RedirectUris {
  register(client: EntraClient, uri: string): Promise<void>
  unregister(client: EntraClient, uri: string): Promise<void>
  isRegistered(client: EntraClient, uri: string): Promise<boolean>
}

function unwrap<T>(result: RegistrarResult<T>): T {
  if (result.ok) return result.value
  throw new AppError(result.code, result.message, result.field ? { field: result.field } : {})
}

export function redirectUrisOf(env: Pick<Env, 'REDIRECT_URIS'>): RedirectUris {
  const registrar = (client: EntraClient) =>
    env.REDIRECT_URIS.get(
      env.REDIRECT_URIS.idFromName(client.clientId),
    ) as unknown as DurableObjectStub<EntraAppRegistrar>
  return {
    register: async (client, uri) => {
      unwrap(await registrar(client).register(client, uri))
    },
    unregister: async (client, uri) => {
      unwrap(await registrar(client).unregister(client, uri))
    },
    isRegistered: async (client, uri) => unwrap(await registrar(client).isRegistered(client, uri)),
  }
}

export type Registration = Pick<HostnameRow, 'redirectUriRegistered' | 'redirectUriDetail' | 'redirectUriAppId'>

const onCentral = (detail: string): Registration => ({
  redirectUriRegistered: false,
  redirectUriDetail: `Not registered (central callback in use): ${detail}`,
  redirectUriAppId: null,
})

/**
 * Registers a direct host's redirect URI on `client` (its portal's app by
 * default). Graph trouble other than the 256 ceiling does not stop
 * anything: the host signs in through the central callback until a check,
 * Sync or the schedule registers it.
 */
export async function registerHost(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  row: Pick<HostnameRow, 'hostname' | 'orgId'>,
  client?: EntraClient,
): Promise<Registration> {
  const app = client ?? (await clientForOrg(d1, config, row.orgId))
  try {
    await uris.register(app, callbackUri(config, row.hostname))
    return { redirectUriRegistered: true, redirectUriDetail: null, redirectUriAppId: app.clientId }
  } catch (error) {
    if (error instanceof AppError && error.code === 'redirect_uri_limit') throw error
    log('warn', 'redirect URI not registered; central callback in use', {
      hostname: row.hostname,
      code: error instanceof AppError ? error.code : 'internal',
    })
    return onCentral(error instanceof AppError ? error.message : 'Microsoft Graph failed')
  }
}

/**
 * The app a host's URI was registered on, with credentials: the portal's
 * current app or the provider's. Null for an app the gateway no longer has
 * credentials for (a portal integration replaced before URIs were moved).
 */
async function registeredApp(
  d1: D1Database,
  config: Config,
  row: Pick<HostnameRow, 'orgId' | 'redirectUriAppId'>,
): Promise<EntraClient | null> {
  const current = await clientForOrg(d1, config, row.orgId)
  if (row.redirectUriAppId === null || row.redirectUriAppId === current.clientId) return current
  if (row.redirectUriAppId === config.entra.clientId) return providerClient(config)
  return null
}

/**
 * Removes a host's redirect URI from the app it was registered on. Graph
 * failures throw: a URI left on an app for a domain that is no longer ours
 * must not happen silently.
 */
export async function unregisterHost(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  row: Pick<HostnameRow, 'hostname' | 'orgId' | 'redirectUriAppId'>,
): Promise<void> {
  const app = await registeredApp(d1, config, row)
  if (!app) {
    // Only a portal's former own app can be unknown (the provider's is always known): the partner's to clean.
    log('error', 'redirect URI left on an app the gateway has no credentials for', {
      hostname: row.hostname,
      appId: row.redirectUriAppId,
    })
    return
  }
  await uris.unregister(app, callbackUri(config, row.hostname))
}

type ReadHost = Pick<HostnameRow, 'hostname' | 'orgId' | 'createdAt' | 'callbackMode' | 'status'>

/**
 * The host is still the row a Graph call was decided on: not detached (nor
 * detached and attached again), same portal, same callback mode, same
 * status. Every write after a registration is conditional on it.
 */
export function hostAsRead(row: ReadHost): SQL {
  return and(
    eq(hostnames.hostname, row.hostname),
    eq(hostnames.orgId, row.orgId),
    eq(hostnames.createdAt, row.createdAt),
    eq(hostnames.callbackMode, row.callbackMode),
    eq(hostnames.status, row.status),
  ) as SQL
}

/** `hostAsRead` as a batch guard, for a write that shares its batch with an audit row. */
export function hostStillAsRead(d1: D1Database, row: ReadHost): D1PreparedStatement[] {
  const { sql: select, params } = getDb(d1).select({ one: sql`1` }).from(hostnames).where(hostAsRead(row)).toSQL()
  return guard(d1, `EXISTS (${select})`, ...params)
}

/**
 * A registration whose write found (or may have found) the host changed,
 * `hostAsRead` matching nothing: its URI comes off the app again, unless the
 * host as it is now is registered there itself (its write landed, or a
 * concurrent registration of the same host). Best effort: a failure is
 * logged. Returns the host as it is now.
 */
export async function withdrawRegistration(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  row: Pick<HostnameRow, 'hostname' | 'orgId'>,
  outcome: Registration,
): Promise<HostnameRow | undefined> {
  hostCache(config).delete(row.hostname)
  const current = await getDb(d1).select().from(hostnames).where(eq(hostnames.hostname, row.hostname)).get()
  if (!outcome.redirectUriRegistered) return current
  if (current?.redirectUriRegistered && current.redirectUriAppId === outcome.redirectUriAppId) return current
  await unregisterHost(d1, config, uris, { ...row, redirectUriAppId: outcome.redirectUriAppId }).catch(
    (error: unknown) =>
      log('error', 'redirect URI left on an app after its host changed during the registration', {
        hostname: row.hostname,
        appId: outcome.redirectUriAppId,
        code: error instanceof AppError ? error.code : 'internal',
      }),
  )
  return current
}

/**
 * Stores a registration outcome on the host as it was read. When the host
 * changed meanwhile (detached, switched, re-verified), nothing is written, a
 * URI just registered is withdrawn, and the host as it is now is returned
 * (one detached meanwhile: as read, with nothing registered).
 */
async function store(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  row: HostnameRow,
  outcome: Registration,
  now: number,
): Promise<HostnameRow> {
  const written = await getDb(d1)
    .update(hostnames)
    .set({ ...outcome, redirectUriCheckedAt: now, updatedAt: now })
    .where(hostAsRead(row))
    .returning()
    .get()
  if (!written) {
    const current = await withdrawRegistration(d1, config, uris, row, outcome)
    return current ?? { ...row, ...onCentral('the hostname was detached meanwhile') }
  }
  if (outcome.redirectUriRegistered !== row.redirectUriRegistered) hostCache(config).delete(row.hostname)
  return written
}

/** Tries again to register a direct host that is not registered yet, and stores the outcome. */
export async function retryRegistration(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  row: HostnameRow,
  now: number,
): Promise<HostnameRow> {
  let outcome: Registration
  try {
    outcome = await registerHost(d1, config, uris, row)
  } catch (error) {
    // At the ceiling: say so on the hostname; it keeps signing in centrally.
    outcome = onCentral(error instanceof AppError ? error.message : 'Microsoft Graph failed')
  }
  return store(d1, config, uris, row, outcome, now)
}

/**
 * Checks that a host marked registered really has its URI on the app it
 * signs in with now; puts it back when it was removed there, or moves it to
 * the central callback when that fails or its app changed under it.
 */
export type Verification = 'confirmed' | 'repaired' | 'fell_back' | 'unconfirmed'

export async function verifyRegistration(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  row: HostnameRow,
  now: number,
): Promise<{ row: HostnameRow; verification: Verification }> {
  const current = await clientForOrg(d1, config, row.orgId)
  const again = async () => {
    const after = await retryRegistration(d1, config, uris, row, now)
    return { row: after, verification: after.redirectUriRegistered ? ('repaired' as const) : ('fell_back' as const) }
  }
  if (row.redirectUriAppId !== null && row.redirectUriAppId !== current.clientId) {
    // Registered on another app than the one the host signs in with: remove it there, then register here.
    await unregisterHost(d1, config, uris, row).catch(() => undefined)
    return again()
  }
  let present: boolean
  try {
    present = await uris.isRegistered(current, callbackUri(config, row.hostname))
  } catch (error) {
    // Graph cannot confirm it now: keep the host as it is and look again later.
    log('warn', 'redirect URI could not be confirmed', {
      hostname: row.hostname,
      code: error instanceof AppError ? error.code : 'internal',
    })
    // Asked again after the usual rest, not after a whole day, and not before the hosts waiting behind it.
    const retryAt = now - REGISTRATION_SCHEDULE.confirmEveryMs + REGISTRATION_SCHEDULE.restMs
    await getDb(d1).update(hostnames).set({ redirectUriCheckedAt: retryAt }).where(eq(hostnames.hostname, row.hostname))
    return { row: { ...row, redirectUriCheckedAt: retryAt }, verification: 'unconfirmed' }
  }
  if (present) {
    const confirmed = await store(d1, config, uris, row, { ...row, redirectUriAppId: current.clientId }, now)
    return { row: confirmed, verification: 'confirmed' }
  }
  log('warn', 'registered redirect URI missing on its app; registering it again', { hostname: row.hostname })
  return again()
}

/**
 * A direct host's URI is on its app exactly while the host is active: a
 * domain whose ownership is not (or no longer) verified at Cloudflare must
 * not receive authorization codes. Registers, re-confirms, or removes it.
 */
export async function reconcileHost(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  row: HostnameRow,
  now: number,
): Promise<HostnameRow> {
  if (row.callbackMode !== 'direct') return row
  if (row.status === 'active') {
    return row.redirectUriRegistered
      ? (await verifyRegistration(d1, config, uris, row, now)).row
      : retryRegistration(d1, config, uris, row, now)
  }
  if (!row.redirectUriRegistered) return row
  return removeRegistration(d1, config, uris, row, `the domain is ${row.status}, so its redirect URI was removed`, now)
}

/** Takes a host's URI off its app and records it on the central callback; a Graph failure leaves it for the next try. */
async function removeRegistration(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  row: HostnameRow,
  reason: string,
  now: number,
): Promise<HostnameRow> {
  try {
    await unregisterHost(d1, config, uris, row)
  } catch (error) {
    log('warn', 'redirect URI could not be removed yet', {
      hostname: row.hostname,
      code: error instanceof AppError ? error.code : 'internal',
    })
    return row
  }
  return store(d1, config, uris, row, onCentral(reason), now)
}

/** What a direct host waiting for its registration is: its URI is registered once the domain is verified. */
export const AWAITING_ACTIVATION = onCentral('registered once the domain is verified')

const unregisteredDirect = and(
  eq(hostnames.callbackMode, 'direct'),
  eq(hostnames.redirectUriRegistered, false),
  eq(hostnames.status, 'active'),
)

/** Registers the redirect URIs of a portal's direct hosts that are not registered yet (part of Sync). */
export async function reconcilePortal(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  portalOrgId: string,
  now: number,
): Promise<{ registered: number; pending: number }> {
  const rows = await getDb(d1)
    .select()
    .from(hostnames)
    .where(and(eq(hostnames.orgId, portalOrgId), unregisteredDirect))
    .all()
  const registered = await retryEach(d1, config, uris, rows, now)
  return { registered, pending: rows.length - registered }
}

/** Retries each host in turn; how many are registered afterwards. */
async function retryEach(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  rows: HostnameRow[],
  now: number,
): Promise<number> {
  let registered = 0
  for (const row of rows) {
    if ((await retryRegistration(d1, config, uris, row, now)).redirectUriRegistered) registered++
  }
  return registered
}

/** How many hosts one scheduled run looks at, how long a host rests between tries, how often a registration is re-confirmed. */
export const REGISTRATION_SCHEDULE = { perRun: 10, restMs: 15 * 60 * 1000, confirmEveryMs: 24 * 60 * 60 * 1000 }

/**
 * The schedule's share: direct hosts still on the central callback get their
 * registration retried, the longest-waiting first, each at most every 15
 * minutes, so a host whose Graph call failed once does not wait for someone
 * to press Check or Sync.
 */
export async function retryDueRegistrations(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  now: number,
): Promise<{ tried: number; registered: number }> {
  const due = await getDb(d1)
    .select()
    .from(hostnames)
    .where(and(unregisteredDirect, lt(hostnames.updatedAt, now - REGISTRATION_SCHEDULE.restMs)))
    .orderBy(asc(hostnames.updatedAt))
    .limit(REGISTRATION_SCHEDULE.perRun)
    .all()
  const registered = await retryEach(d1, config, uris, due, now)
  return { tried: due.length, registered }
}

/**
 * The schedule re-confirms, about daily, that hosts marked registered still
 * have their URI on their app (someone may have edited the app by hand),
 * repairing or falling back to the central callback.
 */
export async function confirmDueRegistrations(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  now: number,
): Promise<Record<Verification, number>> {
  const due = await getDb(d1)
    .select()
    .from(hostnames)
    .where(
      and(
        eq(hostnames.redirectUriRegistered, true),
        or(
          isNull(hostnames.redirectUriCheckedAt),
          lt(hostnames.redirectUriCheckedAt, now - REGISTRATION_SCHEDULE.confirmEveryMs),
        ),
      ),
    )
    .orderBy(asc(hostnames.redirectUriCheckedAt))
    .limit(REGISTRATION_SCHEDULE.perRun)
    .all()
  const counts: Record<Verification | 'removed', number> = {
    confirmed: 0,
    repaired: 0,
    fell_back: 0,
    unconfirmed: 0,
    removed: 0,
  }
  for (const row of due) {
    if (row.status !== 'active' || row.callbackMode !== 'direct') {
      // Registered but no longer an active direct host (an earlier removal failed): take the URI off now.
      const reason = `the host is ${row.callbackMode === 'direct' ? row.status : 'on the central callback'}`
      const after = await removeRegistration(d1, config, uris, row, reason, now)
      if (!after.redirectUriRegistered) counts.removed++
      continue
    }
    counts[(await verifyRegistration(d1, config, uris, row, now)).verification]++
  }
  return counts
}

/** The portal's direct hosts whose URI is registered (the ones an integration change must move). */
export async function registeredHostsOf(d1: D1Database, portalOrgId: string): Promise<HostnameRow[]> {
  return getDb(d1)
    .select()
    .from(hostnames)
    .where(and(eq(hostnames.orgId, portalOrgId), eq(hostnames.redirectUriRegistered, true)))
    .all()
}

export interface HostMove {
  /** The hosts' new registrations, to store in the same batch as the integration change. */
  statements: D1PreparedStatement[]
  /**
   * After that batch: the isolate's host cache forgets the moved hosts, and a
   * URI registered on `next` for a host detached meanwhile comes off again.
   */
  stored(): Promise<void>
  /** Takes the new registrations back off the new app (when storing the change failed). */
  undo(): Promise<void>
}

/**
 * A portal's integration is about to change its Entra app (or go back to
 * the provider's): every registered direct host leaves the app its URI is
 * on, then is registered on `next`, before the change is stored. A host
 * that cannot be registered on `next` falls back to the central callback
 * with the reason. A host whose URI cannot be removed from its old app stops
 * the whole change (502): the hosts moved so far sign in centrally until
 * it is retried, and nothing is left behind on an app silently.
 */
export async function moveHostsToApp(
  d1: D1Database,
  config: Config,
  uris: RedirectUris,
  portalOrgId: string,
  next: EntraClient,
  now: number,
): Promise<HostMove> {
  const moved: Array<{ row: HostnameRow; outcome: Registration }> = []
  const undo = async () => {
    for (const { row, outcome } of moved) {
      if (outcome.redirectUriRegistered)
        await uris.unregister(next, callbackUri(config, row.hostname)).catch(() => undefined)
    }
  }
  for (const row of await registeredHostsOf(d1, portalOrgId)) {
    try {
      await unregisterHost(d1, config, uris, row)
    } catch (error) {
      await undo()
      throw error
    }
    // Off the old app: central until the change is stored (it needs no URI of its own).
    await store(d1, config, uris, row, onCentral("moving to the portal's new Entra app"), now)
    let outcome: Registration
    try {
      outcome = await registerHost(d1, config, uris, row, next)
    } catch (error) {
      outcome = onCentral(error instanceof AppError ? error.message : 'Microsoft Graph failed')
    }
    moved.push({ row, outcome })
  }
  return {
    statements: moved.map(({ row, outcome }) =>
      toStatement(
        d1,
        getDb(d1)
          .update(hostnames)
          .set({ ...outcome, redirectUriCheckedAt: now, updatedAt: now })
          .where(hostAsRead(row)),
      ),
    ),
    stored: async () => {
      for (const { row, outcome } of moved) await withdrawRegistration(d1, config, uris, row, outcome)
    },
    undo,
  }
}
