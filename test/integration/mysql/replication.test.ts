// Replication clients work through the proxy: COM_BINLOG_DUMP turns the
// connection into a byte tunnel for the event stream.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { startMariaDb, type MariaDbServer } from '../../support/mariadb.ts';
import { mysqlConnect } from '../../support/mysql.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { runClient } from '../../support/process.ts';

let db: MariaDbServer;
let proxy: ProxyProcess;

beforeAll(async () => {
  db = await startMariaDb({ extraArgs: ['--log-bin=binlog', '--server-id=1', '--binlog-format=ROW'] });
  const admin = await mysqlConnect(db.port);
  await admin.query('CREATE TABLE test.repl (id INT PRIMARY KEY)');
  await admin.query('INSERT INTO test.repl VALUES (1), (2), (3)');
  await admin.end();
  proxy = await startProxy({ backendPort: db.port });
});

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

describe('replication protocol through the proxy', () => {
  it('streams the binlog to mariadb-binlog --read-from-remote-server, byte for byte as a direct read', async () => {
    const admin = await mysqlConnect(db.port);
    const [files] = await admin.query('SHOW BINARY LOGS');
    await admin.end();
    const binlogName = (files as { Log_name: string }[])[0]!.Log_name;
    const read = async (port: number): Promise<{ code: number; stdout: string; stderr: string }> =>
      runClient(['mariadb-binlog', '--no-defaults', '--read-from-remote-server', '-h127.0.0.1', `-P${port}`, '-uroot', '--base64-output=never', binlogName], 60_000);
    const viaProxy = await read(proxy.port);
    expect(viaProxy.stderr).toBe('');
    expect(viaProxy.code).toBe(0);
    expect(viaProxy.stdout).toContain('CREATE TABLE test.repl');
    const direct = await read(db.port);
    // Event headers carry no connection-specific data, so the decoded streams are identical.
    expect(viaProxy.stdout).toBe(direct.stdout);
    // The proxy still serves others.
    const other = await mysqlConnect(proxy.port);
    const [rows] = await other.query('SELECT COUNT(*) AS n FROM repl');
    expect(rows as unknown).toEqual([{ n: 3 }]);
    await other.end();
  });
});
