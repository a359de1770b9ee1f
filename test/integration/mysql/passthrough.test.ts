// The MariaDB front end relays everything a real client does, through the proxy, against the real server.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { createReadStream, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { mysqlConnect, runMariadbCli } from '../../support/mysql.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';

let proxy: ProxyProcess;
let conn: Connection;
let originalMaxAllowedPacket = 0;

beforeAll(async () => {
  // A 20 MiB BLOB needs a server that accepts packets that large; new sessions pick the global value up.
  const admin = await mysqlConnect(3306);
  const [rows] = await admin.query('SELECT @@GLOBAL.max_allowed_packet AS v');
  originalMaxAllowedPacket = Number((rows as { v: number }[])[0]!.v);
  await admin.query('SET GLOBAL max_allowed_packet = 67108864');
  await admin.end();
  proxy = await startProxy({ ini: '[mariadb]\nmax_packet_size = 67108864' });
  conn = await mysqlConnect(proxy.port);
  await conn.query('CREATE TABLE IF NOT EXISTS pt_items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) UNIQUE, payload LONGBLOB)');
  await conn.query('TRUNCATE pt_items');
});

afterAll(async () => {
  await conn?.query('DROP TABLE IF EXISTS pt_items');
  await conn?.end();
  await proxy?.stop();
  const admin = await mysqlConnect(3306);
  await admin.query(`SET GLOBAL max_allowed_packet = ${originalMaxAllowedPacket}`);
  await admin.end();
});

describe('MariaDB pass-through with mysql2', () => {
  it('answers a text query with the server\'s rows', async () => {
    const [rows] = await conn.query('SELECT 1 AS one, \'x\' AS s, NULL AS n');
    expect(rows as unknown).toEqual([{ one: 1, s: 'x', n: null }]);
  });

  it('runs prepared statements with parameters', async () => {
    const [res] = await conn.execute('INSERT INTO pt_items (name) VALUES (?)', ['prepared-1']);
    expect((res as { affectedRows: number }).affectedRows).toBe(1);
    const [rows] = await conn.execute('SELECT name FROM pt_items WHERE name = ?', ['prepared-1']);
    expect(rows as unknown).toEqual([{ name: 'prepared-1' }]);
  });

  it('relays several result sets of a multi-statement query', async () => {
    const multi = await mysqlConnect(proxy.port, { multipleStatements: true });
    try {
      const [results] = await multi.query('SELECT 1 AS a; SELECT 2 AS b; DO 0');
      expect((results as unknown[]).length).toBe(3);
      expect((results as unknown[][])[1] as unknown).toEqual([{ b: 2 }]);
    } finally {
      await multi.end();
    }
  });

  it('relays a syntax error and keeps the connection usable', async () => {
    let code = '';
    try {
      await conn.query('SELEC 1');
    } catch (error) {
      code = (error as { code: string }).code;
    }
    expect(code).toBe('ER_PARSE_ERROR');
    const [rows] = await conn.query('SELECT 2 AS two');
    expect(rows as unknown).toEqual([{ two: 2 }]);
  });

  it('relays a duplicate-key error', async () => {
    await conn.query("INSERT INTO pt_items (name) VALUES ('dup')");
    let errno = 0;
    try {
      await conn.query("INSERT INTO pt_items (name) VALUES ('dup')");
    } catch (error) {
      errno = (error as { errno: number }).errno;
    }
    expect(errno).toBe(1062);
  });

  it('keeps transactions: a rollback undoes, a commit keeps', async () => {
    await conn.beginTransaction();
    await conn.query("INSERT INTO pt_items (name) VALUES ('rolled-back')");
    await conn.rollback();
    await conn.beginTransaction();
    await conn.query("INSERT INTO pt_items (name) VALUES ('committed')");
    await conn.commit();
    const [rows] = await conn.query("SELECT name FROM pt_items WHERE name IN ('rolled-back', 'committed')");
    expect(rows as unknown).toEqual([{ name: 'committed' }]);
  });

  it('supports changeUser and ping', async () => {
    const c = await mysqlConnect(proxy.port);
    try {
      await c.changeUser({ user: 'root', password: '', database: 'mysql' });
      const [rows] = await c.query('SELECT DATABASE() AS db');
      expect(rows as unknown).toEqual([{ db: 'mysql' }]);
      await c.ping();
    } finally {
      await c.end();
    }
  });

  it('round-trips a 20 MiB BLOB, which spans several 16 MiB packets', async () => {
    const blob = Buffer.alloc(20 * 1024 * 1024);
    for (let i = 0; i < blob.length; i += 4096) blob[i] = (i / 4096) & 0xff;
    blob[blob.length - 1] = 0x7f;
    await conn.execute('INSERT INTO pt_items (name, payload) VALUES (?, ?)', ['blob', blob]);
    const [rows] = await conn.query("SELECT payload FROM pt_items WHERE name = 'blob'");
    const back = (rows as { payload: Buffer }[])[0]!.payload;
    expect(back.length).toBe(blob.length);
    expect(back.equals(blob)).toBe(true);
  });

  it('relays LOAD DATA LOCAL INFILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tqdb-infile-'));
    const file = join(dir, 'rows.csv');
    writeFileSync(file, 'infile-a\ninfile-b\ninfile-c\n');
    const c = await mysqlConnect(proxy.port, { flags: ['+LOCAL_FILES'] });
    try {
      await c.query('SET GLOBAL local_infile = 1');
      const [res] = await c.query({ sql: `LOAD DATA LOCAL INFILE '${file}' INTO TABLE pt_items (name)`, infileStreamFactory: () => createReadStream(file) });
      expect((res as { affectedRows: number }).affectedRows).toBe(3);
      const [rows] = await c.query("SELECT COUNT(*) AS n FROM pt_items WHERE name LIKE 'infile-%'");
      expect(rows as unknown).toEqual([{ n: 3 }]);
    } finally {
      await c.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves 64 concurrent connections, each getting its own answers', async () => {
    const conns = await Promise.all(Array.from({ length: 64 }, () => mysqlConnect(proxy.port)));
    try {
      const answers = await Promise.all(conns.map(async (c, i) => {
        const [rows] = await c.query('SELECT ? AS i, CONNECTION_ID() AS cid', [i]);
        return rows as { i: number; cid: number }[];
      }));
      answers.forEach((rows, i) => expect(rows[0]!.i).toBe(i));
      expect(new Set(answers.map((r) => r[0]!.cid)).size).toBe(64);
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
  });

  it('reports its own status with SHOW TQDB STATUS', async () => {
    const [rows] = await conn.query('SHOW TQDB STATUS');
    const status = Object.fromEntries((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name, r.Value]));
    expect(status.Shard).toBe('main');
    expect(status.Backend).toBe('primary');
    expect(status.InTransaction).toBe('0');
  });
});

describe('MariaDB pass-through with the mariadb CLI', () => {
  it('runs queries and keeps comments', async () => {
    const result = await runMariadbCli(proxy.port, "/* file:cli.sh line:1 */ SELECT 'hello' AS greeting");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('hello');
  });

  it('shows SHOW TQDB STATUS as a table', async () => {
    const result = await runMariadbCli(proxy.port, 'SHOW TQDB STATUS', ['--table']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Variable_name');
    expect(result.stdout).toContain('Shard');
  });

  it('reports a server error with its code', async () => {
    const result = await runMariadbCli(proxy.port, 'SELECT * FROM no_such_table_here', ['test']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('1146');
  });
});

describe('MariaDB pass-through on a unix socket', () => {
  it('serves clients on the configured unix socket as well as on TCP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tqdb-sock-'));
    const socketPath = join(dir, 'tqdb.sock');
    try {
      await using unixProxy = await startProxy({ ini: `[mariadb]\nsocket = ${socketPath}` });
      const c = await mysqlConnect(0, { socketPath });
      try {
        const [rows] = await c.query('SELECT 5 AS five');
        expect(rows as unknown).toEqual([{ five: 5 }]);
      } finally {
        await c.end();
      }
      const tcp = await mysqlConnect(unixProxy.port);
      await tcp.end();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('supports COM_RESET_CONNECTION', async () => {
    const c = await mysqlConnect(proxy.port);
    try {
      await c.query('SET @marker = 7');
      await c.reset();
      const [rows] = await c.query('SELECT @marker AS m');
      expect((rows as { m: unknown }[])[0]!.m).toBeNull();
    } finally {
      await c.end();
    }
  });
});
