// Write batching on the PostgreSQL listener, checked by an oracle: the same deterministic mix of
// writes runs direct and batched through the proxy, and every CommandComplete tag, RETURNING row,
// SQLSTATE and the final tables must be the same.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { runClient } from '../../support/process.ts';
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
});
