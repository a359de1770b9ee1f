// The query cache, written once for both protocols: /* ttl:N */ hits, expiry, what is never cached,
// single-flight on concurrent cold misses, no cache inside a transaction.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { DbClient, ProtocolDriver } from '../../support/protocol-client.ts';
import type { ProxyProcess } from '../../support/proxy.ts';
import { waitUntil } from '../../support/wait.ts';

export function queryCacheCase(driver: ProtocolDriver): void {
  describe(`query cache (${driver.name})`, () => {
    const table = `cc_${driver.name}_cache`;
    const hits = `cc_${driver.name}_cache_hits`;
    const hitFn = `cc_${driver.name}_cache_hit`;
    const p = driver.param;
    let proxy: ProxyProcess;
    let port = 0;
    let direct: DbClient;

    /** Changes a row behind the cache's back, so a cached answer shows itself by being old. */
    const setValue = (id: number, v: string): Promise<unknown> => direct.query(`UPDATE ${table} SET v = ${p(1)} WHERE id = ${p(2)}`, [v, id]);
    const executions = async (): Promise<number> => Number((await direct.query(`SELECT COUNT(*) AS n FROM ${hits}`)).rows[0]!.n);

    beforeAll(async () => {
      direct = await driver.connect(driver.directPort);
      await direct.query(`DROP TABLE IF EXISTS ${table}`);
      await direct.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, v VARCHAR(32))`);
      await direct.query(`INSERT INTO ${table} (id, v) VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four')`);
      for (const ddl of driver.executionCounter(hits, hitFn)) await direct.query(ddl);
      proxy = await driver.startProxy({ proxy: ['cache_wait_timeout_ms = 10000'] });
      port = driver.port(proxy);
    });

    afterAll(async () => {
      await proxy?.stop();
      await direct?.query(`DROP TABLE IF EXISTS ${table}`);
      for (const ddl of driver.dropExecutionCounter(hits, hitFn)) await direct?.query(ddl);
      await direct?.end();
    });

    it('serves a ttl-hinted SELECT from the cache: a change behind it is not seen until the ttl passes', async () => {
      const c = await driver.connect(port);
      try {
        await setValue(1, 'ttl-a');
        const sql = `/* ttl:1 */ SELECT v FROM ${table} WHERE id = 1`;
        expect((await c.query(sql)).rows).toEqual([{ v: 'ttl-a' }]);
        const storedAt = Date.now();
        expect((await c.status()).Backend).toBe('primary');
        await setValue(1, 'ttl-b');
        const hitsBefore = await proxy.metricValue('tqdbproxy_cache_hits_total', { state: 'fresh' });
        expect((await c.query(sql)).rows).toEqual([{ v: 'ttl-a' }]);
        expect((await c.status()).Backend).toBe('cache');
        expect(await proxy.metricValue('tqdbproxy_cache_hits_total', { state: 'fresh' })).toBe(hitsBefore + 1);
        // Past the ttl the entry is refreshed (first served stale, then fresh): the change shows only then.
        const seenAt = await waitUntil(async () => ((await c.query(sql)).rows[0]?.v === 'ttl-b' ? Date.now() : undefined), { description: 'the change to show', timeoutMs: 10_000, intervalMs: 50 });
        expect(seenAt - storedAt).toBeGreaterThanOrEqual(1000);
      } finally {
        await c.end();
      }
    });

    it('does not cache a statement without a ttl hint', async () => {
      const c = await driver.connect(port);
      try {
        await setValue(2, 'plain-a');
        const sql = `SELECT v FROM ${table} WHERE id = 2`;
        expect((await c.query(sql)).rows).toEqual([{ v: 'plain-a' }]);
        await setValue(2, 'plain-b');
        expect((await c.query(sql)).rows).toEqual([{ v: 'plain-b' }]);
        expect((await c.status()).Backend).toBe('primary');
      } finally {
        await c.end();
      }
    });

    it('runs a write carrying a ttl hint every time, warns once per call site and counts it under its protocol', async () => {
      const c = await driver.connect(port);
      const site = `cc-${driver.name}-writer.php`;
      try {
        const before = await proxy.metricValue('tqdbproxy_sql_hint_warnings_total', { protocol: driver.name, kind: 'ttl_on_write' });
        for (let i = 0; i < 3; i++) {
          const r = await c.query(`/* ttl:60 file:${site} line:9 */ UPDATE ${table} SET v = ${p(1)} WHERE id = 3`, [`w${i}`]);
          expect(r.affectedRows).toBe(1);
        }
        expect((await direct.query(`SELECT v FROM ${table} WHERE id = 3`)).rows).toEqual([{ v: 'w2' }]);
        expect(await proxy.metricValue('tqdbproxy_sql_hint_warnings_total', { protocol: driver.name, kind: 'ttl_on_write' })).toBe(before + 3);
        await proxy.waitForStderr(site);
        expect(proxy.stderr().split('\n').filter((line) => line.includes(site)).length).toBe(1);
      } finally {
        await c.end();
      }
    });

    it('never caches an error: once the table exists, the same text returns its rows', async () => {
      const c = await driver.connect(port);
      const later = `cc_${driver.name}_appears_later`;
      await direct.query(`DROP TABLE IF EXISTS ${later}`);
      try {
        const sql = `/* ttl:60 */ SELECT x FROM ${later}`;
        for (let i = 0; i < 2; i++) expect((await c.queryError(sql)).code).toBe(driver.codes.noSuchTable);
        await direct.query(`CREATE TABLE ${later} (x INT)`);
        await direct.query(`INSERT INTO ${later} VALUES (7)`);
        expect((await c.query(sql)).rows.map((r) => Number(r.x))).toEqual([7]);
      } finally {
        await c.end();
        await direct.query(`DROP TABLE IF EXISTS ${later}`);
      }
    });

    it('sends 24 concurrent identical cold misses to the database once; the other 23 wait for it', async () => {
      const conns = await Promise.all(Array.from({ length: 24 }, () => driver.connect(port)));
      try {
        const before = await executions();
        const coalescedBefore = await proxy.metricValue('tqdbproxy_cache_coalesced_total');
        const sql = `/* ttl:60 */ SELECT ${driver.sleep(0.3)} AS s, ${hitFn}() AS h, 'flight' AS tag`;
        const results = await Promise.all(conns.map((c) => c.query(sql)));
        for (const r of results) expect(r.rows.map((row) => ({ h: Number(row.h), tag: row.tag }))).toEqual([{ h: 1, tag: 'flight' }]);
        expect((await executions()) - before).toBe(1);
        expect((await proxy.metricValue('tqdbproxy_cache_coalesced_total')) - coalescedBefore).toBe(23);
      } finally {
        await Promise.all(conns.map((c) => c.end()));
      }
    });

    it('neither serves nor stores inside a transaction', async () => {
      const c = await driver.connect(port);
      try {
        await setValue(4, 'tx-a');
        const sql = `/* ttl:60 */ SELECT v AS tx FROM ${table} WHERE id = 4`;
        await c.query(sql);
        expect((await c.query(sql)).rows).toEqual([{ tx: 'tx-a' }]);
        expect((await c.status()).Backend).toBe('cache');
        await setValue(4, 'tx-b');
        await c.query('BEGIN');
        expect((await c.query(sql)).rows).toEqual([{ tx: 'tx-b' }]);
        const inside = await c.status();
        expect([inside.Backend, inside.InTransaction]).toEqual(['primary', '1']);
        const onlyInside = `/* ttl:60 */ SELECT v AS only_tx FROM ${table} WHERE id = 4`;
        await c.query(onlyInside);
        await c.query('COMMIT');
        // The entry from before the transaction is still served; nothing run inside it was stored.
        expect((await c.query(sql)).rows).toEqual([{ tx: 'tx-a' }]);
        await setValue(4, 'tx-c');
        expect((await c.query(onlyInside)).rows).toEqual([{ only_tx: 'tx-c' }]);
        expect((await c.status()).Backend).toBe('primary');
      } finally {
        await c.end();
      }
    });
  });
}
