// Write batching through the proxy against the real MariaDB: every client gets
// exactly its own result, nothing is lost or run twice, rights are the caller's.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { Connection, ResultSetHeader } from 'mysql2/promise';
import { startMariaDb, type MariaDbServer } from '../../support/mariadb.ts';
import { mysqlConnect } from '../../support/mysql.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { waitUntil } from '../../support/wait.ts';
import { connectPrepared } from '../../support/raw-prepared.ts';

type Outcome = { affectedRows: number; insertId: number; changedRows?: number; errno: number };

async function run(c: Connection, sql: string, params: unknown[] | null): Promise<Outcome> {
  try {
    const [res] = params === null ? await c.query(sql) : await c.execute(sql, params as never);
    const h = res as ResultSetHeader & { changedRows?: number };
    return { affectedRows: h.affectedRows, insertId: h.insertId, changedRows: h.changedRows, errno: 0 };
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    if (errno === undefined) throw error;
    return { affectedRows: -1, insertId: -1, errno };
  }
}

let direct: Connection;

beforeAll(async () => {
  direct = await mysqlConnect(3306);
});

afterAll(async () => {
  await direct?.end();
});

describe('write batching oracle', () => {
  let proxy: ProxyProcess;

  beforeAll(async () => {
    proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true\nwritebatch_max_batch_size = 200' });
    await direct.query('DROP TABLE IF EXISTS wb_oracle');
    await direct.query('CREATE TABLE wb_oracle (id BIGINT AUTO_INCREMENT PRIMARY KEY, owner INT NOT NULL, seq INT NOT NULL, val INT NOT NULL DEFAULT 0, UNIQUE KEY owner_seq (owner, seq)) ENGINE=InnoDB');
  });

  afterAll(async () => {
    await direct.query('DROP TABLE IF EXISTS wb_oracle');
    await proxy?.stop();
  });

  it('gives each of 20,000 mixed writes from 64 connections exactly the result it would get alone', async () => {
    const connections = 64;
    const rounds = 80; // 4 writes each: 64 × 80 × 4 = 20,480
    const expected = new Map<string, number>(); // "owner/seq" -> val for rows that must remain
    const insertIds = new Map<string, number>();
    const mismatches: string[] = [];
    const conns = await Promise.all(Array.from({ length: connections }, () => mysqlConnect(proxy.port)));
    try {
      await Promise.all(conns.map(async (c, owner) => {
        const isPrepared = owner % 2 === 1;
        const q = (sql: string, params: unknown[]): Promise<Outcome> => (isPrepared ? run(c, sql, params) : run(c, sql.replace(/\?/g, () => String(params.shift())), null));
        for (let seq = 0; seq < rounds; seq++) {
          // 1. An auto-id INSERT: one row, a fresh id.
          const ins = await q('INSERT INTO wb_oracle (owner, seq) VALUES (?, ?)', [owner, seq]);
          if (ins.errno !== 0 || ins.affectedRows !== 1 || ins.insertId <= 0) mismatches.push(`insert ${owner}/${seq}: ${JSON.stringify(ins)}`);
          insertIds.set(`${owner}/${seq}`, ins.insertId);
          // 2. A planned duplicate of the row just inserted: ER_DUP_ENTRY, nothing inserted.
          const dup = await q('INSERT INTO wb_oracle (owner, seq) VALUES (?, ?)', [owner, seq]);
          if (dup.errno !== 1062) mismatches.push(`duplicate ${owner}/${seq}: ${JSON.stringify(dup)}`);
          // 3. An UPDATE by key: matched and changed exactly one row.
          const upd = await q('UPDATE wb_oracle SET val = val + ? WHERE owner = ? AND seq = ?', [seq + 1, owner, seq]);
          if (upd.errno !== 0 || upd.affectedRows !== 1) mismatches.push(`update ${owner}/${seq}: ${JSON.stringify(upd)}`);
          // 4. Every third row is deleted again; the others stay with val = seq + 1.
          if (seq % 3 === 0) {
            const del = await q('DELETE FROM wb_oracle WHERE owner = ? AND seq = ?', [owner, seq]);
            if (del.errno !== 0 || del.affectedRows !== 1) mismatches.push(`delete ${owner}/${seq}: ${JSON.stringify(del)}`);
          } else {
            const miss = await q('UPDATE wb_oracle SET val = val + 1 WHERE owner = ? AND seq = ?', [owner, -1 - seq]);
            if (miss.errno !== 0 || miss.affectedRows !== 0) mismatches.push(`update of a missing row ${owner}/${seq}: ${JSON.stringify(miss)}`);
            expected.set(`${owner}/${seq}`, seq + 1);
          }
        }
      }));
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
    if (mismatches.length > 0) console.error(mismatches.slice(0, 10).join("\n"));
    expect(mismatches.slice(0, 10)).toEqual([]);
    const ids = [...insertIds.values()];
    expect(new Set(ids).size).toBe(ids.length);

    const [rows] = await direct.query('SELECT id, owner, seq, val FROM wb_oracle');
    const actual = rows as { id: number; owner: number; seq: number; val: number }[];
    expect(actual.length).toBe(expected.size);
    for (const row of actual) {
      const key = `${row.owner}/${row.seq}`;
      expect(row.val).toBe(expected.get(key)!);
      expect(row.id).toBe(insertIds.get(key)!);
    }
    const batched = await proxy.metricValue('tqdbproxy_write_batched_total');
    expect(batched).toBeGreaterThan(1000);
    const batches = await proxy.metricValue('tqdbproxy_write_batch_size_count');
    expect(batches).toBeLessThan(batched);
  }, 300_000);
});

describe('prepared INSERTs merged into multi-row INSERTs', () => {
  let proxy: ProxyProcess;
  const columns = 'owner INT, s VARCHAR(64), b VARBINARY(16), d DOUBLE, n DECIMAL(12,4), t DATETIME(6), big BIGINT, flag TINYINT, nothing VARCHAR(8)';

  beforeAll(async () => {
    proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true' });
    for (const table of ['wb_typed_proxy', 'wb_typed_direct']) {
      await direct.query(`DROP TABLE IF EXISTS ${table}`);
      await direct.query(`CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY, ${columns}) ENGINE=InnoDB`);
    }
  });

  afterAll(async () => {
    await direct.query('DROP TABLE IF EXISTS wb_typed_proxy, wb_typed_direct');
    await proxy?.stop();
  });

  it('stores exactly what direct execution stores, for every parameter type, and merges the rows', async () => {
    const values = (owner: number, i: number): unknown[] => [
      owner,
      `it's \\ "quoted" ${owner}-${i} é ✓`,
      Buffer.from([0, 0x27, 0x5c, 0xff, owner & 0xff, i & 0xff]),
      0.1 * i - owner / 3,
      `${owner}.${String(i).padStart(4, '0')}`,
      new Date(Date.UTC(2024, 1, 29, 13, 5, 9, (owner * 7 + i) % 1000)),
      BigInt(2) ** BigInt(53) + BigInt(owner * 1000 + i),
      i % 2 === 0,
      null,
    ];
    const sql = (table: string): string => `INSERT INTO ${table} (owner, s, b, d, n, t, big, flag, nothing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
    const mergedBefore = await proxy.metricValue('tqdbproxy_write_batch_method_total', { method: 'multi_row_insert' });
    const conns = await Promise.all(Array.from({ length: 24 }, () => mysqlConnect(proxy.port, { timezone: 'Z' })));
    const directConn = await mysqlConnect(3306, { timezone: 'Z' });
    try {
      await Promise.all(conns.map(async (c, owner) => {
        for (let i = 0; i < 40; i++) {
          const [res] = await c.execute(sql('wb_typed_proxy'), values(owner, i) as never);
          expect((res as ResultSetHeader).affectedRows).toBe(1);
        }
      }));
      for (let owner = 0; owner < conns.length; owner++) {
        for (let i = 0; i < 40; i++) await directConn.execute(sql('wb_typed_direct'), values(owner, i) as never);
      }
    } finally {
      await Promise.all(conns.map((c) => c.end()));
      await directConn.end();
    }
    const read = async (table: string): Promise<string[]> => {
      const [rows] = await direct.query(`SELECT owner, s, HEX(b) AS b, d, n, t, big, flag, nothing FROM ${table} ORDER BY owner, big`);
      return (rows as Record<string, unknown>[]).map((r) => JSON.stringify(r));
    };
    const viaProxy = await read('wb_typed_proxy');
    expect(viaProxy.length).toBe(24 * 40);
    expect(viaProxy).toEqual(await read('wb_typed_direct'));
    expect(await proxy.metricValue('tqdbproxy_write_batch_method_total', { method: 'multi_row_insert' })).toBeGreaterThan(mergedBefore);
  }, 120_000);
});

describe('write batching exclusions and session semantics', () => {
  let proxy: ProxyProcess;

  beforeAll(async () => {
    proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true' });
    await direct.query('DROP TABLE IF EXISTS wb_rules');
    await direct.query('CREATE TABLE wb_rules (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32)) ENGINE=InnoDB');
  });

  afterAll(async () => {
    await direct.query('DROP TABLE IF EXISTS wb_rules');
    await direct.query("DROP USER IF EXISTS 'tqdb_ro'@'%'");
    await proxy?.stop();
  });

  async function excluded(reason: string): Promise<number> {
    return proxy.metricValue('tqdbproxy_write_excluded_total', { reason });
  }

  it('does not batch writes under autocommit=0', async () => {
    const c = await mysqlConnect(proxy.port);
    try {
      await c.query('SET autocommit = 0');
      const before = (await excluded('autocommit_off')) + (await excluded('transaction'));
      await c.query("INSERT INTO wb_rules (v) VALUES ('ac0')");
      await c.query('ROLLBACK');
      expect((await excluded('autocommit_off')) + (await excluded('transaction'))).toBe(before + 1);
      const [rows] = await direct.query("SELECT COUNT(*) AS n FROM wb_rules WHERE v = 'ac0'");
      expect((rows as { n: number }[])[0]!.n).toBe(0);
    } finally {
      await c.end();
    }
  });

  it('does not batch writes under LOCK TABLES', async () => {
    const c = await mysqlConnect(proxy.port);
    try {
      await c.query('LOCK TABLES wb_rules WRITE');
      const before = await excluded('lock_tables');
      const [res] = await c.query("INSERT INTO wb_rules (v) VALUES ('locked')");
      expect((res as ResultSetHeader).affectedRows).toBe(1);
      expect(await excluded('lock_tables')).toBe(before + 1);
      await c.query('UNLOCK TABLES');
    } finally {
      await c.end();
    }
  });

  it('stops batching and caching a session after a prepared SET, as after a text one', async () => {
    const c = await mysqlConnect(proxy.port);
    try {
      await c.execute('SET SESSION sql_mode = ?', ['ANSI_QUOTES']);
      const before = await excluded('session_state');
      await c.query("INSERT INTO wb_rules (v) VALUES ('prepared-set')");
      expect(await excluded('session_state')).toBe(before + 1);
      // The session's own sql_mode applied: ANSI_QUOTES reads "v" as a column name.
      const [rows] = await c.query('SELECT "v" AS v FROM wb_rules WHERE v = \'prepared-set\'');
      expect(rows as unknown).toEqual([{ v: 'prepared-set' }]);
    } finally {
      await c.end();
    }
  });

  it('never batches a write hinted batch:0', async () => {
    const c = await mysqlConnect(proxy.port);
    try {
      const before = await excluded('hint_zero');
      await c.query("/* batch:0 */ INSERT INTO wb_rules (v) VALUES ('zero')");
      expect(await excluded('hint_zero')).toBe(before + 1);
    } finally {
      await c.end();
    }
  });

  it('runs a batched INSERT with the caller\'s rights: a read-only user gets the permission error', async () => {
    await direct.query("DROP USER IF EXISTS 'tqdb_ro'@'%'");
    await direct.query("CREATE USER 'tqdb_ro'@'%' IDENTIFIED BY 'ro-pass'");
    await direct.query("GRANT SELECT ON test.* TO 'tqdb_ro'@'%'");
    const ro = await mysqlConnect(proxy.port, { user: 'tqdb_ro', password: 'ro-pass' });
    const batchedBefore = await proxy.metricValue('tqdbproxy_write_batched_total');
    try {
      const outcome = await run(ro, "/* batch:5 */ INSERT INTO wb_rules (v) VALUES ('forbidden')", null);
      expect(outcome.errno).toBe(1142);
    } finally {
      await ro.end();
    }
    expect(await proxy.metricValue('tqdbproxy_write_batched_total')).toBeGreaterThan(batchedBefore);
    const [rows] = await direct.query("SELECT COUNT(*) AS n FROM wb_rules WHERE v = 'forbidden'");
    expect((rows as { n: number }[])[0]!.n).toBe(0);
  });

  it('LAST_INSERT_ID() after a batched INSERT returns that INSERT\'s id on every member\'s connection', async () => {
    const conns = await Promise.all(Array.from({ length: 16 }, () => mysqlConnect(proxy.port)));
    try {
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all(conns.map(async (c, i) => {
          const [res] = await c.query(`INSERT INTO wb_rules (v) VALUES ('lid-${round}-${i}')`);
          const [rows] = await c.query('SELECT LAST_INSERT_ID() AS id');
          return { inserted: (res as ResultSetHeader).insertId, seen: Number((rows as { id: number }[])[0]!.id) };
        }));
        for (const r of results) expect(r.seen).toBe(r.inserted);
      }
      // And the id belongs to the row this connection inserted.
      const [rows] = await conns[3]!.query("SELECT LAST_INSERT_ID() AS id");
      const id = Number((rows as { id: number }[])[0]!.id);
      const [row] = await direct.query('SELECT v FROM wb_rules WHERE id = ?', [id]);
      expect((row as { v: string }[])[0]!.v).toBe('lid-4-3');
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
  });

  it('SHOW TQDB STATUS reports a batched write and its batch size', async () => {
    const c = await mysqlConnect(proxy.port);
    try {
      await c.query("INSERT INTO wb_rules (v) VALUES ('status')");
      const [rows] = await c.query('SHOW TQDB STATUS');
      const status = Object.fromEntries((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name, r.Value]));
      expect(status.Backend).toBe('write-batch');
      expect(Number(status.LastBatchSize)).toBeGreaterThanOrEqual(1);
    } finally {
      await c.end();
    }
  });
});

describe('prepared writes prepared on another member\'s connection', () => {
  it('stay correct when many templates rotate through the per-connection statement cache, which stays bounded', async () => {
    await direct.query('DROP TABLE IF EXISTS wb_templates');
    await direct.query('CREATE TABLE wb_templates (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0) ENGINE=InnoDB');
    await direct.query(`INSERT INTO wb_templates (id) SELECT seq FROM seq_0_to_7`);
    await using proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true' });
    const templates = 100;
    const conns = await Promise.all(Array.from({ length: 8 }, () => mysqlConnect(proxy.port)));
    let peakPrepared = 0;
    try {
      for (let round = 0; round < 2; round++) {
        await Promise.all(conns.map(async (c, id) => {
          for (let k = 0; k < templates; k++) {
            // A distinct template per k (the literal ${k} is part of the text), so nothing merges.
            const [res] = await c.execute(`UPDATE wb_templates SET v = v + ? WHERE id = ? AND ${k} = ${k}`, [1, id]);
            expect((res as ResultSetHeader).affectedRows).toBe(1);
          }
        }));
        const [status] = await direct.query("SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'");
        peakPrepared = Math.max(peakPrepared, Number((status as { Value: string }[])[0]!.Value));
      }
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
    const [rows] = await direct.query('SELECT id, v FROM wb_templates ORDER BY id');
    expect(rows as unknown).toEqual(Array.from({ length: 8 }, (_, id) => ({ id, v: 2 * templates })));
    // mysql2 keeps its own 100 per connection; the proxy adds at most 32 per connection for other members.
    expect(peakPrepared).toBeLessThanOrEqual(8 * (templates + 32));
    await direct.query('DROP TABLE IF EXISTS wb_templates');
  }, 120_000);
});

describe('queued writes: leaving, shutdown', () => {
  beforeAll(async () => {
    await direct.query('DROP TABLE IF EXISTS wb_queue');
    await direct.query('CREATE TABLE wb_queue (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32)) ENGINE=InnoDB');
  });

  afterAll(async () => {
    await direct.query('DROP TABLE IF EXISTS wb_queue');
  });

  /** A direct connection holding a write lock, so the first batch blocks and later writes queue behind it (one batch in flight at most). */
  async function lockTable(): Promise<Connection> {
    const locker = await mysqlConnect(3306);
    await locker.query('LOCK TABLES wb_queue WRITE');
    return locker;
  }

  async function waitBlocked(count: number): Promise<void> {
    await waitUntil(async () => {
      const [rows] = await direct.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE '%INSERT INTO wb_queue%' AND STATE LIKE '%lock%'");
      return (rows as { n: number }[])[0]!.n >= count;
    }, { description: `${count} INSERTs blocked on the table lock` });
  }

  it('a write whose client leaves while it is queued is never executed', async () => {
    await using proxy = await startProxy({ ini: '[mariadb]\nwritebatch_initial_delay_ms = 10000\nwritebatch_min_delay_ms = 10000\nwritebatch_max_delay_ms = 10000\nwritebatch_max_concurrent_batches = 1' });
    const locker = await lockTable();
    const first = await mysqlConnect(proxy.port);
    const leaver = await mysqlConnect(proxy.port);
    try {
      const firstDone = first.query("/* batch:500 */ INSERT INTO wb_queue (v) VALUES ('first')");
      await waitBlocked(1);
      void leaver.query("/* batch:500 */ INSERT INTO wb_queue (v) VALUES ('leaver')").catch(() => undefined);
      await waitUntil(async () => (await proxy.metricValue('tqdbproxy_write_queued')) === 1, { description: 'the second write is queued', intervalMs: 2 });
      leaver.destroy();
      await waitUntil(async () => (await proxy.metricValue('tqdbproxy_write_queued')) === 0, { description: 'the leaver\'s write is removed' });
      await locker.query('UNLOCK TABLES');
      await firstDone;
      const [rows] = await direct.query('SELECT v FROM wb_queue ORDER BY id');
      expect(rows as unknown).toEqual([{ v: 'first' }]);
    } finally {
      await locker.end();
      await first.end();
    }
  });

  it('SIGTERM sends every queued write, acknowledges it, and only then exits', async () => {
    await direct.query('TRUNCATE wb_queue');
    const proxy = await startProxy({ ini: '[mariadb]\nwritebatch_initial_delay_ms = 10000\nwritebatch_min_delay_ms = 10000\nwritebatch_max_delay_ms = 10000\nwritebatch_max_concurrent_batches = 1' });
    const locker = await lockTable();
    const conns = await Promise.all(Array.from({ length: 6 }, () => mysqlConnect(proxy.port)));
    try {
      const firstDone = conns[0]!.query("/* batch:60000 */ INSERT INTO wb_queue (v) VALUES ('w0')");
      await waitBlocked(1);
      const rest = conns.slice(1).map((c, i) => c.query(`/* batch:60000 */ INSERT INTO wb_queue (v) VALUES ('w${i + 1}')`));
      await waitUntil(async () => (await proxy.metricValue('tqdbproxy_write_queued')) === 5, { description: 'five writes queued' });
      proxy.signal('SIGTERM');
      await waitBlocked(2);
      await locker.query('UNLOCK TABLES');
      const results = await Promise.all([firstDone, ...rest]);
      for (const [res] of results) expect((res as ResultSetHeader).affectedRows).toBe(1);
      expect(await proxy.waitExit()).toBe(0);
      const [rows] = await direct.query('SELECT COUNT(*) AS n FROM wb_queue');
      expect((rows as { n: number }[])[0]!.n).toBe(6);
    } finally {
      await locker.end();
      for (const c of conns) c.destroy();
      await proxy.stop();
    }
  });
});

describe('backend loss in the middle of batches', () => {
  let db: MariaDbServer;

  beforeAll(async () => {
    db = await startMariaDb();
    const c = await mysqlConnect(db.port);
    await c.query('CREATE TABLE test.wb_loss (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(40) NOT NULL) ENGINE=InnoDB');
    await c.end();
  });

  afterAll(async () => {
    await db?.stop();
  });

  it('acknowledges no write that is not in the table, and executes none twice', async () => {
    await using proxy = await startProxy({ backendPort: db.port, ini: '[mariadb]\nwritebatch_enabled = true' });
    const acknowledged = new Set<string>();
    let isKilled = false;
    const writers = Array.from({ length: 32 }, async (_, w) => {
      const c = await mysqlConnect(proxy.port);
      try {
        for (let i = 0; !isKilled || i < 0; i++) {
          const tag = `w${w}-${i}`;
          try {
            await c.query(`INSERT INTO wb_loss (tag) VALUES ('${tag}')`);
            acknowledged.add(tag);
          } catch {
            return;
          }
        }
      } finally {
        c.destroy();
      }
    });
    await waitUntil(() => acknowledged.size >= 2000, { description: '2000 acknowledged writes', timeoutMs: 60_000 });
    await db.kill();
    isKilled = true;
    await Promise.all(writers);
    await db.restart();
    const c = await mysqlConnect(db.port);
    try {
      const [rows] = await c.query('SELECT tag, COUNT(*) AS n FROM wb_loss GROUP BY tag');
      const inTable = new Map((rows as { tag: string; n: number }[]).map((r) => [r.tag, r.n]));
      const missing = [...acknowledged].filter((tag) => !inTable.has(tag));
      expect(missing).toEqual([]);
      const duplicated = [...inTable].filter(([, n]) => n > 1);
      expect(duplicated).toEqual([]);
    } finally {
      await c.end();
    }
  }, 180_000);
});

describe('adaptive delay under load', () => {
  it('raises tqdbproxy_write_current_delay_ms under load and lets it fall back when idle', async () => {
    await direct.query('CREATE TABLE IF NOT EXISTS wb_adaptive (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB');
    await using proxy = await startProxy({
      ini: [
        '[mariadb]',
        'writebatch_enabled = true',
        'writebatch_initial_delay_ms = 2',
        'writebatch_min_delay_ms = 2',
        'writebatch_max_delay_ms = 64',
        'writebatch_write_threshold = 50',
        'writebatch_adaptive_step = 2',
        'writebatch_metrics_interval = 1',
      ].join('\n'),
    });
    const delay = (): Promise<number> => proxy.metricValue('tqdbproxy_write_current_delay_ms');
    expect(await delay()).toBe(2);
    let isLoaded = true;
    const conns = await Promise.all(Array.from({ length: 8 }, () => mysqlConnect(proxy.port)));
    const load = conns.map(async (c) => {
      while (isLoaded) await c.query('INSERT INTO wb_adaptive (v) VALUES (1)');
    });
    try {
      await waitUntil(async () => (await delay()) >= 8, { description: 'the delay rises under load', timeoutMs: 30_000 });
    } finally {
      isLoaded = false;
      await Promise.all(load);
      await Promise.all(conns.map((c) => c.end()));
    }
    await waitUntil(async () => (await delay()) === 2, { description: 'the delay falls back when idle', timeoutMs: 30_000 });
    expect(await proxy.metricValue('tqdbproxy_write_delay_adjustments_total', { direction: 'down' })).toBeGreaterThan(0);
    await direct.query('DROP TABLE IF EXISTS wb_adaptive');
  }, 90_000);
});

describe('INSERTs that name the AUTO_INCREMENT column', () => {
  const shapes: { name: string; sql: string; params: (owner: number, seq: number) => unknown[] | null }[] = [
    { name: 'text NULL', sql: 'INSERT INTO wb_auto (id, owner, seq) VALUES (NULL, ${owner}, ${seq})', params: () => null },
    { name: 'text 0', sql: 'INSERT INTO wb_auto (id, owner, seq) VALUES (0, ${owner}, ${seq})', params: () => null },
    { name: 'text DEFAULT', sql: 'INSERT INTO wb_auto (id, owner, seq) VALUES (DEFAULT, ${owner}, ${seq})', params: () => null },
    { name: 'prepared NULL literal', sql: 'INSERT INTO wb_auto (id, owner, seq) VALUES (NULL, ?, ?)', params: (o, s) => [o, s] },
    { name: 'prepared bound NULL', sql: 'INSERT INTO wb_auto (id, owner, seq) VALUES (?, ?, ?)', params: (o, s) => [null, o, s] },
    { name: 'prepared bound 0', sql: 'INSERT INTO wb_auto (id, owner, seq) VALUES (?, ?, ?)', params: (o, s) => [0, o, s] },
  ];

  /** Owners are `firstOwner` up: later runs into the same table take fresh ones. */
  async function runShapes(port: number, connections: number, rounds: number, firstOwner = 0): Promise<{ ids: Map<string, number>; problems: string[] }> {
    const ids = new Map<string, number>();
    const problems: string[] = [];
    const conns = await Promise.all(Array.from({ length: connections }, () => mysqlConnect(port)));
    try {
      await Promise.all(conns.map(async (c, i) => {
        const owner = firstOwner + i;
        const shape = shapes[owner % shapes.length]!;
        for (let seq = 0; seq < rounds; seq++) {
          const params = shape.params(owner, seq);
          const sql = params === null ? shape.sql.replace('${owner}', String(owner)).replace('${seq}', String(seq)) : shape.sql;
          const out = await run(c, sql, params);
          if (out.errno !== 0 || out.affectedRows !== 1 || out.insertId <= 0) problems.push(`${shape.name} ${owner}/${seq}: ${JSON.stringify(out)}`);
          ids.set(`${owner}/${seq}`, out.insertId);
          // Every third write is a duplicate of the row just inserted: its own error, nothing inserted.
          if (seq % 3 === 0) {
            const dup = await run(c, 'INSERT INTO wb_auto (id, owner, seq) VALUES (NULL, ?, ?)', [owner, seq]);
            if (dup.errno !== 1062) problems.push(`duplicate ${owner}/${seq}: ${JSON.stringify(dup)}`);
          }
          // LAST_INSERT_ID() on the member's own connection is its own id.
          if (seq % 7 === 0) {
            const [rows] = await c.query('SELECT LAST_INSERT_ID() AS id');
            const last = Number((rows as { id: number }[])[0]!.id);
            if (last !== out.insertId) problems.push(`LAST_INSERT_ID ${owner}/${seq}: ${last} != ${out.insertId}`);
          }
        }
      }));
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
    return { ids, problems };
  }

  async function expectTableMatches(ids: Map<string, number>): Promise<void> {
    const [rows] = await direct.query('SELECT id, owner, seq FROM wb_auto');
    const actual = rows as { id: number; owner: number; seq: number }[];
    expect(actual.length).toBe(ids.size);
    for (const row of actual) expect(row.id).toBe(ids.get(`${row.owner}/${row.seq}`)!);
  }

  beforeAll(async () => {
    await direct.query('DROP TABLE IF EXISTS wb_auto');
    await direct.query('CREATE TABLE wb_auto (id BIGINT AUTO_INCREMENT PRIMARY KEY, owner INT NOT NULL, seq INT NOT NULL, UNIQUE KEY (owner, seq)) ENGINE=InnoDB');
  });

  afterAll(async () => {
    await direct.query('DROP TABLE IF EXISTS wb_auto');
  });

  it('merges NULL, 0 and DEFAULT ids, text and prepared, from 48 connections, each with its own id', async () => {
    await direct.query('TRUNCATE wb_auto');
    await using proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true\nwritebatch_probe_interval_ms = 0' });
    const { ids, problems } = await runShapes(proxy.port, 48, 60);
    expect(problems.slice(0, 10)).toEqual([]);
    expect(new Set(ids.values()).size).toBe(ids.size);
    await expectTableMatches(ids);
    expect(await proxy.metricValue('tqdbproxy_write_batch_method_total', { method: 'multi_row_insert' })).toBeGreaterThan(20);
    const batched = await proxy.metricValue('tqdbproxy_write_batched_total');
    expect(await proxy.metricValue('tqdbproxy_write_batch_size_count')).toBeLessThan(batched * 0.8);
  }, 120_000);

  it('merges explicit integer ids, each member told its own id, LAST_INSERT_ID() untouched', async () => {
    await direct.query('TRUNCATE wb_auto');
    await using proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true\nwritebatch_probe_interval_ms = 0' });
    const text = await Promise.all(Array.from({ length: 16 }, () => mysqlConnect(proxy.port)));
    const raw = (await connectPrepared(proxy.port, 16, 'INSERT INTO wb_auto (id, owner, seq) VALUES (?, ?, ?)')).map(({ client, statement }) => ({ c: client, insert: statement }));
    const problems: string[] = [];
    const rounds = 40;
    const idOf = (owner: number, seq: number): number => 1_000_000 + owner * 1000 + seq;
    try {
      await Promise.all([
        ...text.map(async (c, owner) => {
          for (let seq = 0; seq < rounds; seq++) {
            const out = await run(c, `INSERT INTO wb_auto (id, owner, seq) VALUES (${idOf(owner, seq)}, ${owner}, ${seq})`, null);
            if (out.errno !== 0 || out.insertId !== idOf(owner, seq)) problems.push(`text ${owner}/${seq}: ${JSON.stringify(out)}`);
          }
          const [rows] = await c.query('SELECT LAST_INSERT_ID() AS id');
          if (Number((rows as { id: number }[])[0]!.id) !== 0) problems.push(`LAST_INSERT_ID of ${owner} changed`);
        }),
        ...raw.map(async ({ insert }, i) => {
          const owner = 16 + i;
          for (let seq = 0; seq < rounds; seq++) {
            const out = await insert.execute([BigInt(idOf(owner, seq)), BigInt(owner), BigInt(seq)]).catch((e: unknown) => String(e));
            if (typeof out === 'string' || out.insertId !== idOf(owner, seq)) problems.push(`prepared ${owner}/${seq}: ${JSON.stringify(out)}`);
          }
        }),
      ]);
    } finally {
      await Promise.all(text.map((c) => c.end()));
      for (const { c } of raw) c.quit();
    }
    expect(problems.slice(0, 10)).toEqual([]);
    const [count] = await direct.query('SELECT COUNT(*) AS n, SUM(id = 1000000 + owner * 1000 + seq) AS good FROM wb_auto');
    expect(count as unknown).toEqual([{ n: 32 * rounds, good: String(32 * rounds) }]);
    expect(await proxy.metricValue('tqdbproxy_write_batch_method_total', { method: 'multi_row_insert' })).toBeGreaterThan(10);
  }, 120_000);

  it('keeps several batches of one template in flight, within writebatch_max_concurrent_batches', async () => {
    await direct.query('TRUNCATE wb_auto');
    await using proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true\nwritebatch_probe_interval_ms = 0\nwritebatch_max_concurrent_batches = 3\nwritebatch_initial_delay_ms = 1\nwritebatch_min_delay_ms = 1' });
    const { ids, problems } = await runShapes(proxy.port, 64, 30);
    expect(problems.slice(0, 10)).toEqual([]);
    await expectTableMatches(ids);
    expect(await proxy.metricValue('tqdbproxy_write_batch_method_total', { method: 'multi_row_insert' })).toBeGreaterThan(0);
  }, 120_000);

  it('runs a template alone when batching measures slower, with every result still exact', async () => {
    await direct.query('TRUNCATE wb_auto');
    // A probe every 200 ms and a huge minimum wait make batching lose against running alone.
    await using proxy = await startProxy({
      ini: '[mariadb]\nwritebatch_enabled = true\nwritebatch_probe_interval_ms = 200\nwritebatch_initial_delay_ms = 400\nwritebatch_min_delay_ms = 400\nwritebatch_max_delay_ms = 400\nwritebatch_max_concurrent_batches = 1',
    });
    // Two probes in a row must find batching slower: write until the switch is seen.
    const ids = new Map<string, number>();
    const problems: string[] = [];
    for (let run = 0; run < 40 && (await proxy.metricValue('tqdbproxy_write_mode_switches_total', { to: 'alone' })) === 0; run++) {
      const out = await runShapes(proxy.port, 12, 20, run * 12);
      for (const [key, id] of out.ids) ids.set(key, id);
      problems.push(...out.problems);
    }
    expect(problems.slice(0, 10)).toEqual([]);
    await expectTableMatches(ids);
    expect(await proxy.metricValue('tqdbproxy_write_mode_switches_total', { to: 'alone' })).toBeGreaterThan(0);
    expect(await proxy.metricValue('tqdbproxy_write_excluded_total', { reason: 'not_paying' })).toBeGreaterThan(0);
  }, 120_000);
});

describe('NO_AUTO_VALUE_ON_ZERO', () => {
  let server: MariaDbServer;

  beforeAll(async () => {
    server = await startMariaDb({ extraArgs: ['--sql-mode=NO_AUTO_VALUE_ON_ZERO,STRICT_TRANS_TABLES'] });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('never merges rows whose 0 id is a real 0: every member gets the id it would get directly', async () => {
    const admin = await mysqlConnect(server.port);
    await admin.query('CREATE TABLE test.wb_zero (id INT AUTO_INCREMENT PRIMARY KEY, member INT, round INT) ENGINE=InnoDB');
    await using proxy = await startProxy({ backendPort: server.port, ini: '[mariadb]\nwritebatch_enabled = true\nwritebatch_probe_interval_ms = 0' });
    // Integer parameters (mysql2 binds JS numbers as DOUBLE, which never reads as a plain 0).
    const clients = (await connectPrepared(proxy.port, 16, 'INSERT INTO wb_zero (id, member, round) VALUES (?, ?, ?)')).map(({ client, statement }) => ({ c: client, insert: statement }));
    const problems: string[] = [];
    try {
      for (let round = 0; round < 30; round++) {
        await admin.query('DELETE FROM test.wb_zero WHERE id = 0');
        // One template: one member binds a real 0, the others NULL (a new id each). The first
        // member to arrive runs alone, so the zero member is never the first.
        const zero = 1 + (round % 15);
        const outcomes = await Promise.all(clients.map(({ insert }, member) => insert.execute([member === zero ? 0n : null, BigInt(member), BigInt(round)]).catch((e: unknown) => String(e))));
        const [rows] = await admin.query('SELECT id, member FROM test.wb_zero WHERE round = ?', [round]);
        const idOf = new Map((rows as { id: number; member: number }[]).map((r) => [r.member, r.id]));
        outcomes.forEach((o, member) => {
          const expectedId = member === zero ? 0 : idOf.get(member);
          if (typeof o === 'string' || o.insertId !== expectedId) problems.push(`round ${round} member ${member}: ${JSON.stringify(o)}, row id ${idOf.get(member)}`);
        });
      }
      expect(problems.slice(0, 5)).toEqual([]);
      expect(await proxy.metricValue('tqdbproxy_write_batched_total')).toBeGreaterThan(await proxy.metricValue('tqdbproxy_write_batch_size_count'));
    } finally {
      for (const { c } of clients) c.quit();
      await admin.end();
    }
  }, 120_000);
});

describe('warnings of batched INSERTs', () => {
  it('gives each member its own warning count, merged or not', async () => {
    await direct.query('DROP TABLE IF EXISTS wb_warn');
    await direct.query('CREATE TABLE wb_warn (id INT AUTO_INCREMENT PRIMARY KEY, member INT, d DECIMAL(6,2)) ENGINE=InnoDB');
    await using proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true\nwritebatch_probe_interval_ms = 0' });
    const conns = await Promise.all(Array.from({ length: 16 }, () => mysqlConnect(proxy.port)));
    const problems: string[] = [];
    try {
      for (let round = 0; round < 20; round++) {
        // Odd members store 1.239 into DECIMAL(6,2): a Note 1265 "Data truncated ... at row N".
        await Promise.all(conns.map(async (c, member) => {
          const value = member % 2 === 1 ? '1.239' : '1.25';
          const [res] = await c.query(`INSERT INTO wb_warn (member, d) VALUES (${member}, ${value})`);
          const warnings = (res as ResultSetHeader).warningStatus;
          if (warnings !== member % 2) problems.push(`round ${round} member ${member}: ${warnings} warnings`);
        }));
      }
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
    expect(problems.slice(0, 5)).toEqual([]);
    const batched = await proxy.metricValue('tqdbproxy_write_batched_total');
    expect(await proxy.metricValue('tqdbproxy_write_batch_size_count')).toBeLessThan(batched);
    await direct.query('DROP TABLE IF EXISTS wb_warn');
  }, 120_000);
});

describe('DELETEs by primary key merged into one DELETE ... IN (...) RETURNING', () => {
  it('tells each member whether it removed its row: one winner per key, 0 for missing keys', async () => {
    await direct.query('DROP TABLE IF EXISTS wb_del');
    await direct.query('CREATE TABLE wb_del (id INT PRIMARY KEY, v INT) ENGINE=InnoDB');
    await direct.query('INSERT INTO wb_del SELECT seq, seq FROM seq_1_to_2000');
    await using proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true\nwritebatch_probe_interval_ms = 0' });
    const text = await Promise.all(Array.from({ length: 16 }, () => mysqlConnect(proxy.port)));
    const raw = (await connectPrepared(proxy.port, 16, 'DELETE FROM wb_del WHERE id = ?')).map(({ client, statement }) => ({ c: client, remove: statement }));
    // Every client walks keys 1..2500 in its own order: each existing key is removed once, by
    // whichever member gets there first; every other attempt and every key past 2000 finds nothing.
    const removedBy = new Map<number, number>();
    const problems: string[] = [];
    const keysFor = (client: number): number[] => Array.from({ length: 2500 }, (_, i) => ((i * 7 + client * 131) % 2500) + 1).slice(0, 160);
    const note = (client: number, key: number, affected: number): void => {
      if (affected === 1) {
        if (removedBy.has(key)) problems.push(`key ${key} removed by ${removedBy.get(key)} and ${client}`);
        removedBy.set(key, client);
      } else if (affected !== 0) problems.push(`key ${key}: affected ${affected}`);
    };
    try {
      await Promise.all([
        ...text.map(async (c, client) => {
          for (const key of keysFor(client)) {
            const out = await run(c, `DELETE FROM wb_del WHERE id = ${key}`, null);
            if (out.errno !== 0) problems.push(`text ${client} key ${key}: ${JSON.stringify(out)}`);
            else note(client, key, out.affectedRows);
          }
        }),
        ...raw.map(async ({ remove }, i) => {
          const client = 16 + i;
          for (const key of keysFor(client)) {
            const out = await remove.execute([BigInt(key)]).catch((e: unknown) => String(e));
            if (typeof out === 'string') problems.push(`prepared ${client} key ${key}: ${out}`);
            else note(client, key, out.affectedRows);
          }
        }),
      ]);
    } finally {
      await Promise.all(text.map((c) => c.end()));
      for (const { c } of raw) c.quit();
    }
    expect(problems.slice(0, 10)).toEqual([]);
    const [rows] = await direct.query('SELECT id FROM wb_del');
    const left = new Set((rows as { id: number }[]).map((r) => r.id));
    for (let key = 1; key <= 2500; key++) {
      // A key is gone exactly when some member was told it removed it.
      expect({ key, gone: key <= 2000 && !left.has(key) }).toEqual({ key, gone: removedBy.has(key) });
    }
    expect(await proxy.metricValue('tqdbproxy_write_batch_method_total', { method: 'multi_row_delete' })).toBeGreaterThan(10);
    await direct.query('DROP TABLE IF EXISTS wb_del');
  }, 120_000);
});

describe('a table altered while the proxy runs', () => {
  it('reports the insert ids a direct client would get after AUTO_INCREMENT is dropped', async () => {
    await direct.query('DROP TABLE IF EXISTS wb_alter');
    await direct.query('CREATE TABLE wb_alter (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB');
    await using proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true\nwritebatch_probe_interval_ms = 0' });
    const clients = await connectPrepared(proxy.port, 16, 'INSERT INTO wb_alter (id, v) VALUES (?, ?)');
    const problems: string[] = [];
    const round = async (base: number, expectedId: (id: number) => number): Promise<void> => {
      await Promise.all(clients.map(async ({ statement }, i) => {
        for (let k = 0; k < 20; k++) {
          const id = base + i * 100 + k;
          const out = await statement.execute([BigInt(id), 1n]).catch((e: unknown) => String(e));
          if (typeof out === 'string' || out.insertId !== expectedId(id)) problems.push(`id ${id}: ${JSON.stringify(out)}`);
        }
      }));
    };
    try {
      await round(10_000, (id) => id);
      await direct.query('ALTER TABLE wb_alter MODIFY id INT NOT NULL');
      const [check] = await direct.query('INSERT INTO wb_alter (id, v) VALUES (1, 1)');
      expect((check as ResultSetHeader).insertId).toBe(0);
      await round(20_000, () => 0);
    } finally {
      for (const { client } of clients) client.quit();
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect(await proxy.metricValue('tqdbproxy_write_batch_method_total', { method: 'multi_row_insert' })).toBeGreaterThan(0);
    await direct.query('DROP TABLE IF EXISTS wb_alter');
  }, 120_000);
});
