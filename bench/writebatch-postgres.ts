/**
 * Write batching on the PostgreSQL front end (`bench:writebatch --protocol postgres`):
 * single-row autocommit `INSERT … RETURNING id` from many clients, direct to
 * PostgreSQL, through tqdbproxy with batching off (the hop alone) and with
 * batching on (adaptive delay), alternated in one run after a warm-up.
 *
 * Load generators:
 *   pgbench    a custom script (-f) with --protocol=simple and =prepared, the
 *              C client, so the load generator costs the same in every mode;
 *   pg         node-postgres clients in this process, closed loop, the
 *              extended protocol with an unnamed statement per query.
 *
 * The database is a throwaway PostgreSQL started here (initdb + postgres on
 * its own port and data directory) with `fsync = on`, no autovacuum (its
 * workers' CPU would land in whichever slot they ran in) and `max_connections`
 * above the client count: the shared server allows 100 connections, and its
 * other users would blur the database CPU. `--direct HOST:PORT` measures an
 * existing server instead (user root, database test).
 *
 * Per row: writes/s, p50/p99 (pgbench's per-transaction log; per query for
 * pg), the database's CPU per write (utime + stime of the postmaster and all
 * its processes, from /proc), the proxy's CPU per write, and from the proxy's
 * /metrics the mean batch size, the batch methods and the writes sent alone.
 * The run ends with issue #9's must-show checks.
 *
 *   bun run bench:writebatch -- --protocol postgres
 *   bun run bench:writebatch -- --protocol postgres --connections 16,128 --duration 10 --rounds 2
 */
import pg from 'pg';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type PostgresServer } from '../test/support/postgres.ts';
import type { BenchArgs, HostPort } from './lib/args.ts';
import { atLeast, atMost, renderChecks, type Check } from './lib/checks.ts';
import { batchCountersBetween, describeMethods, sumCounters, type BatchCounters } from './lib/batch-counters.ts';
import { metricsUrlOf, scrapeMetrics } from './lib/metrics.ts';
import { combinePgbenchSlots, runPgbench, type PgbenchSlot } from './lib/pgbench.ts';
import { pidListeningOn, processCpuSeconds, processTreeCpuSeconds } from './lib/proc.ts';
import { startBenchProxy, type BenchProxy } from './lib/proxy.ts';
import { machineInfo, writeResults } from './lib/results.ts';
import { ratio } from './lib/stats.ts';
import { renderTable, type Column } from './lib/table.ts';

const DATABASE = 'test';
const TABLE = 'wb_pg_insert';
/** The proxy default the p99 target is stated against (max delay + 10 ms). */
const MAX_DELAY_MS = 100;

type Mode = 'direct' | 'proxy' | 'batched';
const MODES: readonly Mode[] = ['direct', 'proxy', 'batched'];
const MODE_INI: Record<Exclude<Mode, 'direct'>, string> = {
  proxy: '[postgres]\nwritebatch_enabled = false',
  batched: `[postgres]\nwritebatch_enabled = true\nwritebatch_max_delay_ms = ${MAX_DELAY_MS}`,
};

interface Workload {
  name: string;
  /** How one slot is driven. */
  run(target: Target, connections: number, seconds: number): Promise<PgbenchSlot>;
}

interface Target extends HostPort {
  pid: number | undefined;
}

interface Row {
  workload: string;
  connections: number;
  mode: Mode;
  writesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  dbCpuUsPerWrite: number;
  proxyCpuUsPerWrite: number | undefined;
  meanBatchSize: number | undefined;
  methods: string;
  aloneShare: number | undefined;
  vsDirect: number | undefined;
  dbCpuGain: number | undefined;
  error: string | undefined;
}

export async function runPostgresWriteBatchBench(args: BenchArgs, log: (line: string) => void): Promise<number> {
  const maxConnections = Math.max(...args.connections);
  const ownServer = args.isDirectGiven ? null : await startOwnServer(maxConnections);
  const direct: HostPort = ownServer === null ? args.direct : { host: ownServer.host, port: ownServer.port };
  const dbPid = ownServer?.pid ?? pidListeningOn(direct.port);
  if (dbPid === undefined) log(`note: no process found listening on ${direct.port}: database CPU is not measured`);
  const scratch = mkdtempSync(join(tmpdir(), 'tqdb-bench-pgwb-'));
  chmodSync(scratch, 0o777);
  const script = join(scratch, 'insert.sql');
  writeFileSync(script, `\\set v random(1, 1000000)\nINSERT INTO ${TABLE} (client, v) VALUES (:client_id, :v) RETURNING id;\n`);
  chmodSync(script, 0o644);
  const pgbenchWorkload = (protocol: 'simple' | 'prepared'): Workload => ({
    name: `pgbench INSERT RETURNING ${protocol}`,
    run: (target, connections, seconds) => runPgbench({ script: ['-f', script], protocol, target, connections, seconds, database: DATABASE, dbPid, scratch }),
  });
  const workloads: Workload[] = [
    pgbenchWorkload('simple'),
    pgbenchWorkload('prepared'),
    { name: 'node-postgres INSERT RETURNING', run: (target, connections, seconds) => runNodePostgres(target, connections, seconds, dbPid) },
  ];

  const admin = new pg.Client({ ...direct, user: 'root', database: DATABASE });
  await admin.connect();
  const benchArgs: BenchArgs = { ...args, direct };
  const proxies: Record<Exclude<Mode, 'direct'>, BenchProxy> = {
    proxy: await startBenchProxy(benchArgs, { ini: MODE_INI.proxy }),
    batched: await startBenchProxy(benchArgs, { ini: MODE_INI.batched }),
  };
  const targets: Record<Mode, Target> = {
    direct: { ...direct, pid: undefined },
    proxy: { host: proxies.proxy.host, port: proxies.proxy.port, pid: proxies.proxy.pid },
    batched: { host: proxies.batched.host, port: proxies.batched.port, pid: proxies.batched.pid },
  };
  const [load1] = loadavg();
  const version = String((await admin.query('SHOW server_version')).rows[0].server_version);
  log(`bench:writebatch --protocol postgres — PostgreSQL ${version} on ${direct.host}:${direct.port}${ownServer === null ? '' : ' (throwaway, fsync on)'}, proxies ${proxies.proxy.port} (batching off) and ${proxies.batched.port} (batching on)`);
  if (load1 > 0.5 * cpus().length) log(`note: load average ${load1.toFixed(2)} on ${cpus().length} cores: absolute figures are skewed; ratios are A/B in this run`);

  const rows: Row[] = [];
  const startedAt = new Date();
  try {
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await admin.query(`CREATE TABLE ${TABLE} (id bigserial PRIMARY KEY, client int NOT NULL, v int NOT NULL)`);
    for (const workload of workloads) {
      for (const connections of args.connections) {
        const measure = async (mode: Mode, seconds: number): Promise<{ slot: PgbenchSlot; batching: BatchCounters }> => {
          // Every slot starts on an empty table, so no mode inserts into a larger index than another.
          await admin.query(`TRUNCATE ${TABLE}`);
          await admin.query('CHECKPOINT');
          const url = mode === 'direct' ? undefined : metricsUrlOf(proxies[mode]);
          const before = url === undefined ? undefined : await scrapeMetrics(url);
          const slot = await workload.run(targets[mode], connections, seconds);
          const after = url === undefined ? undefined : await scrapeMetrics(url);
          return { slot, batching: batchCountersBetween(before, after, 'postgres') };
        };
        if (args.warmupSeconds > 0) for (const mode of MODES) await measure(mode, args.warmupSeconds);
        const runs: Record<Mode, Array<{ slot: PgbenchSlot; batching: BatchCounters }>> = { direct: [], proxy: [], batched: [] };
        const slotSeconds = Math.max(1, Math.round(args.durationSeconds / args.rounds));
        for (let round = 1; round <= args.rounds; round++) {
          for (const mode of MODES) {
            const result = await measure(mode, slotSeconds);
            runs[mode].push(result);
            const { slot } = result;
            log(`  ${workload.name} ×${connections} ${mode.padEnd(7)} round ${round}/${args.rounds}: ${Math.round(slot.transactions / slot.elapsedSeconds).toLocaleString('en-US')} writes/s${slot.error ? ` (${slot.error})` : ''}`);
          }
        }
        const directTotals = combinePgbenchSlots(runs.direct.map((r) => r.slot));
        for (const mode of MODES) {
          const totals = combinePgbenchSlots(runs[mode].map((r) => r.slot));
          const batching = sumCounters(runs[mode].map((r) => r.batching));
          const dbCpuUsPerWrite = ratio(totals.dbCpuSeconds * 1e6, totals.transactions);
          rows.push({
            workload: workload.name,
            connections,
            mode,
            writesPerSecond: totals.tps,
            p50Ms: totals.p50Ms,
            p99Ms: totals.p99Ms,
            failed: totals.failed,
            dbCpuUsPerWrite,
            proxyCpuUsPerWrite: totals.hopCpuSeconds === undefined ? undefined : ratio(totals.hopCpuSeconds * 1e6, totals.transactions),
            meanBatchSize: mode === 'direct' ? undefined : ratio(batching.batchSizeSum, batching.batches),
            methods: mode === 'direct' ? '' : describeMethods(batching.methods, batching.batches),
            aloneShare: mode === 'batched' ? ratio(Object.values(batching.excluded).reduce((s, n) => s + n, 0), totals.transactions) : undefined,
            vsDirect: mode === 'direct' ? undefined : ratio(totals.tps, directTotals.tps),
            dbCpuGain: mode === 'direct' ? undefined : ratio(ratio(directTotals.dbCpuSeconds, directTotals.transactions), ratio(totals.dbCpuSeconds, totals.transactions)),
            error: totals.error,
          });
        }
      }
    }
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => undefined);
    await admin.end();
    await Promise.all(Object.values(proxies).map((p) => p.stop()));
    await ownServer?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }

  log('');
  log(renderTable(COLUMNS, rows.map(tableRow)));
  log('');
  log(renderChecks(mustShow(rows)));
  const document = {
    bench: 'writebatch',
    protocol: 'postgres',
    startedAt: startedAt.toISOString(),
    machine: machineInfo({ postgres: version }),
    loadAverageAtStart: load1,
    args: { durationSeconds: args.durationSeconds, connections: args.connections, warmupSeconds: args.warmupSeconds, rounds: args.rounds, direct: `${direct.host}:${direct.port}`, ownServer: ownServer !== null },
    rows,
  };
  const path = writeResults('writebatch-postgres', document, startedAt);
  log(`\nresults: ${path}`);
  if (args.isJson) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return rows.some((r) => r.failed > 0 || r.error !== undefined) ? 1 : 0;
}

/** A throwaway server sized for the run: fsync on, as a production database commits. */
function startOwnServer(clients: number): Promise<PostgresServer> {
  // Each mode holds its clients' connections, and the proxies their own: room for all, and for admin.
  // No autovacuum: a worker woken by one mode's inserts would be charged to whichever slot it ran in.
  return startPostgres({ maxConnections: 2 * clients + 20, settings: { fsync: 'on', shared_buffers: '128MB', max_wal_size: '1GB', autovacuum: 'off' } });
}

/** node-postgres clients in a closed loop, each inserting its next row as soon as the last is answered. */
async function runNodePostgres(target: Target, connections: number, seconds: number, dbPid: number | undefined): Promise<PgbenchSlot> {
  const clients = Array.from({ length: connections }, () => new pg.Client({ host: target.host, port: target.port, user: 'root', database: DATABASE }));
  await Promise.all(clients.map((c) => c.connect()));
  const latenciesUs: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  const dbStart = dbPid === undefined ? 0 : processTreeCpuSeconds(dbPid);
  const hopStart = target.pid === undefined ? 0 : processCpuSeconds(target.pid);
  const startedAt = performance.now();
  const deadline = startedAt + seconds * 1000;
  await Promise.all(
    clients.map(async (client, worker) => {
      while (performance.now() < deadline) {
        const sentAt = performance.now();
        try {
          await client.query(`INSERT INTO ${TABLE} (client, v) VALUES ($1, $2) RETURNING id`, [worker, Math.floor(Math.random() * 1_000_000)]);
          latenciesUs.push((performance.now() - sentAt) * 1000);
        } catch (error) {
          failed++;
          firstError ??= String(error);
        }
      }
    }),
  );
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  const dbCpuSeconds = dbPid === undefined ? 0 : processTreeCpuSeconds(dbPid) - dbStart;
  const hopCpuSeconds = target.pid === undefined ? undefined : processCpuSeconds(target.pid) - hopStart;
  await Promise.all(clients.map((c) => c.end()));
  return { transactions: latenciesUs.length, failed, elapsedSeconds, latenciesUs, dbCpuSeconds, hopCpuSeconds, error: firstError };
}

/** Issue #9's batching targets, read off this run's 128-client rows (or the largest client count run). */
function mustShow(rows: readonly Row[]): Check[] {
  const connections = rows.some((r) => r.connections === 128) ? 128 : Math.max(...rows.map((r) => r.connections));
  const batched = (workload: string): Row | undefined => rows.find((r) => r.workload === workload && r.connections === connections && r.mode === 'batched');
  const checks: Check[] = [];
  for (const protocol of ['simple', 'prepared']) {
    const row = batched(`pgbench INSERT RETURNING ${protocol}`);
    checks.push(atLeast(`pgbench ${protocol} ×${connections}: batched ÷ direct writes/s`, row?.vsDirect, 1.5));
    checks.push(atLeast(`pgbench ${protocol} ×${connections}: database CPU per write, direct ÷ batched`, row?.dbCpuGain, 4));
    checks.push(atMost(`pgbench ${protocol} ×${connections}: batched p99`, row?.p99Ms, MAX_DELAY_MS + 10, 'ms'));
  }
  checks.push(atLeast(`node-postgres ×${connections}: batched ÷ direct writes/s`, batched('node-postgres INSERT RETURNING')?.vsDirect, 1.2));
  return checks;
}

const COLUMNS: Column[] = [
  { header: 'workload', align: 'left' },
  { header: 'conns' },
  { header: 'mode', align: 'left' },
  { header: 'writes/s' },
  { header: 'p50 ms', decimals: 2 },
  { header: 'p99 ms', decimals: 2 },
  { header: 'failed' },
  { header: 'db µs/w', decimals: 1 },
  { header: 'proxy µs/w', decimals: 1 },
  { header: 'batch', decimals: 1 },
  { header: 'method', align: 'left' },
  { header: 'alone', decimals: 2 },
  { header: '× direct', decimals: 2 },
  { header: 'db cpu gain', decimals: 2 },
];

function tableRow(r: Row): Array<string | number | undefined> {
  return [r.workload, r.connections, r.mode, Math.round(r.writesPerSecond), r.p50Ms, r.p99Ms, r.failed, r.dbCpuUsPerWrite, r.proxyCpuUsPerWrite, r.meanBatchSize, r.methods, r.aloneShare, r.vsDirect, r.dbCpuGain];
}
