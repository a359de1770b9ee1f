// A slow client must not make the proxy buffer a large result set in memory:
// the proxy stops reading from the backend while the client cannot take more.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { waitUntil } from '../../support/wait.ts';

let proxy: ProxyProcess;

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

beforeAll(async () => {
  proxy = await startProxy({});
});

afterAll(async () => {
  await proxy?.stop();
});

describe('backpressure', () => {
  it('holds a paused client\'s 400 MB result at the backend instead of in proxy memory, and delivers all of it after', async () => {
    const rows = 400_000;
    const c = mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'test' });
    const before = rssBytes(proxy.proc.pid);
    const stream = c.query(`SELECT seq, REPEAT('x', 1000) AS pad FROM seq_1_to_${rows}`).stream({ highWaterMark: 16 });
    let received = 0;
    let firstRow = false;
    stream.once('data', () => {
      firstRow = true;
      stream.pause();
    });
    await waitUntil(() => firstRow, { description: 'the first row' });
    stream.removeAllListeners('data');
    // While paused, the result keeps being produced by the server; watch the proxy hold steady.
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, rssBytes(proxy.proc.pid));
      await Bun.sleep(50);
    }
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
    await new Promise<void>((resolve, reject) => {
      stream.on('data', () => received++);
      stream.on('end', () => resolve());
      stream.on('error', reject);
      stream.resume();
    });
    expect(received + 1).toBe(rows);
    c.end();
  }, 120_000);
});
