// Batched prepared writes from clients that send parameter types only on the
// first execute of a statement, as libmariadb does (sysbench, PHP, MySQLdb).
// An execute that ran in a batch on another member's connection never bound
// its types on the client's own connection, so the proxy must restore them
// there, or the server answers 1210 "Incorrect arguments to mysqld_stmt_execute".
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { Connection } from 'mysql2/promise';
import { mysqlConnect } from '../../support/mysql.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { RawMysqlClient } from '../../support/raw-mysql.ts';
import { RawPreparedStatement } from '../../support/raw-prepared.ts';
import { sysbenchAvailable, sysbenchCleanup, sysbenchPrepare, sysbenchRun } from '../../support/sysbench.ts';

let direct: Connection;
let proxy: ProxyProcess;

beforeAll(async () => {
  direct = await mysqlConnect(3306);
  proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true' });
});

afterAll(async () => {
  await direct?.end();
  await proxy?.stop();
});

describe('prepared writes with types on the first execute only', () => {
  beforeAll(async () => {
    await direct.query('DROP TABLE IF EXISTS wb_libmariadb');
    await direct.query('CREATE TABLE wb_libmariadb (id BIGINT AUTO_INCREMENT PRIMARY KEY, owner INT NOT NULL, seq INT NOT NULL, v BIGINT NOT NULL, UNIQUE KEY (owner, seq)) ENGINE=InnoDB');
  });

  afterAll(async () => {
    await direct.query('DROP TABLE IF EXISTS wb_libmariadb');
  });

  it('gives 32 concurrent clients their own results, in batches, with no 1210', async () => {
    const clients = 32;
    const rounds = 30;
    const problems: string[] = [];
    const insertIds = new Map<string, number>();
    const expected = new Map<string, bigint>();
    const conns = await Promise.all(
      Array.from({ length: clients }, async () => {
        const c = await RawMysqlClient.connect(proxy.port);
        await c.login({ database: 'test' });
        return c;
      }),
    );
    try {
      await Promise.all(
        conns.map(async (c, owner) => {
          const insert = await RawPreparedStatement.prepare(c, 'INSERT INTO wb_libmariadb (owner, seq, v) VALUES (?, ?, ?)');
          const update = await RawPreparedStatement.prepare(c, 'UPDATE wb_libmariadb SET v = v + ? WHERE owner = ? AND seq = ?');
          const remove = await RawPreparedStatement.prepare(c, 'DELETE FROM wb_libmariadb WHERE owner = ? AND seq = ?');
          for (let seq = 0; seq < rounds; seq++) {
            const o = BigInt(owner);
            const s = BigInt(seq);
            try {
              const ins = await insert.execute([o, s, 10n]);
              if (ins.affectedRows !== 1 || ins.insertId <= 0) problems.push(`insert ${owner}/${seq}: ${JSON.stringify(ins)}`);
              insertIds.set(`${owner}/${seq}`, ins.insertId);
              const upd = await update.execute([s + 1n, o, s]);
              if (upd.affectedRows !== 1) problems.push(`update ${owner}/${seq}: ${JSON.stringify(upd)}`);
              if (seq % 4 === 0) {
                const del = await remove.execute([o, s]);
                if (del.affectedRows !== 1) problems.push(`delete ${owner}/${seq}: ${JSON.stringify(del)}`);
              } else {
                expected.set(`${owner}/${seq}`, 11n + s);
              }
            } catch (error) {
              problems.push(`${owner}/${seq}: ${String(error)}`);
              return;
            }
          }
        }),
      );
    } finally {
      for (const c of conns) c.quit();
    }
    expect(problems.slice(0, 5)).toEqual([]);
    const ids = [...insertIds.values()];
    expect(new Set(ids).size).toBe(ids.length);
    const [rows] = await direct.query('SELECT id, owner, seq, v FROM wb_libmariadb');
    const actual = rows as { id: number; owner: number; seq: number; v: number }[];
    expect(actual.length).toBe(expected.size);
    for (const row of actual) {
      const key = `${row.owner}/${row.seq}`;
      expect(BigInt(row.v)).toBe(expected.get(key)!);
      expect(row.id).toBe(insertIds.get(key)!);
    }
    // Concurrent writers formed real batches: fewer batches than batched writes.
    const batched = await proxy.metricValue('tqdbproxy_write_batched_total');
    const batches = await proxy.metricValue('tqdbproxy_write_batch_size_count');
    expect(batched).toBeGreaterThan(clients * rounds);
    expect(batches).toBeLessThan(batched * 0.9);
  }, 120_000);
});

describe.skipIf(!sysbenchAvailable())('sysbench prepared writes through batching', () => {
  for (const test of ['oltp_update_index', 'oltp_delete'] as const) {
    it(`runs ${test} with 16 threads and zero errors`, async () => {
      const options = { port: proxy.port, database: 'test', tables: 2, tableSize: 2000, threads: 16, timeSeconds: 4, extraArgs: ['--mysql-ignore-errors=none'] };
      await sysbenchCleanup(test, { ...options, port: 3306 }).catch(() => undefined);
      await sysbenchPrepare(test, { ...options, port: 3306 });
      const before = await proxy.metricValue('tqdbproxy_write_batched_total');
      try {
        const summary = await sysbenchRun(test, options);
        expect(summary.transactions).toBeGreaterThan(0);
        expect(summary.ignoredErrors).toBe(0);
        expect(summary.reconnects).toBe(0);
        expect(await proxy.metricValue('tqdbproxy_write_batched_total')).toBeGreaterThan(before);
      } finally {
        await sysbenchCleanup(test, { ...options, port: 3306 });
      }
    }, 120_000);
  }
});
