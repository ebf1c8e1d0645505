/**
 * A bounded, isolate-local cache with a time-to-live, for answers that are
 * cheap to be a little stale about (host -> tenant). `null` is a value too:
 * negative answers are cached so that a flood of requests for unknown hosts
 * costs one D1 query per host per TTL, not one per request.
 *
 * Bounded because the keys come from the Host header, i.e. from anyone: once
 * full, the oldest entry goes (Map keeps insertion order).
 */
export interface TtlCacheOptions {
  ttlMs: number
  /** TTL for `null` values; defaults to `ttlMs`. */
  negativeTtlMs?: number
  maxEntries?: number
  now?: () => number
}

export type CacheLookup<V> = { hit: true; value: V | null } | { hit: false }

export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V | null; expiresAt: number }>()
  private readonly ttlMs: number
  private readonly negativeTtlMs: number
  private readonly maxEntries: number
  private readonly now: () => number

  constructor(options: TtlCacheOptions) {
    this.ttlMs = options.ttlMs
    this.negativeTtlMs = options.negativeTtlMs ?? options.ttlMs
    this.maxEntries = options.maxEntries ?? 10_000
    this.now = options.now ?? Date.now
  }

  get(key: string): CacheLookup<V> {
    const entry = this.entries.get(key)
    if (!entry) return { hit: false }
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key)
      return { hit: false }
    }
    return { hit: true, value: entry.value }
  }

  set(key: string, value: V | null): void {
    const ttl = value === null ? this.negativeTtlMs : this.ttlMs
    if (ttl <= 0) return
    this.entries.delete(key)
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next()
      if (!oldest.done) this.entries.delete(oldest.value)
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttl })
  }

  delete(key: string): void {
    this.entries.delete(key)
  }

  clear(): void {
    this.entries.clear()
  }

  get size(): number {
    return this.entries.size
  }
}
