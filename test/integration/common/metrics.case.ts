// Metrics: every tqdbproxy_* series that concerns a protocol says which one, and this front end's
// traffic shows up under its own protocol and not the other's.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { DbClient, ProtocolDriver } from '../../support/protocol-client.ts';
import { parseExposition, type Exposition } from '../../support/prometheus.ts';
import type { ProxyProcess } from '../../support/proxy.ts';

/**
 * Families with no protocol concept, each with the reason. Anything else
 * named tqdbproxy_* must carry protocol on every series, so a new metric
 * without the label fails here until it is labelled or listed with a reason.
 */
const PROTOCOL_LESS: Record<string, string> = {
  tqdbproxy_cache_bytes: 'one cache store is shared by both listeners',
  tqdbproxy_cache_entries: 'one cache store is shared by both listeners',
  tqdbproxy_cache_evictions_total: 'evictions are of the shared store, not of a statement',
};

function familyOf(name: string, e: Exposition): string {
  for (const suffix of ['_bucket', '_count', '_sum']) {
    if (name.endsWith(suffix) && e.families.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length);
  }
  return name;
}

export function metricsCase(driver: ProtocolDriver): void {
  describe(`metrics protocol label (${driver.name})`, () => {
    const table = `cc_${driver.name}_metrics`;
    const p = driver.param;
    let proxy: ProxyProcess;
    let direct: DbClient;

    beforeAll(async () => {
      direct = await driver.connect(driver.directPort);
      await direct.query(`DROP TABLE IF EXISTS ${table}`);
      await direct.query(`CREATE TABLE ${table} (id ${driver.autoIdColumn}, v INT)`);
      proxy = await driver.startProxy({ section: ['writebatch_enabled = true', 'writebatch_initial_delay_ms = 20', 'writebatch_min_delay_ms = 20'] });
    });

    afterAll(async () => {
      await proxy?.stop();
      await direct?.query(`DROP TABLE IF EXISTS ${table}`);
      await direct?.end();
    });

    it('labels every protocol-bound tqdbproxy_* series, and counts this listener\'s traffic under its own protocol only', async () => {
      const port = driver.port(proxy);
      const clients = await Promise.all(Array.from({ length: 16 }, () => driver.connect(port)));
      try {
        await Promise.all(clients.map((c, i) => c.query(`INSERT INTO ${table} (v) VALUES (${p(1)})`, [i])));
        const c = clients[0]!;
        await c.query("/* ttl:60 file:metrics.php line:3 */ SELECT 'm' AS v");
        await c.query("/* ttl:60 file:metrics.php line:3 */ SELECT 'm' AS v");
        await c.query('/* ttl:99999999999 */ SELECT 1 AS out_of_range');
        await c.query('BEGIN');
        await c.query(`INSERT INTO ${table} (v) VALUES (100)`);
        await c.query('ROLLBACK');
        await c.queryError(`SELECT * FROM cc_${driver.name}_missing`);

        const e = parseExposition(await proxy.metrics());
        const unlabelled = new Set<string>();
        const families = new Set<string>();
        for (const s of e.samples) {
          if (!s.name.startsWith('tqdbproxy_')) continue;
          const family = familyOf(s.name, e);
          families.add(family);
          if (PROTOCOL_LESS[family] !== undefined) continue;
          if (s.labels.protocol !== 'mariadb' && s.labels.protocol !== 'postgres') unlabelled.add(family);
        }
        expect([...unlabelled].sort()).toEqual([]);
        // The check above saw the batching families, not an exposition without them.
        for (const family of ['tqdbproxy_query_total', 'tqdbproxy_cache_hits_total', 'tqdbproxy_cache_misses_total', 'tqdbproxy_cache_coalesced_total', 'tqdbproxy_write_batch_size', 'tqdbproxy_write_batched_total', 'tqdbproxy_write_current_delay_ms', 'tqdbproxy_write_queued', 'tqdbproxy_write_excluded_total', 'tqdbproxy_write_batch_method_total', 'tqdbproxy_sql_hint_warnings_total']) {
          expect({ family, exposed: families.has(family) }).toEqual({ family, exposed: true });
        }

        const mine = { protocol: driver.name };
        const sum = (name: string, labels: Record<string, string> = {}): Promise<number> => proxy.metricValue(name, { ...mine, ...labels });
        expect(await sum('tqdbproxy_client_connections')).toBe(16);
        expect(await sum('tqdbproxy_query_total', { file: 'metrics.php', cached: 'true' })).toBe(1);
        expect(await sum('tqdbproxy_write_batched_total')).toBeGreaterThanOrEqual(2);
        expect(await sum('tqdbproxy_write_batch_size_count')).toBeGreaterThan(0);
        expect(await sum('tqdbproxy_write_batch_method_total')).toBeGreaterThan(0);
        expect(await sum('tqdbproxy_write_excluded_total', { reason: 'transaction' })).toBe(1);
        expect(await sum('tqdbproxy_write_current_delay_ms')).toBeGreaterThan(0);
        expect(await sum('tqdbproxy_sql_hint_warnings_total', { kind: 'out_of_range' })).toBe(1);
        expect(await sum('tqdbproxy_cache_misses_total')).toBe(1);
        expect(await sum('tqdbproxy_cache_hits_total', { state: 'fresh' })).toBe(1);
        // Nothing this listener did is counted under the other protocol.
        const other = { protocol: driver.name === 'mariadb' ? 'postgres' : 'mariadb' };
        for (const name of ['tqdbproxy_query_total', 'tqdbproxy_cache_hits_total', 'tqdbproxy_cache_misses_total', 'tqdbproxy_write_batched_total', 'tqdbproxy_write_batch_size_count', 'tqdbproxy_write_batch_method_total', 'tqdbproxy_write_excluded_total', 'tqdbproxy_sql_hint_warnings_total', 'tqdbproxy_client_connections']) {
          expect({ name, value: await proxy.metricValue(name, other) }).toEqual({ name, value: 0 });
        }
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
    });
  });
}
