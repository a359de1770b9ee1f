/**
 * Self-tests of test/support and bench/lib: the helpers every integration
 * test and bench relies on must fail loudly when they are wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { existsSync } from 'node:fs';
import type { RowDataPacket } from 'mysql2';
import { join } from 'node:path';
import { findPid, processCpuSeconds } from '../../bench/lib/proc.ts';
import { percentile, summarizeLatencies } from '../../bench/lib/stats.ts';
import { startMariaDb, type MariaDbServer } from '../support/mariadb.ts';
import { mysqlConnect, runMariadbCli } from '../support/mysql.ts';
import { MysqlErrorPacket, RawMysqlClient } from '../support/raw-mysql.ts';
import { freePort, isPortOpen } from '../support/ports.ts';
import { startPostgres } from '../support/postgres.ts';
import { pgConnect, runPsql } from '../support/pg.ts';
import { parseExposition, sumSamples } from '../support/prometheus.ts';
import { findListeners, proxyConfig, ProxyStartError, startProxy } from '../support/proxy.ts';
import {
  parseSysbenchSummary,
  sysbenchAvailable,
  sysbenchCleanup,
  sysbenchPrepare,
  sysbenchRun,
} from '../support/sysbench.ts';

const FIXTURES = join(import.meta.dir, '..', 'support', 'fixtures');
const FAKE_PROXY = join(FIXTURES, 'fake-proxy.ts');

describe('freePort', () => {
  it('returns a port that a new listener can bind', () => {
    const port = freePort();
    const listener = Bun.listen({ hostname: '127.0.0.1', port, socket: { data() {} } });
    try {
      expect(listener.port).toBe(port);
    } finally {
      listener.stop(true);
    }
  });
});

describe('startMariaDb', () => {
  it('gives a working server with a test database that stop() shuts down and removes', async () => {
    const db = await startMariaDb();
    const conn = await mysqlConnect(db.port);
    const [rows] = await conn.query<RowDataPacket[]>('SELECT DATABASE() AS db, @@port AS port, @@character_set_server AS cs');
    await conn.end();
    expect([rows[0]?.db, rows[0]?.port, rows[0]?.cs]).toEqual(['test', db.port, 'utf8mb4']);
    expect(existsSync(db.dataDir)).toBe(true);

    await db.stop();
    expect(existsSync(db.dir)).toBe(false);
    expect(db.isRunning()).toBe(false);
    expect(await isPortOpen(db.port)).toBe(false);
    await db.stop(); // idempotent
  });

  describe('kill and restart', () => {
    let db: MariaDbServer;
    beforeAll(async () => {
      db = await startMariaDb({ maxConnections: 20 });
    });
    afterAll(async () => {
      await db.stop();
    });

    it('applies maxConnections', async () => {
      const conn = await mysqlConnect(db.port);
      const [rows] = await conn.query<RowDataPacket[]>('SELECT @@max_connections AS n');
      await conn.end();
      expect(rows[0]?.n).toBe(20);
    });

    it('kill() makes the server unreachable and restart() brings back committed data', async () => {
      const conn = await mysqlConnect(db.port);
      await conn.query('CREATE TABLE t (id INT PRIMARY KEY)');
      await conn.query('INSERT INTO t VALUES (1), (2)');
      await conn.end();
      const killedPid = db.pid;

      await db.kill();
      expect(db.isRunning()).toBe(false);
      expect(await isPortOpen(db.port)).toBe(false);
      await expect(mysqlConnect(db.port, { connectTimeout: 2000 })).rejects.toThrow();

      await db.restart();
      expect(db.pid).not.toBe(killedPid);
      const again = await mysqlConnect(db.port);
      const [rows] = await again.query<RowDataPacket[]>('SELECT id FROM t ORDER BY id');
      await again.end();
      expect(rows.map((row) => row.id)).toEqual([1, 2]);
    });

    it('findPid locates the server by name and port', () => {
      expect(findPid('mariadbd', db.port)).toBe(db.pid);
      expect(processCpuSeconds(db.pid)).toBeGreaterThan(0);
    });
  });
});

describe('startPostgres', () => {
  it('gives a working server as root on test that kill/restart/stop handle', async () => {
    const pg = await startPostgres({ maxConnections: 30 });
    try {
      const query = async (): Promise<unknown[]> => {
        const sql = new Bun.SQL({ hostname: pg.host, port: pg.port, username: 'root', database: 'test', max: 1 });
        try {
          return await sql`SELECT current_user AS usr, current_database() AS db, current_setting('max_connections') AS mc`;
        } finally {
          await sql.close();
        }
      };
      expect(await query()).toEqual([{ usr: 'root', db: 'test', mc: '30' }]);

      await pg.kill();
      expect(await isPortOpen(pg.port)).toBe(false);
      await pg.restart();
      expect(await query()).toEqual([{ usr: 'root', db: 'test', mc: '30' }]);
    } finally {
      await pg.stop();
    }
    expect(existsSync(pg.dir)).toBe(false);
    expect(await isPortOpen(pg.port)).toBe(false);
  });
});

describe('runMariadbCli', () => {
  it('returns the output of a query and the error of a bad one', async () => {
    const ok = await runMariadbCli(3306, '/* ttl:0 */ SELECT 40 + 2 AS answer', ['-N', '-B']);
    expect(ok).toEqual({ code: 0, stdout: '42\n', stderr: '' });
    const bad = await runMariadbCli(3306, 'SELEC 1');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ERROR 1064');
  });
});

describe('pgConnect and runPsql', () => {
  it('query the shared PostgreSQL as root on test', async () => {
    const sql = pgConnect(5432);
    try {
      expect(await sql`SELECT current_user AS usr, current_database() AS db`).toEqual([{ usr: 'root', db: 'test' }]);
    } finally {
      await sql.close();
    }
    expect(await runPsql(5432, 'SELECT 40 + 2', ['-At'])).toEqual({ code: 0, stdout: '42\n', stderr: '' });
    const bad = await runPsql(5432, 'SELEC 1');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('syntax error');
  });
});

describe('RawMysqlClient', () => {
  it('logs in, sends a query and reads the first packet of the result', async () => {
    const client = await RawMysqlClient.connect(3306);
    expect(client.handshake?.serverVersion).toContain('MariaDB');
    await client.login({ database: 'test' });
    client.sendQuery('SELECT 1');
    const columnCount = await client.readPacket();
    expect([columnCount.seq, ...columnCount.payload]).toEqual([1, 1]);
    client.destroy();
    expect(client.isClosed).toBe(true);
  });

  it('surfaces a refused login as the server ERR packet', async () => {
    const client = await RawMysqlClient.connect(3306);
    const login = client.login({ user: 'tqdb_no_such_user' });
    await expect(login).rejects.toBeInstanceOf(MysqlErrorPacket);
    await expect(login).rejects.toMatchObject({ errno: 1045, sqlState: '28000' });
    client.destroy();
  });

  it('sees the server close the connection after garbage', async () => {
    const client = await RawMysqlClient.connect(3306);
    await client.login();
    client.write(Buffer.from([0x05, 0x00, 0x00, 0x07, 0xee, 0xee, 0xee, 0xee, 0xee])); // wrong sequence id
    expect(await client.waitClosed()).toBe(true);
  });
});

describe('sysbench summary parser', () => {
  it('reads the oltp_read_write summary', async () => {
    const summary = parseSysbenchSummary(await Bun.file(join(FIXTURES, 'sysbench-oltp-read-write.txt')).text());
    expect(summary.queries).toEqual({ read: 43820, write: 12502, other: 6253, total: 62575 });
    expect(summary.transactions).toBe(3123);
    expect(summary.tps).toBe(1557.81);
    expect(summary.qps).toBe(31213.51);
    expect(summary.ignoredErrors).toBe(7);
    expect(summary.reconnects).toBe(0);
    expect(summary.totalTimeSeconds).toBe(2.0042);
    expect(summary.latencyMs).toEqual({ min: 0.89, avg: 2.56, max: 9.74, sum: 8001.96, percentile: { percentile: 99, value: 5.28 } });
    expect(summary.histogram).toBeUndefined();
  });

  it('reads the histogram of oltp_point_select and derives p50/p99 from it', async () => {
    const summary = parseSysbenchSummary(await Bun.file(join(FIXTURES, 'sysbench-oltp-point-select-histogram.txt')).text());
    expect(summary.qps).toBe(53577.52);
    expect(summary.latencyMs.percentile).toEqual({ percentile: 95, value: 0.13 });
    expect(summary.histogram?.length).toBe(212);
    expect(summary.histogram?.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(summary.events);
    expect(summary.latencyMs.p50).toBe(0.064);
    expect(summary.latencyMs.p99).toBe(0.196);
  });

  it('rejects output without a summary', () => {
    expect(() => parseSysbenchSummary('FATAL: unable to connect to MySQL server')).toThrow('no transactions line');
  });

  it.skipIf(!sysbenchAvailable())('runs oltp_point_select against a server', async () => {
    // sysbench 1.0 always names its tables sbtestN: use a database of our own
    // so that tests running sysbench in `test` are not disturbed.
    const conn = await mysqlConnect(3306);
    await conn.query('CREATE DATABASE IF NOT EXISTS tqdb_harness');
    await conn.end();
    const own = { port: 3306, database: 'tqdb_harness', tables: 1, tableSize: 100, threads: 2, timeSeconds: 1 };
    await sysbenchPrepare('oltp_point_select', own);
    try {
      const summary = await sysbenchRun('oltp_point_select', own);
      expect(summary.events).toBeGreaterThan(0);
      expect(summary.reconnects).toBe(0);
    } finally {
      await sysbenchCleanup('oltp_point_select', own);
    }
  });
});

describe('metrics exposition parser', () => {
  const text = [
    '# HELP q Queries.',
    '# TYPE q counter',
    'q{kind="select",db="a"} 3',
    'q{kind="select",db="b"} 4',
    'q{kind="insert",db="a\\"x"} 5',
    '# TYPE lat histogram',
    'lat_bucket{le="+Inf"} 7',
    'lat_count 7',
    '# TYPE empty counter',
  ].join('\n');

  it('sums the series whose labels include the given ones', () => {
    const exposition = parseExposition(text);
    expect(sumSamples(exposition, 'q')).toBe(12);
    expect(sumSamples(exposition, 'q', { kind: 'select' })).toBe(7);
    expect(sumSamples(exposition, 'q', { db: 'a"x' })).toBe(5);
    expect(sumSamples(exposition, 'lat_count')).toBe(7);
    expect(sumSamples(exposition, 'lat_bucket', { le: '+Inf' })).toBe(7);
  });

  it('gives 0 for a declared family without series and throws for an unknown name', () => {
    const exposition = parseExposition(text);
    expect(sumSamples(exposition, 'empty')).toBe(0);
    expect(() => sumSamples(exposition, 'qq')).toThrow('metric qq is not exposed');
  });
});

describe('startProxy (against a fake proxy honouring the log contract)', () => {
  it('finds the listeners in the log, serves metrics and stops with exit code 0', async () => {
    const proxy = await startProxy({ bin: FAKE_PROXY, backendPort: 3306 });
    expect(proxy.host).toBe('127.0.0.1');
    expect(await isPortOpen(proxy.port)).toBe(true);
    expect(proxy.metricsPort).toBeGreaterThan(0);
    expect(await proxy.metricValue('tqdbproxy_query_total', { query_type: 'select' })).toBe(3);
    expect(await proxy.metricValue('tqdbproxy_backend_errors_total')).toBe(0);
    expect(proxy.stderr()).toContain('listening protocol=mariadb');
    const config = await Bun.file(proxy.configPath).text();
    expect(config).toContain('primary=127.0.0.1:3306');

    proxy.signal('SIGTERM');
    expect(await proxy.waitExit()).toBe(0);
    expect(await proxy.waitForStderr('shutting down')).toBe('shutting down');
    await proxy.stop();
    expect(existsSync(proxy.configPath)).toBe(false);
  });

  it('rejects with the stderr of a proxy that exits before listening', async () => {
    const failure = startProxy({ bin: FAKE_PROXY, args: ['--exit-early'] });
    await expect(failure).rejects.toBeInstanceOf(ProxyStartError);
    await expect(failure).rejects.toThrow('refusing to start (--exit-early)');
  });

  it('merges extra INI over the defaults key by key', () => {
    const config = proxyConfig({
      backendPort: 4000,
      ini: '[mariadb]\nwritebatch_enabled = true\n[mariadb.main]\nreplicas = 127.0.0.1:4001\n[mariadb.shard2]\nprimary = 127.0.0.1:4002\n',
    });
    expect(config).toEqual({
      proxy: { metrics_listen: '127.0.0.1:0' },
      mariadb: {
        listen: '127.0.0.1:0',
        writebatch_enabled: true,
        main: { primary: '127.0.0.1:4000', replicas: '127.0.0.1:4001' },
        shard2: { primary: '127.0.0.1:4002' },
      },
    });
  });

  it('reads listener addresses from text and JSON log lines', () => {
    const text = [
      '2026-11-27T03:04:20.123Z INFO listening protocol=mariadb address=unix:/tmp/x.sock',
      '2026-11-27T03:04:20.123Z INFO listening protocol=mariadb address=127.0.0.1:41234',
      '{"time":"2026-11-27T03:04:20.124Z","level":"info","msg":"listening","protocol":"postgres","address":"[::1]:41235"}',
      '2026-11-27T03:04:20.125Z INFO metrics listening address=0.0.0.0:9090',
    ].join('\n');
    expect(findListeners(text)).toEqual({
      listeners: { mariadb: { host: '127.0.0.1', port: 41234 }, postgres: { host: '::1', port: 41235 } },
      metrics: { host: '127.0.0.1', port: 9090 },
    });
  });
});

describe('startProxy (the real proxy: TQDB_BIN or bun src/main.ts)', () => {
  it('starts it on free ports, relays a query and reads its metrics', async () => {
    await using proxy = await startProxy();
    expect(proxy.metricsPort).not.toBe(proxy.port);
    const conn = await mysqlConnect(proxy.port);
    try {
      const [rows] = await conn.query<RowDataPacket[]>('SELECT 6 * 7 AS answer');
      expect(rows[0]?.answer).toBe(42);
    } finally {
      await conn.end();
    }
    expect(await proxy.metricValue('tqdbproxy_query_total')).toBeGreaterThan(0);
    expect(proxy.stderr()).toMatch(/listening protocol=mariadb address=127\.0\.0\.1:\d+/);
  });
});

describe('bench stats', () => {
  it('computes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    const summary = summarizeLatencies([3, 1, 2]);
    expect(summary).toMatchObject({ count: 3, meanMs: 2, p50Ms: 2, maxMs: 3 });
  });
});
