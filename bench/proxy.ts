/**
 * Pass-through overhead of the proxy: each workload runs direct to MariaDB
 * (with --protocol postgres: to PostgreSQL, beside PgBouncer; see bench/proxy-postgres.ts)
 * and through the proxy alternately (A/B/A/B after a warm-up) in one
 * invocation, so the proxy/direct ratio compares like with like.
 *
 *   bun run bench:proxy -- --duration 10 --connections 1,16,64
 *
 * Workloads: `SELECT 1`, `SELECT SLEEP(0.001)`, a 1000-row result set, and
 * sysbench `oltp_point_select` when sysbench is installed.
 *
 * `--tls` adds TLS and compression rows in the same run: a throwaway mariadbd
 * with a certificate, measured direct and through a second proxy with TLS on
 * both links (plaintext, TLS, and zlib compression on each path); see
 * bench/lib/tls-cells.ts. `--tls-only` runs just those. Bench data lives in
 * its own database `tqdb_bench`, away from the tests' `test` database.
 * CPU per operation comes from /proc: the database's and the proxy's.
 */
import { cpus, loadavg } from 'node:os';
import mysql from 'mysql2/promise';
import type { Connection, ConnectionOptions } from 'mysql2/promise';
import {
  sysbenchAvailable,
  sysbenchCleanup,
  sysbenchPrepare,
  sysbenchRun,
  type SysbenchOptions,
} from '../test/support/sysbench.ts';
import { BenchArgError, parseBenchArgs, type BenchArgs } from './lib/args.ts';
import { mergeResults, runClosedLoop, type ClosedLoopResult } from './lib/load.ts';
import { findPid, processCpuSeconds } from './lib/proc.ts';
import { startBenchProxy } from './lib/proxy.ts';
import { startBareRelay } from './lib/relay.ts';
import { mergedPercentiles } from './lib/sysbench-slot.ts';
import { BENCH_DATABASE, machineInfo, writeResults } from './lib/results.ts';
import { ratio } from './lib/stats.ts';
import { renderTable, type Column } from './lib/table.ts';
import { runPostgresBench } from './proxy-postgres.ts';
import { measureTlsCells, type TlsMode } from './lib/tls-cells.ts';

const DATABASE = BENCH_DATABASE;
const ROWS_TABLE = 'rows_1000';
const ROW_COUNT = 1000;
const SYSBENCH_TABLES = 4;
const SYSBENCH_TABLE_SIZE = 10_000;

type BaseMode = 'direct' | 'proxy' | 'relay';
type Mode = BaseMode | TlsMode;

interface Workload {
  name: string;
  /** A closed-loop mysql2 query, or sysbench. */
  sql: string | 'sysbench:oltp_point_select';
}

interface Measurement {
  ops: number;
  errors: number;
  firstError: string | undefined;
  elapsedSeconds: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  dbCpuSeconds: number;
  proxyCpuSeconds: number | undefined;
}

/**
 * One measured slot, with what is needed to merge rounds exactly: the raw
 * closed-loop result, or sysbench's latency histogram.
 */
interface Slot extends Measurement {
  loop?: ClosedLoopResult;
  histogram?: Array<{ valueMs: number; count: number }>;
}

interface Row {
  workload: string;
  connections: number;
  mode: Mode;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  ops: number;
  errors: number;
  firstError: string | undefined;
  elapsedSeconds: number;
  /** Database server CPU microseconds per operation. */
  dbCpuUsPerOp: number;
  /** Proxy CPU microseconds per operation (proxy rows only). */
  proxyCpuUsPerOp: number | undefined;
  /** qps through the proxy / qps direct (proxy rows only). */
  ratio: number | undefined;
}

interface Target {
  host: string;
  port: number;
}

let log: (line: string) => void = (line) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2), { durationSeconds: 10, connections: [1, 16, 64] }, {}, {
      tls: 'also measure TLS and compression (throwaway mariadbd with a certificate; SELECT 1 and the 1000-row result)',
      'tls-only': 'measure only the TLS and compression rows',
    });
  } catch (error) {
    if (error instanceof BenchArgError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  // With --json the document owns stdout; progress and the table go to stderr.
  if (args.isJson) log = (line) => process.stderr.write(`${line}\n`);
  if (args.protocol === 'postgres') return runPostgresBench(args, log);

  const isTlsOnly = args.extra['tls-only'] === 'true';
  const isTls = isTlsOnly || args.extra['tls'] === 'true';
  const workloads: Workload[] = isTlsOnly
    ? []
    : [
        { name: 'SELECT 1', sql: 'SELECT 1' },
        { name: 'SELECT SLEEP(0.001)', sql: 'SELECT SLEEP(0.001)' },
        { name: `${ROW_COUNT}-row result`, sql: `SELECT * FROM ${ROWS_TABLE}` },
      ];
  const hasSysbench = !isTlsOnly && sysbenchAvailable();
  if (hasSysbench) workloads.push({ name: 'sysbench point_select', sql: 'sysbench:oltp_point_select' });
  else if (!isTlsOnly) log('sysbench not installed: the oltp_point_select workload is skipped');

  const direct: Target = args.direct;
  const mariadbVersion = await prepareDatabase(direct);
  const dbPid = findPid('mariadbd', direct.port);
  if (hasSysbench) {
    log(`preparing sysbench tables (${SYSBENCH_TABLES} × ${SYSBENCH_TABLE_SIZE} rows) in ${DATABASE}`);
    await sysbenchPrepare('oltp_point_select', sysbenchOptions(direct, 1, 1));
  }

  // An interrupted run still stops the proxy: the harness kills what it started on exit and on signals.
  const proxy = await startBenchProxy(args);
  // The floor for any Bun hop on this machine, measured in the same run (see bench/lib/bare-relay.ts).
  const relay = await startBareRelay(direct);

  const cells = workloads.length * args.connections.length;
  const perCell = 2 * args.warmupSeconds + 2 * args.durationSeconds;
  log(
    `bench:proxy — ${cells} cells × ~${perCell} s ≈ ${Math.ceil((cells * perCell) / 60)} min; ` +
      `direct ${direct.host}:${direct.port} (mariadbd pid ${dbPid}), proxy ${proxy.host}:${proxy.port} (${proxy.description})`,
  );

  const [load1] = loadavg();
  if (load1 > 0.5 * cpus().length) {
    log(`note: load average ${load1.toFixed(2)} on ${cpus().length} cores before the run: other work skews absolute figures (ratios are A/B in this run)`);
  }

  const rows: Row[] = [];
  const startedAt = new Date();
  try {
    for (const workload of workloads) {
      for (const connections of args.connections) {
        const targets: Record<BaseMode, Target> = { direct, proxy, relay };
        const measure = (mode: BaseMode, seconds: number): Promise<Slot> =>
          measureOnce(workload, targets[mode], connections, seconds, dbPid, mode === 'proxy' ? proxy.pid : mode === 'relay' ? relay.pid : undefined);

        try {
          rows.push(...(await measureCell(workload.name, connections, args, measure)));
        } catch (error) {
          // One failed cell (e.g. "Too many connections" on a busy shared
          // server) is reported in its rows; the other cells still run.
          const message = error instanceof Error ? error.message : String(error);
          log(`  ${workload.name} ×${connections}: failed: ${message}`);
          rows.push(...(['direct', 'proxy', 'relay'] as const).map((mode) => failedRow(workload.name, connections, mode, message)));
        }
      }
    }
    if (isTls) {
      const tlsWorkloads = [
        { name: 'SELECT 1', sql: 'SELECT 1' },
        { name: `${ROW_COUNT}-row result`, sql: `SELECT * FROM ${ROWS_TABLE}` },
      ];
      rows.push(
        ...(await measureTlsCells({
          args,
          workloads: tlsWorkloads,
          log,
          prepare: (target) => prepareDatabase(target).then(() => undefined),
          measure: (workload, target, connections, seconds, dbPid, proxyPid, connectOptions) =>
            measureOnce({ name: workload.name, sql: workload.sql }, target, connections, seconds, dbPid, proxyPid, connectOptions),
          toRow: (workload, connections, mode, slots, directQps) => toRow(workload, connections, mode, combine(slots), directQps),
          failedRow,
        })),
      );
    }
  } finally {
    await proxy.stop();
    relay.stop();
    if (hasSysbench) await sysbenchCleanup('oltp_point_select', sysbenchOptions(direct, 1, 1)).catch(() => {});
  }

  const table = renderTable(COLUMNS, rows.map(tableRow));
  log('');
  log(table);
  const document = {
    bench: 'proxy',
    startedAt: startedAt.toISOString(),
    machine: machineInfo({ mariadb: mariadbVersion }),
    loadAverageAtStart: load1,
    args: {
      durationSeconds: args.durationSeconds,
      connections: args.connections,
      warmupSeconds: args.warmupSeconds,
      rounds: args.rounds,
      direct: `${direct.host}:${direct.port}`,
      proxy: proxy.description,
    },
    rows,
  };
  const path = writeResults('proxy', document, startedAt);
  log(`\nresults: ${path}`);
  if (args.isJson) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return rows.some((row) => row.errors > 0) ? 1 : 0;
}

const MODES = ['direct', 'proxy', 'relay'] as const;

/** Warm-up, then `rounds` × (direct, proxy, bare relay) slots; returns a row per mode. */
async function measureCell(
  workload: string,
  connections: number,
  args: BenchArgs,
  measure: (mode: BaseMode, seconds: number) => Promise<Slot>,
): Promise<Row[]> {
  if (args.warmupSeconds > 0) {
    for (const mode of MODES) await measure(mode, args.warmupSeconds);
  }
  const slotSeconds = args.durationSeconds / args.rounds;
  const runs: Record<BaseMode, Slot[]> = { direct: [], proxy: [], relay: [] };
  for (let round = 1; round <= args.rounds; round++) {
    for (const mode of MODES) {
      const m = await measure(mode, slotSeconds);
      runs[mode].push(m);
      log(
        `  ${workload} ×${connections} ${mode.padEnd(6)} round ${round}/${args.rounds}: ` +
          `${Math.round(m.qps).toLocaleString('en-US')} qps${m.errors > 0 ? `, ${m.errors} errors (${m.firstError})` : ''}`,
      );
    }
  }
  const directRow = toRow(workload, connections, 'direct', combine(runs.direct), undefined);
  const proxyRow = toRow(workload, connections, 'proxy', combine(runs.proxy), directRow.qps);
  const relayRow = toRow(workload, connections, 'relay', combine(runs.relay), directRow.qps);
  return [directRow, proxyRow, relayRow];
}

function failedRow(workload: string, connections: number, mode: Mode, message: string): Row {
  return {
    workload,
    connections,
    mode,
    qps: Number.NaN,
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    ops: 0,
    errors: 1,
    firstError: message,
    elapsedSeconds: 0,
    dbCpuUsPerOp: Number.NaN,
    proxyCpuUsPerOp: undefined,
    ratio: undefined,
  };
}

const COLUMNS: Column[] = [
  { header: 'workload', align: 'left' },
  { header: 'conns' },
  { header: 'mode', align: 'left' },
  { header: 'qps' },
  { header: 'p50 ms', decimals: 3 },
  { header: 'p99 ms', decimals: 3 },
  { header: 'errors' },
  { header: 'db µs/op', decimals: 1 },
  { header: 'proxy µs/op', decimals: 1 },
  { header: '× direct', decimals: 2 },
];

function tableRow(row: Row): Array<string | number | undefined> {
  return [
    row.workload,
    row.connections,
    row.mode,
    Math.round(row.qps),
    row.p50Ms,
    row.p99Ms,
    row.errors,
    row.dbCpuUsPerOp,
    row.proxyCpuUsPerOp,
    row.ratio,
  ];
}

/** One measured (or warm-up) slot of one mode, with CPU sampled around it. */
async function measureOnce(
  workload: Workload,
  target: Target,
  connections: number,
  seconds: number,
  dbPid: number,
  proxyPid: number | undefined,
  connectOptions: ConnectionOptions = {},
): Promise<Slot> {
  let dbCpuStart = 0;
  let proxyCpuStart = 0;
  let dbCpuSeconds = 0;
  let proxyCpuSeconds: number | undefined;
  const onStart = (): void => {
    dbCpuStart = processCpuSeconds(dbPid);
    if (proxyPid !== undefined) proxyCpuStart = processCpuSeconds(proxyPid);
  };
  const onStop = (): void => {
    dbCpuSeconds = processCpuSeconds(dbPid) - dbCpuStart;
    if (proxyPid !== undefined) proxyCpuSeconds = processCpuSeconds(proxyPid) - proxyCpuStart;
  };

  if (workload.sql === 'sysbench:oltp_point_select') {
    onStart();
    const summary = await sysbenchRun('oltp_point_select', {
      ...sysbenchOptions(target, connections, Math.max(1, Math.round(seconds))),
      isHistogram: true,
      percentile: 99,
    });
    onStop();
    return {
      ops: summary.events,
      errors: summary.ignoredErrors + summary.reconnects,
      firstError: summary.ignoredErrors + summary.reconnects > 0 ? 'sysbench ignored errors or reconnects' : undefined,
      elapsedSeconds: summary.totalTimeSeconds,
      qps: summary.qps,
      p50Ms: summary.latencyMs.p50 ?? Number.NaN,
      p99Ms: summary.latencyMs.p99 ?? summary.latencyMs.percentile?.value ?? Number.NaN,
      dbCpuSeconds,
      proxyCpuSeconds,
      ...(summary.histogram === undefined ? {} : { histogram: summary.histogram }),
    };
  }

  const sql = workload.sql;
  const result: ClosedLoopResult = await runClosedLoop({
    host: target.host,
    port: target.port,
    connections,
    durationSeconds: seconds,
    connectOptions: { database: DATABASE, ...connectOptions },
    operation: (conn: Connection) => conn.query(sql),
    onStart,
    onStop,
  });
  return {
    ops: result.ops,
    errors: result.errors,
    firstError: result.firstError,
    elapsedSeconds: result.elapsedSeconds,
    qps: result.qps,
    p50Ms: result.latency.p50Ms,
    p99Ms: result.latency.p99Ms,
    dbCpuSeconds,
    proxyCpuSeconds,
    loop: result,
  };
}

/** The rounds of one mode as one measurement: total ops over total time, percentiles over all samples. */
function combine(measurements: Slot[]): Measurement {
  const ops = measurements.reduce((sum, m) => sum + m.ops, 0);
  const elapsedSeconds = measurements.reduce((sum, m) => sum + m.elapsedSeconds, 0);
  const proxyCpu = measurements.every((m) => m.proxyCpuSeconds !== undefined)
    ? measurements.reduce((sum, m) => sum + (m.proxyCpuSeconds ?? 0), 0)
    : undefined;
  let p50Ms: number;
  let p99Ms: number;
  const loops = measurements.map((m) => m.loop).filter((s): s is ClosedLoopResult => s !== undefined);
  if (loops.length === measurements.length) {
    const merged = mergeResults(loops);
    p50Ms = merged.latency.p50Ms;
    p99Ms = merged.latency.p99Ms;
  } else {
    ({ p50Ms, p99Ms } = mergedPercentiles(measurements.map((m) => m.histogram)));
  }
  return {
    ops,
    errors: measurements.reduce((sum, m) => sum + m.errors, 0),
    firstError: measurements.find((m) => m.firstError !== undefined)?.firstError,
    elapsedSeconds,
    qps: ops / elapsedSeconds,
    p50Ms,
    p99Ms,
    dbCpuSeconds: measurements.reduce((sum, m) => sum + m.dbCpuSeconds, 0),
    proxyCpuSeconds: proxyCpu,
  };
}

function toRow(workload: string, connections: number, mode: Mode, m: Measurement, directQps: number | undefined): Row {
  return {
    workload,
    connections,
    mode,
    qps: m.qps,
    p50Ms: m.p50Ms,
    p99Ms: m.p99Ms,
    ops: m.ops,
    errors: m.errors,
    firstError: m.firstError,
    elapsedSeconds: m.elapsedSeconds,
    dbCpuUsPerOp: ratio(m.dbCpuSeconds * 1e6, m.ops),
    proxyCpuUsPerOp: m.proxyCpuSeconds === undefined ? undefined : ratio(m.proxyCpuSeconds * 1e6, m.ops),
    ratio: directQps === undefined ? undefined : ratio(m.qps, directQps),
  };
}

function sysbenchOptions(target: Target, threads: number, timeSeconds: number): SysbenchOptions {
  return {
    host: target.host,
    port: target.port,
    database: DATABASE,
    tables: SYSBENCH_TABLES,
    tableSize: SYSBENCH_TABLE_SIZE,
    threads,
    timeSeconds,
  };
}

/** Creates the bench database and its 1000-row table if needed; returns the server version. */
async function prepareDatabase(direct: Target): Promise<string> {
  const conn = await mysql.createConnection({ host: direct.host, port: direct.port, user: 'root', password: '' });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${DATABASE}`);
    await conn.query(`USE ${DATABASE}`);
    await conn.query(
      `CREATE TABLE IF NOT EXISTS ${ROWS_TABLE} (
         id INT PRIMARY KEY,
         name VARCHAR(64) NOT NULL,
         amount DECIMAL(12,2) NOT NULL,
         created_at DATETIME NOT NULL
       )`,
    );
    const [countRows] = await conn.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${ROWS_TABLE}`);
    if (Number(countRows[0]?.n) !== ROW_COUNT) {
      await conn.query(`DELETE FROM ${ROWS_TABLE}`);
      const values = Array.from(
        { length: ROW_COUNT },
        (_, i) => `(${i + 1}, 'row-${String(i + 1).padStart(4, '0')}', ${((i * 37) % 10_000) / 100}, '2026-01-01 00:00:00' + INTERVAL ${i} MINUTE)`,
      );
      await conn.query(`INSERT INTO ${ROWS_TABLE} VALUES ${values.join(',')}`);
    }
    const [versionRows] = await conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    return String(versionRows[0]?.v);
  } finally {
    await conn.end();
  }
}

process.exitCode = await main();
