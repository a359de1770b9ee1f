// The query cache through the proxy, against the real MariaDB: expiry, isolation by user/database,
// SWR, prepared statements, replay to different clients, LRU. Hits, errors, single-flight,
// transactions and ttl hints on writes are tested for both protocols in
// test/integration/common/query-cache.case.ts.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { Connection } from 'mysql2/promise';
import { mysqlConnect, runMariadbCli } from '../../support/mysql.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { waitUntil } from '../../support/wait.ts';

let direct: Connection;
let proxy: ProxyProcess;

async function status(c: Connection): Promise<Record<string, string>> {
  const [rows] = await c.query('SHOW TQDB STATUS');
  return Object.fromEntries((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name, r.Value]));
}

async function hits(): Promise<number> {
  const [rows] = await direct.query('SELECT COUNT(*) AS n FROM test.qc_hits');
  return (rows as { n: number }[])[0]!.n;
}

/** Waits until at least `ms` have passed since `sinceMs`: the cache's TTLs are wall-clock by nature. */
async function passed(sinceMs: number, ms: number): Promise<void> {
  await waitUntil(() => Date.now() >= sinceMs + ms, { description: `${ms} ms to pass`, timeoutMs: ms + 5000, intervalMs: 25 });
}

beforeAll(async () => {
  direct = await mysqlConnect(3306);
  for (const db of ['qc_a', 'qc_b']) {
    await direct.query(`DROP DATABASE IF EXISTS ${db}`);
    await direct.query(`CREATE DATABASE ${db}`);
    await direct.query(`CREATE TABLE ${db}.t (v VARCHAR(16))`);
    await direct.query(`INSERT INTO ${db}.t VALUES ('${db}')`);
  }
  // A function with a side effect counts how often the database really ran a query.
  await direct.query('DROP TABLE IF EXISTS test.qc_hits');
  await direct.query('CREATE TABLE test.qc_hits (id INT AUTO_INCREMENT PRIMARY KEY)');
  await direct.query('DROP FUNCTION IF EXISTS test.qc_hit');
  await direct.query('CREATE FUNCTION test.qc_hit() RETURNS INT NOT DETERMINISTIC MODIFIES SQL DATA BEGIN INSERT INTO test.qc_hits VALUES (NULL); RETURN 1; END');
  proxy = await startProxy({ ini: '[proxy]\ncache_max_bytes = 262144\ncache_max_entry_bytes = 65536\ncache_wait_timeout_ms = 5000' });
});

afterAll(async () => {
  await proxy?.stop();
  for (const db of ['qc_a', 'qc_b']) await direct.query(`DROP DATABASE IF EXISTS ${db}`);
  await direct.query('DROP FUNCTION IF EXISTS test.qc_hit');
  await direct.query('DROP TABLE IF EXISTS test.qc_hits');
  await direct.query("DROP USER IF EXISTS 'qc_reader'@'%', 'qc_other'@'%'");
  await direct.end();
});

describe('query cache', () => {
  it('answers a repeated query from the cache, serves it stale after the ttl and from the primary after hard expiry', async () => {
    const c = await mysqlConnect(proxy.port, { database: 'qc_a' });
    try {
      const sql = "/* ttl:1 */ SELECT v, 'expiry' AS tag FROM t";
      const [first] = await c.query(sql);
      const storedAt = Date.now();
      expect((await status(c)).Backend).toBe('primary');
      const [second] = await c.query(sql);
      expect(second as unknown).toEqual(first as unknown);
      expect((await status(c)).Backend).toBe('cache');
      await passed(storedAt, 1100);
      const [stale] = await c.query(sql);
      expect(stale as unknown).toEqual(first as unknown);
      const s = await status(c);
      expect(s.Backend).toBe('cache (stale)');
      expect(Number(s.CacheAge)).toBeGreaterThanOrEqual(1);
      // The stale hit refreshed the entry; let that one expire completely (ttl × stale_factor = 2 s).
      await passed(Date.now(), 2100);
      await c.query(sql);
      expect((await status(c)).Backend).toBe('primary');
    } finally {
      await c.end();
    }
  });

  it('keeps databases apart: the same text in two databases returns each database\'s rows', async () => {
    const a = await mysqlConnect(proxy.port, { database: 'qc_a' });
    const b = await mysqlConnect(proxy.port, { database: 'qc_b' });
    try {
      const sql = '/* ttl:60 */ SELECT v FROM t';
      await a.query(sql);
      const [fromA] = await a.query(sql);
      expect(fromA as unknown).toEqual([{ v: 'qc_a' }]);
      const [fromB] = await b.query(sql);
      expect(fromB as unknown).toEqual([{ v: 'qc_b' }]);
      await a.query('USE qc_b');
      const [afterUse] = await a.query(sql);
      expect(afterUse as unknown).toEqual([{ v: 'qc_b' }]);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('keeps users apart: a user without the grant gets its own error, not the cached rows', async () => {
    await direct.query("DROP USER IF EXISTS 'qc_reader'@'%', 'qc_other'@'%'");
    await direct.query("CREATE USER 'qc_reader'@'%' IDENTIFIED BY 'r'");
    await direct.query("CREATE USER 'qc_other'@'%' IDENTIFIED BY 'o'");
    await direct.query("GRANT SELECT ON qc_a.* TO 'qc_reader'@'%'");
    await direct.query("GRANT SELECT ON qc_b.* TO 'qc_other'@'%'");
    const reader = await mysqlConnect(proxy.port, { user: 'qc_reader', password: 'r', database: 'qc_a' });
    const other = await mysqlConnect(proxy.port, { user: 'qc_other', password: 'o', database: 'qc_b' });
    try {
      const sql = "/* ttl:60 */ SELECT v FROM qc_a.t WHERE 'users' = 'users'";
      await reader.query(sql);
      const [cached] = await reader.query(sql);
      expect(cached as unknown).toEqual([{ v: 'qc_a' }]);
      expect((await status(reader)).Backend).toBe('cache');
      let errno = 0;
      try {
        await other.query(sql);
      } catch (error) {
        errno = (error as { errno: number }).errno;
      }
      expect(errno).toBe(1142);
    } finally {
      await reader.end();
      await other.end();
    }
  });

  it('answers a stale hit at once and refreshes it exactly once in the background', async () => {
    const c = await mysqlConnect(proxy.port);
    const d = await mysqlConnect(proxy.port);
    try {
      const sql = "/* ttl:1 */ SELECT SLEEP(0.5) AS s, test.qc_hit() AS h, 'swr' AS tag";
      await c.query(sql);
      const storedAt = Date.now(); // the entry is stored when the response ends
      const afterStore = await hits();
      await passed(storedAt, 1100);
      const [stale] = await c.query(sql);
      expect(stale as unknown).toEqual([{ s: 0, h: 1, tag: 'swr' }]);
      // The refresh sleeps 0.5 s before it counts: the stale answer came before it ran.
      expect(await hits()).toBe(afterStore);
      const [alsoStale] = await d.query(sql);
      expect(alsoStale as unknown).toEqual([{ s: 0, h: 1, tag: 'swr' }]);
      expect((await status(d)).Backend).toBe('cache (stale)');
      await waitUntil(async () => (await hits()) === afterStore + 1, { description: 'the refresh ran' });
      await c.query('DO 0'); // queued behind the refresh on the same connection
      const [fresh] = await d.query(sql);
      expect(fresh as unknown).toEqual([{ s: 0, h: 1, tag: 'swr' }]);
      expect((await status(d)).Backend).toBe('cache');
      expect(await hits()).toBe(afterStore + 1);
    } finally {
      await c.end();
      await d.end();
    }
  });

  it('keeps prepared statements with different parameters in separate entries', async () => {
    const c = await mysqlConnect(proxy.port);
    try {
      const sql = '/* ttl:60 */ SELECT ? AS v, ? AS w';
      const [one] = await c.execute(sql, [1, 'a']);
      const [two] = await c.execute(sql, [2, 'b']);
      expect(one as unknown).toEqual([{ v: 1, w: 'a' }]);
      expect(two as unknown).toEqual([{ v: 2, w: 'b' }]);
      const [oneAgain] = await c.execute(sql, [1, 'a']);
      expect(oneAgain as unknown).toEqual([{ v: 1, w: 'a' }]);
      expect((await status(c)).Backend).toBe('cache');
      const [twoAgain] = await c.execute(sql, [2, 'b']);
      expect(twoAgain as unknown).toEqual([{ v: 2, w: 'b' }]);
    } finally {
      await c.end();
    }
  });

  it('replays correctly to clients with different protocol capabilities (mysql2 text and binary, the mariadb CLI)', async () => {
    const sql = "/* ttl:60 */ SELECT 42 AS answer, 'replay' AS tag, NULL AS nothing";
    for (let i = 0; i < 2; i++) {
      const cli = await runMariadbCli(proxy.port, sql, ['-N', '-B']);
      expect(cli.code).toBe(0);
      expect(cli.stdout.trim()).toBe('42\treplay\tNULL');
    }
    const c = await mysqlConnect(proxy.port);
    try {
      for (let i = 0; i < 2; i++) {
        const [text] = await c.query(sql);
        expect(text as unknown).toEqual([{ answer: 42, tag: 'replay', nothing: null }]);
        const [binary] = await c.execute(sql);
        expect(binary as unknown).toEqual([{ answer: 42, tag: 'replay', nothing: null }]);
      }
      expect((await status(c)).Backend).toBe('cache');
    } finally {
      await c.end();
    }
  });

  it('keeps the cache within cache_max_bytes under a flood of distinct queries', async () => {
    const c = await mysqlConnect(proxy.port);
    try {
      for (let i = 0; i < 1500; i++) await c.query(`/* ttl:60 */ SELECT ${i} AS n, REPEAT('x', 200) AS pad`);
      expect(await proxy.metricValue('tqdbproxy_cache_bytes')).toBeLessThanOrEqual(262144);
      expect(await proxy.metricValue('tqdbproxy_cache_evictions_total')).toBeGreaterThan(0);
      const [last] = await c.query(`/* ttl:60 */ SELECT 1499 AS n, REPEAT('x', 200) AS pad`);
      expect((last as { n: number }[])[0]!.n).toBe(1499);
      expect((await status(c)).Backend).toBe('cache');
    } finally {
      await c.end();
    }
  });
});
