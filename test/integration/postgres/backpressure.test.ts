// A slow PostgreSQL client must not make the proxy buffer a large result in memory:
// the proxy stops reading from the backend while the client cannot take more.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { pgQuery, pgStartup } from '../../support/bytes.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { waitUntil } from '../../support/wait.ts';

let proxy: ProxyProcess;

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

beforeAll(async () => {
  proxy = await startProxy({ protocols: ['postgres'] });
});

afterAll(async () => {
  await proxy?.stop();
});

/** Counts DataRows and spots the ReadyForQuery that ends a response, across chunk boundaries. */
class RowCounter {
  rows = 0;
  readyCount = 0;
  private header = new Uint8Array(5);
  private headerFill = 0;
  private bodyLeft = 0;

  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - pos);
        this.bodyLeft -= n;
        pos += n;
        continue;
      }
      this.header[this.headerFill++] = chunk[pos++]!;
      if (this.headerFill === 5) {
        this.headerFill = 0;
        const len = ((this.header[1]! << 24) | (this.header[2]! << 16) | (this.header[3]! << 8) | this.header[4]!) >>> 0;
        this.bodyLeft = len - 4;
        if (this.header[0] === 0x44) this.rows++;
        if (this.header[0] === 0x5a) this.readyCount++;
      }
    }
  }
}

describe('PostgreSQL backpressure', () => {
  it('holds a paused client\'s 400 MB result at the backend instead of in proxy memory, and delivers all of it after', async () => {
    const rows = 400_000;
    const counter = new RowCounter();
    let bytes = 0;
    const socket = await Bun.connect({
      hostname: '127.0.0.1',
      port: proxy.listeners.postgres!.port,
      socket: {
        data(_s, chunk) {
          bytes += chunk.length;
          counter.push(chunk);
        },
      },
    });
    const pausable = socket as unknown as { pause(): void; resume(): void };
    try {
      socket.write(pgStartup({ user: 'root', database: 'test' }));
      await waitUntil(() => counter.readyCount === 1, { description: 'login' });
      const before = rssBytes(proxy.proc.pid);
      socket.write(pgQuery(`SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, ${rows}) AS g`));
      await waitUntil(() => counter.rows > 0, { description: 'the first rows' });
      pausable.pause();
      // While paused, the server keeps producing; sample the proxy's memory meanwhile.
      let peak = 0;
      for (let i = 0; i < 20; i++) {
        peak = Math.max(peak, rssBytes(proxy.proc.pid));
        await Bun.sleep(50);
      }
      expect(counter.readyCount).toBe(1);
      expect(peak - before).toBeLessThan(64 * 1024 * 1024);
      pausable.resume();
      await waitUntil(() => counter.readyCount === 2, { description: 'the whole result', timeoutMs: 120_000 });
      expect(counter.rows).toBe(rows);
      expect(bytes).toBeGreaterThan(rows * 1000);
    } finally {
      socket.end();
    }
  }, 180_000);
});
