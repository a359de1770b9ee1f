// sysbench's OLTP workload runs through the proxy without a single error.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { sysbenchAvailable, sysbenchCleanup, sysbenchPrepare, sysbenchRun } from '../../support/sysbench.ts';

const hasSysbench = sysbenchAvailable();
let proxy: ProxyProcess;

beforeAll(async () => {
  if (hasSysbench) proxy = await startProxy({});
});

afterAll(async () => {
  await proxy?.stop();
});

describe.skipIf(!hasSysbench)('sysbench through the proxy', () => {
  it('runs oltp_read_write for 10 s with 16 threads and zero errors', async () => {
    // sysbench aborts on any error outside its ignore list (deadlock and lock-wait codes, which the database itself raises).
    const options = { port: proxy.port, tables: 4, tableSize: 10000, threads: 16, timeSeconds: 10 };
    await sysbenchCleanup('oltp_read_write', options).catch(() => undefined);
    await sysbenchPrepare('oltp_read_write', options);
    try {
      const summary = await sysbenchRun('oltp_read_write', options);
      expect(summary.transactions).toBeGreaterThan(0);
      expect(summary.ignoredErrors).toBeLessThan(Math.max(1, summary.transactions * 0.01));
      expect(summary.reconnects).toBe(0);
    } finally {
      await sysbenchCleanup('oltp_read_write', options);
    }
  }, 120_000);
});
