// Caller metadata: /* file:... line:... */ hints label the query metrics of the protocol that ran them.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { DbClient, ProtocolDriver } from '../../support/protocol-client.ts';
import type { ProxyProcess } from '../../support/proxy.ts';
import { parseExposition } from '../../support/prometheus.ts';

export function callerMetadataCase(driver: ProtocolDriver): void {
  describe(`caller metadata (${driver.name})`, () => {
    const other = driver.name === 'mariadb' ? 'postgres' : 'mariadb';
    let proxy: ProxyProcess;
    let c: DbClient;

    beforeAll(async () => {
      proxy = await driver.startProxy({ proxy: ['metrics_max_call_sites = 2'] });
      c = await driver.connect(driver.port(proxy));
    });

    afterAll(async () => {
      await c?.end();
      await proxy?.stop();
    });

    it('labels tqdbproxy_query_total and the latency histogram with file, line, kind and protocol', async () => {
      const labels = { protocol: driver.name, file: 'app.php', line: '42', query_type: 'select', cached: 'false' };
      for (let i = 0; i < 3; i++) await c.query(`/* file:app.php line:42 */ SELECT ${i} AS n`);
      expect(await proxy.metricValue('tqdbproxy_query_total', labels)).toBe(3);
      expect(await proxy.metricValue('tqdbproxy_query_latency_seconds_count', labels)).toBe(3);
      expect(await proxy.metricValue('tqdbproxy_query_total', { protocol: other, file: 'app.php' })).toBe(0);
    });

    it('labels a cached answer as cached, at the same call site', async () => {
      const sql = "/* ttl:60 file:cached.php line:7 */ SELECT 'meta' AS v";
      await c.query(sql);
      await c.query(sql);
      expect(await proxy.metricValue('tqdbproxy_query_total', { protocol: driver.name, file: 'cached.php', line: '7', cached: 'true' })).toBe(1);
      expect(await proxy.metricValue('tqdbproxy_query_total', { protocol: driver.name, file: 'cached.php', line: '7', cached: 'false' })).toBe(1);
    });

    it('rolls call sites past metrics_max_call_sites up into other', async () => {
      await c.query('/* file:third.php line:1 */ SELECT 1 AS n');
      const e = parseExposition(await proxy.metrics());
      const files = new Set(e.samples.filter((s) => s.name === 'tqdbproxy_query_total' && s.labels.protocol === driver.name).map((s) => s.labels.file));
      expect(files.has('third.php')).toBe(false);
      expect(await proxy.metricValue('tqdbproxy_query_total', { protocol: driver.name, file: 'other', line: 'other' })).toBeGreaterThanOrEqual(1);
    });
  });
}
