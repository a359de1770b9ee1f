/**
 * A byte-bounded LRU map of cached responses. Memory accounting counts the
 * key (UTF-16), the value bytes and a fixed per-entry overhead, so a flood of
 * tiny entries is bounded as well as a few large ones.
 */
export interface CacheEntry {
  readonly key: string;
  /** The response exactly as the backend sent it (owned). */
  readonly bytes: Uint8Array;
  readonly storedAtMs: number;
  /** Fresh until this time; served stale (with one background refresh) until hardExpiryMs. */
  readonly freshUntilMs: number;
  readonly hardExpiryMs: number;
  readonly sizeBytes: number;
  /** True while one refresh of this entry is running. */
  isRefreshing: boolean;
}

/** Map bookkeeping plus the entry object, roughly. */
export const ENTRY_OVERHEAD_BYTES = 160;

export function entrySize(key: string, bytes: Uint8Array): number {
  return key.length * 2 + bytes.length + ENTRY_OVERHEAD_BYTES;
}

export class LruStore {
  private readonly entries = new Map<string, CacheEntry>();
  private totalBytes = 0;
  private maxBytes: number;
  private readonly onEvict: (count: number) => void;

  constructor(maxBytes: number, onEvict: (count: number) => void) {
    this.maxBytes = maxBytes;
    this.onEvict = onEvict;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  setMaxBytes(maxBytes: number): void {
    this.maxBytes = maxBytes;
    this.evictOverflow();
  }

  /** The entry for `key`, marked most recently used. */
  get(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      // Map iteration order is insertion order: re-inserting makes it the newest.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(entry: CacheEntry): void {
    this.delete(entry.key);
    if (entry.sizeBytes > this.maxBytes) return;
    this.entries.set(entry.key, entry);
    this.totalBytes += entry.sizeBytes;
    this.evictOverflow();
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    this.totalBytes -= old.sizeBytes;
  }

  private evictOverflow(): void {
    let evicted = 0;
    for (const [key, entry] of this.entries) {
      if (this.totalBytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.totalBytes -= entry.sizeBytes;
      evicted++;
    }
    if (evicted > 0) this.onEvict(evicted);
  }
}
