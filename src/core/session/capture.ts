import type { CacheEntry } from '../cache/lru-store.ts';
import type { QueryCache } from '../cache/query-cache.ts';

/**
 * Collects one response for the cache while it is relayed (a single-flight
 * leader) or fetched in the background (a stale refresh). Bounded by the
 * cache's max entry size: past it the capture is dropped, never the relay.
 * Exactly one of `finish` or `abort` settles it; later calls do nothing, so
 * waiters are released exactly once whatever happens to the connection.
 */
export class CacheCapture {
  private readonly cache: QueryCache;
  readonly key: string;
  readonly ttlSeconds: number;
  /** The stale entry being refreshed, or null for a cold miss. */
  private readonly refreshing: CacheEntry | null;
  private chunks: Uint8Array[] = [];
  private size = 0;
  private isSettled = false;

  constructor(cache: QueryCache, key: string, ttlSeconds: number, refreshing: CacheEntry | null) {
    this.cache = cache;
    this.key = key;
    this.ttlSeconds = ttlSeconds;
    this.refreshing = refreshing;
  }

  get isRefresh(): boolean {
    return this.refreshing !== null;
  }

  /**
   * Appends borrowed bytes (copied: the relay reuses its buffers). Past the
   * cache's max entry size the capture settles at once as failed, so that
   * waiters run their own statement now rather than at the end of a long
   * response or at their timeout.
   */
  append(buf: Uint8Array, start: number, end: number): void {
    if (this.isSettled || start >= end) return;
    this.size += end - start;
    if (this.size > this.cache.maxEntryBytes) {
      this.abort();
      return;
    }
    this.chunks.push(buf.slice(start, end)); // owned: kept beyond the borrowed chunk
  }

  /** The response ended; `isOk` false (an error in it) stores nothing. After an overflow it does nothing. */
  finish(isOk: boolean): void {
    if (this.isSettled) return;
    if (!isOk) {
      this.abort();
      return;
    }
    this.isSettled = true;
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.cache.store(this.key, bytes, this.ttlSeconds);
  }

  /** The response was lost or cannot be cached: waiters run their own statements. */
  abort(): void {
    if (this.isSettled) return;
    this.isSettled = true;
    this.chunks = [];
    if (this.refreshing !== null) this.cache.refreshFailed(this.refreshing);
    else this.cache.missFailed(this.key);
  }
}
