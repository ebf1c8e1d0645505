/**
 * A bounded, isolate-local cache with a time-to-live, for answers that are
 * cheap to be a little stale about (host -> tenant). `null` is a value too:
 * negative answers are cached so that a flood of requests for unknown hosts
 * costs one D1 query per host per TTL, not one per request.
 *
 * Bounded because the keys come from the Host header, i.e. from anyone, and
 * bounded twice: negative answers live in their own, smaller space, so a
 * flood of random names evicts only other unknown names, never a tenant.
 * Each space evicts its least recently used entry (a read moves an entry to
 * the young end of its Map, whose order is the recency order).
 */
export interface TtlCacheOptions {
  ttlMs: number
  /** TTL for `null` values; defaults to `ttlMs`. */
  negativeTtlMs?: number
  /** Bound on found (non-null) entries. */
  maxEntries?: number
  /** Bound on `null` entries, apart from the found ones. */
  maxNegativeEntries?: number
  now?: () => number
}

export type CacheLookup<V> = { hit: true; value: V | null } | { hit: false }

interface Entry<V> {
  value: V | null
  expiresAt: number
}

export class TtlCache<V> {
  private readonly found = new Map<string, Entry<V>>()
  private readonly missing = new Map<string, Entry<V>>()
  private readonly ttlMs: number
  private readonly negativeTtlMs: number
  private readonly maxEntries: number
  private readonly maxNegativeEntries: number
  private readonly now: () => number

  constructor(options: TtlCacheOptions) {
    this.ttlMs = options.ttlMs
    this.negativeTtlMs = options.negativeTtlMs ?? options.ttlMs
    this.maxEntries = options.maxEntries ?? 10_000
    this.maxNegativeEntries = options.maxNegativeEntries ?? 1_000
    this.now = options.now ?? Date.now
  }

  get(key: string): CacheLookup<V> {
    const space = this.found.has(key) ? this.found : this.missing
    const entry = space.get(key)
    if (!entry) return { hit: false }
    space.delete(key)
    if (entry.expiresAt <= this.now()) return { hit: false }
    space.set(key, entry)
    return { hit: true, value: entry.value }
  }

  set(key: string, value: V | null): void {
    this.delete(key)
    const ttl = value === null ? this.negativeTtlMs : this.ttlMs
    if (ttl <= 0) return
    const [space, bound] = value === null ? [this.missing, this.maxNegativeEntries] : [this.found, this.maxEntries]
    if (space.size >= bound) {
      const leastRecent = space.keys().next()
      if (!leastRecent.done) space.delete(leastRecent.value)
    }
    space.set(key, { value, expiresAt: this.now() + ttl })
  }

  delete(key: string): void {
    this.found.delete(key)
    this.missing.delete(key)
  }

  clear(): void {
    this.found.clear()
    this.missing.clear()
  }

  get size(): number {
    return this.found.size + this.missing.size
  }
}

const isolateCaches = new Set<IsolateCache<unknown>>()

/**
 * One of the isolate's caches of sign-in reads (hosts, Entra clients, reach): a `TtlCache` with the
 * configured TTL (`config.hostCacheTtlMs`), rebuilt if that setting changes, and emptied with all the
 * others by `forgetCachedReads`.
 */
export class IsolateCache<V> {
  private current: { ttlMs: number; cache: TtlCache<V> } | undefined
  private readonly bounds: Pick<TtlCacheOptions, 'maxEntries' | 'maxNegativeEntries'>

  constructor(bounds: Pick<TtlCacheOptions, 'maxEntries' | 'maxNegativeEntries'>) {
    this.bounds = bounds
    isolateCaches.add(this as IsolateCache<unknown>)
  }

  /** The cache for this TTL. */
  with(ttlMs: number): TtlCache<V> {
    if (!this.current || this.current.ttlMs !== ttlMs) {
      this.current = { ttlMs, cache: new TtlCache<V>({ ttlMs, ...this.bounds }) }
    }
    return this.current.cache
  }

  clear(): void {
    this.current?.cache.clear()
  }
}

/**
 * Empties every cache of sign-in reads in this isolate: after a write that changes what a portal
 * reaches or which app it signs in with (phone systems, tenant claims, integrations, moves), so that
 * this isolate sees it at once; other isolates see it within the TTL. Tests call it too.
 */
export function forgetCachedReads(): void {
  for (const cache of isolateCaches) cache.clear()
}
