import { describe, expect, it } from 'bun:test';
import { QueryCache, type CacheObserver } from '../../../../src/core/cache/query-cache.ts';
import { CacheCapture } from '../../../../src/core/session/index.ts';

const quiet: CacheObserver = { hit() {}, miss() {}, coalesced() {}, evicted() {}, usage() {} };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function leader(maxEntryBytes: number): { cache: QueryCache; capture: CacheCapture; waiter: Promise<unknown> } {
  const cache = new QueryCache({ maxBytes: 100_000, maxEntryBytes, waitTimeoutMs: 60_000, staleFactor: 2 }, quiet);
  expect(cache.lookup('k', 'mariadb').state).toBe('miss');
  expect(cache.leadMiss('k', 'mariadb')).toBe(true);
  const waiter = cache.waitForLeader('k')!;
  return { cache, capture: new CacheCapture(cache, 'k', 60, null), waiter };
}

describe('CacheCapture', () => {
  it('stores the captured bytes in order and hands them to the waiters when the response ends well', async () => {
    const { cache, capture, waiter } = leader(100);
    const chunk = bytes('xxhelloyy');
    capture.append(chunk, 2, 7);
    capture.append(bytes(' world'), 0, 6);
    capture.finish(true);
    const entry = (await waiter) as { bytes: Uint8Array } | null;
    expect(new TextDecoder().decode(entry!.bytes)).toBe('hello world');
    expect(cache.lookup('k', 'mariadb').state).toBe('fresh');
  });

  it('copies what it appends: the relay may reuse its buffer', async () => {
    const { capture, waiter } = leader(100);
    const chunk = bytes('abc');
    capture.append(chunk, 0, 3);
    chunk.fill(0);
    capture.finish(true);
    expect(new TextDecoder().decode(((await waiter) as { bytes: Uint8Array }).bytes)).toBe('abc');
  });

  it('releases the waiters as soon as the response outgrows the max entry size, not at its end', async () => {
    const { cache, capture, waiter } = leader(4);
    capture.append(bytes('12345'), 0, 5);
    expect(await waiter).toBeNull();
    capture.finish(true); // the rest of the relay ends later: nothing is stored
    expect(cache.lookup('k', 'mariadb').state).toBe('miss');
  });

  it('stores nothing for a response with an error, and releases the waiters', async () => {
    const { cache, capture, waiter } = leader(100);
    capture.append(bytes('err'), 0, 3);
    capture.finish(false);
    expect(await waiter).toBeNull();
    expect(cache.lookup('k', 'mariadb').state).toBe('miss');
  });

  it('settles once: a finish after an abort stores nothing', async () => {
    const { cache, capture, waiter } = leader(100);
    capture.abort();
    capture.append(bytes('late'), 0, 4);
    capture.finish(true);
    expect(await waiter).toBeNull();
    expect(cache.lookup('k', 'mariadb').state).toBe('miss');
  });
});
