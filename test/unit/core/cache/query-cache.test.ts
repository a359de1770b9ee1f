import { describe, expect, it } from 'bun:test';
import { LruStore, entrySize } from '../../../../src/core/cache/lru-store.ts';
import { QueryCache, type CacheObserver } from '../../../../src/core/cache/query-cache.ts';
import { SingleFlight } from '../../../../src/core/cache/single-flight.ts';
import { cacheKey } from '../../../../src/core/cache/key.ts';
import type { SessionView } from '../../../../src/core/types.ts';

const config = { maxBytes: 10_000, maxEntryBytes: 1000, waitTimeoutMs: 50, staleFactor: 2 };

function recorder(): CacheObserver & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    hit: (protocol, state) => events.push(`hit:${protocol}:${state}`),
    miss: (protocol) => events.push(`miss:${protocol}`),
    coalesced: (protocol, n) => events.push(`coalesced:${protocol}:${n}`),
    evicted: (n) => events.push(`evicted:${n}`),
    usage: () => undefined,
  };
}

function clock(start = 1_000_000): { now(): number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(1);

describe('QueryCache', () => {
  it('serves an entry fresh until its ttl, stale until ttl × stale_factor, then misses', () => {
    const c = clock();
    const obs = recorder();
    const cache = new QueryCache(config, obs, c);
    cache.store('k', bytes(10), 10);
    expect(cache.lookup('k', 'postgres').state).toBe('fresh');
    c.advance(10_000);
    expect(cache.lookup('k', 'postgres').state).toBe('stale');
    c.advance(9_999);
    expect(cache.lookup('k', 'postgres').state).toBe('stale');
    c.advance(1);
    expect(cache.lookup('k', 'postgres').state).toBe('miss');
  });

  it('gives the one refresh of a stale entry to the first caller only, and again after a failed refresh', () => {
    const c = clock();
    const cache = new QueryCache(config, recorder(), c);
    const entry = cache.store('k', bytes(10), 1)!;
    c.advance(1500);
    const first = cache.lookup('k', 'postgres');
    const second = cache.lookup('k', 'postgres');
    expect(first.state === 'stale' && first.shouldRefresh).toBe(true);
    expect(second.state === 'stale' && second.shouldRefresh).toBe(false);
    cache.refreshFailed(entry);
    const third = cache.lookup('k', 'postgres');
    expect(third.state === 'stale' && third.shouldRefresh).toBe(true);
  });

  it('does not store a response larger than max_entry_bytes', () => {
    const cache = new QueryCache(config, recorder(), clock());
    expect(cache.store('k', bytes(1001), 10)).toBeNull();
    expect(cache.lookup('k', 'postgres').state).toBe('miss');
  });

  it('lets waiters of a cold miss share the leader\'s stored result', async () => {
    const obs = recorder();
    const cache = new QueryCache(config, obs, clock());
    expect(cache.leadMiss('k', 'postgres')).toBe(true);
    expect(cache.leadMiss('k', 'postgres')).toBe(false);
    const waiting = cache.waitForLeader('k')!;
    cache.store('k', bytes(5), 10);
    expect((await waiting)!.bytes.length).toBe(5);
    expect(obs.events).toContain('coalesced:postgres:1');
  });

  it('tells waiters to run their own query when the leader fails', async () => {
    const cache = new QueryCache(config, recorder(), clock());
    cache.leadMiss('k', 'postgres');
    const waiting = cache.waitForLeader('k')!;
    cache.missFailed('k');
    expect(await waiting).toBeNull();
    expect(cache.leadMiss('k', 'postgres')).toBe(true);
  });
});

describe('SingleFlight', () => {
  it('times a waiter out with null', async () => {
    const flights = new SingleFlight<number>();
    flights.lead('k');
    expect(await flights.wait('k', 5)).toBeNull();
    expect(flights.settle('k', 1)).toBe(0);
  });

  it('returns null at once when nobody leads', () => {
    expect(new SingleFlight<number>().wait('k', 5)).toBeNull();
  });
});

describe('LruStore', () => {
  it('evicts the least recently used entries to stay within max bytes', () => {
    const evicted: number[] = [];
    const size = entrySize('a', bytes(100));
    const store = new LruStore(size * 2, (n) => evicted.push(n));
    const put = (key: string): void => store.set({ key, bytes: bytes(100), storedAtMs: 0, freshUntilMs: 1, hardExpiryMs: 2, sizeBytes: entrySize(key, bytes(100)), isRefreshing: false });
    put('a');
    put('b');
    store.get('a');
    put('c');
    expect(store.get('b')).toBeUndefined();
    expect(store.get('a')).toBeDefined();
    expect(store.get('c')).toBeDefined();
    expect(store.bytes).toBeLessThanOrEqual(size * 2);
    expect(evicted).toEqual([1]);
  });

  it('counts keys as well as values', () => {
    expect(entrySize('x'.repeat(100), bytes(0))).toBeGreaterThanOrEqual(200);
  });
});

describe('cacheKey', () => {
  const session: SessionView = { protocol: 'mariadb', group: 'main', user: 'u', database: 'd1', charset: '45', isInTransaction: false, isAutocommit: true, hasUntrackedState: false };
  it('differs by user, database, shard, charset, encoding and parameters', () => {
    const base = cacheKey(session, 'text', 'SELECT 1');
    expect(cacheKey({ ...session, user: 'v' }, 'text', 'SELECT 1')).not.toBe(base);
    expect(cacheKey({ ...session, database: 'd2' }, 'text', 'SELECT 1')).not.toBe(base);
    expect(cacheKey({ ...session, group: 'other' }, 'text', 'SELECT 1')).not.toBe(base);
    expect(cacheKey({ ...session, charset: '8' }, 'text', 'SELECT 1')).not.toBe(base);
    expect(cacheKey(session, 'binary', 'SELECT 1')).not.toBe(base);
    expect(cacheKey(session, 'text', 'SELECT 1', 'p')).not.toBe(base);
    expect(cacheKey(session, 'text', 'SELECT 1')).toBe(base);
  });
});
