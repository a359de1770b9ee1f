// The query cache on the PostgreSQL listener, against the real server: /* ttl:N */ hits for extended
// queries and drivers, keys by user, database, parameters and formats, no cache after SET. What both
// protocols share is tested in test/integration/common/query-cache.case.ts.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import pg from 'pg';
import postgres from 'postgres';
import { pgConnect } from '../../support/pg.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';

let proxy: ProxyProcess;
let port = 0;
let direct: pg.Client;

beforeAll(async () => {
  direct = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'root', database: 'test' });
  await direct.connect();
  await direct.query('DROP TABLE IF EXISTS pg_qc_items');
  await direct.query('CREATE TABLE pg_qc_items (id int PRIMARY KEY, v text)');
  await direct.query("INSERT INTO pg_qc_items VALUES (1, 'one'), (2, 'two'), (3, 'three')");
  await direct.query('GRANT SELECT ON pg_qc_items TO PUBLIC');
  proxy = await startProxy({ protocols: ['postgres'] });
  port = proxy.listeners.postgres!.port;
});

afterAll(async () => {
  await direct?.query('DROP TABLE IF EXISTS pg_qc_items');
  await direct?.end();
  await proxy?.stop();
});

function client(options: { user?: string; database?: string } = {}): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, user: options.user ?? 'root', database: options.database ?? 'test' });
}

async function status(c: pg.Client): Promise<Record<string, string>> {
  const r = await c.query('SHOW TQDB STATUS');
  return Object.fromEntries((r.rows as { Variable_name: string; Value: string }[]).map((row) => [row.Variable_name, row.Value]));
}

/** Changes a row behind the cache's back, so a cached answer shows itself by being old. */
async function setValue(id: number, v: string): Promise<void> {
  await direct.query('UPDATE pg_qc_items SET v = $2 WHERE id = $1', [id, v]);
}

describe('PostgreSQL query cache', () => {
  it('caches extended-protocol queries per parameter value, unnamed and named', async () => {
    const c = client();
    await c.connect();
    try {
      await setValue(2, 'ext-a');
      await setValue(3, 'ext-a3');
      const text = '/* ttl:60 */ SELECT v FROM pg_qc_items WHERE id = $1';
      expect((await c.query(text, [2])).rows).toEqual([{ v: 'ext-a' }]);
      expect((await c.query({ name: 'pg_qc_named', text, values: [3] })).rows).toEqual([{ v: 'ext-a3' }]);
      await setValue(2, 'ext-b');
      await setValue(3, 'ext-b3');
      expect((await c.query(text, [2])).rows).toEqual([{ v: 'ext-a' }]);
      // The named statement's second run is Bind/Execute/Sync only: a different answer shape, its own entry.
      expect((await c.query({ name: 'pg_qc_named', text, values: [3] })).rows).toEqual([{ v: 'ext-b3' }]);
      expect((await c.query({ name: 'pg_qc_named', text, values: [3] })).rows).toEqual([{ v: 'ext-b3' }]);
      await setValue(3, 'ext-c3');
      expect((await c.query({ name: 'pg_qc_named', text, values: [3] })).rows).toEqual([{ v: 'ext-b3' }]);
      // Another value is another key.
      await setValue(1, 'ext-one');
      expect((await c.query(text, [1])).rows).toEqual([{ v: 'ext-one' }]);
      // A cached Parse is still replayed to the server: the unnamed statement the client relies on exists there.
      expect((await c.query('SELECT $1::int + 1 AS n', [1])).rows).toEqual([{ n: 2 }]);
    } finally {
      await c.end();
    }
  });

  it('keys by parameter format: text and binary results are separate entries', async () => {
    const c = client();
    await c.connect();
    try {
      const text = '/* ttl:60 */ SELECT id FROM pg_qc_items WHERE id = $1';
      const asText = await c.query({ text, values: [1] });
      const asBinary = await c.query({ text, values: [1], binary: true } as pg.QueryConfig);
      expect(asText.rows).toEqual([{ id: 1 }]);
      expect(asBinary.rows).toEqual([{ id: 1 }]);
    } finally {
      await c.end();
    }
  });

  it('keeps users and databases apart', async () => {
    const sql = '/* ttl:60 */ SELECT current_user AS u, current_database() AS d';
    const answers: unknown[] = [];
    for (const options of [{ user: 'root', database: 'test' }, { user: 'postgres', database: 'test' }, { user: 'root', database: 'root' }]) {
      const c = client(options);
      await c.connect();
      try {
        await c.query(sql);
        answers.push((await c.query(sql)).rows[0]);
      } finally {
        await c.end();
      }
    }
    expect(answers).toEqual([
      { u: 'root', d: 'test' },
      { u: 'postgres', d: 'test' },
      { u: 'root', d: 'root' },
    ]);
  });

  it('never answers from the cache inside a transaction, or after SET', async () => {
    const c = client();
    await c.connect();
    try {
      await setValue(1, 'tx-a');
      const sql = '/* ttl:60 */ SELECT v AS tx FROM pg_qc_items WHERE id = 1';
      await c.query(sql);
      await setValue(1, 'tx-b');
      await c.query('BEGIN');
      expect((await c.query(sql)).rows).toEqual([{ tx: 'tx-b' }]);
      expect((await status(c)).InTransaction).toBe('1');
      await c.query('COMMIT');
      expect((await c.query(sql)).rows).toEqual([{ tx: 'tx-a' }]);
      await c.query("SET application_name = 'pg_qc'");
      expect((await c.query(sql)).rows).toEqual([{ tx: 'tx-b' }]);
    } finally {
      await c.end();
    }
  });

  it('serves postgres.js and Bun.SQL prepared statements from the cache', async () => {
    await setValue(2, 'drv-a');
    const js = postgres({ host: '127.0.0.1', port, user: 'root', database: 'test', max: 1 });
    const bun = pgConnect(port);
    try {
      const first = await js`/* ttl:60 */ SELECT v FROM pg_qc_items WHERE id = ${2}`;
      const firstBun = await bun`/* ttl:60 */ SELECT v AS bv FROM pg_qc_items WHERE id = ${2}`;
      // Prepared statements reach the cacheable Bind/Execute/Sync shape on their second run.
      await js`/* ttl:60 */ SELECT v FROM pg_qc_items WHERE id = ${2}`;
      await bun`/* ttl:60 */ SELECT v AS bv FROM pg_qc_items WHERE id = ${2}`;
      await setValue(2, 'drv-b');
      const again = await js`/* ttl:60 */ SELECT v FROM pg_qc_items WHERE id = ${2}`;
      const againBun = await bun`/* ttl:60 */ SELECT v AS bv FROM pg_qc_items WHERE id = ${2}`;
      expect([...first]).toEqual([{ v: 'drv-a' }]);
      expect([...firstBun]).toEqual([{ bv: 'drv-a' }]);
      expect([...again]).toEqual([{ v: 'drv-a' }]);
      expect([...againBun]).toEqual([{ bv: 'drv-a' }]);
    } finally {
      await js.end();
      await bun.close();
    }
  });
});
