// The compressed protocol (CLIENT_COMPRESS, zlib) on both links (issue #11):
// a client that asks for compression gets it from the proxy, and the proxy
// asks the server for it too, so the server's Compression status reads ON as
// it does directly. The clients below fail to parse uncompressed replies once
// they negotiated compression, so every answer here proves the client link too.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mysqlConnect, mysqlPool, runMariadbCli } from '../../support/mysql.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { makeScratchDir, removeDir } from '../../support/tmp.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

let proxy: ProxyProcess;

beforeAll(async () => {
  proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true\n' });
});

afterAll(async () => {
  await proxy?.stop();
});

describe('compressed protocol relay', () => {
  it('gives `mariadb --compress` compression on the server link too (Compression ON)', async () => {
    const result = await runMariadbCli(proxy.port, "SHOW SESSION STATUS LIKE 'Compression'; SELECT LENGTH(REPEAT('x', 100000)), REPEAT('ab', 40000)", ['--compress', '-N', '-B']);
    expect(result.stderr).toBe('');
    const [status, row] = result.stdout.trim().split('\n');
    expect(status).toBe('Compression\tON');
    expect(row).toBe(`100000\t${'ab'.repeat(40000)}`);
  });

  it('serves mysql2 with compress: true: text and binary protocol, large rows both ways', async () => {
    const conn = await mysqlConnect(proxy.port, { compress: true });
    try {
      const [status] = await conn.query("SHOW SESSION STATUS LIKE 'Compression'");
      expect(status as unknown).toEqual([{ Variable_name: 'Compression', Value: 'ON' }]);
      // A 3 MB row spans many compressed packets.
      const [big] = await conn.query("SELECT REPEAT('y', 3000000) AS b UNION ALL SELECT 'z'");
      expect((big as { b: string }[]).map((r) => r.b.length)).toEqual([3_000_000, 1]);
      await conn.query('DROP TABLE IF EXISTS tls_compress_rows');
      await conn.query('CREATE TABLE tls_compress_rows (id INT PRIMARY KEY, body LONGTEXT)');
      const body = 'q'.repeat(1_000_000) + 'end';
      await conn.execute('INSERT INTO tls_compress_rows VALUES (?, ?)', [1, body]);
      const [rows] = await conn.execute('SELECT id, LENGTH(body) AS len, RIGHT(body, 3) AS tail FROM tls_compress_rows WHERE id = ?', [1]);
      expect(rows as unknown).toEqual([{ id: 1, len: body.length, tail: 'end' }]);
      await conn.query('DROP TABLE tls_compress_rows');
    } finally {
      await conn.end();
    }
  });

  it('keeps batched writes of compressed clients exact', async () => {
    const setup = await mysqlConnect(proxy.port);
    await setup.query('DROP TABLE IF EXISTS tls_compress_batch');
    await setup.query('CREATE TABLE tls_compress_batch (id INT PRIMARY KEY, v INT)');
    const pool = mysqlPool(proxy.port, { compress: true, connectionLimit: 8 });
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.query('INSERT INTO tls_compress_batch VALUES (?, ?)', [i, i * 2])));
      for (const [ok] of results) expect((ok as { affectedRows: number }).affectedRows).toBe(1);
      const [rows] = await setup.query('SELECT COUNT(*) AS n, SUM(v) AS s FROM tls_compress_batch');
      expect(rows as unknown).toEqual([{ n: 40, s: '1560' }]);
    } finally {
      await pool.end();
      await setup.query('DROP TABLE tls_compress_batch');
      await setup.end();
    }
  });

  it('relays a 6 MB LOAD DATA LOCAL INFILE with --compress', async () => {
    const dir = makeScratchDir('tqdb-compress-infile-');
    try {
      const file = join(dir, 'rows.tsv');
      const lines = Array.from({ length: 60_000 }, (_, i) => `${i}\t${'r'.repeat(100)}`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      const sql = `DROP TABLE IF EXISTS tls_compress_infile; CREATE TABLE tls_compress_infile (id INT PRIMARY KEY, body TEXT);
        LOAD DATA LOCAL INFILE '${file}' INTO TABLE tls_compress_infile; SELECT COUNT(*), SUM(id) FROM tls_compress_infile; DROP TABLE tls_compress_infile`;
      const result = await runMariadbCli(proxy.port, sql, ['--compress', '--local-infile=1', '-N', '-B', 'test']);
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toBe(`60000\t${(60_000 * 59_999) / 2}`);
    } finally {
      await removeDir(dir);
    }
  });

  it('leaves an uncompressed client uncompressed on both links', async () => {
    const conn = await mysqlConnect(proxy.port);
    const [status] = await conn.query("SHOW SESSION STATUS LIKE 'Compression'");
    expect(status as unknown).toEqual([{ Variable_name: 'Compression', Value: 'OFF' }]);
    await conn.end();
  });
});
