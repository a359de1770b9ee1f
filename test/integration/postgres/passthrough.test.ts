// The PostgreSQL front end relays everything real clients do, through the proxy, against the real server.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import postgres from 'postgres';
import { pgConnect, runPsql } from '../../support/pg.ts';
import { runClient } from '../../support/process.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { waitUntil } from '../../support/wait.ts';

let proxy: ProxyProcess;
let port = 0;
let scratch = '';
const BENCH_DB = 'pg_pt_pgbench';

beforeAll(async () => {
  proxy = await startProxy({ protocols: ['postgres'] });
  port = proxy.listeners.postgres!.port;
  scratch = mkdtempSync(join(tmpdir(), 'pg-pt-'));
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'root', database: 'test' });
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS pg_pt_items');
  await admin.query('CREATE TABLE pg_pt_items (id serial PRIMARY KEY, name text UNIQUE, payload bytea)');
  await admin.end();
});

afterAll(async () => {
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'root', database: 'test' });
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS pg_pt_items, pg_pt_copy');
  await admin.end();
  await proxy?.stop();
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

function pgClient(): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, user: 'root', database: 'test' });
}

describe('PostgreSQL pass-through with psql', () => {
  it('answers a Query holding several statements with each result', async () => {
    const r = await runPsql(port, "SELECT 1 AS one; SELECT 'two' AS two", ['-At']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['1', 'two']);
  });

  it('relays the server\'s error with its SQLSTATE and keeps the session usable', async () => {
    const r = await runPsql(port, 'SELECT * FROM pg_pt_no_such_table', [], {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('relation "pg_pt_no_such_table" does not exist');
    const verbose = await runClient(
      ['psql', '-X', '-h', '127.0.0.1', '-p', String(port), '-U', 'root', '-d', 'test', '-v', 'VERBOSITY=verbose', '-c', 'SELECT 1/0', '-c', 'SELECT 7'],
      30_000,
    );
    expect(verbose.stderr).toContain('22012');
    expect(verbose.stdout).toContain('7');
  });

  it('copies rows in and out with \\copy', async () => {
    const input = join(scratch, 'in.csv');
    const output = join(scratch, 'out.csv');
    const lines = Array.from({ length: 5000 }, (_, i) => `${i},row-${i}`);
    writeFileSync(input, `${lines.join('\n')}\n`);
    const create = await runPsql(port, 'DROP TABLE IF EXISTS pg_pt_copy; CREATE TABLE pg_pt_copy (id int, name text)');
    expect(create.code).toBe(0);
    const copyIn = await runPsql(port, `\\copy pg_pt_copy FROM '${input}' WITH (FORMAT csv)`);
    expect(copyIn.stderr).toBe('');
    expect(copyIn.stdout.trim()).toBe('COPY 5000');
    const copyOut = await runPsql(port, `\\copy (SELECT id, name FROM pg_pt_copy ORDER BY id) TO '${output}' WITH (FORMAT csv)`);
    expect(copyOut.stdout.trim()).toBe('COPY 5000');
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(input, 'utf8'));
  });

  it('tracks the transaction state the server reports in SHOW TQDB STATUS', async () => {
    const r = await runClient(
      ['psql', '-X', '-At', '-h', '127.0.0.1', '-p', String(port), '-U', 'root', '-d', 'test', '-c', 'BEGIN', '-c', 'SHOW TQDB STATUS', '-c', 'ROLLBACK', '-c', 'SHOW TQDB STATUS'],
      30_000,
    );
    expect(r.stderr).toBe('');
    const rows = r.stdout.trim().split('\n');
    expect(rows).toContain('InTransaction|1');
    expect(rows[rows.length - 1]).toBe('InTransaction|0');
  });
});

describe('PostgreSQL pass-through with pgbench', () => {
  beforeAll(async () => {
    const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'root', database: 'test' });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DB}`);
    await admin.query(`CREATE DATABASE ${BENCH_DB}`);
    await admin.end();
    const init = await runClient(['pgbench', '-h', '127.0.0.1', '-p', String(port), '-U', 'root', '-i', '-s', '1', '-q', BENCH_DB], 120_000);
    expect(init.code).toBe(0);
  });

  afterAll(async () => {
    const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'root', database: 'test' });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
    await admin.end();
  });

  for (const protocol of ['simple', 'extended', 'prepared']) {
    for (const script of ['-S', '-N']) {
      it(`runs ${script === '-S' ? 'select-only' : 'the TPC-B-like script (no branch updates)'} with --protocol=${protocol} with no failed transaction`, async () => {
        const r = await runClient(
          ['pgbench', '-h', '127.0.0.1', '-p', String(port), '-U', 'root', script, '-c', '4', '-j', '2', '-t', '200', `--protocol=${protocol}`, BENCH_DB],
          120_000,
        );
        expect(r.stderr).not.toContain('error');
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('number of transactions actually processed: 800/800');
        expect(r.stdout).toContain('number of failed transactions: 0');
      });
    }
  }

  it('runs the default TPC-B-like script', async () => {
    const r = await runClient(['pgbench', '-h', '127.0.0.1', '-p', String(port), '-U', 'root', '-c', '2', '-t', '100', '--protocol=prepared', BENCH_DB], 120_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('number of transactions actually processed: 200/200');
  });
});

describe('PostgreSQL pass-through with node-postgres', () => {
  it('binds parameters of every common type and gets typed rows back', async () => {
    const c = pgClient();
    await c.connect();
    try {
      const r = await c.query('SELECT $1::int AS i, $2::text AS t, $3::bytea AS b, $4::jsonb AS j, $5::int AS n', [42, 'héllo', Buffer.from([0, 1, 255]), { a: [1, 2] }, null]);
      expect(r.rows).toEqual([{ i: 42, t: 'héllo', b: Buffer.from([0, 1, 255]), j: { a: [1, 2] }, n: null }]);
      await c.query('INSERT INTO pg_pt_items (name, payload) VALUES ($1, $2)', ['big', Buffer.alloc(3 * 1024 * 1024, 7)]);
      const big = await c.query('SELECT length(payload) AS len FROM pg_pt_items WHERE name = $1', ['big']);
      expect(big.rows[0].len).toBe(3 * 1024 * 1024);
    } finally {
      await c.end();
    }
  });

  it('gives errors their SQLSTATE, and the connection goes on', async () => {
    const c = pgClient();
    await c.connect();
    try {
      await c.query("INSERT INTO pg_pt_items (name) VALUES ('dup')");
      const error = await c.query("INSERT INTO pg_pt_items (name) VALUES ('dup')").catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('23505');
      const syntax = await c.query('SELEC 1').catch((e: unknown) => e);
      expect((syntax as { code?: string }).code).toBe('42601');
      expect((await c.query('SELECT 5 AS five')).rows).toEqual([{ five: 5 }]);
    } finally {
      await c.end();
    }
  });

  it('delivers NOTIFY to a LISTENing connection, while idle and with a payload', async () => {
    const listener = pgClient();
    const notifier = pgClient();
    await listener.connect();
    await notifier.connect();
    try {
      const received = new Promise<{ channel: string; payload?: string }>((resolve) => listener.on('notification', resolve));
      await listener.query('LISTEN pg_pt_channel');
      await notifier.query("NOTIFY pg_pt_channel, 'hello there'");
      const message = await received;
      expect(message.channel).toBe('pg_pt_channel');
      expect(message.payload).toBe('hello there');
    } finally {
      await listener.end();
      await notifier.end();
    }
  });

  it('keeps a transaction on one backend and rolls it back', async () => {
    const c = pgClient();
    await c.connect();
    try {
      await c.query('BEGIN');
      await c.query("INSERT INTO pg_pt_items (name) VALUES ('tx-row')");
      const failed = await c.query('SELECT 1/0').catch((e: unknown) => e);
      expect((failed as { code?: string }).code).toBe('22012');
      const aborted = await c.query('SELECT 1').catch((e: unknown) => e);
      expect((aborted as { code?: string }).code).toBe('25P02');
      await c.query('ROLLBACK');
      const r = await c.query("SELECT count(*)::int AS n FROM pg_pt_items WHERE name = 'tx-row'");
      expect(r.rows).toEqual([{ n: 0 }]);
    } finally {
      await c.end();
    }
  });
});

describe('PostgreSQL pass-through with postgres.js', () => {
  it('pipelines many queries on one connection and answers each in order', async () => {
    const sql = postgres({ host: '127.0.0.1', port, user: 'root', database: 'test', max: 1 });
    try {
      const results = await Promise.all(Array.from({ length: 500 }, (_, i) => sql`SELECT ${i}::int AS i, repeat('x', ${i % 50}) AS pad`));
      results.forEach((rows, i) => expect(rows[0]).toEqual({ i, pad: 'x'.repeat(i % 50) }));
    } finally {
      await sql.end();
    }
  });

  it('runs prepared statements and unprepared ones side by side', async () => {
    const prepared = postgres({ host: '127.0.0.1', port, user: 'root', database: 'test', max: 1, prepare: true });
    const unprepared = postgres({ host: '127.0.0.1', port, user: 'root', database: 'test', max: 1, prepare: false });
    try {
      for (let i = 0; i < 20; i++) {
        const [a] = await prepared`SELECT ${i}::int + 1 AS v`;
        const [b] = await unprepared`SELECT ${i}::int + 2 AS v`;
        expect(a).toEqual({ v: i + 1 });
        expect(b).toEqual({ v: i + 2 });
      }
      const error = await prepared`SELECT ${'x'}::int`.catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('22P02');
    } finally {
      await prepared.end();
      await unprepared.end();
    }
  });

  it('cancels a running query through the proxy with .cancel()', async () => {
    const sql = postgres({ host: '127.0.0.1', port, user: 'root', database: 'test', max: 1 });
    const observer = postgres({ host: '127.0.0.1', port: 5432, user: 'root', database: 'test', max: 1 });
    try {
      const running = sql`SELECT pg_sleep(30) AS pg_pt_cancel_me`;
      const outcome = running.then(
        () => 'finished',
        (e: unknown) => (e as { code?: string }).code,
      );
      await waitUntil(
        async () => (await observer`SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_pt_cancel_me%' AND state = 'active' AND pid <> pg_backend_pid()`).length > 0,
        { description: 'the query to run' },
      );
      running.cancel();
      expect(await outcome).toBe('57014');
      const [row] = await sql`SELECT 'still here' AS s`;
      expect(row).toEqual({ s: 'still here' });
    } finally {
      await sql.end();
      await observer.end();
    }
  });
});

describe('PostgreSQL pass-through with Bun.SQL', () => {
  it('runs parameterised queries, prepared and not', async () => {
    for (const prepare of [true, false]) {
      const sql = pgConnect(port, { prepare });
      try {
        const rows = await sql`SELECT ${7}::int AS n, ${'bun'}::text AS s`;
        expect([...rows]).toEqual([{ n: 7, s: 'bun' }]);
        const many = await sql`SELECT g FROM generate_series(1, 10000) AS g`;
        expect(many.length).toBe(10000);
      } finally {
        await sql.close();
      }
    }
  });
});

describe('SHOW TQDB STATUS through drivers that prepare it', () => {
  it('answers postgres.js and Bun.SQL over the extended protocol, again on the prepared statement, and after a pipeline', async () => {
    const js = postgres({ host: '127.0.0.1', port, user: 'root', database: 'test', max: 1 });
    const bun = pgConnect(port);
    try {
      for (let i = 0; i < 2; i++) {
        const rows = await js`SHOW TQDB STATUS`;
        expect(rows.map((r) => r.Variable_name)).toEqual(['Shard', 'Backend', 'CacheAge', 'LastBatchSize', 'InTransaction']);
        const bunRows = await bun`SHOW TQDB STATUS`;
        expect([...bunRows].find((r: { Variable_name: string }) => r.Variable_name === 'Shard')).toEqual({ Variable_name: 'Shard', Value: 'main' });
      }
      // Behind pipelined queries, the status waits for their answers instead of jumping ahead.
      const [a, status, b] = await Promise.all([js`SELECT pg_sleep(0.05), 1 AS a`, js`SHOW TQDB STATUS`, js`SELECT 2 AS b`]);
      expect(a[0]!.a).toBe(1);
      expect(status.length).toBe(5);
      expect(b[0]!.b).toBe(2);
      await js.begin(async (tx) => {
        const rows = await tx`SHOW TQDB STATUS`;
        expect(rows.find((r) => r.Variable_name === 'InTransaction')!.Value).toBe('1');
      });
    } finally {
      await js.end();
      await bun.close();
    }
  });
});

describe('PostgreSQL metrics', () => {
  it('counts clients and queries with protocol="postgres"', async () => {
    const c = pgClient();
    await c.connect();
    try {
      await c.query('SELECT 1');
      expect(await proxy.metricValue('tqdbproxy_client_connections', { protocol: 'postgres' })).toBeGreaterThanOrEqual(1);
      expect(await proxy.metricValue('tqdbproxy_query_total', { protocol: 'postgres' })).toBeGreaterThan(0);
    } finally {
      await c.end();
    }
    await waitUntil(async () => (await proxy.metricValue('tqdbproxy_client_connections', { protocol: 'postgres' })) === 0, { description: 'clients to be closed' });
  });
});
