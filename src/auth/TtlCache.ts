import { LRUCache } from 'lru-cache';

export interface TtlCacheOptions<V> {
  /** How long an answer is reused; expired entries are dropped by a timer, touched or not. */
  ttlMs: number;
  maxEntries: number;
  /** Bound on the sum of `sizeOf` over the entries; the least recently used go first. */
  maxBytes: number;
  /** An entry's approximate size in bytes, key included. */
  sizeOf: (value: V, key: string) => number;
}

/**
 * A cache of answers bounded by entries, bytes and age (lru-cache, with
 * `ttlAutopurge` so nobody's stale answer is held), which also coalesces
 * concurrent loads of one key into one call. A failed load is not kept.
 */
export class TtlCache<V extends object | boolean> {
  private readonly lru: LRUCache<string, V>;
  /**
   * Loads in flight, outside the LRU: lru-cache's own `fetch` aborts a load whose placeholder expires or is evicted
   * ("deleted"), which failed a slow review instead of answering it. Bounded by the requests waiting on them.
   */
  private readonly loading = new Map<string, Promise<V>>();

  constructor(options: TtlCacheOptions<V>) {
    this.lru = new LRUCache<string, V>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      ttl: options.ttlMs,
      ttlAutopurge: true,
      // lru-cache refuses a size of 0.
      sizeCalculation: (value, key) => Math.max(1, Math.ceil(options.sizeOf(value, key))),
    });
  }

  /** The cached answer, or one load shared by every concurrent caller; a failed load is not kept. */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.lru.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    const pending = this.loading.get(key);
    if (pending) return pending;
    // Only the load still registered for `key` settles it: a `set` meanwhile stored a newer answer, which an
    // older load's value (or failure) must not replace.
    const current = () => this.loading.get(key) === loaded;
    const loaded: Promise<V> = load().then(
      (value) => {
        if (current()) {
          this.loading.delete(key);
          this.lru.set(key, value);
        }
        return value;
      },
      (err: unknown) => {
        if (current()) this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, loaded);
    return loaded;
  }

  /** The cached answer, if any, without loading one. */
  peek(key: string): V | undefined {
    return this.lru.get(key);
  }

  /** Whether an answer for `key` is cached (a load still in flight is not an answer). */
  has(key: string): boolean {
    return this.lru.has(key);
  }

  /** Stores an answer (a fresh one, or a known one again with a shorter `ttlMs`). */
  set(key: string, value: V, ttlMs?: number): void {
    this.loading.delete(key); // a load in flight is older than this answer
    this.lru.set(key, value, ttlMs !== undefined ? { ttl: ttlMs } : {});
  }

  get size(): number {
    return this.lru.size;
  }

  /** The sum of the entries' sizes, in bytes. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  clear(): void {
    this.lru.clear();
  }
}
