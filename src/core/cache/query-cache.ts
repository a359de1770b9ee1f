import type { CacheConfig } from '../../config/types.ts';
import type { Protocol } from '../types.ts';
import { LruStore, entrySize, type CacheEntry } from './lru-store.ts';
import { SingleFlight } from './single-flight.ts';

/** What the cache reports; hits, misses and coalesced waiters by the protocol of the statement that asked. */
export interface CacheObserver {
  hit(protocol: Protocol, state: 'fresh' | 'stale'): void;
  miss(protocol: Protocol): void;
  coalesced(protocol: Protocol, waiters: number): void;
  evicted(count: number): void;
  usage(bytes: number, entries: number): void;
}

export type Lookup =
  | { state: 'fresh' | 'stale'; entry: CacheEntry; ageSeconds: number; shouldRefresh: boolean }
  | { state: 'miss' };

export interface Clock {
  now(): number;
}

const wallClock: Clock = { now: () => Date.now() };

/**
 * The query cache: TTL from the hint, stale-while-revalidate up to
 * ttl × stale_factor, single-flight on cold misses, LRU within max_bytes.
 * Protocol-blind: keys and response bytes come from the front ends.
 */
export class QueryCache {
  private readonly entries: LruStore;
  private readonly flights = new SingleFlight<CacheEntry>();
  /** The protocol of each miss in flight: its waiters asked in the same one (keys name the protocol). */
  private readonly flightProtocols = new Map<string, Protocol>();
  private config: CacheConfig;
  private readonly observer: CacheObserver;
  private readonly clock: Clock;

  constructor(config: CacheConfig, observer: CacheObserver, clock: Clock = wallClock) {
    this.config = config;
    this.observer = observer;
    this.clock = clock;
    this.entries = new LruStore(config.maxBytes, (n) => observer.evicted(n));
  }

  get maxEntryBytes(): number {
    return this.config.maxEntryBytes;
  }

  get waitTimeoutMs(): number {
    return this.config.waitTimeoutMs;
  }

  reconfigure(config: CacheConfig): void {
    this.config = config;
    this.entries.setMaxBytes(config.maxBytes);
    this.report();
  }

  /**
   * Looks `key` up. A stale hit claims the one refresh (`shouldRefresh`)
   * for the first caller only; the caller must then `store` or `refreshFailed`.
   */
  lookup(key: string, protocol: Protocol): Lookup {
    const entry = this.entries.get(key);
    if (entry === undefined) return { state: 'miss' };
    const now = this.clock.now();
    if (now >= entry.hardExpiryMs) {
      this.entries.delete(key);
      this.report();
      return { state: 'miss' };
    }
    const ageSeconds = (now - entry.storedAtMs) / 1000;
    if (now < entry.freshUntilMs) {
      this.observer.hit(protocol, 'fresh');
      return { state: 'fresh', entry, ageSeconds, shouldRefresh: false };
    }
    this.observer.hit(protocol, 'stale');
    const shouldRefresh = !entry.isRefreshing;
    entry.isRefreshing = true;
    return { state: 'stale', entry, ageSeconds, shouldRefresh };
  }

  /** Counts a miss and says whether the caller leads the query (true) or should wait (false). */
  leadMiss(key: string, protocol: Protocol): boolean {
    this.observer.miss(protocol);
    const isLeader = this.flights.lead(key);
    if (isLeader) this.flightProtocols.set(key, protocol);
    return isLeader;
  }

  /** Waits for the leader of a miss; null means run your own query. */
  waitForLeader(key: string): Promise<CacheEntry | null> | null {
    return this.flights.wait(key, this.config.waitTimeoutMs);
  }

  /** Stores a complete, successful response (owned bytes) and releases waiters. */
  store(key: string, bytes: Uint8Array, ttlSeconds: number): CacheEntry | null {
    const now = this.clock.now();
    const ttlMs = ttlSeconds * 1000;
    let entry: CacheEntry | null = null;
    if (bytes.length <= this.config.maxEntryBytes) {
      entry = {
        key,
        bytes,
        storedAtMs: now,
        freshUntilMs: now + ttlMs,
        hardExpiryMs: now + ttlMs * this.config.staleFactor,
        sizeBytes: entrySize(key, bytes),
        isRefreshing: false,
      };
      this.entries.set(entry);
      this.report();
    }
    this.settle(key, entry);
    return entry;
  }

  /** The leader failed (error, overflow, lost backend): waiters run their own queries. */
  missFailed(key: string): void {
    this.settle(key, null);
  }

  /** A refresh failed: the next request may try again; the entry still expires on time. */
  refreshFailed(entry: CacheEntry): void {
    entry.isRefreshing = false;
  }

  private settle(key: string, entry: CacheEntry | null): void {
    const waiters = this.flights.settle(key, entry);
    const protocol = this.flightProtocols.get(key);
    this.flightProtocols.delete(key);
    if (waiters > 0 && entry !== null && protocol !== undefined) this.observer.coalesced(protocol, waiters);
  }

  private report(): void {
    this.observer.usage(this.entries.bytes, this.entries.size);
  }
}
