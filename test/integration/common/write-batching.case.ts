// Write batching, written once for both protocols: concurrent autocommit writers are coalesced into
// batches, each writer still gets its own result, and writes in a transaction are never batched.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { DbClient, ProtocolDriver } from '../../support/protocol-client.ts';
import type { ProxyProcess } from '../../support/proxy.ts';

const WRITERS = 32;

export function writeBatchingCase(driver: ProtocolDriver): void {
  describe(`write batching (${driver.name})`, () => {
    const table = `cc_${driver.name}_wb`;
    const p = driver.param;
    const labels = { protocol: driver.name };
    let proxy: ProxyProcess;
    let port = 0;
    let direct: DbClient;
    let writers: DbClient[] = [];

    const metric = (name: string, extra: Record<string, string> = {}): Promise<number> => proxy.metricValue(name, { ...labels, ...extra });

    beforeAll(async () => {
      direct = await driver.connect(driver.directPort);
      await direct.query(`DROP TABLE IF EXISTS ${table}`);
      await direct.query(`CREATE TABLE ${table} (id ${driver.autoIdColumn}, owner INT NOT NULL, v INT NOT NULL)`);
      // A generous delay so that 32 writers sent at once land in a few batches, not one each.
      proxy = await driver.startProxy({ section: ['writebatch_enabled = true', 'writebatch_initial_delay_ms = 20', 'writebatch_min_delay_ms = 20', 'writebatch_max_delay_ms = 50'] });
      port = driver.port(proxy);
      writers = await Promise.all(Array.from({ length: WRITERS }, () => driver.connect(port)));
    });

    afterAll(async () => {
      await Promise.all(writers.map((w) => w.end()));
      await proxy?.stop();
      await direct?.query(`DROP TABLE IF EXISTS ${table}`);
      await direct?.end();
    });

    it(`coalesces INSERTs from ${WRITERS} connections into batches larger than one, each writer told its own id`, async () => {
      const countBefore = await metric('tqdbproxy_write_batch_size_count');
      const sumBefore = await metric('tqdbproxy_write_batch_size_sum');
      const batchedBefore = await metric('tqdbproxy_write_batched_total');
      // Writer i owns (i % 4) + 1 rows, so the later UPDATE/DELETE counts differ from writer to writer.
      const ids = await Promise.all(
        writers.map(async (w, i) => {
          const mine: number[] = [];
          for (let k = 0; k <= i % 4; k++) {
            const r = await w.query(driver.returningId(`INSERT INTO ${table} (owner, v) VALUES (${p(1)}, ${p(2)})`), [i, k]);
            expect(r.affectedRows).toBe(1);
            mine.push(driver.insertedId(r));
          }
          return mine;
        }),
      );
      const batches = (await metric('tqdbproxy_write_batch_size_count')) - countBefore;
      const batchedWrites = (await metric('tqdbproxy_write_batch_size_sum')) - sumBefore;
      expect(batches).toBeGreaterThan(0);
      expect(batchedWrites / batches).toBeGreaterThan(1);
      expect((await metric('tqdbproxy_write_batched_total')) - batchedBefore).toBe(batchedWrites);
      // Every id a writer was told is the row it wrote.
      const total = writers.reduce((n, _w, i) => n + (i % 4) + 1, 0);
      const stored = (await direct.query(`SELECT id, owner, v FROM ${table}`)).rows.map((r) => ({ id: Number(r.id), owner: Number(r.owner), v: Number(r.v) }));
      expect(stored.length).toBe(total);
      const byId = new Map(stored.map((r) => [r.id, r]));
      ids.forEach((mine, i) => mine.forEach((id, k) => expect(byId.get(id)).toEqual({ id, owner: i, v: k })));
    });

    it('batches back-to-back autocommit writes: every one is batched or counted as excluded with a reason', async () => {
      const batchedBefore = await metric('tqdbproxy_write_batched_total');
      const excludedBefore = await metric('tqdbproxy_write_excluded_total');
      await Promise.all(
        writers.map(async (w, i) => {
          for (let k = 0; k < 3; k++) expect((await w.query(`INSERT INTO ${table} (owner, v) VALUES (${p(1)}, ${p(2)})`, [2000 + i, k])).affectedRows).toBe(1);
        }),
      );
      const batched = (await metric('tqdbproxy_write_batched_total')) - batchedBefore;
      const excluded = (await metric('tqdbproxy_write_excluded_total')) - excludedBefore;
      expect({ batched, excluded }).toEqual({ batched: 3 * WRITERS, excluded: 0 });
      await direct.query(`DELETE FROM ${table} WHERE owner >= 2000`);
    });

    it('gives each batched UPDATE and DELETE its own affected-row count', async () => {
      const sumBefore = await metric('tqdbproxy_write_batch_size_sum');
      const updated = await Promise.all(writers.map(async (w, i) => (await w.query(`UPDATE ${table} SET v = v + 100 WHERE owner = ${p(1)}`, [i])).affectedRows));
      expect(updated).toEqual(writers.map((_w, i) => (i % 4) + 1));
      const missing = await Promise.all(writers.map(async (w, i) => (await w.query(`UPDATE ${table} SET v = 0 WHERE owner = ${p(1)}`, [1000 + i])).affectedRows));
      expect(missing).toEqual(writers.map(() => 0));
      const deleted = await Promise.all(writers.map(async (w, i) => (await w.query(`DELETE FROM ${table} WHERE owner = ${p(1)} AND v >= 100`, [i])).affectedRows));
      expect(deleted).toEqual(writers.map((_w, i) => (i % 4) + 1));
      expect((await direct.query(`SELECT COUNT(*) AS n FROM ${table}`)).rows.map((r) => Number(r.n))).toEqual([0]);
      expect((await metric('tqdbproxy_write_batch_size_sum')) - sumBefore).toBeGreaterThan(WRITERS);
    });

    it('reports the batched write and its batch size in SHOW TQDB STATUS', async () => {
      await Promise.all(writers.map((w, i) => w.query(`INSERT INTO ${table} (owner, v) VALUES (${p(1)}, 1)`, [5000 + i])));
      const statuses = await Promise.all(writers.map((w) => w.status()));
      for (const s of statuses) expect(['write-batch', 'primary']).toContain(s.Backend);
      const batched = statuses.filter((s) => s.Backend === 'write-batch');
      expect(batched.length).toBeGreaterThan(0);
      expect(Math.max(...batched.map((s) => Number(s.LastBatchSize)))).toBeGreaterThan(1);
    });

    it('never batches a write inside a transaction, and a rollback undoes it', async () => {
      const c = writers[0]!;
      const excludedBefore = await metric('tqdbproxy_write_excluded_total', { reason: 'transaction' });
      const batchedBefore = await metric('tqdbproxy_write_batched_total');
      await c.query('BEGIN');
      expect((await c.query(`INSERT INTO ${table} (owner, v) VALUES (${p(1)}, 1)`, [9999])).affectedRows).toBe(1);
      expect((await c.status()).Backend).toBe('primary');
      await c.query('ROLLBACK');
      expect(await metric('tqdbproxy_write_excluded_total', { reason: 'transaction' })).toBe(excludedBefore + 1);
      expect(await metric('tqdbproxy_write_batched_total')).toBe(batchedBefore);
      expect((await direct.query(`SELECT COUNT(*) AS n FROM ${table} WHERE owner = 9999`)).rows.map((r) => Number(r.n))).toEqual([0]);
    });
  });
}
