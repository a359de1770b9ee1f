// Write batching on the PostgreSQL listener, checked by an oracle: the same deterministic mix of
// writes runs direct and batched through the proxy, and every CommandComplete tag, RETURNING row,
// SQLSTATE and the final tables must be the same.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import postgres from 'postgres';
import { be32, pgCstr, pgErrorFields, pgMessage } from '../../support/bytes.ts';
import { runClient } from '../../support/process.ts';
import { rawPgClient, type RawPgClient } from '../../support/raw-postgres.ts';
import { waitUntil } from '../../support/wait.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { makeScratchDir, removeDir } from '../../support/tmp.ts';

let proxy: ProxyProcess;
let admin: pg.Client;
const TABLES = { direct: 'pg_wb_oracle_direct', batched: 'pg_wb_oracle_batched' } as const;
const CLIENTS = 64;
const OPS_PER_CLIENT = 160;

beforeAll(async () => {
  admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'root', database: 'test' });
  await admin.connect();
  for (const table of Object.values(TABLES)) {
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.query(`CREATE TABLE ${table} (k int PRIMARY KEY, v int NOT NULL CHECK (v >= 0), note text)`);
  }
  proxy = await startProxy({ protocols: ['postgres'], ini: '[postgres]\nwritebatch_enabled = true\nwritebatch_max_delay_ms = 20' });
});

afterAll(async () => {
  for (const table of Object.values(TABLES)) await admin?.query(`DROP TABLE IF EXISTS ${table}`);
  await admin?.end();
  await proxy?.stop();
});

interface Op {
  text: string;
  values?: unknown[];
}

/** Client `c`'s i-th write against `table`: only its own keys, so the outcome is independent of interleaving. */
function op(table: string, c: number, i: number): Op {
  const k = c * 10_000 + (i % 40);
  const v = i;
  const literal = i % 2 === 1;
  switch (i % 10) {
    case 0:
    case 1:
      return literal ? { text: `INSERT INTO ${table} (k, v) VALUES (${k}, ${v}) RETURNING k, v` } : { text: `INSERT INTO ${table} (k, v) VALUES ($1, $2) RETURNING k, v`, values: [k, v] };
    case 2:
      return { text: `INSERT INTO ${table} (k, v) VALUES ($1, $2) ON CONFLICT DO NOTHING`, values: [k, v] };
    case 3:
      return { text: `INSERT INTO ${table} (k, v, note) VALUES ($1, $2, 'upsert') ON CONFLICT (k) DO UPDATE SET v = ${table}.v + EXCLUDED.v RETURNING k, v, note`, values: [k, v] };
    case 4:
      return literal ? { text: `UPDATE ${table} SET v = v + 1 WHERE k = ${k} RETURNING v` } : { text: `UPDATE ${table} SET v = v + 1 WHERE k = $1 RETURNING v`, values: [k] };
    case 5:
      // Fails with 23514 (check constraint) when it would go negative, else updates.
      return { text: `UPDATE ${table} SET v = v - $2 WHERE k = $1`, values: [k, 25] };
    case 6:
      return { text: `INSERT INTO ${table} (k, v) VALUES ($1, $2)`, values: [k, v] };
    case 7:
      return literal ? { text: `DELETE FROM ${table} WHERE k = ${k} RETURNING k` } : { text: `DELETE FROM ${table} WHERE k = $1 RETURNING k`, values: [k] };
    case 8:
      return { text: `/* batch:5 */ INSERT INTO ${table} (k, v, note) VALUES ($1, $2, $3) ON CONFLICT (k) DO NOTHING RETURNING note`, values: [k + 20, v, `n${i}`] };
    default:
      return { text: `UPDATE ${table} SET note = $2 WHERE k = $1`, values: [k + 20, `u${i}`] };
  }
}

type Outcome = { command: string; rowCount: number | null; rows: unknown[] } | { error: string };

async function runMix(port: number, table: string): Promise<Outcome[][]> {
  const clients = Array.from({ length: CLIENTS }, () => new pg.Client({ host: '127.0.0.1', port, user: 'root', database: 'test' }));
  await Promise.all(clients.map((c) => c.connect()));
  try {
    return await Promise.all(
      clients.map(async (client, c) => {
        const outcomes: Outcome[] = [];
        for (let i = 0; i < OPS_PER_CLIENT; i++) {
          const { text, values } = op(table, c, i);
          try {
            const r = await client.query(text, values);
            outcomes.push({ command: r.command, rowCount: r.rowCount, rows: r.rows });
          } catch (error) {
            outcomes.push({ error: (error as { code?: string }).code ?? String(error) });
          }
        }
        return outcomes;
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

describe('PostgreSQL write batching', () => {
  it(`gives ${CLIENTS * OPS_PER_CLIENT} writes from ${CLIENTS} connections exactly their direct tags, rows, SQLSTATEs and final table`, async () => {
    const direct = await runMix(5432, TABLES.direct);
    const batchesBefore = await proxy.metricValue('tqdbproxy_write_batch_method_total', { method: 'transaction' });
    const batched = await runMix(proxy.listeners.postgres!.port, TABLES.batched);
    let differences = 0;
    for (let c = 0; c < CLIENTS; c++) {
      for (let i = 0; i < OPS_PER_CLIENT; i++) {
        if (JSON.stringify(direct[c]![i]) !== JSON.stringify(batched[c]![i])) {
          if (differences++ < 5) console.error('difference', { c, i, op: op('t', c, i).text, direct: direct[c]![i], batched: batched[c]![i] });
        }
      }
    }
    expect(differences).toBe(0);
    const errors = direct.flat().filter((o) => 'error' in o).length;
    expect(errors).toBeGreaterThan(0);
    const final = async (table: string): Promise<unknown[]> => (await admin.query(`SELECT k, v, note FROM ${table} ORDER BY k`)).rows;
    expect(await final(TABLES.batched)).toEqual(await final(TABLES.direct));
    // It really batched: pipelines of several members committed.
    expect(await proxy.metricValue('tqdbproxy_write_batch_method_total', { method: 'transaction' })).toBeGreaterThan(batchesBefore);
  }, 300_000);

  it('batches pgbench INSERT ... RETURNING from 32 clients with --protocol=simple, extended and prepared, every row stored once', async () => {
    const dir = makeScratchDir('tqdb-pg-wb-');
    try {
      await admin.query('DROP TABLE IF EXISTS pg_wb_pgbench');
      await admin.query('CREATE TABLE pg_wb_pgbench (id bigserial PRIMARY KEY, client int NOT NULL)');
      const script = join(dir, 'insert.sql');
      writeFileSync(script, 'INSERT INTO pg_wb_pgbench (client) VALUES (:client_id) RETURNING id;\n');
      const before = await proxy.metricValue('tqdbproxy_write_batched_total');
      for (const protocol of ['simple', 'extended', 'prepared']) {
        const r = await runClient(
          ['pgbench', '-h', '127.0.0.1', '-p', String(proxy.listeners.postgres!.port), '-U', 'root', '-n', '-f', script, '-c', '32', '-j', '2', '-t', '50', `--protocol=${protocol}`, 'test'],
          120_000,
        );
        expect({ protocol, code: r.code, stderr: r.stderr }).toEqual({ protocol, code: 0, stderr: '' });
        expect(r.stdout).toContain('number of transactions actually processed: 1600/1600');
      }
      expect((await admin.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM pg_wb_pgbench')).rows).toEqual([{ n: 4800, ids: 4800 }]);
      expect(await proxy.metricValue('tqdbproxy_write_batched_total')).toBeGreaterThan(before);
    } finally {
      await admin.query('DROP TABLE IF EXISTS pg_wb_pgbench');
      await removeDir(dir);
    }
  }, 180_000);

  it('binds extended members to one named statement per template on the lending session, parsed once', async () => {
    const clients = Array.from({ length: 16 }, () => new pg.Client({ host: '127.0.0.1', port: proxy.listeners.postgres!.port, user: 'root', database: 'test' }));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const sql = `INSERT INTO ${TABLES.batched} (k, v) VALUES ($1, $2) RETURNING k`;
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all(clients.map((c, i) => c.query(sql, [960_000 + round * 100 + i, round])));
        expect(results.map((r) => r.rows)).toEqual(clients.map((_, i) => [{ k: 960_000 + round * 100 + i }]));
      }
      // The statements live in the sessions that lent their connection; none holds more than one for the template.
      const held = await Promise.all(clients.map(async (c) => (await c.query("SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'tqdbproxy_batch_%'")).rows as Array<{ name: string; statement: string }>));
      const lenders = held.filter((rows) => rows.length > 0);
      expect(lenders.length).toBeGreaterThan(0);
      for (const rows of lenders) expect(rows.filter((r) => r.statement === sql)).toHaveLength(1);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('gives a client whose batched group parsed the unnamed statement that statement for a later Bind without Parse', async () => {
    const clients = await Promise.all(Array.from({ length: 16 }, () => rawPgClient(proxy.listeners.postgres!.port)));
    try {
      await Promise.all(clients.map((c) => c.login()));
      const sql = `INSERT INTO ${TABLES.batched} (k, v) VALUES ($1, 7) RETURNING k`;
      const bind = (k: number): Uint8Array => pgMessage('B', [0, 0, 0, 0, 0, 1, ...be32(String(k).length), ...new TextEncoder().encode(String(k)), 0, 0]);
      const execute = pgMessage('E', [0, 0, 0, 0, 0]);
      const sync = pgMessage('S');
      const answered = (c: RawPgClient, readies: number): Promise<unknown> =>
        waitUntil(() => c.messages().filter((m) => m.type === 'Z').length >= readies, { timeoutMs: 20_000, description: `ReadyForQuery #${readies}` });
      const batchesBefore = await proxy.metricValue('tqdbproxy_write_batch_method_total', { method: 'transaction' });
      // A lock holds the first write, so the others queue behind it and leave as one batch.
      await admin.query('BEGIN');
      await admin.query(`LOCK TABLE ${TABLES.batched} IN EXCLUSIVE MODE`);
      clients.forEach((c, i) => c.socket.write(Buffer.concat([pgMessage('P', [...pgCstr(''), ...pgCstr(sql), 0, 0]), bind(970_000 + i), execute, sync])));
      // The first write runs alone and waits on the lock; the others gather and wait there as one batch.
      const waiting = async (): Promise<number> => (await admin.query(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = '${TABLES.batched}'::regclass`)).rows[0].n;
      await waitUntil(async () => (await waiting()) >= 2, { timeoutMs: 10_000, description: 'the writes waiting on the lock' });
      await admin.query('COMMIT');
      await Promise.all(clients.map((c) => answered(c, 2)));
      expect(await proxy.metricValue('tqdbproxy_write_batch_method_total', { method: 'transaction' })).toBeGreaterThan(batchesBefore);
      // Bind the unnamed statement again, without a Parse: it must exist at each client's own server session.
      clients.forEach((c, i) => c.socket.write(Buffer.concat([bind(970_100 + i), execute, sync])));
      await Promise.all(clients.map((c) => answered(c, 3)));
      clients.forEach((c, i) => {
        const rows = c.messages().filter((m) => m.type === 'D' || m.type === 'E').map((m) => (m.type === 'E' ? `error ${pgErrorFields(m.body).C}` : new TextDecoder().decode(m.body.subarray(6))));
        expect(rows).toEqual([String(970_000 + i), String(970_100 + i)]);
      });
    } finally {
      for (const c of clients) c.socket.end();
    }
  });

  it('forwards writes pipelined behind owed answers as they are, and counts them as excluded (pipelined)', async () => {
    // postgres.js pipelines the queries of one connection: all but the first wait behind owed answers.
    const sql = postgres({ host: '127.0.0.1', port: proxy.listeners.postgres!.port, user: 'root', database: 'test', max: 1 });
    try {
      const before = await proxy.metricValue('tqdbproxy_write_excluded_total', { protocol: 'postgres', reason: 'pipelined' });
      const keys = Array.from({ length: 20 }, (_, i) => 980_000 + i);
      const rows = await Promise.all(keys.map((k) => sql`INSERT INTO ${sql(TABLES.batched)} (k, v) VALUES (${k}, 1) RETURNING k`));
      expect(rows.map((r) => r[0]!.k)).toEqual(keys);
      expect(await proxy.metricValue('tqdbproxy_write_excluded_total', { protocol: 'postgres', reason: 'pipelined' })).toBeGreaterThan(before);
    } finally {
      await sql.end();
    }
  });

  it('batches the prepared statements of postgres.js and Bun.SQL clients, each row stored once with its own id', async () => {
    const port = proxy.listeners.postgres!.port;
    const drivers = Array.from({ length: 8 }, () => postgres({ host: '127.0.0.1', port, user: 'root', database: 'test', max: 1 }));
    const buns = Array.from({ length: 8 }, () => new Bun.SQL({ hostname: '127.0.0.1', port, username: 'root', database: 'test', max: 1 }));
    try {
      const sizeBefore = await proxy.metricValue('tqdbproxy_write_batch_size_sum', { protocol: 'postgres' });
      const countBefore = await proxy.metricValue('tqdbproxy_write_batch_size_count', { protocol: 'postgres' });
      const table = TABLES.batched;
      const perClient = 25;
      const keysOf = (c: number): number[] => Array.from({ length: perClient }, (_, i) => 990_000 + c * 100 + i);
      const returned = await Promise.all([
        ...drivers.map(async (sql, c) => {
          const got: number[] = [];
          for (const k of keysOf(c)) got.push(Number((await sql`INSERT INTO ${sql(table)} (k, v) VALUES (${k}, 2) RETURNING k`)[0]!.k));
          return got;
        }),
        ...buns.map(async (sql, b) => {
          const got: number[] = [];
          for (const k of keysOf(8 + b)) got.push(Number((await sql.unsafe(`INSERT INTO ${table} (k, v) VALUES ($1, 3) RETURNING k`, [k]))[0].k));
          return got;
        }),
      ]);
      expect(returned).toEqual(Array.from({ length: 16 }, (_, c) => keysOf(c)));
      const stored = (await admin.query(`SELECT k, v FROM ${table} WHERE k >= 990000 AND k < 992000 ORDER BY k`)).rows;
      expect(stored).toEqual(Array.from({ length: 16 }, (_, c) => keysOf(c).map((k) => ({ k, v: c < 8 ? 2 : 3 }))).flat());
      const batches = (await proxy.metricValue('tqdbproxy_write_batch_size_count', { protocol: 'postgres' })) - countBefore;
      const batched = (await proxy.metricValue('tqdbproxy_write_batch_size_sum', { protocol: 'postgres' })) - sizeBefore;
      expect(batched / batches).toBeGreaterThan(1);
    } finally {
      await Promise.all([...drivers.map((d) => d.end()), ...buns.map((b) => b.close())]);
    }
  });
});
