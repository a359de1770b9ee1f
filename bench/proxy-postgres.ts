/**
 * Pass-through overhead of the PostgreSQL front end (`bench:proxy --protocol postgres`):
 * direct to PostgreSQL, through tqdbproxy, through PgBouncer (session mode,
 * the pass-through peer PostgreSQL users compare against) and through a bare
 * Bun byte relay (the floor for any Bun hop on this machine), alternated
 * A/B/C/D in one run after a warm-up.
 *
 * Workloads, all driven by pgbench so the load generator costs the same in
 * every mode, all with --protocol=prepared: `pgbench -S` (select-only TPC-B),
 * a custom script `SELECT pg_sleep(0.001)`, and `/* ttl:60 *\/ SELECT 1`,
 * which the proxy answers from its cache (the other modes run it).
 * Latency percentiles come from pgbench's per-transaction log. The run ends
 * with issue #9's must-show checks.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chown } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import { freePort, isPortOpen } from '../test/support/ports.ts';
import { runCommand } from '../test/support/process.ts';
import type { BenchArgs } from './lib/args.ts';
import { combinePgbenchSlots, runPgbench, type PgbenchSlot, type PgbenchTotals } from './lib/pgbench.ts';
import { pidListeningOn } from './lib/proc.ts';
import { startBenchProxy } from './lib/proxy.ts';
import { startBareRelay } from './lib/relay.ts';
import { BENCH_DATABASE, machineInfo, writeResults } from './lib/results.ts';
import { ratio } from './lib/stats.ts';
import { atLeast, renderChecks, type Check } from './lib/checks.ts';
import { renderTable, type Column } from './lib/table.ts';

type Mode = 'direct' | 'proxy' | 'pgbouncer' | 'relay';
const MODES: readonly Mode[] = ['direct', 'proxy', 'pgbouncer', 'relay'];

interface Workload {
  name: string;
  /** pgbench arguments selecting the script. */
  script: string[];
}

/** The cache workload's statement: a hit on the proxy, a plain SELECT 1 everywhere else. */
const CACHED_SELECT = '/* ttl:60 */ SELECT 1;';

interface Target {
  host: string;
  port: number;
}

interface Row {
  workload: string;
  connections: number;
  mode: Mode;
  tps: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  dbCpuUsPerTx: number;
  hopCpuUsPerTx: number | undefined;
  vsDirect: number | undefined;
  vsPgbouncer: number | undefined;
  vsRelay: number | undefined;
  error: string | undefined;
}

export async function runPostgresBench(args: BenchArgs, log: (line: string) => void): Promise<number> {
  const direct: Target = args.direct;
  const scratch = mkdtempSync(join(tmpdir(), 'tqdb-bench-pg-'));
  chmodSync(scratch, 0o777);
  const sleepScript = join(scratch, 'sleep.sql');
  writeFileSync(sleepScript, 'SELECT pg_sleep(0.001);\n');
  const cachedScript = join(scratch, 'cached.sql');
  writeFileSync(cachedScript, `${CACHED_SELECT}\n`);
  for (const script of [sleepScript, cachedScript]) chmodSync(script, 0o644);
  const workloads: Workload[] = [
    { name: 'pgbench -S prepared', script: ['-S'] },
    { name: 'SELECT pg_sleep(0.001)', script: ['-f', sleepScript] },
    { name: 'cache hit SELECT 1', script: ['-f', cachedScript] },
  ];

  const version = await prepareDatabase(direct);
  const dbPid = pidListeningOn(direct.port);
  if (dbPid === undefined) log(`note: no process found listening on ${direct.port}: database CPU is not measured`);

  const proxy = await startBenchProxy(args);
  const relay = await startBareRelay(direct);
  const bouncer = await startPgbouncer(direct, scratch);
  const targets: Record<Mode, Target & { pid: number | undefined }> = {
    direct: { ...direct, pid: undefined },
    proxy: { host: proxy.host, port: proxy.port, pid: proxy.pid },
    pgbouncer: { host: '127.0.0.1', port: bouncer.port, pid: bouncer.pid },
    relay: { host: '127.0.0.1', port: relay.port, pid: relay.pid },
  };
  const [load1] = loadavg();
  log(`bench:proxy --protocol postgres — direct ${direct.host}:${direct.port}, proxy ${proxy.host}:${proxy.port} (${proxy.description}), pgbouncer :${bouncer.port}, relay :${relay.port}`);
  if (load1 > 0.5 * cpus().length) log(`note: load average ${load1.toFixed(2)} on ${cpus().length} cores: absolute figures are skewed; ratios are A/B in this run`);

  const rows: Row[] = [];
  const startedAt = new Date();
  try {
    for (const workload of workloads) {
      for (const connections of args.connections) {
        const measure = async (mode: Mode, seconds: number): Promise<PgbenchSlot> => {
          // Every mode starts its slot on fresh server backends (PgBouncer's pool is emptied after its
          // slot), so none is measured warm while the others pay backend start-up and cache warm-up.
          const slot = await runPgbench({ script: workload.script, protocol: 'prepared', target: targets[mode], connections, seconds, database: BENCH_DATABASE, dbPid, scratch });
          if (mode === 'pgbouncer') await bouncer.release();
          await waitForBackendsToLeave(direct);
          return slot;
        };
        if (args.warmupSeconds > 0) for (const mode of MODES) await measure(mode, args.warmupSeconds);
        const runs: Record<Mode, PgbenchSlot[]> = { direct: [], proxy: [], pgbouncer: [], relay: [] };
        const slotSeconds = Math.max(1, Math.round(args.durationSeconds / args.rounds));
        for (let round = 1; round <= args.rounds; round++) {
          for (const mode of MODES) {
            const slot = await measure(mode, slotSeconds);
            runs[mode].push(slot);
            log(`  ${workload.name} ×${connections} ${mode.padEnd(9)} round ${round}/${args.rounds}: ${Math.round(slot.transactions / slot.elapsedSeconds).toLocaleString('en-US')} tps${slot.error ? ` (${slot.error})` : ''}`);
          }
        }
        const combined = Object.fromEntries(MODES.map((m) => [m, combinePgbenchSlots(runs[m])])) as Record<Mode, PgbenchTotals>;
        for (const mode of MODES) {
          const c = combined[mode];
          rows.push({
            workload: workload.name,
            connections,
            mode,
            tps: c.tps,
            p50Ms: c.p50Ms,
            p99Ms: c.p99Ms,
            failed: c.failed,
            dbCpuUsPerTx: ratio(c.dbCpuSeconds * 1e6, c.transactions),
            hopCpuUsPerTx: c.hopCpuSeconds === undefined ? undefined : ratio(c.hopCpuSeconds * 1e6, c.transactions),
            vsDirect: mode === 'direct' ? undefined : ratio(c.tps, combined.direct.tps),
            vsPgbouncer: mode === 'proxy' ? ratio(c.tps, combined.pgbouncer.tps) : undefined,
            vsRelay: mode === 'proxy' ? ratio(c.tps, combined.relay.tps) : undefined,
            error: c.error,
          });
        }
      }
    }
  } finally {
    await proxy.stop();
    relay.stop();
    await bouncer.stop();
    rmSync(scratch, { recursive: true, force: true });
  }

  log('');
  log(renderTable(COLUMNS, rows.map(tableRow)));
  log('');
  log(renderChecks(mustShow(rows)));
  const document = {
    bench: 'proxy',
    protocol: 'postgres',
    startedAt: startedAt.toISOString(),
    machine: machineInfo({ postgres: version, pgbouncer: bouncer.version }),
    loadAverageAtStart: load1,
    args: { durationSeconds: args.durationSeconds, connections: args.connections, warmupSeconds: args.warmupSeconds, rounds: args.rounds, direct: `${direct.host}:${direct.port}`, proxy: proxy.description },
    rows,
  };
  const path = writeResults('proxy-postgres', document, startedAt);
  log(`\nresults: ${path}`);
  if (args.isJson) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return rows.some((r) => r.failed > 0 || r.error !== undefined) ? 1 : 0;
}

/** Issue #9's targets for the PostgreSQL pass-through, read off this run's proxy rows. */
function mustShow(rows: readonly Row[]): Check[] {
  const proxy = (workload: string, connections: number): Row | undefined => rows.find((r) => r.workload === workload && r.connections === connections && r.mode === 'proxy');
  const checks: Check[] = [];
  for (const connections of [16, 64]) {
    const row = proxy('pgbench -S prepared', connections);
    checks.push(atLeast(`pgbench -S prepared ×${connections} ÷ PgBouncer`, row?.vsPgbouncer, 0.9));
    checks.push(atLeast(`pgbench -S prepared ×${connections} ÷ direct`, row?.vsDirect, 0.5));
  }
  checks.push(atLeast('SELECT pg_sleep(0.001) ×64 ÷ bare relay', proxy('SELECT pg_sleep(0.001)', 64)?.vsRelay, 0.9));
  checks.push(atLeast('cache hit SELECT 1 ×64 ÷ direct', proxy('cache hit SELECT 1', 64)?.vsDirect, 1.0));
  return checks;
}

const COLUMNS: Column[] = [
  { header: 'workload', align: 'left' },
  { header: 'conns' },
  { header: 'mode', align: 'left' },
  { header: 'tps' },
  { header: 'p50 ms', decimals: 3 },
  { header: 'p99 ms', decimals: 3 },
  { header: 'failed' },
  { header: 'db µs/tx', decimals: 1 },
  { header: 'hop µs/tx', decimals: 1 },
  { header: '× direct', decimals: 2 },
  { header: '× pgbouncer', decimals: 2 },
  { header: '× relay', decimals: 2 },
];

function tableRow(r: Row): Array<string | number | undefined> {
  return [r.workload, r.connections, r.mode, Math.round(r.tps), r.p50Ms, r.p99Ms, r.failed, r.dbCpuUsPerTx, r.hopCpuUsPerTx, r.vsDirect, r.vsPgbouncer, r.vsRelay];
}

/** Creates the bench database with pgbench's tables (scale 1) when missing; returns the server version. */
async function prepareDatabase(direct: Target): Promise<string> {
  const sql = new Bun.SQL({ hostname: direct.host, port: direct.port, username: 'root', database: 'postgres', max: 1 });
  try {
    const exists = await sql`SELECT 1 FROM pg_database WHERE datname = ${BENCH_DATABASE}`;
    if (exists.length === 0) await sql.unsafe(`CREATE DATABASE ${BENCH_DATABASE}`);
    const [row] = await sql`SELECT current_setting('server_version') AS v`;
    const bench = new Bun.SQL({ hostname: direct.host, port: direct.port, username: 'root', database: BENCH_DATABASE, max: 1 });
    try {
      const tables = await bench`SELECT 1 FROM pg_tables WHERE tablename = 'pgbench_accounts'`;
      if (tables.length === 0) await runCommand(['pgbench', '-h', direct.host, '-p', String(direct.port), '-U', 'root', '-i', '-s', '1', '-q', BENCH_DATABASE]);
    } finally {
      await bench.close();
    }
    return String((row as { v: string }).v);
  } finally {
    await sql.close();
  }
}

/** Waits (up to 5 s) until the bench database has no client sessions left, so the next mode can open its own. */
async function waitForBackendsToLeave(direct: Target): Promise<void> {
  const sql = new Bun.SQL({ hostname: direct.host, port: direct.port, username: 'root', database: 'postgres', max: 1 });
  try {
    const deadline = performance.now() + 5000;
    while (performance.now() < deadline) {
      const [row] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${BENCH_DATABASE}`;
      if ((row as { n: number }).n === 0) return;
      await Bun.sleep(20);
    }
  } finally {
    await sql.close();
  }
}

/**
 * PgBouncer in session mode from a generated ini, on a free port. It refuses
 * to run as root, so it runs as the `postgres` OS user, like the test servers.
 */
export async function startPgbouncer(direct: Target, scratch: string): Promise<{ port: number; pid: number; version: string; release(): Promise<void>; stop(): Promise<void> }> {
  const port = freePort();
  const ini = join(scratch, 'pgbouncer.ini');
  const users = join(scratch, 'userlist.txt');
  writeFileSync(users, '"root" ""\n');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${direct.host} port=${direct.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      // A refused server login (max_connections on a shared server) is retried after 1 s, not 15.
      'server_login_retry = 1',
      'auth_type = trust',
      `auth_file = ${users}`,
      'pool_mode = session',
      'max_client_conn = 500',
      'default_pool_size = 200',
      `logfile = ${join(scratch, 'pgbouncer.log')}`,
      'ignore_startup_parameters = extra_float_digits',
      'admin_users = root',
      '',
    ].join('\n'),
  );
  for (const path of [ini, users]) chmodSync(path, 0o644);
  const owner = (await runCommand(['id', '-u', 'postgres'])).trim();
  const group = (await runCommand(['id', '-g', 'postgres'])).trim();
  await chown(scratch, Number(owner), Number(group));
  const version = (await runCommand(['pgbouncer', '--version'])).split('\n')[0]!.trim();
  const proc: Subprocess = Bun.spawn(['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--', 'pgbouncer', ini], { stdout: 'ignore', stderr: 'ignore' });
  const deadline = performance.now() + 10_000;
  while (!(await isPortOpen(port))) {
    if (proc.exitCode !== null || performance.now() > deadline) {
      proc.kill();
      throw new Error(`pgbouncer did not listen on ${port}: ${readFileSync(join(scratch, 'pgbouncer.log'), 'utf8').slice(-2000)}`);
    }
    await Bun.sleep(20);
  }
  return {
    port,
    pid: proc.pid,
    version,
    release: async () => {
      // Session mode keeps server connections pooled after their clients leave; on a shared
      // server with max_connections 100 they would starve the next mode's 64 clients.
      await runCommand(['psql', '-X', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'root', '-d', 'pgbouncer', '-c', `KILL ${BENCH_DATABASE}`, '-c', `RESUME ${BENCH_DATABASE}`]);
    },
    stop: async () => {
      proc.kill('SIGINT');
      await proc.exited;
    },
  };
}
