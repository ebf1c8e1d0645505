import type { Env } from './env'
import { ConfigError } from './errors'
import { normalizeRequestHost } from './hosts/normalize'

export type CustomHostnamesMode = 'cloudflare' | 'local'

/** Validated configuration (DESIGN section 5). Built once per `env` object. */
export interface Config {
  primaryHost: string
  providerZone: string
  providerDisplayName: string
  customHostnames: CustomHostnamesMode
  /** undefined: the admin API answers 503 until ops set the secret. */
  adminApiKey: string | undefined
  hostCacheTtlMs: number
}

const MIN_ADMIN_KEY_LENGTH = 32
const DEFAULT_HOST_CACHE_TTL_SECONDS = 30

const cache = new WeakMap<Env, Config>()

/**
 * Reads and validates the configuration. Throws `ConfigError` with a message
 * naming the variable; the caller turns it into a generic 500 for the
 * browser and a precise log line for ops.
 */
export function getConfig(env: Env): Config {
  let config = cache.get(env)
  if (!config) {
    config = parseConfig(env)
    cache.set(env, config)
  }
  return config
}

export function parseConfig(env: Env): Config {
  const primaryHost = requiredHostname(env, 'PRIMARY_HOST')
  const providerZone = env.PROVIDER_ZONE
    ? requiredHostname(env, 'PROVIDER_ZONE')
    : primaryHost.split('.').slice(1).join('.')
  if (!providerZone) {
    throw new ConfigError(`PROVIDER_ZONE is not set and PRIMARY_HOST "${primaryHost}" has no parent zone to default to`)
  }

  const customHostnames = env.CUSTOM_HOSTNAMES ?? 'cloudflare'
  if (customHostnames !== 'cloudflare' && customHostnames !== 'local') {
    throw new ConfigError(`CUSTOM_HOSTNAMES must be "cloudflare" or "local", got "${customHostnames}"`)
  }

  const adminApiKey = env.ADMIN_API_KEY || undefined
  if (adminApiKey !== undefined && adminApiKey.length < MIN_ADMIN_KEY_LENGTH) {
    throw new ConfigError(`ADMIN_API_KEY must be at least ${MIN_ADMIN_KEY_LENGTH} characters long`)
  }

  const ttlSeconds = env.HOST_CACHE_TTL_SECONDS === undefined ? DEFAULT_HOST_CACHE_TTL_SECONDS : Number(env.HOST_CACHE_TTL_SECONDS)
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0 || ttlSeconds > 3600) {
    throw new ConfigError(`HOST_CACHE_TTL_SECONDS must be a number of seconds between 0 and 3600`)
  }

  return {
    primaryHost,
    providerZone,
    providerDisplayName: env.PROVIDER_DISPLAY_NAME || 'Phone System',
    customHostnames,
    adminApiKey,
    hostCacheTtlMs: ttlSeconds * 1000,
  }
}

function requiredHostname(env: Env, name: 'PRIMARY_HOST' | 'PROVIDER_ZONE'): string {
  const raw = env[name]
  if (!raw) throw new ConfigError(`${name} is not set`)
  const hostname = normalizeRequestHost(raw)
  if (hostname === null || hostname !== raw) {
    throw new ConfigError(`${name} must be a bare lowercase hostname (no scheme, port or path), got "${raw}"`)
  }
  return hostname
}
