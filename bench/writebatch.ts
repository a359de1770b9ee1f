/**
 * Write batching through the wire, against the real MariaDB on 127.0.0.1:
 * the seed's eight benchmarks with mysql2 clients, sysbench (a C client) and
 * ORM-shaped mysql2 inserts (issue #8).
 *
 *   bun run bench:writebatch                       # full run (~30 min on 2 cores)
 *   bun run bench:writebatch -- --quick            # smoke run (~3 min)
 *   bun run bench:writebatch -- --sections main,single --connections 128
 *   bun run bench:writebatch -- --sections sysbench,orm --duration 6
 *   bun run bench:writebatch -- --sections sysbench --threads 1,16,128 --workloads insert,delete
 *
 * With `--protocol postgres` it measures the PostgreSQL front end instead
 * (bench/writebatch-postgres.ts: pgbench and node-postgres INSERT … RETURNING).
 *
 * Sections (`--sections`, default all):
 *   main       single-row autocommit INSERT, UPDATE by primary key and prepared
 *              INSERT at each --connections: direct; proxy batching off;
 *              proxy batched adaptive; hints batch:1, batch:10, batch:100
 *   targets    offered loads of 1k, 10k, 100k ops/s (paced connections)
 *   delays     fixed delay (min = initial = max) at 1, 10, 100 ms → SVG chart
 *   ramp       the adaptive delay over time while load ramps up and down
 *   many       1000 concurrent connections (max_connections is raised to 2000
 *              for the run when needed, and restored at the end)
 *   batchsize  writebatch_max_batch_size at 10, 100, 1000
 *   memory     proxy RSS (and JS heap) per queued write, with the table locked
 *   single     one sequential writer, batching off vs on: p50 difference
 *   sysbench   sysbench oltp_insert (id = 0), oltp_insert --auto_inc=off,
 *              oltp_update_index (prepared), oltp_update_non_index (text),
 *              oltp_delete (prepared) at each --threads (default 1,16,128,512):
 *              direct vs batched adaptive, and at 1 thread also the bare relay
 *              (bench/lib/bare-relay.ts), which 1-thread cells are held against.
 *              Tables: --tables=4 --table-size=10000 in --sysbench-db (sbtest),
 *              prepared once; workloads that change the row count (inserts,
 *              deletes) get their tables restored before every slot, so each
 *              mode starts from the same data.
 *   orm        `INSERT INTO t (id, a, b) VALUES (NULL, ?, ?)` with mysql2, text
 *              (`query`, client-side interpolation) and prepared (`execute`),
 *              at --orm-connections (default 128): direct vs batched adaptive
 *
 * sysbench's latency percentiles come from its --histogram (p50, p99) over
 * all rounds. A sysbench run that dies on an error it does not ignore (e.g.
 * 1210 on a prepared write) is reported as a failed cell with the error
 * text, and the bench goes on. Both sections print a must-show table with
 * the targets of issue #8.
 *
 * Within a cell every mode runs once as warm-up, then the modes alternate
 * (direct, proxy, ..., direct, proxy, ...) for --rounds rounds, so drift hits
 * them alike. Each proxy mode is its own proxy process with its own config;
 * the hint modes use the batching-off proxy, since a hint batches even there.
 *
 * Two ratios per row, both measured in the same run (STYLE.md §10):
 * end-to-end ops/s over direct, and the database's CPU per write (utime +
 * stime of mariadbd from /proc, over acknowledged writes), direct over mode.
 * On a shared 2-core machine the first is capped by client and proxy CPU; the
 * second is what predicts the gain where the database is the bottleneck.
 * Mean batch size is Δsum / Δcount of `tqdbproxy_write_batch_size`.
 *
 * Data lives in the database `tqdb_bench` (tables wb_insert, wb_update,
 * wb_queued), away from the tests' `test` database.
 */
import mysql from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchArgError, parseBenchArgs, type BenchArgs, type HostPort } from './lib/args.ts';
import { renderLineChart, type ChartSeries } from './lib/chart.ts';
import { mergeResults, runClosedLoop, type ClosedLoopResult } from './lib/load.ts';
import { metricDelta, metricsUrlOf, scrapeMetrics, type MetricsSnapshot } from './lib/metrics.ts';
import { CpuWindow, fileLimitPrefix, findPid, openFileLimit, processCpuSeconds, processRssBytes, raiseFileLimit } from './lib/proc.ts';
import { startBenchProxy, type BenchProxy } from './lib/proxy.ts';
import { startBareRelay } from './lib/relay.ts';
import { BENCH_DATABASE, fileTimestamp, machineInfo, RESULTS_DIR, writeResults } from './lib/results.ts';
import { ratio } from './lib/stats.ts';
import { mergedPercentiles, runSysbenchSlot, type SysbenchSlot } from './lib/sysbench-slot.ts';
import { batchCountersBetween, describeMethods, describeShares, sumCounters, type BatchCounters } from './lib/batch-counters.ts';
import { renderChecks, type Check } from './lib/checks.ts';
import { runPostgresWriteBatchBench } from './writebatch-postgres.ts';
import { renderTable, type Cell, type Column } from './lib/table.ts';
import {
  sysbenchAvailable,
  sysbenchCleanup,
  sysbenchPrepare,
  type SysbenchOptions,
  type SysbenchTest,
} from '../test/support/sysbench.ts';

const DATABASE = BENCH_DATABASE;
const INSERT_TABLE = 'wb_insert';
const UPDATE_TABLE = 'wb_update';
const QUEUED_TABLE = 'wb_queued';
/** The batching series this bench reads: every one carries the listener's protocol, and this bench drives the MariaDB one only. */
const MEASURED = { protocol: 'mariadb' } as const;
/** Rows each connection cycles through in the UPDATE workload; ranges are disjoint per connection. */
const UPDATE_KEYS_PER_CONNECTION = 100;
/** The proxy default the end-to-end p99 target is stated against (max delay + 10 ms). */
const DEFAULT_MAX_DELAY_MS = 100;
/** Longest wait a hint may ask for (HINT_LIMITS.maxBatchMs) and the most the delay keys accept. */
const LONGEST_DELAY_MS = 60_000;
const RAISED_MAX_CONNECTIONS = 2000;
/** Stall-and-measure repetitions in the memory section; the median is reported. */
const MEMORY_ROUNDS = 3;

const SECTIONS = ['main', 'targets', 'delays', 'ramp', 'many', 'batchsize', 'memory', 'single', 'sysbench', 'orm'] as const;
type Section = (typeof SECTIONS)[number];

type WorkloadKind = 'insert' | 'update' | 'prepared' | 'orm_text' | 'orm_prepared';

const WORKLOAD_NAMES: Record<WorkloadKind, string> = {
  insert: 'INSERT',
  update: 'UPDATE by pk',
  prepared: 'INSERT prepared',
  orm_text: 'ORM INSERT (NULL id) text',
  orm_prepared: 'ORM INSERT (NULL id) prepared',
};

/** The ORM section's table: an AUTO_INCREMENT id the statement names with NULL, as ORMs do. */
const ORM_TABLE = 'wb_orm';
const SYSBENCH_TABLES = 4;
const SYSBENCH_TABLE_SIZE = 10_000;
/** Copies of the freshly prepared sysbench tables, restored before slots of workloads that add or remove rows. */
const SYSBENCH_SEED_PREFIX = 'sbseed';

/**
 * Table contents a sysbench workload runs on. 'seeded': sysbench's default
 * prepare (AUTO_INCREMENT id, 10,000 rows per table). 'explicit': its
 * `--auto_inc=off` prepare, which creates empty tables without
 * AUTO_INCREMENT, since prepared ids could collide with generated ones.
 */
type SysbenchLayout = 'seeded' | 'explicit';

interface SysbenchWorkload {
  /** Name in --workloads. */
  key: string;
  name: string;
  test: SysbenchTest;
  extraArgs: string[];
  layout: SysbenchLayout;
  /** The workload changes the row count: restore the tables before every slot, so every mode starts alike. */
  isResetEachSlot: boolean;
  /** Uses server-side prepared statements (sysbench's default --db-ps-mode=auto). */
  isPrepared: boolean;
}

/** Grouped by layout (seeded first), so the tables are prepared at most twice. */
const SYSBENCH_WORKLOADS: readonly SysbenchWorkload[] = [
  // oltp_insert sends text `INSERT ... (id, k, c, pad) VALUES (0, ...)`: id 0 means "generate".
  { key: 'insert', name: 'oltp_insert (id = 0)', test: 'oltp_insert', extraArgs: [], layout: 'seeded', isResetEachSlot: true, isPrepared: false },
  { key: 'update_index', name: 'oltp_update_index (prepared)', test: 'oltp_update_index', extraArgs: [], layout: 'seeded', isResetEachSlot: false, isPrepared: true },
  {
    key: 'update_non_index',
    name: 'oltp_update_non_index (text)',
    test: 'oltp_update_non_index',
    extraArgs: ['--db-ps-mode=disable'],
    layout: 'seeded',
    isResetEachSlot: false,
    isPrepared: false,
  },
  { key: 'delete', name: 'oltp_delete (prepared)', test: 'oltp_delete', extraArgs: [], layout: 'seeded', isResetEachSlot: true, isPrepared: true },
  // Explicit random ids (sysbench.rand.unique()), text, on tables without AUTO_INCREMENT.
  {
    key: 'insert_explicit',
    name: 'oltp_insert --auto_inc=off',
    test: 'oltp_insert',
    extraArgs: ['--auto_inc=off'],
    layout: 'explicit',
    isResetEachSlot: true,
    isPrepared: false,
  },
];

interface Settings {
  args: BenchArgs;
  isQuick: boolean;
  sections: Set<Section>;
  /** Connections for the targets, delays and ramp sections. */
  focusConnections: number;
  manyConnections: number;
  queuedWrites: number;
  targetLoads: number[];
  delaysMs: number[];
  batchSizes: number[];
  rampPhaseSeconds: number;
  sysbenchThreads: number[];
  sysbenchWorkloads: SysbenchWorkload[];
  sysbenchDatabase: string;
  ormConnections: number[];
}

/** Where a mode's clients connect: the database itself or one proxy. */
interface Target {
  host: string;
  port: number;
  proxy: BenchProxy | undefined;
  metricsUrl: string | undefined;
}

interface ModeSpec {
  name: string;
  target: Target;
  /** Put before every statement: a hint comment, or ''. */
  prefix: string;
}


/** One measured (or warm-up) run of one mode. */
interface Slot {
  loop: ClosedLoopResult;
  dbCpuSeconds: number;
  proxyCpuSeconds: number | undefined;
  clientCpuSeconds: number;
  counters: BatchCounters;
}

/** What a slot's batch counters say per batch and per write. */
interface BatchingFigures {
  batches: number;
  batchedWrites: number;
  meanBatchSize: number;
  /** Batched writes / acknowledged writes. */
  batchedShare: number;
  /** Batches by method, e.g. `{ transaction: 120 }`. */
  methods: Record<string, number>;
  /** Mean time from sending a batch to its last result. */
  meanBatchLatencyMs: number;
  /** `tqdbproxy_write_current_delay_ms` after the last round. */
  delayMs: number | undefined;
}

/** The figures every result row carries, mysql2 or sysbench. */
interface CellFigures extends BatchingFigures {
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  dbCpuUsPerWrite: number;
  /** Proxy CPU per write (relay CPU for a relay row); undefined for direct. */
  proxyCpuUsPerWrite: number | undefined;
  /** ops/s over the direct row's ops/s in the same cell. */
  ratioToDirect: number | undefined;
  /** Direct database CPU per write over this row's: how much database work batching saves. */
  dbCpuGain: number | undefined;
}

interface Row extends CellFigures {
  section: string;
  workload: string;
  connections: number;
  mode: string;
  /** Offered load for paced runs; undefined for closed loop. */
  targetOpsPerSecond: number | undefined;
  p999Ms: number;
  ops: number;
  firstError: string | undefined;
  elapsedSeconds: number;
  multiRowBatches: number;
  transactionBatches: number;
  clientCpuUsPerWrite: number;
}

let log: (line: string) => void = (line) => process.stdout.write(`${line}\n`);

/** Things to undo when the bench ends or is interrupted, most recent first. */
const cleanups: Array<() => Promise<void>> = [];

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop();
    try {
      await cleanup?.();
    } catch (error) {
      process.stderr.write(`cleanup failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}

/** Registers `cleanup`; returns a function that runs it now and unregisters it. */
function deferCleanup(cleanup: () => Promise<void>): () => Promise<void> {
  cleanups.push(cleanup);
  return async () => {
    const index = cleanups.indexOf(cleanup);
    if (index >= 0) cleanups.splice(index, 1);
    await cleanup();
  };
}

const EXTRA_FLAGS: Record<string, string> = {
  sections: `comma list of ${SECTIONS.join(',')} (default all)`,
  'focus-connections': 'connections for targets, delays and ramp (default 64)',
  'many-connections': 'connections for the "many" section (default 1000)',
  'queued-writes': 'writes queued in the memory section (default 1000)',
  'target-loads': 'offered ops/s for the targets section (default 1000,10000,100000)',
  delays: 'fixed delays in ms for the delays section (default 1,10,100)',
  'batch-sizes': 'writebatch_max_batch_size values (default 10,100,1000)',
  'ramp-phase': 'seconds per load phase in the ramp section (default 4)',
  threads: 'sysbench thread counts (default 1,16,128,512)',
  workloads: `sysbench workloads, comma list of ${SYSBENCH_WORKLOADS.map((w) => w.key).join(',')} (default all)`,
  'sysbench-db': 'database for the sysbench tables (default sbtest)',
  'orm-connections': 'connections for the orm section (default 128)',
};
const EXTRA_BOOLEANS: Record<string, string> = {
  quick: 'smoke run: 1 s per mode per cell, 1 round, fewer cells and connections (explicit flags win)',
};

function parseSettings(argv: string[]): Settings {
  const isQuick = argv.includes('--quick');
  const args = parseBenchArgs(
    argv,
    isQuick
      ? { durationSeconds: 1, connections: [16, 128], warmupSeconds: 0.3, rounds: 1 }
      : { durationSeconds: 10, connections: [1, 16, 64, 128], warmupSeconds: 1, rounds: 2 },
    EXTRA_FLAGS,
    EXTRA_BOOLEANS,
  );
  if (args.proxy !== undefined) throw new BenchArgError('--proxy is not supported: every mode needs a proxy started with its own batching config');
  const extra = args.extra;
  const sections = new Set(pickNamed('sections', extra.sections, SECTIONS, (section) => section));
  const pickedWorkloads = pickNamed('workloads', extra.workloads, SYSBENCH_WORKLOADS, (w) => w.key);
  const sysbenchDatabase = extra['sysbench-db'] ?? 'sbtest';
  if (!/^\w+$/.test(sysbenchDatabase)) throw new BenchArgError(`--sysbench-db must be a plain identifier, got ${JSON.stringify(sysbenchDatabase)}`);
  return {
    args,
    isQuick,
    sections,
    focusConnections: positiveInteger('focus-connections', extra['focus-connections'], 64),
    manyConnections: positiveInteger('many-connections', extra['many-connections'], isQuick ? 250 : 1000),
    queuedWrites: positiveInteger('queued-writes', extra['queued-writes'], isQuick ? 250 : 1000),
    targetLoads: integerList('target-loads', extra['target-loads'], [1000, 10_000, 100_000]),
    delaysMs: integerList('delays', extra.delays, [1, 10, 100]),
    batchSizes: integerList('batch-sizes', extra['batch-sizes'], [10, 100, 1000]),
    rampPhaseSeconds: positiveNumber('ramp-phase', extra['ramp-phase'], isQuick ? 1.5 : 4),
    sysbenchThreads: integerList('threads', extra.threads, isQuick ? [1, 16, 128] : [1, 16, 128, 512]),
    // In SYSBENCH_WORKLOADS order whatever the flag's order: the layouts stay grouped.
    sysbenchWorkloads: SYSBENCH_WORKLOADS.filter((w) => pickedWorkloads.includes(w)),
    sysbenchDatabase,
    ormConnections: integerList('orm-connections', extra['orm-connections'], [128]),
  };
}

/** The entries of `known` named in a comma list (all of them when the flag is absent). */
function pickNamed<T>(flag: string, text: string | undefined, known: readonly T[], nameOf: (item: T) => string): T[] {
  if (text === undefined) return [...known];
  return text.split(',').map((part) => {
    const name = part.trim();
    const item = known.find((candidate) => nameOf(candidate) === name);
    if (item === undefined) throw new BenchArgError(`--${flag}: unknown name ${JSON.stringify(name)} (known: ${known.map(nameOf).join(', ')})`);
    return item;
  });
}

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new BenchArgError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new BenchArgError(`--${name} must be a positive number, got ${JSON.stringify(text)}`);
  return value;
}

function integerList(name: string, text: string | undefined, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  const list = text.split(',').map((part) => Number(part.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new BenchArgError(`--${name} must be a comma list of positive integers, got ${JSON.stringify(text)}`);
  }
  return list;
}

/** Rough wall time of a run: measured and warm-up slots plus fixed costs per section. */
function estimateSeconds(settings: Settings): number {
  const { args, sections } = settings;
  const cell = (modes: number): number => modes * (args.warmupSeconds + args.durationSeconds + 0.3);
  let seconds = 0;
  if (sections.has('main')) seconds += 3 * args.connections.length * cell(6);
  if (sections.has('targets')) seconds += settings.targetLoads.length * cell(2);
  if (sections.has('delays')) seconds += cell(1 + settings.delaysMs.length);
  if (sections.has('ramp')) seconds += 10 * settings.rampPhaseSeconds + 2;
  if (sections.has('many')) seconds += cell(2) + 10;
  if (sections.has('batchsize')) seconds += cell(1 + settings.batchSizes.length);
  if (sections.has('memory')) seconds += MEMORY_ROUNDS * 6 + 10;
  if (sections.has('single')) seconds += cell(3);
  if (sections.has('orm')) seconds += 2 * settings.ormConnections.length * cell(2);
  if (sections.has('sysbench')) {
    // sysbench runs whole seconds, and starting its threads costs about a second per run.
    const run = (seconds: number): number => Math.max(1, Math.round(seconds)) + 1.5;
    const modes = (threads: number): number => (threads === 1 ? 3 : 2);
    const slots = settings.sysbenchThreads.reduce((sum, threads) => sum + modes(threads), 0) * settings.sysbenchWorkloads.length;
    const perSlot = (args.warmupSeconds > 0 ? run(args.warmupSeconds) : 0) + args.rounds * run(args.durationSeconds / args.rounds);
    seconds += slots * (perSlot + 0.5) + 20;
  }
  return seconds;
}

/**
 * The share of one core `pid` uses over a second in which the bench sends
 * nothing: other clients of a shared server show up here, and their work
 * would be counted in the database CPU per write.
 */
async function idleCpuShare(pid: number): Promise<number> {
  const before = processCpuSeconds(pid);
  const startedAt = performance.now();
  await Bun.sleep(1000);
  return (processCpuSeconds(pid) - before) / ((performance.now() - startedAt) / 1000);
}

/** Everything a section needs. */
interface Context {
  settings: Settings;
  direct: Target;
  dbPid: number;
  /** A direct connection for set-up statements (truncate, max_connections). */
  admin: Connection;
}

/** `--protocol postgres` selects the PostgreSQL bench, which has its own workloads and no sections. */
function isPostgresRun(argv: readonly string[]): boolean {
  return argv.some((arg, i) => arg === '--protocol=postgres' || (arg === '--protocol' && argv[i + 1] === 'postgres'));
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (isPostgresRun(argv)) {
    let args: BenchArgs;
    try {
      args = parseBenchArgs(argv, { durationSeconds: 10, connections: [16, 128], warmupSeconds: 1, rounds: 2 });
    } catch (error) {
      if (error instanceof BenchArgError) {
        console.error(error.message);
        return 2;
      }
      throw error;
    }
    if (args.proxy !== undefined) {
      console.error('--proxy is not supported: every mode needs a proxy started with its own batching config');
      return 2;
    }
    if (args.isJson) log = (line) => process.stderr.write(`${line}\n`);
    return runPostgresWriteBatchBench(args, log);
  }
  let settings: Settings;
  try {
    settings = parseSettings(argv);
  } catch (error) {
    if (error instanceof BenchArgError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const { args } = settings;
  // With --json the document owns stdout; progress and the tables go to stderr.
  if (args.isJson) log = (line) => process.stderr.write(`${line}\n`);

  const onSignal = (): void => {
    void runCleanups().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const direct: Target = { host: args.direct.host, port: args.direct.port, proxy: undefined, metricsUrl: undefined };
  // No database yet: prepareDatabase creates the bench database, then selects it.
  const admin = await connectDirect(args.direct, undefined, true);
  deferCleanup(async () => {
    await admin.end().catch(() => admin.destroy());
  });
  const mariadbVersion = await prepareDatabase(admin, Math.max(...args.connections));
  const dbPid = findPid('mariadbd', args.direct.port);
  const ctx: Context = { settings, direct, dbPid, admin };
  log(
    `bench:writebatch — sections ${[...settings.sections].join(', ')}; ${args.durationSeconds} s per mode per cell over ${args.rounds} round(s), ` +
      `warm-up ${args.warmupSeconds} s; connections ${args.connections.join(',')}` +
      (settings.sections.has('sysbench') ? `; sysbench threads ${settings.sysbenchThreads.join(',')} (${settings.sysbenchWorkloads.map((w) => w.key).join(',')})` : '') +
      (settings.sections.has('orm') ? `; orm connections ${settings.ormConnections.join(',')}` : '') +
      `; mariadbd pid ${dbPid} (${mariadbVersion})${settings.isQuick ? '; QUICK smoke run' : ''}`,
  );

  log(`estimated time ≈ ${Math.ceil(estimateSeconds(settings) / 60)} min`);
  const idleDbCpuShare = await idleCpuShare(dbPid);
  log(`mariadbd CPU while the bench is idle: ${(idleDbCpuShare * 100).toFixed(1)}% of a core`);
  if (idleDbCpuShare > 0.05) {
    log('warning: the database is busy with other work; "db µs/w" counts all of mariadbd and will be inflated, and ratios will be noisy');
  }

  const startedAt = new Date();
  const results: Record<string, unknown> = {};
  const checks: Check[] = [];
  let chartPath: string | undefined;
  let rampChartPath: string | undefined;
  let allRows: Row[] = [];
  let sysbenchRows: SysbenchRow[] | undefined;
  let ormRows: Row[] | undefined;
  const failedSections: string[] = [];
  /** Runs one section; a failure is logged and recorded, and the next section still runs. */
  const runSection = async (section: Section, body: () => Promise<void>): Promise<void> => {
    if (!settings.sections.has(section)) return;
    try {
      await body();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failedSections.push(section);
      results[section] = { error: message };
      log(`\nsection ${section} FAILED: ${message}`);
    }
  };
  try {
    const restore = await raiseMaxConnections(ctx, requiredConnections(settings));
    await runSection('main', async () => {
      const rows = await runMainSection(ctx);
      results.main = rows;
      allRows = allRows.concat(rows);
      checks.push(...mainChecks(rows, args.connections));
    });
    await runSection('targets', async () => {
      const rows = await runTargetsSection(ctx);
      results.targets = rows;
      allRows = allRows.concat(rows);
    });
    await runSection('delays', async () => {
      const rows = await runDelaysSection(ctx);
      results.delays = rows;
      allRows = allRows.concat(rows);
      chartPath = writeDelayChart(rows, settings, startedAt);
      log(`chart: ${chartPath}`);
    });
    await runSection('ramp', async () => {
      const ramp = await runRampSection(ctx);
      results.ramp = ramp;
      rampChartPath = writeRampChart(ramp, startedAt);
      log(`chart: ${rampChartPath}`);
    });
    await runSection('many', async () => {
      const rows = await runManySection(ctx);
      results.many = rows;
      allRows = allRows.concat(rows);
    });
    await runSection('batchsize', async () => {
      const rows = await runBatchSizeSection(ctx);
      results.batchsize = rows;
      allRows = allRows.concat(rows);
    });
    await runSection('memory', async () => {
      const memory = await runMemorySection(ctx);
      results.memory = memory;
      const limit = 1024 + memory.statementBytes;
      const target = `≤ 1024 + statement (${memory.statementBytes}) = ${limit}`;
      checks.push(
        { name: 'proxy RSS per queued write (B)', value: memory.bytesPerWrite, target, isPassed: memory.bytesPerWrite <= limit },
        { name: 'proxy JS heap per queued write (B)', value: memory.heapBytesPerWrite, target, isPassed: memory.heapBytesPerWrite <= limit },
      );
    });
    await runSection('single', async () => {
      const single = await runSingleSection(ctx);
      results.single = single;
      allRows = allRows.concat(single.rows);
      checks.push({
        name: 'single writer: p50 on − off (ms)',
        value: single.p50DeltaMs,
        target: '≤ 0.2',
        isPassed: single.p50DeltaMs <= 0.2,
      });
    });
    await runSection('sysbench', async () => {
      sysbenchRows = await runSysbenchSection(ctx);
      results.sysbench = sysbenchRows;
    });
    await runSection('orm', async () => {
      ormRows = await runOrmSection(ctx);
      results.orm = ormRows;
      allRows = allRows.concat(ormRows);
    });
    await restore();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await runCleanups();
  }

  const issue8 = sysbenchRows === undefined && ormRows === undefined ? [] : issue8Checks(sysbenchRows, ormRows);
  for (const [issue, list] of [['#4', checks], ['#8', issue8]] as const) {
    if (list.length === 0) continue;
    log(`\n== Must show (issue ${issue}) ==`);
    log(renderChecks(list));
    if (settings.isQuick) log('(a --quick run is a smoke test: its figures are too short to judge the checks)');
  }
  const errorRows = allRows.filter((row) => row.errors > 0);
  for (const row of errorRows) log(`errors: ${row.section} ${row.workload} ×${row.connections} ${row.mode}: ${row.errors} (${row.firstError})`);
  const sysbenchErrorRows = (sysbenchRows ?? []).filter((row) => row.errors > 0);
  for (const row of sysbenchErrorRows) {
    log(`errors: sysbench ${row.workload} ×${row.threads} ${row.mode}: ${row.errors}${row.failure === undefined ? ' (ignored by sysbench: deadlocks, lock waits, reconnects)' : ` (${row.failure})`}`);
  }

  const document = {
    bench: 'writebatch',
    startedAt: startedAt.toISOString(),
    machine: machineInfo({ mariadb: mariadbVersion }),
    // mariadbd CPU (share of a core) in an idle second before the run: other load on a shared server.
    idleDbCpuShare,
    args: {
      durationSeconds: args.durationSeconds,
      connections: args.connections,
      warmupSeconds: args.warmupSeconds,
      rounds: args.rounds,
      direct: `${args.direct.host}:${args.direct.port}`,
      isQuick: settings.isQuick,
      sections: [...settings.sections],
      focusConnections: settings.focusConnections,
      manyConnections: settings.manyConnections,
      queuedWrites: settings.queuedWrites,
      targetLoads: settings.targetLoads,
      delaysMs: settings.delaysMs,
      batchSizes: settings.batchSizes,
      rampPhaseSeconds: settings.rampPhaseSeconds,
      sysbenchThreads: settings.sysbenchThreads,
      sysbenchWorkloads: settings.sysbenchWorkloads.map((w) => w.key),
      sysbenchDatabase: settings.sysbenchDatabase,
      ormConnections: settings.ormConnections,
    },
    sections: results,
    failedSections,
    checks,
    issue8Checks: issue8,
    charts: { delays: chartPath, ramp: rampChartPath },
  };
  const path = writeResults('writebatch', document, startedAt);
  log(`\nresults: ${path}`);
  if (args.isJson) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  if (failedSections.length > 0) log(`failed sections: ${failedSections.join(', ')}`);
  return errorRows.length > 0 || sysbenchErrorRows.length > 0 || failedSections.length > 0 ? 1 : 0;
}

// ---------------------------------------------------------------- sections

async function runMainSection(ctx: Context): Promise<Row[]> {
  const { args } = ctx.settings;
  log('\n== 1. Main: single-row autocommit writes, direct vs proxy modes ==');
  const off = await startTarget(ctx, 'batching off', {});
  const adaptive = await startTarget(ctx, 'batched adaptive', { writebatch_enabled: 'true' });
  try {
    const modes: ModeSpec[] = [
      { name: 'direct', target: ctx.direct, prefix: '' },
      { name: 'proxy off', target: off.target, prefix: '' },
      { name: 'adaptive', target: adaptive.target, prefix: '' },
      { name: 'batch:1', target: off.target, prefix: '/* batch:1 */ ' },
      { name: 'batch:10', target: off.target, prefix: '/* batch:10 */ ' },
      { name: 'batch:100', target: off.target, prefix: '/* batch:100 */ ' },
    ];
    return await runWorkloads(ctx, 'main', ['insert', 'update', 'prepared'], args.connections, modes, async (kind) => {
      if (kind !== 'update') await ctx.admin.query(`TRUNCATE TABLE ${INSERT_TABLE}`);
    });
  } finally {
    await off.stop();
    await adaptive.stop();
  }
}

/** Each workload at each connection count, a table per workload; `beforeWorkload` resets its data. */
async function runWorkloads(
  ctx: Context,
  section: string,
  kinds: readonly WorkloadKind[],
  connectionList: number[],
  modes: ModeSpec[],
  beforeWorkload: (kind: WorkloadKind) => Promise<void>,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const kind of kinds) {
    await beforeWorkload(kind);
    const workloadRows: Row[] = [];
    for (const connections of connectionList) {
      workloadRows.push(...(await runCell(ctx, { section, kind, connections, modes })));
    }
    log('');
    log(`-- ${WORKLOAD_NAMES[kind]} --`);
    log(renderTable(MAIN_COLUMNS, workloadRows.map(mainTableRow)));
    rows.push(...workloadRows);
  }
  return rows;
}

async function runTargetsSection(ctx: Context): Promise<Row[]> {
  const connections = ctx.settings.focusConnections;
  log(`\n== 2. Offered load (paced), INSERT, ${connections} connections ==`);
  await ctx.admin.query(`TRUNCATE TABLE ${INSERT_TABLE}`);
  const batched = await startTarget(ctx, 'batched adaptive', { writebatch_enabled: 'true' });
  const rows: Row[] = [];
  try {
    const modes: ModeSpec[] = [
      { name: 'direct', target: ctx.direct, prefix: '' },
      { name: 'adaptive', target: batched.target, prefix: '' },
    ];
    for (const targetOps of ctx.settings.targetLoads) {
      rows.push(...(await runCell(ctx, { section: 'targets', kind: 'insert', connections, modes, targetOps })));
    }
  } finally {
    await batched.stop();
  }
  log('');
  log(renderTable(TARGET_COLUMNS, rows.map(targetTableRow)));
  return rows;
}

async function runDelaysSection(ctx: Context): Promise<Row[]> {
  const connections = ctx.settings.focusConnections;
  log(`\n== 3. Fixed delay (min = initial = max), INSERT, ${connections} connections ==`);
  await ctx.admin.query(`TRUNCATE TABLE ${INSERT_TABLE}`);
  const started: StartedTarget[] = [];
  try {
    const modes: ModeSpec[] = [{ name: 'direct', target: ctx.direct, prefix: '' }];
    for (const delayMs of ctx.settings.delaysMs) {
      const proxy = await startTarget(ctx, `delay ${delayMs} ms`, {
        writebatch_enabled: 'true',
        writebatch_min_delay_ms: String(delayMs),
        writebatch_initial_delay_ms: String(delayMs),
        writebatch_max_delay_ms: String(delayMs),
      });
      started.push(proxy);
      modes.push({ name: `delay ${delayMs} ms`, target: proxy.target, prefix: '' });
    }
    const rows = await runCell(ctx, { section: 'delays', kind: 'insert', connections, modes });
    log('');
    log(renderTable(MAIN_COLUMNS, rows.map(mainTableRow)));
    return rows;
  } finally {
    for (const proxy of started) await proxy.stop();
  }
}

interface RampPhase {
  /** Offered ops/s; null: closed loop (as fast as it goes); 0: idle. */
  opsPerSecond: number | null;
}

interface RampSample {
  seconds: number;
  phase: string;
  /** Batched writes per second since the previous sample (from tqdbproxy_write_batched_total). */
  batchedPerSecond: number;
  delayMs: number;
  /** The proxy's own measure for its last interval (tqdbproxy_write_ops_per_second). */
  proxyOpsPerSecond: number;
  queued: number;
}

interface RampResult {
  connections: number;
  phaseSeconds: number;
  config: Record<string, string>;
  phases: Array<{ phase: string; ops: number; errors: number; opsPerSecond: number }>;
  samples: RampSample[];
}

async function runRampSection(ctx: Context): Promise<RampResult> {
  const { focusConnections: connections, rampPhaseSeconds: phaseSeconds } = ctx.settings;
  // A 1 s interval and the default threshold make the delay move within seconds.
  const config: Record<string, string> = {
    writebatch_enabled: 'true',
    writebatch_metrics_interval: '1',
    writebatch_write_threshold: '1000',
    writebatch_adaptive_step: '1.5',
    writebatch_min_delay_ms: '1',
    writebatch_initial_delay_ms: '10',
    writebatch_max_delay_ms: '100',
  };
  log(
    `\n== 4. Adaptive delay under a ramp, INSERT, ${connections} connections, ${phaseSeconds} s per phase ` +
      `(interval 1 s, threshold 1000 ops/s: up above it, down below 500) ==`,
  );
  const phases: RampPhase[] = [250, 750, 3000, null, null, 3000, 750, 250, 0, 0].map((opsPerSecond) => ({ opsPerSecond }));
  const proxy = await startTarget(ctx, 'ramp', config);
  const url = proxy.target.metricsUrl;
  if (url === undefined) throw new Error('the ramp proxy has no metrics address');
  const samples: RampSample[] = [];
  const phaseResults: RampResult['phases'] = [];
  let currentPhase = 'start';
  let isSampling = true;
  const origin = performance.now();
  const sampling = (async () => {
    let previous = await scrapeMetrics(url);
    let previousAt = performance.now();
    while (isSampling) {
      await Bun.sleep(500);
      const now = performance.now();
      const snapshot = await scrapeMetrics(url);
      samples.push({
        seconds: (now - origin) / 1000,
        phase: currentPhase,
        batchedPerSecond: (metricDelta(previous, snapshot, 'tqdbproxy_write_batched_total', MEASURED) * 1000) / (now - previousAt),
        delayMs: snapshot.value('tqdbproxy_write_current_delay_ms', MEASURED),
        proxyOpsPerSecond: snapshot.value('tqdbproxy_write_ops_per_second', MEASURED),
        queued: snapshot.value('tqdbproxy_write_queued', MEASURED),
      });
      previous = snapshot;
      previousAt = now;
    }
  })();
  try {
    await ctx.admin.query(`TRUNCATE TABLE ${INSERT_TABLE}`);
    const op = buildOperation('insert', '');
    for (const phase of phases) {
      currentPhase = phase.opsPerSecond === null ? 'max' : phase.opsPerSecond === 0 ? 'idle' : `${phase.opsPerSecond}/s`;
      if (phase.opsPerSecond === 0) {
        await Bun.sleep(phaseSeconds * 1000);
        phaseResults.push({ phase: currentPhase, ops: 0, errors: 0, opsPerSecond: 0 });
        continue;
      }
      const loop = await runClosedLoop({
        host: proxy.target.host,
        port: proxy.target.port,
        connections,
        durationSeconds: phaseSeconds,
        connectOptions: { database: DATABASE },
        operation: op.operation,
        ...(phase.opsPerSecond === null ? {} : { intervalMs: (connections * 1000) / phase.opsPerSecond }),
      });
      phaseResults.push({ phase: currentPhase, ops: loop.ops, errors: loop.errors, opsPerSecond: loop.qps });
      log(`  phase ${currentPhase.padEnd(6)} ${fmtInt(loop.qps)} ops/s${loop.errors > 0 ? `, ${loop.errors} errors (${loop.firstError})` : ''}`);
    }
  } finally {
    isSampling = false;
    await sampling.catch(() => undefined);
    await proxy.stop();
  }
  log('');
  log(
    renderTable(
      [{ header: 't s', decimals: 1 }, { header: 'phase', align: 'left' }, { header: 'batched ops/s' }, { header: 'delay ms', decimals: 2 }, { header: 'proxy ops/s (last interval)' }, { header: 'queued' }],
      samples.map((s) => [s.seconds, s.phase, Math.round(s.batchedPerSecond), s.delayMs, Math.round(s.proxyOpsPerSecond), s.queued]),
    ),
  );
  return { connections, phaseSeconds, config, phases: phaseResults, samples };
}

async function runManySection(ctx: Context): Promise<Row[]> {
  const connections = ctx.settings.manyConnections;
  log(`\n== 5. ${connections} concurrent connections, INSERT ==`);
  await ctx.admin.query(`TRUNCATE TABLE ${INSERT_TABLE}`);
  const batched = await startTarget(ctx, 'batched adaptive', { writebatch_enabled: 'true' });
  try {
    const modes: ModeSpec[] = [
      { name: 'direct', target: ctx.direct, prefix: '' },
      { name: 'adaptive', target: batched.target, prefix: '' },
    ];
    const rows = await runCell(ctx, { section: 'many', kind: 'insert', connections, modes });
    log('');
    log(renderTable(MAIN_COLUMNS, rows.map(mainTableRow)));
    return rows;
  } finally {
    await batched.stop();
  }
}

async function runBatchSizeSection(ctx: Context): Promise<Row[]> {
  const connections = Math.max(...ctx.settings.args.connections);
  log(`\n== 6. writebatch_max_batch_size, INSERT, ${connections} connections ==`);
  await ctx.admin.query(`TRUNCATE TABLE ${INSERT_TABLE}`);
  const started: StartedTarget[] = [];
  try {
    const modes: ModeSpec[] = [{ name: 'direct', target: ctx.direct, prefix: '' }];
    for (const size of ctx.settings.batchSizes) {
      const proxy = await startTarget(ctx, `max batch ${size}`, { writebatch_enabled: 'true', writebatch_max_batch_size: String(size) });
      started.push(proxy);
      modes.push({ name: `max batch ${size}`, target: proxy.target, prefix: '' });
    }
    const rows = await runCell(ctx, { section: 'batchsize', kind: 'insert', connections, modes });
    log('');
    log(renderTable(MAIN_COLUMNS, rows.map(mainTableRow)));
    return rows;
  } finally {
    for (const proxy of started) await proxy.stop();
  }
}

interface MemoryRound {
  queued: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  rssBytesPerWrite: number;
  heapBytesPerWrite: number;
  errors: number;
  firstError: string | undefined;
}

interface MemoryResult {
  connections: number;
  statementBytes: number;
  rounds: MemoryRound[];
  /** Median RSS growth per queued write over the rounds. */
  bytesPerWrite: number;
  /** Median JS heap growth per queued write over the rounds (garbage not yet collected included). */
  heapBytesPerWrite: number;
}

/**
 * N client connections, each with one write queued behind a batch that is
 * stuck on a table lock: the proxy's RSS (and JS heap) before and after the
 * N writes are queued, divided by N. Connections are opened and warmed
 * before the first reading, so only the queued writes are counted.
 */
async function runMemorySection(ctx: Context): Promise<MemoryResult> {
  const count = ctx.settings.queuedWrites;
  log(`\n== 7. Memory per queued write: ${count} writes queued behind LOCK TABLES ${QUEUED_TABLE} WRITE ==`);
  const proxy = await startTarget(ctx, 'memory', {
    writebatch_enabled: 'true',
    writebatch_min_delay_ms: String(LONGEST_DELAY_MS),
    writebatch_initial_delay_ms: String(LONGEST_DELAY_MS),
    writebatch_max_delay_ms: String(LONGEST_DELAY_MS),
    writebatch_max_batch_size: '100000',
    writebatch_timeout_ms: '300000',
  });
  const conns: Connection[] = [];
  let locker: Connection | undefined;
  try {
    const pid = proxy.target.proxy?.pid;
    const url = proxy.target.metricsUrl;
    if (pid === undefined || url === undefined) throw new Error('the memory proxy has no pid or metrics address');
    await ctx.admin.query(`TRUNCATE TABLE ${QUEUED_TABLE}`);
    // A fixed-width value keeps every statement the same size.
    const statementFor = (i: number): string => `/* batch:${LONGEST_DELAY_MS} */ INSERT INTO ${QUEUED_TABLE} (v) VALUES (${1_000_000_000 + i})`;
    const statementBytes = Buffer.byteLength(statementFor(0));
    for (let first = 0; first < count; first += 32) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(32, count - first) }, () => connectDirect({ host: proxy.target.host, port: proxy.target.port }, DATABASE, false)),
      );
      conns.push(...batch);
    }
    // Warm every session (and the table's multi-row INSERT path) before the baseline.
    await Promise.all(conns.map((conn, i) => conn.query(statementFor(i))));
    locker = await connectDirect(ctx.settings.args.direct, DATABASE, false);
    const rounds: MemoryRound[] = [];
    for (let round = 1; round <= MEMORY_ROUNDS; round++) {
      const { rssBytes: rssBefore, heapBytes: heapBefore } = await settledMemory(pid, url);
      await locker.query(`LOCK TABLES ${QUEUED_TABLE} WRITE`);
      let errors = 0;
      let firstError: string | undefined;
      const pending = conns.map((conn, i) =>
        conn.query(statementFor(round * count + i)).catch((error: unknown) => {
          errors++;
          firstError ??= error instanceof Error ? error.message : String(error);
        }),
      );
      // One batch is sent at once and blocks on the lock; every other write queues behind it.
      const queued = await waitForQueued(url, count - 1, 30_000);
      const { rssBytes: rssAfter, heapBytes: heapAfter } = await settledMemory(pid, url);
      await locker.query('UNLOCK TABLES');
      await Promise.all(pending);
      const result: MemoryRound = {
        queued,
        rssBeforeBytes: rssBefore,
        rssAfterBytes: rssAfter,
        heapBeforeBytes: heapBefore,
        heapAfterBytes: heapAfter,
        rssBytesPerWrite: (rssAfter - rssBefore) / queued,
        heapBytesPerWrite: (heapAfter - heapBefore) / queued,
        errors,
        firstError,
      };
      rounds.push(result);
      log(
        `  round ${round}: ${queued} queued; RSS +${fmtInt(rssAfter - rssBefore)} B (${fmtInt(result.rssBytesPerWrite)} B/write), ` +
          `JS heap +${fmtInt(heapAfter - heapBefore)} B (${fmtInt(result.heapBytesPerWrite)} B/write)${errors > 0 ? `; ${errors} errors (${firstError})` : ''}`,
      );
    }
    const bytesPerWrite = median(rounds.map((r) => r.rssBytesPerWrite));
    const heapBytesPerWrite = median(rounds.map((r) => r.heapBytesPerWrite));
    log(
      `  statement ${statementBytes} B; median growth per queued write: RSS ${fmtInt(bytesPerWrite)} B, ` +
        `JS heap ${fmtInt(heapBytesPerWrite)} B (target ≤ 1024 + statement)`,
    );
    return { connections: count, statementBytes, rounds, bytesPerWrite, heapBytesPerWrite };
  } finally {
    if (locker !== undefined) {
      await locker.query('UNLOCK TABLES').catch(() => undefined);
      await locker.end().catch(() => locker?.destroy());
    }
    await Promise.all(conns.map((conn) => conn.end().catch(() => conn.destroy())));
    await proxy.stop();
  }
}

/**
 * The proxy's RSS once it has stopped moving: garbage from the previous step
 * is collected at the runtime's leisure and swings RSS by a megabyte or so,
 * which at a thousand writes would swamp the figure. Polls every 500 ms until
 * two readings are within 32 KiB (at most 8 s). The JS heap comes from the
 * proxy's `nodejs_heap_size_used_bytes`.
 */
async function settledMemory(pid: number, url: string): Promise<{ rssBytes: number; heapBytes: number }> {
  let previous = processRssBytes(pid);
  for (let i = 0; i < 16; i++) {
    await Bun.sleep(500);
    const current = processRssBytes(pid);
    const isSettled = Math.abs(current - previous) < 32 * 1024;
    previous = current;
    if (isSettled) break;
  }
  return { rssBytes: previous, heapBytes: (await scrapeMetrics(url)).value('nodejs_heap_size_used_bytes') };
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Polls `tqdbproxy_write_queued` until it reaches `count`; returns the value reached. */
async function waitForQueued(url: string, count: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let queued = 0;
  while (performance.now() < deadline) {
    queued = (await scrapeMetrics(url)).value('tqdbproxy_write_queued', MEASURED);
    if (queued >= count) return queued;
    await Bun.sleep(50);
  }
  throw new Error(`only ${queued} of ${count} writes were queued after ${timeoutMs} ms`);
}

interface SingleResult {
  rows: Row[];
  /** p50 with batching on minus p50 with batching off. */
  p50DeltaMs: number;
}

async function runSingleSection(ctx: Context): Promise<SingleResult> {
  log('\n== 8. One sequential writer, INSERT: batching off vs on ==');
  await ctx.admin.query(`TRUNCATE TABLE ${INSERT_TABLE}`);
  const off = await startTarget(ctx, 'batching off', {});
  const on = await startTarget(ctx, 'batching on', { writebatch_enabled: 'true' });
  try {
    const modes: ModeSpec[] = [
      { name: 'direct', target: ctx.direct, prefix: '' },
      { name: 'proxy off', target: off.target, prefix: '' },
      { name: 'proxy on', target: on.target, prefix: '' },
    ];
    const rows = await runCell(ctx, { section: 'single', kind: 'insert', connections: 1, modes });
    const offRow = rows.find((row) => row.mode === 'proxy off');
    const onRow = rows.find((row) => row.mode === 'proxy on');
    const p50DeltaMs = (onRow?.p50Ms ?? Number.NaN) - (offRow?.p50Ms ?? Number.NaN);
    log('');
    log(renderTable(MAIN_COLUMNS, rows.map(mainTableRow)));
    log(`  p50 on − off: ${p50DeltaMs.toFixed(3)} ms (target ≤ 0.2 ms)`);
    return { rows, p50DeltaMs };
  } finally {
    await off.stop();
    await on.stop();
  }
}

async function runOrmSection(ctx: Context): Promise<Row[]> {
  log(`\n== 10. ORM-shaped INSERT (id named, NULL), mysql2 text and prepared, direct vs batched ==`);
  const batched = await startTarget(ctx, 'batched adaptive', { writebatch_enabled: 'true' });
  try {
    const modes: ModeSpec[] = [
      { name: 'direct', target: ctx.direct, prefix: '' },
      { name: 'adaptive', target: batched.target, prefix: '' },
    ];
    return await runWorkloads(ctx, 'orm', ['orm_text', 'orm_prepared'], ctx.settings.ormConnections, modes, async () => {
      await ctx.admin.query(`TRUNCATE TABLE ${ORM_TABLE}`);
    });
  } finally {
    await batched.stop();
  }
}

// ---------------------------------------------------------------- sysbench

type SysbenchModeName = 'direct' | 'batched' | 'relay';

/** Where one sysbench mode connects, and the process whose CPU is the hop's (none for direct). */
interface SysbenchMode {
  name: SysbenchModeName;
  host: string;
  port: number;
  hopPid: number | undefined;
  metricsUrl: string | undefined;
}

interface SysbenchSlotResult {
  slot: SysbenchSlot;
  dbCpuSeconds: number;
  hopCpuSeconds: number | undefined;
  counters: BatchCounters;
}

/**
 * `opsPerSecond` is sysbench events (one write each in these workloads) per
 * second over the slots that completed; `errors` counts statements that
 * failed fatally plus errors sysbench ignored (deadlocks) and reconnects.
 */
interface SysbenchRow extends CellFigures {
  workload: string;
  threads: number;
  mode: SysbenchModeName;
  writes: number;
  /** The first failed slot's error text; its figures are left out of the row. */
  failure: string | undefined;
  failedSlots: number;
  /** Writes sent straight through, by reason. */
  excluded: Record<string, number>;
  /** ops/s over the bare relay's in the same cell (1-thread cells). */
  ratioToRelay: number | undefined;
}

async function runSysbenchSection(ctx: Context): Promise<SysbenchRow[]> {
  if (!sysbenchAvailable()) throw new Error('sysbench is not installed (apt-get install -y sysbench)');
  const { sysbenchThreads, sysbenchWorkloads, sysbenchDatabase } = ctx.settings;
  log(
    `\n== 9. sysbench (libmariadb), direct vs batched adaptive, threads ${sysbenchThreads.join(',')}; ` +
      `--tables=${SYSBENCH_TABLES} --table-size=${SYSBENCH_TABLE_SIZE} in ${sysbenchDatabase} ==`,
  );
  // The proxy holds two sockets per client; sysbench one per thread.
  const maxThreads = Math.max(...sysbenchThreads);
  const proxyFiles = 2 * maxThreads + 256;
  const fileLimit = openFileLimit();
  const batched = await startTarget(ctx, 'batched adaptive', { writebatch_enabled: 'true' });
  const relay = sysbenchThreads.includes(1) ? await startBareRelay(ctx.settings.args.direct) : undefined;
  const stopRelay = relay === undefined ? undefined : deferCleanup(async () => relay.stop());
  if (relay !== undefined) log(`  bare relay: ${relay.host}:${relay.port} pid ${relay.pid} (bench/lib/bare-relay.ts)`);
  const rows: SysbenchRow[] = [];
  let layout: SysbenchLayout | undefined;
  try {
    const batchedPid = batched.target.proxy?.pid;
    if (fileLimit < proxyFiles && batchedPid !== undefined) {
      raiseFileLimit(batchedPid, proxyFiles);
      log(`  open-file limit ${fileLimit} < ${proxyFiles} needed: raised to ${proxyFiles} for the proxy (prlimit), and for sysbench`);
    }
    const modes: SysbenchMode[] = [
      { name: 'direct', host: ctx.direct.host, port: ctx.direct.port, hopPid: undefined, metricsUrl: undefined },
      { name: 'batched', host: batched.target.host, port: batched.target.port, hopPid: batchedPid, metricsUrl: batched.target.metricsUrl },
    ];
    await ctx.admin.query(`CREATE DATABASE IF NOT EXISTS ${sysbenchDatabase}`);
    for (const workload of sysbenchWorkloads) {
      if (layout !== workload.layout) {
        layout = workload.layout;
        await prepareSysbenchTables(ctx, layout);
      }
      const workloadRows: SysbenchRow[] = [];
      for (const threads of sysbenchThreads) {
        const cellModes = threads === 1 && relay !== undefined ? [...modes, { name: 'relay' as const, host: relay.host, port: relay.port, hopPid: relay.pid, metricsUrl: undefined }] : modes;
        workloadRows.push(...(await runSysbenchCell(ctx, workload, threads, cellModes)));
      }
      log('');
      log(`-- sysbench ${workload.name} --`);
      log(renderTable(SYSBENCH_COLUMNS, workloadRows.map(sysbenchTableRow)));
      for (const row of workloadRows.filter((r) => r.failure !== undefined)) {
        log(`  FAILED ×${row.threads} ${row.mode}: ${row.failedSlots} slot(s): ${row.failure}`);
      }
      rows.push(...workloadRows);
    }
  } finally {
    await batched.stop();
    await stopRelay?.();
    if (layout !== undefined) await dropSysbenchTables(ctx, layout).catch((error: unknown) => log(`  sysbench cleanup failed: ${String(error)}`));
  }
  return rows;
}

function sysbenchOptions(ctx: Context, target: { host: string; port: number }, threads: number, extraArgs: string[]): SysbenchOptions {
  return {
    host: target.host,
    port: target.port,
    database: ctx.settings.sysbenchDatabase,
    tables: SYSBENCH_TABLES,
    tableSize: SYSBENCH_TABLE_SIZE,
    threads,
    percentile: 99,
    isHistogram: true,
    extraArgs,
  };
}

/** Fresh sysbench tables for `layout` (through sysbench's own prepare, direct), and seed copies to restore from. */
async function prepareSysbenchTables(ctx: Context, layout: SysbenchLayout): Promise<void> {
  const startedAt = performance.now();
  // One prepare thread per table: sysbench fills them in parallel.
  const options = sysbenchOptions(ctx, ctx.direct, SYSBENCH_TABLES, layout === 'explicit' ? ['--auto_inc=off'] : []);
  await sysbenchPrepare('oltp_insert', options);
  const db = ctx.settings.sysbenchDatabase;
  for (let i = 1; i <= SYSBENCH_TABLES; i++) {
    await ctx.admin.query(`DROP TABLE IF EXISTS ${db}.${SYSBENCH_SEED_PREFIX}${i}`);
    await ctx.admin.query(`CREATE TABLE ${db}.${SYSBENCH_SEED_PREFIX}${i} LIKE ${db}.sbtest${i}`);
    await ctx.admin.query(`INSERT INTO ${db}.${SYSBENCH_SEED_PREFIX}${i} SELECT * FROM ${db}.sbtest${i}`);
  }
  log(`  prepared sbtest1..${SYSBENCH_TABLES} (${layout === 'explicit' ? 'empty, no AUTO_INCREMENT' : `${SYSBENCH_TABLE_SIZE} rows each`}) in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
}

/** Puts the sysbench tables back as prepared (rows and AUTO_INCREMENT counter). */
async function restoreSysbenchTables(ctx: Context): Promise<void> {
  const db = ctx.settings.sysbenchDatabase;
  for (let i = 1; i <= SYSBENCH_TABLES; i++) {
    await ctx.admin.query(`TRUNCATE TABLE ${db}.sbtest${i}`);
    await ctx.admin.query(`INSERT INTO ${db}.sbtest${i} SELECT * FROM ${db}.${SYSBENCH_SEED_PREFIX}${i}`);
  }
}

async function dropSysbenchTables(ctx: Context, layout: SysbenchLayout): Promise<void> {
  await sysbenchCleanup('oltp_insert', sysbenchOptions(ctx, ctx.direct, 1, layout === 'explicit' ? ['--auto_inc=off'] : []));
  for (let i = 1; i <= SYSBENCH_TABLES; i++) await ctx.admin.query(`DROP TABLE IF EXISTS ${ctx.settings.sysbenchDatabase}.${SYSBENCH_SEED_PREFIX}${i}`);
}

/** Warms every mode, then alternates them for the configured rounds (whole seconds: sysbench's --time). */
async function runSysbenchCell(ctx: Context, workload: SysbenchWorkload, threads: number, modes: SysbenchMode[]): Promise<SysbenchRow[]> {
  const { args } = ctx.settings;
  if (args.warmupSeconds > 0) {
    for (const mode of modes) await measureSysbenchSlot(ctx, workload, mode, threads, Math.max(1, Math.round(args.warmupSeconds)));
  }
  const slotSeconds = Math.max(1, Math.round(args.durationSeconds / args.rounds));
  const results = modes.map((): SysbenchSlotResult[] => []);
  for (let round = 1; round <= args.rounds; round++) {
    for (const [index, mode] of modes.entries()) {
      const result = await measureSysbenchSlot(ctx, workload, mode, threads, slotSeconds);
      results[index].push(result);
      const { summary, failure } = result.slot;
      const figures = summary === undefined ? '' : `${fmtInt(summary.tps)} ops/s${describeSlotBatching(result.counters)}`;
      log(`  ${workload.name} ×${threads} ${mode.name.padEnd(8)} round ${round}/${args.rounds}: ${figures}${failure === undefined ? '' : ` FAILED: ${failure}`}`);
    }
  }
  const rows = modes.map((mode, index) => toSysbenchRow(workload, threads, mode.name, results[index]));
  const direct = rows.find((row) => row.mode === 'direct');
  const relay = rows.find((row) => row.mode === 'relay');
  for (const row of rows) {
    if (direct !== undefined) {
      row.ratioToDirect = ratio(row.opsPerSecond, direct.opsPerSecond);
      row.dbCpuGain = ratio(direct.dbCpuUsPerWrite, row.dbCpuUsPerWrite);
    }
    if (relay !== undefined && row.mode !== 'direct') row.ratioToRelay = ratio(row.opsPerSecond, relay.opsPerSecond);
  }
  return rows;
}

async function measureSysbenchSlot(ctx: Context, workload: SysbenchWorkload, mode: SysbenchMode, threads: number, seconds: number): Promise<SysbenchSlotResult> {
  if (workload.isResetEachSlot) await restoreSysbenchTables(ctx);
  const before = await scrapeIfProxied(mode.metricsUrl);
  const dbCpu = new CpuWindow(ctx.dbPid);
  const hopCpu = mode.hopPid === undefined ? undefined : new CpuWindow(mode.hopPid);
  const slot = await runSysbenchSlot(
    workload.test,
    { ...sysbenchOptions(ctx, mode, threads, workload.extraArgs), timeSeconds: seconds },
    {
      onStart: () => {
        dbCpu.start();
        hopCpu?.start();
      },
      onStop: () => {
        dbCpu.stop();
        hopCpu?.stop();
      },
    },
    fileLimitPrefix(threads + 256),
  );
  const after = await scrapeIfProxied(mode.metricsUrl);
  return { slot, dbCpuSeconds: dbCpu.seconds, hopCpuSeconds: hopCpu?.seconds, counters: batchCountersBetween(before, after, 'mariadb') };
}

/** The completed slots of one mode as one row; failed slots only count in `errors` and `failure`. */
function toSysbenchRow(workload: SysbenchWorkload, threads: number, mode: SysbenchModeName, results: SysbenchSlotResult[]): SysbenchRow {
  const completed = results.flatMap((r) => (r.slot.summary === undefined ? [] : [{ ...r, summary: r.slot.summary }]));
  const sum = (pick: (r: (typeof completed)[number]) => number): number => completed.reduce((total, r) => total + pick(r), 0);
  const events = sum((r) => r.summary.events);
  // sysbench files a write that changed no row under "other" (oltp_delete's skewed ids hit
  // rows already deleted): every non-read statement here is a write sent to the database.
  const writes = sum((r) => r.summary.queries.write + r.summary.queries.other);
  const counters = sumCounters(completed.map((r) => r.counters));
  const { p50Ms, p99Ms } = mergedPercentiles(completed.map((r) => r.summary.histogram));
  const isHop = completed.length > 0 && completed.every((r) => r.hopCpuSeconds !== undefined);
  return {
    workload: workload.name,
    threads,
    mode,
    opsPerSecond: ratio(events, sum((r) => r.summary.totalTimeSeconds)),
    p50Ms,
    p99Ms,
    writes,
    errors: results.reduce((total, r) => total + r.slot.fatalErrors + (r.slot.summary === undefined ? 0 : r.slot.summary.ignoredErrors + r.slot.summary.reconnects), 0),
    failure: results.find((r) => r.slot.failure !== undefined)?.slot.failure,
    failedSlots: results.length - completed.length,
    ...batchingFigures(counters, writes),
    excluded: counters.excluded,
    dbCpuUsPerWrite: ratio(sum((r) => r.dbCpuSeconds) * 1e6, writes),
    proxyCpuUsPerWrite: isHop ? ratio(sum((r) => r.hopCpuSeconds ?? 0) * 1e6, writes) : undefined,
    ratioToDirect: undefined,
    ratioToRelay: undefined,
    dbCpuGain: undefined,
  };
}

// ---------------------------------------------------------------- measuring

interface CellSpec {
  section: string;
  kind: WorkloadKind;
  connections: number;
  /** The first mode is the reference for the ratios when it is named 'direct'. */
  modes: ModeSpec[];
  /** Offered ops/s over all connections; undefined for closed loop. */
  targetOps?: number;
}

/** Warms every mode, then alternates them for the configured rounds; one merged row per mode. */
async function runCell(ctx: Context, spec: CellSpec): Promise<Row[]> {
  const { args } = ctx.settings;
  const intervalMs = spec.targetOps === undefined ? undefined : (spec.connections * 1000) / spec.targetOps;
  const label = `${WORKLOAD_NAMES[spec.kind]} ×${spec.connections}${spec.targetOps === undefined ? '' : ` @${fmtInt(spec.targetOps)}/s`}`;
  if (args.warmupSeconds > 0) {
    for (const mode of spec.modes) await measureSlot(mode, spec.kind, spec.connections, args.warmupSeconds, intervalMs, ctx.dbPid);
  }
  const slotSeconds = args.durationSeconds / args.rounds;
  const slots = spec.modes.map((): Slot[] => []);
  for (let round = 1; round <= args.rounds; round++) {
    for (const [index, mode] of spec.modes.entries()) {
      const slot = await measureSlot(mode, spec.kind, spec.connections, slotSeconds, intervalMs, ctx.dbPid);
      slots[index].push(slot);
      const batch = describeSlotBatching(slot.counters);
      const errors = slot.loop.errors > 0 ? `, ${slot.loop.errors} errors (${slot.loop.firstError})` : '';
      log(`  ${label} ${mode.name.padEnd(12)} round ${round}/${args.rounds}: ${fmtInt(slot.loop.qps)} ops/s${batch}${errors}`);
    }
  }
  const rows = spec.modes.map((mode, index) => toRow(spec, mode, slots[index]));
  const reference = spec.modes[0]?.name === 'direct' ? rows[0] : undefined;
  if (reference !== undefined) {
    for (const row of rows) {
      row.ratioToDirect = ratio(row.opsPerSecond, reference.opsPerSecond);
      row.dbCpuGain = ratio(reference.dbCpuUsPerWrite, row.dbCpuUsPerWrite);
    }
  }
  return rows;
}

async function measureSlot(
  mode: ModeSpec,
  kind: WorkloadKind,
  connections: number,
  seconds: number,
  intervalMs: number | undefined,
  dbPid: number,
): Promise<Slot> {
  const { target } = mode;
  const proxyPid = target.proxy?.pid;
  const before = await scrapeIfProxied(target.metricsUrl);
  const op = buildOperation(kind, mode.prefix);
  const dbCpu = new CpuWindow(dbPid);
  const proxyCpu = proxyPid === undefined ? undefined : new CpuWindow(proxyPid);
  let clientStart = process.cpuUsage();
  let clientCpuSeconds = 0;
  const loop = await runClosedLoop({
    host: target.host,
    port: target.port,
    connections,
    durationSeconds: seconds,
    connectOptions: { database: DATABASE },
    operation: op.operation,
    ...(op.setup === undefined ? {} : { setup: op.setup }),
    ...(intervalMs === undefined ? {} : { intervalMs }),
    onStart: () => {
      dbCpu.start();
      proxyCpu?.start();
      clientStart = process.cpuUsage();
    },
    onStop: () => {
      dbCpu.stop();
      proxyCpu?.stop();
      const client = process.cpuUsage(clientStart);
      clientCpuSeconds = (client.user + client.system) / 1e6;
    },
  });
  const after = await scrapeIfProxied(target.metricsUrl);
  return {
    loop,
    dbCpuSeconds: dbCpu.seconds,
    proxyCpuSeconds: proxyCpu?.seconds,
    clientCpuSeconds,
    counters: batchCountersBetween(before, after, 'mariadb'),
  };
}

async function scrapeIfProxied(metricsUrl: string | undefined): Promise<MetricsSnapshot | undefined> {
  return metricsUrl === undefined ? undefined : scrapeMetrics(metricsUrl);
}



function batchingFigures(counters: BatchCounters, writes: number): BatchingFigures {
  return {
    batches: counters.batches,
    batchedWrites: counters.batchedWrites,
    meanBatchSize: ratio(counters.batchSizeSum, counters.batches),
    batchedShare: ratio(counters.batchedWrites, writes),
    methods: counters.methods,
    meanBatchLatencyMs: ratio(counters.batchLatencySeconds * 1000, counters.batches),
    delayMs: counters.delayMs,
  };
}

/** `, batch 12.3 (transaction)` for a progress line; '' when nothing was batched. */
function describeSlotBatching(counters: BatchCounters): string {
  if (counters.batches === 0) return '';
  return `, batch ${(counters.batchSizeSum / counters.batches).toFixed(1)} (${describeMethods(counters.methods, counters.batches)})`;
}

/**
 * Batch methods as shares of all batches. A batch of one runs as the write
 * itself and counts no method (nor does a batch that fell back to running its
 * members one by one): that remainder shows as `single`.
 */



function toRow(spec: CellSpec, mode: ModeSpec, slots: Slot[]): Row {
  const loop = mergeResults(slots.map((slot) => slot.loop));
  const sum = (pick: (slot: Slot) => number): number => slots.reduce((total, slot) => total + pick(slot), 0);
  const counters = sumCounters(slots.map((s) => s.counters));
  const isProxied = slots.every((s) => s.proxyCpuSeconds !== undefined);
  return {
    section: spec.section,
    workload: WORKLOAD_NAMES[spec.kind],
    connections: spec.connections,
    mode: mode.name,
    targetOpsPerSecond: spec.targetOps,
    opsPerSecond: loop.qps,
    p50Ms: loop.latency.p50Ms,
    p99Ms: loop.latency.p99Ms,
    p999Ms: loop.latency.p999Ms,
    ops: loop.ops,
    errors: loop.errors,
    firstError: loop.firstError,
    elapsedSeconds: loop.elapsedSeconds,
    ...batchingFigures(counters, loop.ops),
    multiRowBatches: counters.methods.multi_row_insert ?? 0,
    transactionBatches: counters.methods.transaction ?? 0,
    dbCpuUsPerWrite: ratio(sum((s) => s.dbCpuSeconds) * 1e6, loop.ops),
    proxyCpuUsPerWrite: isProxied ? ratio(sum((s) => s.proxyCpuSeconds ?? 0) * 1e6, loop.ops) : undefined,
    clientCpuUsPerWrite: ratio(sum((s) => s.clientCpuSeconds) * 1e6, loop.ops),
    ratioToDirect: undefined,
    dbCpuGain: undefined,
  };
}

type Operation = (conn: Connection, worker: number, iteration: number) => Promise<unknown>;

/**
 * The per-operation closure of a workload. Only the SQL string (or the
 * parameter array) is built per call: client, proxy and database share the
 * cores, so client overhead comes out of the measured throughput.
 */
function buildOperation(kind: WorkloadKind, prefix: string): { operation: Operation; setup?: (conn: Connection) => Promise<void> } {
  switch (kind) {
    case 'insert': {
      const head = `${prefix}INSERT INTO ${INSERT_TABLE} (v) VALUES (`;
      return { operation: (conn, _worker, iteration) => conn.query(`${head}${iteration})`) };
    }
    case 'update': {
      // Each connection cycles through its own key range: no lock waits between connections.
      const head = `${prefix}UPDATE ${UPDATE_TABLE} SET v = v + 1 WHERE id = `;
      return {
        operation: (conn, worker, iteration) =>
          conn.query(`${head}${worker * UPDATE_KEYS_PER_CONNECTION + (iteration % UPDATE_KEYS_PER_CONNECTION) + 1}`),
      };
    }
    case 'prepared': {
      const sql = `${prefix}INSERT INTO ${INSERT_TABLE} (v) VALUES (?)`;
      return {
        operation: (conn, _worker, iteration) => conn.execute(sql, [iteration]),
        setup: async (conn) => {
          await conn.prepare(sql);
        },
      };
    }
    case 'orm_text':
    case 'orm_prepared': {
      // What an ORM sends for a new row: the id column named, with NULL for "generate".
      const sql = `${prefix}INSERT INTO ${ORM_TABLE} (id, a, b) VALUES (NULL, ?, ?)`;
      if (kind === 'orm_text') {
        // `query` with values: mysql2 interpolates them client-side and sends text.
        return { operation: (conn, worker, iteration) => conn.query(sql, [iteration, `w${worker}`]) };
      }
      return {
        operation: (conn, worker, iteration) => conn.execute(sql, [iteration, `w${worker}`]),
        setup: async (conn) => {
          await conn.prepare(sql);
        },
      };
    }
  }
}

// ---------------------------------------------------------------- proxies and the database

interface StartedTarget {
  target: Target;
  stop: () => Promise<void>;
}

/** Starts one proxy with `[mariadb]` keys over the harness defaults; stopped at the end even on error. */
async function startTarget(ctx: Context, name: string, mariadbKeys: Record<string, string>): Promise<StartedTarget> {
  const ini = ['[mariadb]', ...Object.entries(mariadbKeys).map(([key, value]) => `${key} = ${value}`)].join('\n');
  const proxy = await startBenchProxy(ctx.settings.args, { ini });
  const stop = deferCleanup(() => proxy.stop());
  const metricsUrl = metricsUrlOf(proxy);
  if (metricsUrl === undefined) log(`  warning: proxy "${name}" logged no metrics address; batch sizes will read 0`);
  log(`  proxy "${name}": ${proxy.host}:${proxy.port} pid ${proxy.pid} (${proxy.description})${Object.keys(mariadbKeys).length === 0 ? '' : ` ${JSON.stringify(mariadbKeys)}`}`);
  return { target: { host: proxy.host, port: proxy.port, proxy, metricsUrl }, stop };
}

async function connectDirect(address: HostPort, database: string | undefined, isMultipleStatements: boolean): Promise<Connection> {
  const conn = await mysql.createConnection({
    host: address.host,
    port: address.port,
    user: 'root',
    password: '',
    ...(database === undefined ? {} : { database }),
    multipleStatements: isMultipleStatements,
    connectTimeout: 10_000,
  });
  // A dropped connection surfaces as a query error; the event must not crash the bench.
  conn.on('error', () => undefined);
  return conn;
}

/** Creates the bench database and tables; fills wb_update's key ranges. Returns the server version. */
async function prepareDatabase(admin: Connection, maxConnections: number): Promise<string> {
  await admin.query(`CREATE DATABASE IF NOT EXISTS ${DATABASE}`);
  await admin.query(`USE ${DATABASE}`);
  for (const table of [INSERT_TABLE, QUEUED_TABLE]) {
    await admin.query(
      `CREATE TABLE IF NOT EXISTS ${table} (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB`,
    );
    await admin.query(`TRUNCATE TABLE ${table}`);
  }
  await admin.query(
    `CREATE TABLE IF NOT EXISTS ${ORM_TABLE} (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, a INT NOT NULL, b VARCHAR(32) NOT NULL) ENGINE=InnoDB`,
  );
  await admin.query(`TRUNCATE TABLE ${ORM_TABLE}`);
  await admin.query(`CREATE TABLE IF NOT EXISTS ${UPDATE_TABLE} (id INT NOT NULL PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB`);
  const keys = maxConnections * UPDATE_KEYS_PER_CONNECTION;
  // The SEQUENCE engine (seq_1_to_N) fills the key ranges in one statement.
  await admin.query(`INSERT IGNORE INTO ${UPDATE_TABLE} (id, v) SELECT seq, 0 FROM seq_1_to_${keys}`);
  const [rows] = await admin.query<RowDataPacket[]>('SELECT VERSION() AS v, @@innodb_autoinc_lock_mode AS lockMode');
  const lockMode = Number(rows[0]?.lockMode);
  if (lockMode > 1) log(`warning: innodb_autoinc_lock_mode = ${lockMode}: the proxy will not merge INSERTs into multi-row INSERTs`);
  return String(rows[0]?.v);
}

/**
 * MariaDB connections the run needs at once: the largest client count (each
 * proxied client has its own backend connection, and a section's proxies are
 * stopped before the next one starts), plus room for the admin connections
 * and whoever else shares the server.
 */
function requiredConnections(settings: Settings): number {
  const counts = [...settings.args.connections, settings.focusConnections];
  if (settings.sections.has('many')) counts.push(settings.manyConnections);
  if (settings.sections.has('memory')) counts.push(settings.queuedWrites);
  if (settings.sections.has('orm')) counts.push(...settings.ormConnections);
  // A proxy may keep its backend connections open while the next direct run opens as many again.
  if (settings.sections.has('sysbench')) counts.push(2 * Math.max(...settings.sysbenchThreads));
  return Math.max(...counts) + 100;
}

/**
 * Raises MariaDB's max_connections to at least `needed` (2000 or more) for
 * the run: the default 151 is too few for 128 clients when tests share the
 * server, and a value restored between sections races with connections still
 * closing. The returned function restores the previous value (also run on
 * interruption). A no-op when the server already allows enough.
 */
async function raiseMaxConnections(ctx: Context, needed: number): Promise<() => Promise<void>> {
  const [rows] = await ctx.admin.query<RowDataPacket[]>('SELECT @@GLOBAL.max_connections AS n');
  const previous = Number(rows[0]?.n);
  if (previous >= needed) return async () => {};
  const raised = Math.max(RAISED_MAX_CONNECTIONS, needed);
  await ctx.admin.query(`SET GLOBAL max_connections = ${raised}`);
  log(`max_connections ${previous} → ${raised} for the run (restored afterwards)`);
  return deferCleanup(async () => {
    await ctx.admin.query(`SET GLOBAL max_connections = ${previous}`);
    log(`max_connections restored to ${previous}`);
  });
}

// ---------------------------------------------------------------- output

/** Column groups the mysql2 and sysbench tables share, in this order. */
const THROUGHPUT_COLUMNS: Column[] = [{ header: 'ops/s' }, { header: 'p50 ms', decimals: 2 }, { header: 'p99 ms', decimals: 2 }];
const BATCH_COLUMNS: Column[] = [{ header: 'batch', decimals: 1 }, { header: 'method', align: 'left' }, { header: 'batch ms', decimals: 1 }];
const CPU_COLUMNS: Column[] = [
  { header: 'db µs/w', decimals: 1 },
  { header: 'db gain', decimals: 1 },
  { header: 'proxy µs/w', decimals: 1 },
  { header: 'delay ms', decimals: 1 },
];

const MAIN_COLUMNS: Column[] = [
  { header: 'conns' },
  { header: 'mode', align: 'left' },
  ...THROUGHPUT_COLUMNS,
  ...BATCH_COLUMNS,
  { header: '×direct', decimals: 2 },
  ...CPU_COLUMNS,
  { header: 'errors' },
];

function throughputCells(row: CellFigures): Cell[] {
  return [Math.round(row.opsPerSecond), row.p50Ms, row.p99Ms];
}

function batchCells(row: CellFigures): Cell[] {
  return [row.meanBatchSize, describeMethods(row.methods, row.batches), row.meanBatchLatencyMs];
}

function cpuCells(row: CellFigures): Cell[] {
  // The delay gauge exists on every proxy; it only means something where writes were batched.
  return [row.dbCpuUsPerWrite, row.dbCpuGain, row.proxyCpuUsPerWrite, row.batches > 0 ? row.delayMs : undefined];
}

function mainTableRow(row: Row): Cell[] {
  return [row.connections, row.mode, ...throughputCells(row), ...batchCells(row), row.ratioToDirect, ...cpuCells(row), row.errors];
}

const TARGET_COLUMNS: Column[] = [{ header: 'target ops/s' }, ...MAIN_COLUMNS];

function targetTableRow(row: Row): Cell[] {
  return [row.targetOpsPerSecond, ...mainTableRow(row)];
}

function mainChecks(rows: Row[], connectionList: number[]): Check[] {
  const connections = Math.max(...connectionList);
  const row = rows.find((r) => r.workload === WORKLOAD_NAMES.insert && r.connections === connections && r.mode === 'adaptive');
  if (row === undefined) return [];
  const at = `INSERT ×${connections} adaptive`;
  return [
    { name: `${at}: ops/s ÷ direct`, value: row.ratioToDirect ?? Number.NaN, target: '≥ 2.5', isPassed: (row.ratioToDirect ?? 0) >= 2.5 },
    { name: `${at}: p99 ms`, value: row.p99Ms, target: `≤ ${DEFAULT_MAX_DELAY_MS + 10}`, isPassed: row.p99Ms <= DEFAULT_MAX_DELAY_MS + 10 },
    { name: `${at}: db CPU/write direct ÷ batched`, value: row.dbCpuGain ?? Number.NaN, target: '≥ 5', isPassed: (row.dbCpuGain ?? 0) >= 5 },
    { name: `${at}: mean batch size`, value: row.meanBatchSize, target: '≥ 20', isPassed: row.meanBatchSize >= 20 },
  ];
}

const SYSBENCH_COLUMNS: Column[] = [
  { header: 'threads' },
  { header: 'mode', align: 'left' },
  ...THROUGHPUT_COLUMNS,
  ...BATCH_COLUMNS,
  { header: 'batched', align: 'left' },
  { header: 'passed through', align: 'left' },
  { header: '×direct', decimals: 2 },
  { header: '×relay', decimals: 2 },
  ...CPU_COLUMNS,
  { header: 'errors' },
];

function sysbenchTableRow(row: SysbenchRow): Cell[] {
  return [
    row.threads,
    row.mode,
    ...throughputCells(row),
    ...batchCells(row),
    row.mode !== 'batched' || Number.isNaN(row.batchedShare) ? undefined : `${Math.round(100 * row.batchedShare)}%`,
    describeShares(row.excluded, row.writes),
    row.ratioToDirect,
    row.ratioToRelay,
    ...cpuCells(row),
    row.failure === undefined ? row.errors : `${row.errors} FATAL`,
  ];
}

/** The acceptance targets of issue #8 that the sysbench and orm sections measure. */
function issue8Checks(sysbenchRows: SysbenchRow[] | undefined, ormRows: Row[] | undefined): Check[] {
  const checks: Check[] = [];
  const notRun = (name: string, target: string): Check => ({ name, value: Number.NaN, target, isPassed: false, isMeasured: false });
  /** A cell with errors fails its check whatever its completed slots show. */
  const atLeast = (name: string, row: { errors: number } | undefined, value: number | undefined, min: number, target = `≥ ${min}`): Check => {
    if (row === undefined) return notRun(name, target);
    const v = value ?? Number.NaN;
    return { name, value: v, target: row.errors === 0 ? target : `${target} (cell had ${row.errors} errors)`, isPassed: row.errors === 0 && v >= min };
  };
  if (sysbenchRows !== undefined) {
    const find = (key: string, threads: number, mode: SysbenchModeName): SysbenchRow | undefined => {
      const name = SYSBENCH_WORKLOADS.find((w) => w.key === key)?.name;
      return sysbenchRows.find((r) => r.workload === name && r.threads === threads && r.mode === mode);
    };
    const ratioCheck = (key: string, threads: number, min: number, target?: string): Check => {
      const row = find(key, threads, 'batched');
      return atLeast(`${SYSBENCH_WORKLOADS.find((w) => w.key === key)?.name} ×${threads}: batched ÷ direct`, row, row?.ratioToDirect, min, target);
    };
    checks.push(
      ratioCheck('insert', 128, 2.0),
      ratioCheck('insert', 16, 1.0),
      ratioCheck('update_index', 128, 0.95, '≥ 0.95 (stretch 1.3)'),
      ratioCheck('update_non_index', 128, 0.95),
      ratioCheck('delete', 128, 0.95),
    );
    const single = find('insert', 1, 'batched');
    checks.push(atLeast('oltp_insert (id = 0) ×1: batched ÷ bare relay', single, single?.ratioToRelay, 0.9));
    for (const key of ['insert', 'insert_explicit']) {
      const row = find(key, 128, 'batched');
      checks.push(atLeast(`${SYSBENCH_WORKLOADS.find((w) => w.key === key)?.name} ×128: db CPU/write direct ÷ batched`, row, row?.dbCpuGain, 8));
    }
    const batchedRows = sysbenchRows.filter((r) => r.mode === 'batched');
    const limitMs = DEFAULT_MAX_DELAY_MS + 10;
    const worst = batchedRows.filter((r) => !Number.isNaN(r.p99Ms)).sort((a, b) => b.p99Ms - a.p99Ms)[0];
    checks.push(
      worst === undefined
        ? notRun(`sysbench p99 at every batched cell`, `≤ ${limitMs}`)
        : { name: `sysbench p99, worst batched cell (${worst.workload} ×${worst.threads})`, value: worst.p99Ms, target: `≤ ${limitMs}`, isPassed: worst.p99Ms <= limitMs },
    );
    for (const workload of SYSBENCH_WORKLOADS.filter((w) => w.isPrepared)) {
      const rows = batchedRows.filter((r) => r.workload === workload.name);
      const errors = rows.reduce((total, r) => total + r.errors, 0);
      const name = `${workload.name}: errors at every thread count, batched`;
      checks.push(rows.length === 0 ? notRun(name, '0') : { name, value: errors, target: '0', isPassed: errors === 0 && rows.every((r) => r.failure === undefined) });
    }
  }
  if (ormRows !== undefined) {
    for (const kind of ['orm_text', 'orm_prepared'] as const) {
      const connections = ormRows.some((r) => r.connections === 128) ? 128 : Math.max(...ormRows.map((r) => r.connections));
      const row = ormRows.find((r) => r.workload === WORKLOAD_NAMES[kind] && r.connections === connections && r.mode === 'adaptive');
      checks.push(atLeast(`mysql2 ${WORKLOAD_NAMES[kind]} ×${connections}: batched ÷ direct`, row, row?.ratioToDirect, 1.9));
    }
  }
  // "No cell below 0.95× direct", except 1-thread cells, which are held against the relay.
  const ratios = [
    ...(sysbenchRows ?? []).filter((r) => r.mode === 'batched' && r.threads > 1).map((r) => ({ cell: `${r.workload} ×${r.threads}`, value: r.ratioToDirect ?? Number.NaN })),
    ...(ormRows ?? []).filter((r) => r.mode === 'adaptive' && r.connections > 1).map((r) => ({ cell: `${r.workload} ×${r.connections}`, value: r.ratioToDirect ?? Number.NaN })),
  ].sort((a, b) => (Number.isNaN(a.value) ? -1 : Number.isNaN(b.value) ? 1 : a.value - b.value));
  const lowest = ratios[0];
  if (lowest !== undefined) {
    checks.push({ name: `lowest batched ÷ direct over multi-client cells (${lowest.cell})`, value: lowest.value, target: '≥ 0.95', isPassed: lowest.value >= 0.95 });
  }
  return checks;
}

/** Throughput and p99 against the fixed delay, with direct throughput as a dashed reference. */
function writeDelayChart(rows: Row[], settings: Settings, startedAt: Date): string {
  const delayRows = settings.delaysMs
    .map((delayMs) => ({ delayMs, row: rows.find((r) => r.mode === `delay ${delayMs} ms`) }))
    .filter((entry): entry is { delayMs: number; row: Row } => entry.row !== undefined);
  const directRow = rows.find((r) => r.mode === 'direct');
  const series: ChartSeries[] = [
    { name: 'batched ops/s', axis: 'left', color: '#1f77b4', points: delayRows.map(({ delayMs, row }) => ({ x: delayMs, y: row.opsPerSecond })) },
    { name: 'batched p99 ms', axis: 'right', color: '#d62728', points: delayRows.map(({ delayMs, row }) => ({ x: delayMs, y: row.p99Ms })) },
  ];
  if (directRow !== undefined) {
    series.push({ name: 'direct ops/s', axis: 'left', color: '#7f7f7f', isDashed: true, points: delayRows.map(({ delayMs }) => ({ x: delayMs, y: directRow.opsPerSecond })) });
  }
  const svg = renderLineChart({
    title: 'Write batching: throughput and p99 against the delay',
    subtitle: `single-row INSERT, ${settings.focusConnections} connections, min = initial = max delay; ${machineLine()}`,
    xLabel: 'writebatch delay (ms, log scale)',
    leftLabel: 'ops/s',
    rightLabel: 'p99 latency (ms)',
    xScale: 'log',
    xTicks: settings.delaysMs,
    series,
  });
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `writebatch-delay-${fileTimestamp(startedAt)}.svg`);
  writeFileSync(path, svg);
  return path;
}

function writeRampChart(ramp: RampResult, startedAt: Date): string {
  const svg = renderLineChart({
    title: 'Adaptive delay under a load ramp',
    subtitle: `${ramp.connections} connections, ${ramp.phaseSeconds} s per phase, interval 1 s, threshold 1000 ops/s; ${machineLine()}`,
    xLabel: 'time (s)',
    leftLabel: 'batched ops/s',
    rightLabel: 'current delay (ms)',
    xScale: 'linear',
    xTicks: timeTicks(ramp.samples[ramp.samples.length - 1]?.seconds ?? 0),
    series: [
      { name: 'batched ops/s', axis: 'left', color: '#1f77b4', points: ramp.samples.map((s) => ({ x: s.seconds, y: s.batchedPerSecond })) },
      { name: 'delay ms', axis: 'right', color: '#d62728', points: ramp.samples.map((s) => ({ x: s.seconds, y: s.delayMs })) },
    ],
  });
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `writebatch-ramp-${fileTimestamp(startedAt)}.svg`);
  writeFileSync(path, svg);
  return path;
}

/** 0, step, 2 step, ... up to `lastSeconds`, with a step giving at most ~12 ticks. */
function timeTicks(lastSeconds: number): number[] {
  const step = [1, 2, 5, 10, 20, 30, 60].find((candidate) => lastSeconds / candidate <= 12) ?? 120;
  const ticks: number[] = [];
  for (let t = 0; t <= lastSeconds; t += step) ticks.push(t);
  return ticks;
}

function machineLine(): string {
  return `${machineInfo().cpuCount} cores shared by client, proxy and database`;
}

function fmtInt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';
}

process.exitCode = await main();
