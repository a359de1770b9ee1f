/**
 * Write batching through the wire: the seed's eight benchmarks, against the
 * real MariaDB on 127.0.0.1, with mysql2 clients.
 *
 *   bun run bench:writebatch                       # full run (~20 min on 2 cores)
 *   bun run bench:writebatch -- --quick            # smoke run (~2 min)
 *   bun run bench:writebatch -- --sections main,single --connections 128
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
import { metricDelta, metricsUrlOf, scrapeMetrics } from './lib/metrics.ts';
import { findPid, processCpuSeconds, processRssBytes } from './lib/proc.ts';
import { startBenchProxy, type BenchProxy } from './lib/proxy.ts';
import { BENCH_DATABASE, fileTimestamp, machineInfo, RESULTS_DIR, writeResults } from './lib/results.ts';
import { ratio } from './lib/stats.ts';
import { renderTable, type Cell, type Column } from './lib/table.ts';

const DATABASE = BENCH_DATABASE;
const INSERT_TABLE = 'wb_insert';
const UPDATE_TABLE = 'wb_update';
const QUEUED_TABLE = 'wb_queued';
/** Rows each connection cycles through in the UPDATE workload; ranges are disjoint per connection. */
const UPDATE_KEYS_PER_CONNECTION = 100;
/** The proxy default the end-to-end p99 target is stated against (max delay + 10 ms). */
const DEFAULT_MAX_DELAY_MS = 100;
/** Longest wait a hint may ask for (HINT_LIMITS.maxBatchMs) and the most the delay keys accept. */
const LONGEST_DELAY_MS = 60_000;
const RAISED_MAX_CONNECTIONS = 2000;
/** Stall-and-measure repetitions in the memory section; the median is reported. */
const MEMORY_ROUNDS = 3;

const SECTIONS = ['main', 'targets', 'delays', 'ramp', 'many', 'batchsize', 'memory', 'single'] as const;
type Section = (typeof SECTIONS)[number];

type WorkloadKind = 'insert' | 'update' | 'prepared';

const WORKLOAD_NAMES: Record<WorkloadKind, string> = {
  insert: 'INSERT',
  update: 'UPDATE by pk',
  prepared: 'INSERT prepared',
};

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
  batches: number;
  batchedWrites: number;
  batchSizeSum: number;
  multiRowBatches: number;
  transactionBatches: number;
  delayMs: number | undefined;
}

interface Row {
  section: string;
  workload: string;
  connections: number;
  mode: string;
  /** Offered load for paced runs; undefined for closed loop. */
  targetOpsPerSecond: number | undefined;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  ops: number;
  errors: number;
  firstError: string | undefined;
  elapsedSeconds: number;
  batches: number;
  batchedWrites: number;
  meanBatchSize: number;
  /** Batched writes / acknowledged writes. */
  batchedShare: number;
  multiRowBatches: number;
  transactionBatches: number;
  dbCpuUsPerWrite: number;
  proxyCpuUsPerWrite: number | undefined;
  clientCpuUsPerWrite: number;
  /** `tqdbproxy_write_current_delay_ms` after the last round. */
  delayMs: number | undefined;
  /** ops/s over the direct row's ops/s in the same cell. */
  ratioToDirect: number | undefined;
  /** Direct database CPU per write over this row's: how much database work batching saves. */
  dbCpuGain: number | undefined;
}

interface Check {
  name: string;
  value: number;
  target: string;
  isPassed: boolean;
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
  if (args.protocol !== 'mariadb') throw new BenchArgError('bench/writebatch.ts measures the MariaDB front end only; PostgreSQL batching is not implemented yet');
  if (args.proxy !== undefined) throw new BenchArgError('--proxy is not supported: every mode needs a proxy started with its own batching config');
  const extra = args.extra;
  const sectionsText = extra.sections;
  const sections = new Set<Section>();
  if (sectionsText === undefined) {
    for (const section of SECTIONS) sections.add(section);
  } else {
    for (const part of sectionsText.split(',').map((s) => s.trim())) {
      const section = SECTIONS.find((s) => s === part);
      if (section === undefined) throw new BenchArgError(`--sections: unknown section ${JSON.stringify(part)} (known: ${SECTIONS.join(', ')})`);
      sections.add(section);
    }
  }
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
  };
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

async function main(): Promise<number> {
  let settings: Settings;
  try {
    settings = parseSettings(process.argv.slice(2));
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
  const admin = await connectDirect(args.direct, DATABASE, true);
  deferCleanup(async () => {
    await admin.end().catch(() => admin.destroy());
  });
  const mariadbVersion = await prepareDatabase(admin, Math.max(...args.connections));
  const dbPid = findPid('mariadbd', args.direct.port);
  const ctx: Context = { settings, direct, dbPid, admin };
  log(
    `bench:writebatch — sections ${[...settings.sections].join(', ')}; ${args.durationSeconds} s per mode per cell over ${args.rounds} round(s), ` +
      `warm-up ${args.warmupSeconds} s; connections ${args.connections.join(',')}; mariadbd pid ${dbPid} (${mariadbVersion})${settings.isQuick ? '; QUICK smoke run' : ''}`,
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
    await restore();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await runCleanups();
  }

  if (checks.length > 0) {
    log('\n== Must show (issue #4) ==');
    log(
      renderTable(
        [{ header: 'check', align: 'left' }, { header: 'value', decimals: 2 }, { header: 'target', align: 'left' }, { header: 'verdict', align: 'left' }],
        checks.map((c) => [c.name, c.value, c.target, c.isPassed ? 'PASS' : 'FAIL']),
      ),
    );
    if (settings.isQuick) log('(a --quick run is a smoke test: its figures are too short to judge the checks)');
  }
  const errorRows = allRows.filter((row) => row.errors > 0);
  for (const row of errorRows) log(`errors: ${row.section} ${row.workload} ×${row.connections} ${row.mode}: ${row.errors} (${row.firstError})`);

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
    },
    sections: results,
    failedSections,
    checks,
    charts: { delays: chartPath, ramp: rampChartPath },
  };
  const path = writeResults('writebatch', document, startedAt);
  log(`\nresults: ${path}`);
  if (args.isJson) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  if (failedSections.length > 0) log(`failed sections: ${failedSections.join(', ')}`);
  return errorRows.length > 0 || failedSections.length > 0 ? 1 : 0;
}

// ---------------------------------------------------------------- sections

async function runMainSection(ctx: Context): Promise<Row[]> {
  const { args } = ctx.settings;
  log('\n== 1. Main: single-row autocommit writes, direct vs proxy modes ==');
  const off = await startTarget(ctx, 'batching off', {});
  const adaptive = await startTarget(ctx, 'batched adaptive', { writebatch_enabled: 'true' });
  const rows: Row[] = [];
  try {
    const modes: ModeSpec[] = [
      { name: 'direct', target: ctx.direct, prefix: '' },
      { name: 'proxy off', target: off.target, prefix: '' },
      { name: 'adaptive', target: adaptive.target, prefix: '' },
      { name: 'batch:1', target: off.target, prefix: '/* batch:1 */ ' },
      { name: 'batch:10', target: off.target, prefix: '/* batch:10 */ ' },
      { name: 'batch:100', target: off.target, prefix: '/* batch:100 */ ' },
    ];
    for (const kind of ['insert', 'update', 'prepared'] as const) {
      if (kind !== 'update') await ctx.admin.query(`TRUNCATE TABLE ${INSERT_TABLE}`);
      const workloadRows: Row[] = [];
      for (const connections of args.connections) {
        workloadRows.push(...(await runCell(ctx, { section: 'main', kind, connections, modes })));
      }
      log('');
      log(`-- ${WORKLOAD_NAMES[kind]} --`);
      log(renderTable(MAIN_COLUMNS, workloadRows.map(mainTableRow)));
      rows.push(...workloadRows);
    }
  } finally {
    await off.stop();
    await adaptive.stop();
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
        batchedPerSecond: (metricDelta(previous, snapshot, 'tqdbproxy_write_batched_total') * 1000) / (now - previousAt),
        delayMs: snapshot.value('tqdbproxy_write_current_delay_ms'),
        proxyOpsPerSecond: snapshot.value('tqdbproxy_write_ops_per_second'),
        queued: snapshot.value('tqdbproxy_write_queued'),
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
    queued = (await scrapeMetrics(url)).value('tqdbproxy_write_queued');
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
      const batch = slot.batches > 0 ? `, batch ${(slot.batchSizeSum / slot.batches).toFixed(1)}` : '';
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
  const before = target.metricsUrl === undefined ? undefined : await scrapeMetrics(target.metricsUrl);
  const op = buildOperation(kind, mode.prefix);
  let dbCpuStart = 0;
  let proxyCpuStart = 0;
  let clientStart = process.cpuUsage();
  let dbCpuSeconds = 0;
  let proxyCpuSeconds: number | undefined;
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
      dbCpuStart = processCpuSeconds(dbPid);
      if (proxyPid !== undefined) proxyCpuStart = processCpuSeconds(proxyPid);
      clientStart = process.cpuUsage();
    },
    onStop: () => {
      dbCpuSeconds = processCpuSeconds(dbPid) - dbCpuStart;
      if (proxyPid !== undefined) proxyCpuSeconds = processCpuSeconds(proxyPid) - proxyCpuStart;
      const client = process.cpuUsage(clientStart);
      clientCpuSeconds = (client.user + client.system) / 1e6;
    },
  });
  const after = target.metricsUrl === undefined ? undefined : await scrapeMetrics(target.metricsUrl);
  const delta = (name: string, labels?: Record<string, string>): number =>
    before === undefined || after === undefined ? 0 : metricDelta(before, after, name, labels);
  return {
    loop,
    dbCpuSeconds,
    proxyCpuSeconds,
    clientCpuSeconds,
    batches: delta('tqdbproxy_write_batch_size_count'),
    batchSizeSum: delta('tqdbproxy_write_batch_size_sum'),
    batchedWrites: delta('tqdbproxy_write_batched_total'),
    multiRowBatches: delta('tqdbproxy_write_batch_method_total', { method: 'multi_row_insert' }),
    transactionBatches: delta('tqdbproxy_write_batch_method_total', { method: 'transaction' }),
    delayMs: after?.value('tqdbproxy_write_current_delay_ms'),
  };
}

function toRow(spec: CellSpec, mode: ModeSpec, slots: Slot[]): Row {
  const loop = mergeResults(slots.map((slot) => slot.loop));
  const sum = (pick: (slot: Slot) => number): number => slots.reduce((total, slot) => total + pick(slot), 0);
  const batches = sum((s) => s.batches);
  const batchedWrites = sum((s) => s.batchedWrites);
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
    batches,
    batchedWrites,
    meanBatchSize: ratio(sum((s) => s.batchSizeSum), batches),
    batchedShare: ratio(batchedWrites, loop.ops),
    multiRowBatches: sum((s) => s.multiRowBatches),
    transactionBatches: sum((s) => s.transactionBatches),
    dbCpuUsPerWrite: ratio(sum((s) => s.dbCpuSeconds) * 1e6, loop.ops),
    proxyCpuUsPerWrite: isProxied ? ratio(sum((s) => s.proxyCpuSeconds ?? 0) * 1e6, loop.ops) : undefined,
    clientCpuUsPerWrite: ratio(sum((s) => s.clientCpuSeconds) * 1e6, loop.ops),
    delayMs: slots[slots.length - 1]?.delayMs,
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

const MAIN_COLUMNS: Column[] = [
  { header: 'conns' },
  { header: 'mode', align: 'left' },
  { header: 'ops/s' },
  { header: 'p50 ms', decimals: 2 },
  { header: 'p99 ms', decimals: 2 },
  { header: 'batch', decimals: 1 },
  { header: '×direct', decimals: 2 },
  { header: 'db µs/w', decimals: 1 },
  { header: 'db gain', decimals: 1 },
  { header: 'proxy µs/w', decimals: 1 },
  { header: 'delay ms', decimals: 1 },
  { header: 'errors' },
];

function mainTableRow(row: Row): Cell[] {
  return [
    row.connections,
    row.mode,
    Math.round(row.opsPerSecond),
    row.p50Ms,
    row.p99Ms,
    row.meanBatchSize,
    row.ratioToDirect,
    row.dbCpuUsPerWrite,
    row.dbCpuGain,
    row.proxyCpuUsPerWrite,
    // The gauge exists on every proxy; it only means something where writes were batched.
    row.batches > 0 ? row.delayMs : undefined,
    row.errors,
  ];
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
