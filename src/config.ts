import { base64url } from 'jose'
import type { Env } from './env'
import { ConfigError } from './errors'
import { normalizeRequestHost } from './lib/hostname'
import { GUID_PATTERN } from './lib/ids'
import { isLoopbackHost } from './lib/net'
import type { MetricsSink } from './observe/metrics'

export type CustomHostnamesMode = 'cloudflare' | 'local'

/** Validated configuration (ARCHITECTURE §5). Built once per `env` object. */
export interface Config {
  /**
   * `scheme://hostname[:port]` of a host the gateway serves: the one rule for
   * every URL it builds (redirect URIs, completion links, the assertion's
   * issuer). https in production; http and a port only under wrangler dev.
   */
  origin(hostname: string): string
  primaryHost: string
  providerZone: string
  providerDisplayName: string
  customHostnames: CustomHostnamesMode
  /** Microsoft Graph base URL, e.g. https://graph.microsoft.com */
  graphBase: string
  /** Cloudflare for SaaS, when CUSTOM_HOSTNAMES is `cloudflare` (null in the sign-in Worker: `ConfigScope`). */
  cloudflare: CloudflareConfig | null
  /**
   * What a custom domain must be a CNAME to (the SaaS zone's fallback origin,
   * or the name customers are told to point at); null when not configured:
   * the diagnosis then cannot judge a domain's CNAME.
   */
  customHostnameCnameTarget: string | null
  /** The DNS over HTTPS resolver (JSON API) the diagnosis reads DNS through. */
  doh: DohConfig
  /** undefined: only partner keys authenticate until ops set the secret. */
  adminApiKey: string | undefined
  /** The console's ops staff (`OPS_ADMINS`): Entra users, by tenant and object id, who reach every organization. */
  opsAdmins: readonly EntraUserRef[]
  hostCacheTtlMs: number
  /** How often the schedule re-syncs a phone system that was synced once. */
  syncIntervalMs: number
  /** How long sign-in attempt rows are kept before the schedule deletes them. */
  signInAttemptsRetentionMs: number
  entra: EntraConfig
  /** 32 bytes: seals sign-in states, flow cookies, one-time codes and what D1 keeps of a flow's result. */
  flowKey: Uint8Array
  /** 32 bytes: encrypts stored credentials (portals' Entra client secrets). */
  dataKey: Uint8Array
  /** Private EC P-256 JWKs for handoff assertions, current first (validated, not yet imported). */
  signingKeys: SigningJwk[]
  /** Where Analytics Engine data points go (`observe/metrics.ts`): the METRICS binding, when bound. */
  metrics: MetricsSink
}

/** An Entra user by its tenant and object id, both lowercase GUIDs. */
export interface EntraUserRef {
  tid: string
  oid: string
}

export interface SigningJwk {
  kty: 'EC'
  crv: 'P-256'
  kid: string
  x: string
  y: string
  d: string
}

export interface CloudflareConfig {
  apiBase: string
  zoneId: string
  apiToken: string
  timeoutMs: number
}

export interface DohConfig {
  /** e.g. https://cloudflare-dns.com/dns-query; plain http only for a loopback stand-in. */
  url: string
  /** Bound on each DNS over HTTPS request. */
  timeoutMs: number
}

export interface EntraConfig {
  /** Base URL without a trailing slash, e.g. https://login.microsoftonline.com */
  authority: string
  /** true only for an http:// loopback authority (the local stand-in). */
  insecureLoopback: boolean
  clientId: string
  clientSecret: string
  /** Bound on every request to Entra (discovery, token, JWKS). */
  timeoutMs: number
  /** The provider app's home tenant (where Graph manages its redirect URIs); null if not configured. */
  homeTenantId: string | null
}

const MIN_ADMIN_KEY_LENGTH = 32
const DEFAULT_HOST_CACHE_TTL_SECONDS = 30

/**
 * Which Worker reads the configuration (ARCHITECTURE §1). `whole`: the admin
 * Worker and the combined local one, every rule. `sign-in`: the sign-in
 * Worker, which holds neither admin-only secret (src/secrets.ts
 * `SIGN_IN_SECRETS`): no ops key (`adminApiKey` undefined) and no Cloudflare
 * for SaaS client (`cloudflare` null; only the admin Worker changes custom
 * hostnames). Everything else is checked alike.
 */
export type ConfigScope = 'whole' | 'sign-in'

const caches: Record<ConfigScope, WeakMap<Env, Config>> = { whole: new WeakMap(), 'sign-in': new WeakMap() }

/**
 * Reads and validates the configuration. Throws `ConfigError` with a message
 * naming the variable; the caller turns it into a generic 500 for the
 * browser and a precise log line for ops.
 */
export function getConfig(env: Env, scope: ConfigScope = 'whole'): Config {
  const cache = caches[scope]
  let config = cache.get(env)
  if (!config) {
    config = parseConfig(env, scope)
    cache.set(env, config)
  }
  return config
}

/** Like `getConfig`, uncached: throws the first problem `configProblems` would list. */
export function parseConfig(env: Env, scope: ConfigScope = 'whole'): Config {
  const { config, problems } = readConfig(env, { scope })
  if (!config) throw problems[0]!
  return config
}

export interface ConfigCheckOptions {
  /** Which Worker's configuration (default `whole`). */
  scope?: ConfigScope
  /**
   * The configuration of a deployed Worker (`npm run preflight`): none of the
   * development switches (a loopback primary host, which allows http and a
   * port; a stand-in upstream on loopback; CUSTOM_HOSTNAMES "local").
   */
  deployed?: boolean
}

/**
 * Every problem with the configuration, one message each (naming the
 * variable), in the order `parseConfig` meets them; empty when it is valid.
 * A value that depends on another (PROVIDER_ZONE's default, the public
 * origin) is only checked once that one is valid.
 */
export function configProblems(env: Env, options: ConfigCheckOptions = {}): string[] {
  return readConfig(env, options).problems.map((problem) => problem.message)
}

function readConfig(env: Env, options: ConfigCheckOptions): { config: Config | null; problems: ConfigError[] } {
  const problems: ConfigError[] = []
  /** The value `read` answers, or undefined once its problem is noted. */
  const check = <T>(read: () => T): T | undefined => {
    try {
      return read()
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      problems.push(error)
      return undefined
    }
  }
  const deployed = options.deployed === true
  const whole = (options.scope ?? 'whole') === 'whole'

  const primaryHost = check(() => requiredHostname(env, 'PRIMARY_HOST'))
  if (primaryHost !== undefined && deployed && isLoopbackHost(primaryHost)) {
    problems.push(
      new ConfigError(
        `PRIMARY_HOST "${primaryHost}" is a loopback name (local development); a deployed Worker needs the provider's login host`,
      ),
    )
  }
  const providerZone = check(() => parseProviderZone(env, primaryHost))

  const customHostnames = check(() => {
    const mode = env.CUSTOM_HOSTNAMES ?? 'cloudflare'
    if (mode !== 'cloudflare' && mode !== 'local') {
      throw new ConfigError(`CUSTOM_HOSTNAMES must be "cloudflare" or "local", got "${mode}"`)
    }
    if (mode === 'local' && deployed) {
      throw new ConfigError(
        'CUSTOM_HOSTNAMES "local" is for tests (custom domains would be active without validation); a deployed Worker needs "cloudflare"',
      )
    }
    return mode
  })

  const adminApiKey = check(() => {
    if (!whole) return undefined
    const key = env.ADMIN_API_KEY || undefined
    if (key !== undefined && key.length < MIN_ADMIN_KEY_LENGTH) {
      throw new ConfigError(`ADMIN_API_KEY must be at least ${MIN_ADMIN_KEY_LENGTH} characters long`)
    }
    return key
  })

  const opsAdmins = check(() => parseOpsAdmins(env.OPS_ADMINS))

  const ttlSeconds = check(() => {
    const seconds =
      env.HOST_CACHE_TTL_SECONDS === undefined ? DEFAULT_HOST_CACHE_TTL_SECONDS : Number(env.HOST_CACHE_TTL_SECONDS)
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600) {
      throw new ConfigError(`HOST_CACHE_TTL_SECONDS must be a number of seconds between 0 and 3600`)
    }
    return seconds
  })

  const origin = primaryHost === undefined ? undefined : check(() => parsePublicOrigin(env, primaryHost))

  const syncHours = check(() => {
    const hours = env.SYNC_INTERVAL_HOURS === undefined ? 6 : Number(env.SYNC_INTERVAL_HOURS)
    if (!Number.isFinite(hours) || hours < 0.25 || hours > 168) {
      throw new ConfigError('SYNC_INTERVAL_HOURS must be a number of hours between 0.25 and 168')
    }
    return hours
  })

  const retentionDays = check(() => {
    const days = env.SIGN_IN_ATTEMPTS_RETENTION_DAYS === undefined ? 90 : Number(env.SIGN_IN_ATTEMPTS_RETENTION_DAYS)
    if (!Number.isInteger(days) || days < 1 || days > 3650) {
      throw new ConfigError('SIGN_IN_ATTEMPTS_RETENTION_DAYS must be a whole number of days between 1 and 3650')
    }
    return days
  })

  const cloudflare = customHostnames === 'cloudflare' && whole ? check(() => parseCloudflare(env, deployed)) : null
  const graphBase = check(() => parseGraphBase(env.GRAPH_BASE, deployed))
  const entra = check(() => parseEntra(env, deployed))
  const flowKey = check(() => parseKey('FLOW_KEY', env.FLOW_KEY))
  const dataKey = check(() => parseKey('DATA_KEY', env.DATA_KEY))
  const signingKeys = check(() => parseSigningKeys(env.SIGNING_KEYS))
  const customHostnameCnameTarget = check(() => parseCnameTarget(env))
  const doh = check(() => parseDoh(env.DOH_URL, deployed))

  if (problems.length > 0) return { config: null, problems }
  return {
    config: {
      origin: origin!,
      syncIntervalMs: syncHours! * 60 * 60 * 1000,
      signInAttemptsRetentionMs: retentionDays! * 24 * 60 * 60 * 1000,
      metrics: { METRICS: env.METRICS },
      cloudflare: cloudflare ?? null,
      customHostnameCnameTarget: customHostnameCnameTarget ?? null,
      doh: doh!,
      graphBase: graphBase!,
      entra: entra!,
      flowKey: flowKey!,
      dataKey: dataKey!,
      signingKeys: signingKeys!,
      primaryHost: primaryHost!,
      providerZone: providerZone!,
      providerDisplayName: env.PROVIDER_DISPLAY_NAME || 'Phone System',
      customHostnames: customHostnames!,
      adminApiKey,
      opsAdmins: opsAdmins!,
      hostCacheTtlMs: ttlSeconds! * 1000,
    },
    problems,
  }
}

/** OPS_ADMINS: comma-separated `tid:oid` pairs of GUIDs (spaces around commas allowed); empty or unset: none. */
export function parseOpsAdmins(raw: string | undefined): EntraUserRef[] {
  if (!raw?.trim()) return []
  return raw.split(',').map((entry) => {
    const [tid, oid, ...rest] = entry.trim().toLowerCase().split(':')
    if (rest.length > 0 || !tid || !oid || !GUID_PATTERN.test(tid) || !GUID_PATTERN.test(oid)) {
      throw new ConfigError(
        `OPS_ADMINS must be comma-separated "tid:oid" pairs of GUIDs (the ops admins' Entra tenant and object ids), got "${entry.trim().slice(0, 80)}"`,
      )
    }
    return { tid, oid }
  })
}

/**
 * PROVIDER_ZONE, or PRIMARY_HOST without its first label. The primary host
 * lies inside the zone: the zone's wildcard route is what serves it.
 */
function parseProviderZone(env: Env, primaryHost: string | undefined): string | undefined {
  if (env.PROVIDER_ZONE) {
    const zone = requiredHostname(env, 'PROVIDER_ZONE')
    if (primaryHost !== undefined && primaryHost !== zone && !primaryHost.endsWith(`.${zone}`)) {
      throw new ConfigError(
        `PRIMARY_HOST "${primaryHost}" must be inside PROVIDER_ZONE "${zone}" (the zone's wildcard route serves it)`,
      )
    }
    return zone
  }
  if (primaryHost === undefined) return undefined
  const zone = primaryHost.split('.').slice(1).join('.')
  if (!zone) {
    throw new ConfigError(`PROVIDER_ZONE is not set and PRIMARY_HOST "${primaryHost}" has no parent zone to default to`)
  }
  return zone
}

function requiredHostname(env: Env, name: 'PRIMARY_HOST' | 'PROVIDER_ZONE' | 'CUSTOM_HOSTNAME_CNAME_TARGET'): string {
  const raw = env[name]
  if (!raw) throw new ConfigError(`${name} is not set`)
  const hostname = normalizeRequestHost(raw)
  if (hostname === null || hostname !== raw) {
    throw new ConfigError(`${name} must be a bare lowercase hostname (no scheme, port or path), got "${raw}"`)
  }
  return hostname
}

/**
 * PUBLIC_SCHEME and PUBLIC_PORT: how browsers reach the gateway. Production
 * leaves both unset (https, no port). `http` is the one unsafe development
 * switch, accepted only when the primary host is a loopback name, so a
 * production configuration can never build an http redirect URI.
 */
function parsePublicOrigin(env: Env, primaryHost: string): (hostname: string) => string {
  const scheme = env.PUBLIC_SCHEME || 'https'
  if (scheme !== 'https' && scheme !== 'http') {
    throw new ConfigError(`PUBLIC_SCHEME must be "https" or "http", got "${scheme}"`)
  }
  if (scheme === 'http' && !isLoopbackHost(primaryHost)) {
    throw new ConfigError(
      `PUBLIC_SCHEME "http" is for local development only (PRIMARY_HOST must be a loopback name such as login.localhost), got PRIMARY_HOST "${primaryHost}"`,
    )
  }
  let port = ''
  if (env.PUBLIC_PORT) {
    const number = Number(env.PUBLIC_PORT)
    if (!/^\d{1,5}$/.test(env.PUBLIC_PORT) || number < 1 || number > 65535) {
      throw new ConfigError(`PUBLIC_PORT must be a port number from 1 to 65535, got "${env.PUBLIC_PORT}"`)
    }
    if (scheme !== 'http')
      throw new ConfigError('PUBLIC_PORT is for local development only (with PUBLIC_SCHEME "http")')
    port = `:${number}`
  }
  return (hostname) => `${scheme}://${hostname}${port}`
}

/**
 * A URL variable as a configuration message shows it: `/healthz` shows the
 * message to anyone, so never its credentials, query or fragment (a token
 * written there is exactly what some of these messages refuse), and of a
 * value that is not an http(s) URL only its scheme.
 */
function shownUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return '(not a URL)'
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${url.protocol}…`
  if (url.username || url.password) {
    url.username = '…'
    url.password = ''
  }
  if (url.search) url.search = '?…'
  if (url.hash) url.hash = '#…'
  return url.href
}

/**
 * An upstream's base URL: https, or plain http to a loopback stand-in only
 * (the one unsafe development switch, named by the URL itself).
 */
function upstreamUrl(
  name: string,
  raw: string,
  example: string,
  deployed: boolean,
): { url: URL; insecureLoopback: boolean } {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`${name} must be an absolute URL such as ${example}, got "${shownUrl(raw)}"`)
  }
  if (url.protocol === 'https:') return { url, insecureLoopback: false }
  if (url.protocol === 'http:') {
    if (isLoopbackHost(url.hostname)) {
      if (deployed) {
        throw new ConfigError(
          `${name} is a local stand-in (plain http on a loopback host); a deployed Worker needs https, such as ${example}, got "${shownUrl(raw)}"`,
        )
      }
      return { url, insecureLoopback: true }
    }
    throw new ConfigError(
      `${name} must use https; plain http is accepted only for a local stand-in on a loopback host (localhost, 127.0.0.1, ::1), got "${shownUrl(raw)}"`,
    )
  }
  throw new ConfigError(`${name} must use https, got "${shownUrl(raw)}"`)
}

function parseEntra(env: Env, deployed: boolean): EntraConfig {
  const raw = env.ENTRA_AUTHORITY || 'https://login.microsoftonline.com'
  const { url, insecureLoopback } = upstreamUrl('ENTRA_AUTHORITY', raw, 'https://login.microsoftonline.com', deployed)
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new ConfigError(
      `ENTRA_AUTHORITY must be a bare origin such as https://login.microsoftonline.com (no path, query or credentials), got "${shownUrl(raw)}"`,
    )
  }
  const clientId = env.ENTRA_CLIENT_ID ?? ''
  if (!GUID_PATTERN.test(clientId)) {
    throw new ConfigError("ENTRA_CLIENT_ID must be the application (client) id of the provider's Entra app, a GUID")
  }
  if (!env.ENTRA_CLIENT_SECRET) throw new ConfigError('ENTRA_CLIENT_SECRET is not set')
  const timeoutMs = env.ENTRA_TIMEOUT_MS === undefined ? 10_000 : Number(env.ENTRA_TIMEOUT_MS)
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 30_000) {
    throw new ConfigError('ENTRA_TIMEOUT_MS must be a whole number of milliseconds between 100 and 30000')
  }
  const homeTenantId = env.ENTRA_HOME_TENANT_ID ? env.ENTRA_HOME_TENANT_ID.toLowerCase() : null
  if (homeTenantId !== null && !GUID_PATTERN.test(homeTenantId)) {
    throw new ConfigError(
      "ENTRA_HOME_TENANT_ID must be the tenant id (a GUID) where the provider's Entra app is registered",
    )
  }
  return {
    authority: url.origin,
    insecureLoopback,
    clientId: clientId.toLowerCase(),
    clientSecret: env.ENTRA_CLIENT_SECRET,
    timeoutMs,
    homeTenantId,
  }
}

function parseKey(name: 'FLOW_KEY' | 'DATA_KEY', raw: string | undefined): Uint8Array {
  if (!raw)
    throw new ConfigError(
      `${name} is not set (32 random bytes, base64url: \`openssl rand -base64 32 | tr "+/" "-_" | tr -d "="\`)`,
    )
  let bytes: Uint8Array
  try {
    if (!/^[A-Za-z0-9_-]+={0,2}$/.test(raw)) throw new Error('not base64url')
    bytes = base64url.decode(raw.replace(/=+$/, ''))
  } catch {
    throw new ConfigError(`${name} must be base64url`)
  }
  if (bytes.length !== 32) throw new ConfigError(`${name} must decode to exactly 32 bytes, got ${bytes.length}`)
  return bytes
}

const B64URL = /^[A-Za-z0-9_-]+$/

/** SIGNING_KEYS: a JSON array of private EC P-256 JWKs, each with a unique kid; the first signs. */
function parseSigningKeys(raw: string | undefined): SigningJwk[] {
  const hint = 'SIGNING_KEYS must be a JSON array of private EC P-256 JWKs with "kid" (`npm run keys:new` prints one)'
  if (!raw) throw new ConfigError(`SIGNING_KEYS is not set. ${hint}`)
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new ConfigError(`SIGNING_KEYS is not valid JSON. ${hint}`)
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new ConfigError(hint)
  const kids = new Set<string>()
  return parsed.map((value: unknown, index) => {
    const jwk = value as Record<string, unknown>
    const where = `SIGNING_KEYS[${index}]`
    if (typeof jwk !== 'object' || jwk === null || jwk.kty !== 'EC' || jwk.crv !== 'P-256') {
      throw new ConfigError(`${where} must be an EC key on P-256 ("kty": "EC", "crv": "P-256")`)
    }
    for (const member of ['x', 'y', 'd'] as const) {
      if (typeof jwk[member] !== 'string' || !B64URL.test(jwk[member] as string)) {
        throw new ConfigError(`${where} must be a private key with "${member}" (base64url)`)
      }
    }
    if (typeof jwk.kid !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(jwk.kid)) {
      throw new ConfigError(`${where} needs a "kid" of 1 to 64 letters, digits, dots, dashes or underscores`)
    }
    if (kids.has(jwk.kid)) throw new ConfigError(`${where} repeats the kid "${jwk.kid}"`)
    kids.add(jwk.kid)
    return { kty: 'EC', crv: 'P-256', kid: jwk.kid, x: jwk.x as string, y: jwk.y as string, d: jwk.d as string }
  })
}

function parseCloudflare(env: Env, deployed: boolean): CloudflareConfig {
  const raw = env.CLOUDFLARE_API_BASE || 'https://api.cloudflare.com/client/v4'
  const { insecureLoopback } = upstreamUrl('CLOUDFLARE_API_BASE', raw, 'https://api.cloudflare.com/client/v4', deployed)
  if (!env.CLOUDFLARE_ZONE_ID || !/^[A-Za-z0-9_-]{1,64}$/.test(env.CLOUDFLARE_ZONE_ID)) {
    throw new ConfigError(
      'CLOUDFLARE_ZONE_ID must be the id of the Cloudflare for SaaS zone when CUSTOM_HOSTNAMES is "cloudflare"',
    )
  }
  // Cloudflare's zone ids are 32 hex digits; the local stand-in takes any name.
  if (!insecureLoopback && !/^[0-9a-f]{32}$/.test(env.CLOUDFLARE_ZONE_ID)) {
    throw new ConfigError(
      `CLOUDFLARE_ZONE_ID must be the id of the Cloudflare for SaaS zone, 32 hex digits (dashboard > zone > Overview > Zone ID), got "${env.CLOUDFLARE_ZONE_ID}"`,
    )
  }
  if (!env.CLOUDFLARE_API_TOKEN)
    throw new ConfigError('CLOUDFLARE_API_TOKEN is not set (needed when CUSTOM_HOSTNAMES is "cloudflare")')
  return {
    apiBase: raw.replace(/\/+$/, ''),
    zoneId: env.CLOUDFLARE_ZONE_ID,
    apiToken: env.CLOUDFLARE_API_TOKEN,
    timeoutMs: 10_000,
  }
}

function parseGraphBase(raw = 'https://graph.microsoft.com', deployed = false): string {
  upstreamUrl('GRAPH_BASE', raw, 'https://graph.microsoft.com', deployed)
  return raw.replace(/\/+$/, '')
}

/** CUSTOM_HOSTNAME_CNAME_TARGET: optional (only the diagnosis reads it), a bare fully qualified hostname when set. */
function parseCnameTarget(env: Env): string | null {
  if (!env.CUSTOM_HOSTNAME_CNAME_TARGET) return null
  const target = requiredHostname(env, 'CUSTOM_HOSTNAME_CNAME_TARGET')
  if (!target.includes('.')) {
    throw new ConfigError(
      `CUSTOM_HOSTNAME_CNAME_TARGET must be a fully qualified hostname (the SaaS zone's fallback origin, such as customers.provider.example), got "${target}"`,
    )
  }
  return target
}

const DEFAULT_DOH_URL = 'https://cloudflare-dns.com/dns-query'

/** DOH_URL: a DNS over HTTPS JSON endpoint (https, or a loopback stand-in), without credentials, query or fragment. */
function parseDoh(raw = DEFAULT_DOH_URL, deployed = false): DohConfig {
  const { url } = upstreamUrl('DOH_URL', raw, DEFAULT_DOH_URL, deployed)
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(
      `DOH_URL must be a DNS over HTTPS endpoint such as ${DEFAULT_DOH_URL} (no query, fragment or credentials), got "${shownUrl(raw)}"`,
    )
  }
  return { url: url.href, timeoutMs: 3_000 }
}
