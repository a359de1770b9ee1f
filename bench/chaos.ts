/**
 * Chaos bench for write batching (issue #10): a correctness bench, not a
 * speed one, and not run in CI.
 *
 *   bun bench/chaos.ts [--writes 1000000] [--connections 128] [--restarts 3]
 *                      [--kill-every-ms 20] [--json]
 *
 * `--connections` clients write `INSERT` statements through the proxy with
 * write batching on, against a throwaway mariadbd (so it can be restarted).
 * Meanwhile a random client connection is destroyed every `--kill-every-ms`
 * (its write in flight becomes unacknowledged), and the backend is restarted
 * `--restarts` times, alternately SIGTERM and SIGKILL. A client never retries
 * a failed write under the same (client, seq): each attempt has its own.
 *
 * At the end every row is read back directly from the server and checked:
 *   - every acknowledged write is present exactly once, with the insert id its
 *     client was told;
 *   - no unacknowledged write is present twice;
 *   - no row exists that no client attempted.
 * Exit status 0 when all hold, 1 otherwise. The table has no unique key on
 * (client, seq) on purpose: duplicates must be impossible because of the
 * proxy, not because of a constraint.
 */
import mysql from 'mysql2/promise';
import { startMariaDb } from '../test/support/mariadb.ts';
import { startProxy } from '../test/support/proxy.ts';

interface ChaosArgs {
  writes: number;
  connections: number;
  restarts: number;
  killEveryMs: number;
  isJson: boolean;
}

function parseArgs(argv: string[]): ChaosArgs {
  const args: ChaosArgs = { writes: 1_000_000, connections: 128, restarts: 3, killEveryMs: 20, isJson: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${flag} needs a non-negative number`);
      return v;
    };
    if (flag === '--writes') args.writes = value();
    else if (flag === '--connections') args.connections = value();
    else if (flag === '--restarts') args.restarts = value();
    else if (flag === '--kill-every-ms') args.killEveryMs = value();
    else if (flag === '--json') args.isJson = true;
    else throw new Error(`unknown flag ${flag}; see the comment at the top of bench/chaos.ts`);
  }
  return args;
}

const TABLE = 'hard_chaos';
/** ids[seq] for one client: > 0 acknowledged with that insert id, -1 attempted without an acknowledgement. */
type Outcomes = number[];

const args = parseArgs(Bun.argv.slice(2));
const log = (text: string): void => void process.stderr.write(`${text}\n`);

const server = await startMariaDb({ maxConnections: args.connections * 2 + 50, extraArgs: ['--innodb-log-file-size=64M'] });
const proxy = await startProxy({
  backendPort: server.port,
  ini: '[mariadb]\nwritebatch_enabled = true\nbackend_connect_timeout_ms = 2000\n',
});
const connectOptions = { host: '127.0.0.1', port: proxy.port, user: 'root', database: 'test' };

let exitCode = 1;
try {
  const admin = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', database: 'test' });
  await admin.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await admin.query(`CREATE TABLE ${TABLE} (id BIGINT AUTO_INCREMENT PRIMARY KEY, client INT NOT NULL, seq INT NOT NULL, KEY (client, seq)) ENGINE=InnoDB`);
  await admin.end();

  const outcomes: Outcomes[] = Array.from({ length: args.connections }, () => []);
  const conns: (mysql.Connection | null)[] = Array.from({ length: args.connections }, () => null);
  // mysql2 leaves a query pending forever when its connection is destroyed:
  // the killer rejects the slot's write itself.
  const killSwitches: ((() => void) | null)[] = Array.from({ length: args.connections }, () => null);
  let attempted = 0;
  let acknowledged = 0;
  let failed = 0;
  let kills = 0;
  let restarts = 0;
  let isStopping = false;
  const startedAt = performance.now();

  const connect = async (slot: number): Promise<mysql.Connection> => {
    for (;;) {
      try {
        const c = await mysql.createConnection(connectOptions);
        c.on('error', () => undefined); // a destroyed or lost connection: the pending query rejects, that is enough
        conns[slot] = c;
        return c;
      } catch {
        if (isStopping) throw new Error('stopping');
        await Bun.sleep(20); // the backend is restarting: back off briefly and try again
      }
    }
  };

  const client = async (slot: number): Promise<void> => {
    const ids = outcomes[slot]!;
    let c = await connect(slot);
    while (attempted < args.writes) {
      const seq = ids.length;
      ids.push(-1);
      attempted++;
      try {
        const killed = new Promise<never>((_, reject) => (killSwitches[slot] = () => reject(new Error('killed'))));
        const [result] = await Promise.race([c.query(`INSERT INTO ${TABLE} (client, seq) VALUES (${slot}, ${seq})`), killed]);
        killSwitches[slot] = null;
        ids[seq] = (result as mysql.ResultSetHeader).insertId;
        acknowledged++;
      } catch {
        killSwitches[slot] = null;
        failed++;
        conns[slot] = null;
        c.destroy();
        if (attempted >= args.writes) break;
        c = await connect(slot);
      }
    }
    conns[slot] = null;
    await c.end().catch(() => undefined);
  };

  const killer = setInterval(() => {
    if (args.killEveryMs === 0) return;
    const slot = Math.floor(Math.random() * args.connections);
    const c = conns[slot];
    if (c !== null && c !== undefined) {
      conns[slot] = null;
      kills++;
      c.destroy(); // the client vanishes mid-write, as a crashed application would
      killSwitches[slot]?.();
    }
  }, Math.max(1, args.killEveryMs));
  const progress = setInterval(() => {
    const s = (performance.now() - startedAt) / 1000;
    log(`chaos: ${attempted} attempted, ${acknowledged} acknowledged, ${failed} failed, ${kills} kills, ${restarts} restarts, ${Math.round(acknowledged / s)} acks/s`);
  }, 5000);

  const restarter = (async () => {
    for (let r = 1; r <= args.restarts; r++) {
      const at = (args.writes * r) / (args.restarts + 1);
      while (attempted < at && !isStopping) await Bun.sleep(50);
      if (isStopping) return;
      if (r % 2 === 0) await server.kill();
      await server.restart();
      restarts++;
      log(`chaos: backend restarted (${r % 2 === 0 ? 'SIGKILL' : 'SIGTERM'}) at ${attempted} attempted writes`);
    }
  })();

  await Promise.all(Array.from({ length: args.connections }, (_, slot) => client(slot)));
  isStopping = true;
  clearInterval(killer);
  clearInterval(progress);
  await restarter;
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  const batched = await proxy.metricValue('tqdbproxy_write_batched_total');

  // Verify from the server itself, not through the proxy.
  const check = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', database: 'test' });
  const [rows] = await check.query({ sql: `SELECT client, seq, id FROM ${TABLE}`, rowsAsArray: true });
  await check.end();
  const present = new Map<number, number[]>(); // key -> ids found
  for (const [clientSlot, seq, id] of rows as [number, number, number][]) {
    const key = clientSlot * 2 ** 24 + seq;
    const found = present.get(key);
    if (found === undefined) present.set(key, [Number(id)]);
    else found.push(Number(id));
  }
  let ackedMissing = 0;
  let ackedDuplicated = 0;
  let ackedWrongId = 0;
  let unackedPresent = 0;
  let unackedAbsent = 0;
  let unackedDuplicated = 0;
  let phantoms = 0;
  for (let slot = 0; slot < args.connections; slot++) {
    const ids = outcomes[slot]!;
    for (let seq = 0; seq < ids.length; seq++) {
      const key = slot * 2 ** 24 + seq;
      const found = present.get(key) ?? [];
      present.delete(key);
      if (ids[seq]! > 0) {
        if (found.length === 0) ackedMissing++;
        else if (found.length > 1) ackedDuplicated++;
        else if (found[0] !== ids[seq]) ackedWrongId++;
      } else if (found.length === 0) unackedAbsent++;
      else if (found.length === 1) unackedPresent++;
      else unackedDuplicated++;
    }
  }
  for (const found of present.values()) phantoms += found.length;

  const ok = ackedMissing + ackedDuplicated + ackedWrongId + unackedDuplicated + phantoms === 0;
  const summary = {
    ok,
    connections: args.connections,
    attempted,
    acknowledged,
    failed,
    batched,
    kills,
    restarts,
    rows: (rows as unknown[]).length,
    ackedMissing,
    ackedDuplicated,
    ackedWrongId,
    unackedPresent,
    unackedAbsent,
    unackedDuplicated,
    phantoms,
    elapsedSeconds: Math.round(elapsedSeconds * 10) / 10,
    acksPerSecond: Math.round(acknowledged / elapsedSeconds),
  };
  if (args.isJson) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    const lines = [
      `chaos summary (${ok ? 'PASS' : 'FAIL'})`,
      `  ${attempted} writes attempted from ${args.connections} connections in ${summary.elapsedSeconds} s; ${batched} executed in batches`,
      `  ${acknowledged} acknowledged, ${failed} failed; ${kills} clients killed, ${restarts} backend restarts`,
      `  acknowledged: ${ackedMissing} missing, ${ackedDuplicated} duplicated, ${ackedWrongId} with another id than the client was told`,
      `  unacknowledged: ${unackedPresent} present once, ${unackedAbsent} absent, ${unackedDuplicated} present twice or more`,
      `  rows no client attempted: ${phantoms}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  exitCode = ok ? 0 : 1;
} finally {
  await proxy.stop();
  await server.stop();
}
process.exit(exitCode);
