// MariaDB bulk execute (COM_STMT_BULK_EXECUTE) passes through (issue #11): the
// node `mariadb` connector's batch() sends all rows in one command when the
// greeting offers MARIADB_CLIENT_STMT_BULK_OPERATIONS, and gets one aggregate
// OK. With the capability masked it fell back to one execute per row and
// returned one OK per row instead. Write batching is on here: a bulk execute
// is already a batch and must run as it came.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import mariadb from 'mariadb';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';

let proxy: ProxyProcess;

beforeAll(async () => {
  proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true\n' });
});

afterAll(async () => {
  await proxy?.stop();
});

const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));

/** Runs `batch()` on a fresh table and returns its result, the table's rows and the executes the session counted. */
async function runBatch(port: number, table: string, sql: string, rows: unknown[][]) {
  const conn = await mariadb.createConnection({ host: '127.0.0.1', port, user: 'root', database: 'test' });
  try {
    await conn.query(`DROP TABLE IF EXISTS ${table}`);
    await conn.query(`CREATE TABLE ${table} (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(20), n INT)`);
    const result = await conn.batch(sql.replaceAll('$t', table), rows);
    const stored = await conn.query(`SELECT id, v, n FROM ${table} ORDER BY id`);
    const [status] = await conn.query("SHOW SESSION STATUS LIKE 'Com_stmt_execute'");
    await conn.query(`DROP TABLE ${table}`);
    return { result: plain(result), stored: plain(stored), executes: Number((status as { Value: string }).Value) };
  } finally {
    await conn.end();
  }
}

describe('COM_STMT_BULK_EXECUTE relay', () => {
  const rows = [['a', 1], ['b', 2], ['c', null], ['d', 4]];

  it('gives batch() the same aggregate OK through the proxy as directly, in one execute', async () => {
    const direct = await runBatch(3306, 'tls_bulk_direct', 'INSERT INTO $t (v, n) VALUES (?, ?)', rows);
    const proxied = await runBatch(proxy.port, 'tls_bulk_proxied', 'INSERT INTO $t (v, n) VALUES (?, ?)', rows);
    expect(direct.result).toEqual({ affectedRows: 4, insertId: 1, warningStatus: 0 });
    expect(proxied.result).toEqual(direct.result);
    expect(proxied.stored).toEqual(direct.stored);
    expect(proxied.executes).toBe(1);
  });

  it('relays a bulk execute that returns a result set (INSERT ... RETURNING)', async () => {
    const sql = 'INSERT INTO $t (v, n) VALUES (?, ?) RETURNING id, v';
    const direct = await runBatch(3306, 'tls_bulk_ret_direct', sql, rows);
    const proxied = await runBatch(proxy.port, 'tls_bulk_ret_proxied', sql, rows);
    expect(proxied.result).toEqual(direct.result);
    expect(proxied.stored).toEqual(direct.stored);
  });

  it('relays the server\'s error for a failing bulk execute and keeps the connection usable', async () => {
    const conn = await mariadb.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'test' });
    try {
      await conn.query('DROP TABLE IF EXISTS tls_bulk_err');
      await conn.query('CREATE TABLE tls_bulk_err (id INT PRIMARY KEY)');
      let errno = 0;
      await conn.batch('INSERT INTO tls_bulk_err (id) VALUES (?)', [[1], [1]]).catch((e: { errno: number }) => (errno = e.errno));
      expect(errno).toBe(1062);
      expect(plain(await conn.query('SELECT 1 AS one'))).toEqual([{ one: 1 }]);
      await conn.query('DROP TABLE tls_bulk_err');
    } finally {
      await conn.end();
    }
  });
});
