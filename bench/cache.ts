/**
 * The query cache's payoff: each query runs direct to MariaDB, through the
 * proxy without a cache hint, and through the proxy as a cache hit (a
 * `ttl:3600` hint comment, primed first), alternately (A/B/C/A/B/C after a
 * warm-up) in one invocation, so the ratios to direct compare like with like.
 *
 *   bun run bench:cache -- --duration 10 --connections 64
 *
 * Queries: `SELECT 1`, `SELECT SLEEP(0.001)`, and a GROUP BY aggregate that
 * scans a 100k-row table without a usable index (`tqdb_bench.cache_rows`,
 * created once). Its single-connection direct latency is measured and
 * reported first, since "costs the server a few milliseconds" depends on the
 * machine.
 *
 * Cache hits are checked, not assumed: the primed answer must equal the
 * direct one, each connection's first hinted query must report
 * `Backend = cache` in `SHOW TQDB STATUS`, and (for a proxy started here) the
 * proxy's cache-miss counter must not move during a cache-hit slot.
 */
import mysql from 'mysql2/promise';
import type { Connection } from 'mysql2/promise';
import { BenchArgError, parseBenchArgs, type BenchArgs } from './lib/args.ts';
import { mergeResults, runClosedLoop, type ClosedLoopResult } from './lib/load.ts';
import { findPid, processCpuSeconds } from './lib/proc.ts';
import { startBenchProxy, type BenchProxy } from './lib/proxy.ts';
import { BENCH_DATABASE, machineInfo, writeResults } from './lib/results.ts';
import { percentile, ratio } from './lib/stats.ts';
import { renderTable, type Column } from './lib/table.ts';

const DATABASE = BENCH_DATABASE;
const AGGREGATE_TABLE = 'cache_rows';
const AGGREGATE_ROWS = 100_000;
const AGGREGATE_GROUPS = 100;
/** Long enough that no entry goes stale within a run. */
const CACHE_TTL_SECONDS = 3600;
const CALIBRATION_RUNS = 7;

/** `direct`: to MariaDB; `uncached`: through the proxy, no hint; `cached`: through the proxy, hinted and primed. */
type Mode = 'direct' | 'uncached' | 'cached';
const MODES: readonly Mode[] = ['direct', 'uncached', 'cached'];
const MODE_LABELS: Record<Mode, string> = {
  direct: 'direct',
  uncached: 'proxy, no cache',
  cached: 'proxy, cache hit',
};

interface Query {
  name: string;
  /** Without a hint; the cached mode prefixes the TTL hint. */
  sql: string;
}

interface Target {
  host: string;
  port: number;
}

/** One measured (or warm-up) slot of one mode. */
interface Slot {
  loop: ClosedLoopResult;
  dbCpuSeconds: number;
  proxyCpuSeconds: number | undefined;
  /** Cache counters' increase over the slot, set-up included (cached mode with a proxy started here). */
  cacheHits: number | undefined;
  cacheMisses: number | undefined;
  /** Connections whose set-up query was not answered from the cache (cached mode). */
  setupsNotCached: number;
}

interface Row {
  query: string;
  connections: number;
  mode: Mode;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  ops: number;
  errors: number;
  firstError: string | undefined;
  elapsedSeconds: number;
  /** Database server CPU microseconds per operation (the server is shared: includes other load). */
  dbCpuUsPerOp: number;
  /** Proxy CPU microseconds per operation (proxied rows only). */
  proxyCpuUsPerOp: number | undefined;
  /** qps of this mode / qps direct. */
  ratioToDirect: number;
  /** Cached rows: cache hits and misses counted by the proxy over the measured slots (set-up included). */
  cacheHits: number | undefined;
  cacheMisses: number | undefined;
  setupsNotCached: number | undefined;
}

interface TargetCheck {
  query: string;
  connections: number;
  /** Minimum cache-hit qps / direct qps, from the issue. */
  minimum: number;
  ratio: number;
  isMet: boolean;
}

let log: (line: string) => void = (line) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2), { durationSeconds: 10, connections: [64] });
  } catch (error) {
    if (error instanceof BenchArgError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  if (args.protocol !== 'mariadb') {
    console.error('bench/cache.ts measures the MariaDB front end; --protocol postgres is not measured by this bench yet');
    return 2;
  }
  // With --json the document owns stdout; progress and the table go to stderr.
  if (args.isJson) log = (line) => process.stderr.write(`${line}\n`);

  const aggregateSql = `SELECT grp, COUNT(*), SUM(v), AVG(v) FROM ${AGGREGATE_TABLE} GROUP BY grp`;
  const queries: Query[] = [
    { name: 'SELECT 1', sql: 'SELECT 1' },
    { name: 'SELECT SLEEP(0.001)', sql: 'SELECT SLEEP(0.001)' },
    { name: `aggregate ${AGGREGATE_ROWS / 1000}k rows`, sql: aggregateSql },
  ];

  const direct: Target = args.direct;
  const mariadbVersion = await prepareDatabase(direct);
  const dbPid = findPid('mariadbd', direct.port);
  const aggregateMs = await calibrate(direct, aggregateSql);
  log(
    `aggregate over ${AGGREGATE_ROWS.toLocaleString('en-US')} rows, direct, 1 connection: ` +
      `median ${aggregateMs.median.toFixed(1)} ms, min ${aggregateMs.min.toFixed(1)} ms (${CALIBRATION_RUNS} runs)`,
  );

  const proxy = await startBenchProxy(args);
  const onSignal = (): void => {
    void proxy.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const cells = queries.length * args.connections.length;
  const perCell = MODES.length * (args.warmupSeconds + args.durationSeconds);
  log(
    `bench:cache — ${cells} cells × ~${perCell} s ≈ ${Math.ceil((cells * perCell) / 60)} min; ` +
      `direct ${direct.host}:${direct.port} (mariadbd pid ${dbPid}), proxy ${proxy.host}:${proxy.port} (${proxy.description})` +
      (proxy.metricValue === undefined ? '; external proxy: cache misses are not counted' : ''),
  );

  const rows: Row[] = [];
  const problems: string[] = [];
  const startedAt = new Date();
  try {
    for (const query of queries) {
      const mismatch = await primeCache(direct, proxy, query);
      if (mismatch !== undefined) problems.push(mismatch);
      for (const connections of args.connections) {
        const measure = (mode: Mode, seconds: number): Promise<Slot> =>
          measureOnce(query, mode, mode === 'direct' ? direct : proxy, proxy, connections, seconds, dbPid);

        if (args.warmupSeconds > 0) {
          for (const mode of MODES) await measure(mode, args.warmupSeconds);
        }
        const slotSeconds = args.durationSeconds / args.rounds;
        const runs: Record<Mode, Slot[]> = { direct: [], uncached: [], cached: [] };
        for (let round = 1; round <= args.rounds; round++) {
          for (const mode of MODES) {
            const slot = await measure(mode, slotSeconds);
            runs[mode].push(slot);
            const m = slot.loop;
            log(
              `  ${query.name} ×${connections} ${MODE_LABELS[mode].padEnd(16)} round ${round}/${args.rounds}: ` +
                `${Math.round(m.qps).toLocaleString('en-US')} qps` +
                (m.errors > 0 ? `, ${m.errors} errors (${m.firstError})` : '') +
                (slot.cacheMisses !== undefined && slot.cacheMisses > 0 ? `, ${slot.cacheMisses} cache misses` : '') +
                (slot.setupsNotCached > 0 ? `, ${slot.setupsNotCached} connections not served from the cache` : ''),
            );
          }
        }
        const directQps = mergeResults(runs.direct.map((s) => s.loop)).qps;
        for (const mode of MODES) {
          const row = toRow(query.name, connections, mode, runs[mode], directQps);
          rows.push(row);
          if (row.errors > 0) problems.push(`${query.name} ×${connections} ${MODE_LABELS[mode]}: ${row.errors} errors (${row.firstError})`);
          if (row.cacheMisses !== undefined && row.cacheMisses > 0) {
            problems.push(`${query.name} ×${connections} ${MODE_LABELS[mode]}: ${row.cacheMisses} cache misses during cache-hit slots`);
          }
          if (row.setupsNotCached !== undefined && row.setupsNotCached > 0) {
            problems.push(`${query.name} ×${connections} ${MODE_LABELS[mode]}: ${row.setupsNotCached} connections not served from the cache`);
          }
        }
      }
    }
  } finally {
    await proxy.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const checks = targetChecks(rows, queries);
  log('');
  log(renderTable(COLUMNS, rows.map(tableRow)));
  if (checks.length > 0) {
    log('');
    for (const check of checks) {
      log(
        `target ${check.query} ×${check.connections}: cache hit ${check.ratio.toFixed(2)}× direct ` +
          `(issue: ≥ ${check.minimum.toFixed(1)}×) — ${check.isMet ? 'met' : 'NOT met'}`,
      );
    }
  }
  for (const problem of problems) log(`problem: ${problem}`);

  const document = {
    bench: 'cache',
    startedAt: startedAt.toISOString(),
    machine: machineInfo({ mariadb: mariadbVersion }),
    args: {
      durationSeconds: args.durationSeconds,
      connections: args.connections,
      warmupSeconds: args.warmupSeconds,
      rounds: args.rounds,
      direct: `${direct.host}:${direct.port}`,
      proxy: proxy.description,
      cacheTtlSeconds: CACHE_TTL_SECONDS,
    },
    queries: queries.map((q) => ({ name: q.name, sql: q.sql })),
    aggregateDirectMs: { ...aggregateMs, runs: CALIBRATION_RUNS, connections: 1 },
    rows,
    targets: checks,
    problems,
  };
  const path = writeResults('cache', document, startedAt);
  log(`\nresults: ${path}`);
  if (args.isJson) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return problems.length > 0 ? 1 : 0;
}

const COLUMNS: Column[] = [
  { header: 'query', align: 'left' },
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
    row.query,
    row.connections,
    MODE_LABELS[row.mode],
    Math.round(row.qps),
    row.p50Ms,
    row.p99Ms,
    row.errors,
    row.dbCpuUsPerOp,
    row.proxyCpuUsPerOp,
    row.ratioToDirect,
  ];
}

/** The targets at 64 connections: cache hits ≥ 1.0× direct on SELECT 1, ≥ 10× on the aggregate. */
function targetChecks(rows: Row[], queries: Query[]): TargetCheck[] {
  const minimums: Array<[string, number]> = [
    [queries[0].name, 1.0],
    [queries[2].name, 10],
  ];
  const checks: TargetCheck[] = [];
  for (const [query, minimum] of minimums) {
    const row = rows.find((r) => r.query === query && r.connections === 64 && r.mode === 'cached');
    if (row === undefined) continue;
    checks.push({ query, connections: 64, minimum, ratio: row.ratioToDirect, isMet: row.ratioToDirect >= minimum });
  }
  return checks;
}

function sqlFor(query: Query, mode: Mode): string {
  return mode === 'cached' ? `/* ttl:${CACHE_TTL_SECONDS} */ ${query.sql}` : query.sql;
}

/**
 * Stores the query's entry in the cache and checks it: the second hinted
 * query must be answered by the cache with the rows MariaDB gives directly.
 * Returns a description of what went wrong, if anything.
 */
async function primeCache(direct: Target, proxy: BenchProxy, query: Query): Promise<string | undefined> {
  const options = { user: 'root', password: '', database: DATABASE, rowsAsArray: true };
  const directConn = await mysql.createConnection({ host: direct.host, port: direct.port, ...options });
  const proxyConn = await mysql.createConnection({ host: proxy.host, port: proxy.port, ...options });
  try {
    const [expected] = await directConn.query(query.sql);
    const hinted = sqlFor(query, 'cached');
    await proxyConn.query(hinted);
    const [cached] = await proxyConn.query(hinted);
    const answeredBy = await backendOf(proxyConn);
    if (answeredBy !== 'cache') return `${query.name}: the primed query was answered by ${JSON.stringify(answeredBy)}, not the cache`;
    if (JSON.stringify(cached) !== JSON.stringify(expected)) {
      return `${query.name}: the cached answer differs from the direct one`;
    }
    return undefined;
  } finally {
    await Promise.all([directConn.end(), proxyConn.end()]);
  }
}

/** `Backend` of `SHOW TQDB STATUS`: who answered this connection's previous query. */
async function backendOf(conn: Connection): Promise<string | undefined> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>({ sql: 'SHOW TQDB STATUS', rowsAsArray: true });
  const row = (rows as unknown as unknown[][]).find((r) => r[0] === 'Backend');
  return row === undefined ? undefined : String(row[1]);
}

/** One slot of one mode, with CPU sampled around the measured loop and cache counters around the whole run. */
async function measureOnce(
  query: Query,
  mode: Mode,
  target: Target,
  proxy: BenchProxy,
  connections: number,
  seconds: number,
  dbPid: number,
): Promise<Slot> {
  const sql = sqlFor(query, mode);
  const proxyPid = mode === 'direct' ? undefined : proxy.pid;
  const counters = mode === 'cached' ? proxy.metricValue : undefined;
  let dbCpuStart = 0;
  let proxyCpuStart = 0;
  let dbCpuSeconds = 0;
  let proxyCpuSeconds: number | undefined;
  let setupsNotCached = 0;

  const hitsBefore = counters === undefined ? 0 : await counters('tqdbproxy_cache_hits_total');
  const missesBefore = counters === undefined ? 0 : await counters('tqdbproxy_cache_misses_total');
  const loop = await runClosedLoop({
    host: target.host,
    port: target.port,
    connections,
    durationSeconds: seconds,
    connectOptions: { database: DATABASE },
    // Each connection's first hinted query, before the clock, must already be a hit.
    setup:
      mode === 'cached'
        ? async (conn: Connection) => {
            await conn.query(sql);
            if ((await backendOf(conn)) !== 'cache') setupsNotCached++;
          }
        : undefined,
    operation: (conn: Connection) => conn.query(sql),
    onStart: () => {
      dbCpuStart = processCpuSeconds(dbPid);
      if (proxyPid !== undefined) proxyCpuStart = processCpuSeconds(proxyPid);
    },
    onStop: () => {
      dbCpuSeconds = processCpuSeconds(dbPid) - dbCpuStart;
      if (proxyPid !== undefined) proxyCpuSeconds = processCpuSeconds(proxyPid) - proxyCpuStart;
    },
  });
  return {
    loop,
    dbCpuSeconds,
    proxyCpuSeconds,
    cacheHits: counters === undefined ? undefined : (await counters('tqdbproxy_cache_hits_total')) - hitsBefore,
    cacheMisses: counters === undefined ? undefined : (await counters('tqdbproxy_cache_misses_total')) - missesBefore,
    setupsNotCached,
  };
}

/** The rounds of one mode as one row: total ops over total time, percentiles over all samples. */
function toRow(query: string, connections: number, mode: Mode, slots: Slot[], directQps: number): Row {
  const merged = mergeResults(slots.map((s) => s.loop));
  const sum = (pick: (slot: Slot) => number | undefined): number | undefined =>
    slots.every((s) => pick(s) !== undefined) ? slots.reduce((total, s) => total + (pick(s) ?? 0), 0) : undefined;
  const dbCpuSeconds = sum((s) => s.dbCpuSeconds) ?? Number.NaN;
  const proxyCpuSeconds = mode === 'direct' ? undefined : sum((s) => s.proxyCpuSeconds);
  return {
    query,
    connections,
    mode,
    qps: merged.qps,
    p50Ms: merged.latency.p50Ms,
    p99Ms: merged.latency.p99Ms,
    ops: merged.ops,
    errors: merged.errors,
    firstError: merged.firstError,
    elapsedSeconds: merged.elapsedSeconds,
    dbCpuUsPerOp: ratio(dbCpuSeconds * 1e6, merged.ops),
    proxyCpuUsPerOp: proxyCpuSeconds === undefined ? undefined : ratio(proxyCpuSeconds * 1e6, merged.ops),
    ratioToDirect: ratio(merged.qps, directQps),
    cacheHits: mode === 'cached' ? sum((s) => s.cacheHits) : undefined,
    cacheMisses: mode === 'cached' ? sum((s) => s.cacheMisses) : undefined,
    setupsNotCached: mode === 'cached' ? slots.reduce((total, s) => total + s.setupsNotCached, 0) : undefined,
  };
}

/** Median and minimum latency of the query on one direct connection, after one unmeasured run. */
async function calibrate(direct: Target, sql: string): Promise<{ median: number; min: number }> {
  const conn = await mysql.createConnection({ host: direct.host, port: direct.port, user: 'root', password: '', database: DATABASE });
  try {
    await conn.query(sql);
    const times: number[] = [];
    for (let i = 0; i < CALIBRATION_RUNS; i++) {
      const t0 = performance.now();
      await conn.query(sql);
      times.push(performance.now() - t0);
    }
    return { median: percentile(times, 50), min: Math.min(...times) };
  } finally {
    await conn.end();
  }
}

/** The aggregate table's checksums: row count, Σ grp and Σ v as the fill below makes them. */
function expectedChecksums(): { rows: number; grpSum: number; vSum: number } {
  let grpSum = 0;
  let vSum = 0;
  for (let seq = 1; seq <= AGGREGATE_ROWS; seq++) {
    grpSum += seq % AGGREGATE_GROUPS;
    vSum += (seq * 7919) % 1000;
  }
  return { rows: AGGREGATE_ROWS, grpSum, vSum };
}

/**
 * Creates the bench database and the aggregate's table if needed (refilled
 * from MariaDB's sequence engine when its checksums are off); returns the
 * server version. `grp` and `v` have no index, so the aggregate scans.
 */
async function prepareDatabase(direct: Target): Promise<string> {
  const conn = await mysql.createConnection({ host: direct.host, port: direct.port, user: 'root', password: '' });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${DATABASE}`);
    await conn.query(`USE ${DATABASE}`);
    await conn.query(
      `CREATE TABLE IF NOT EXISTS ${AGGREGATE_TABLE} (
         id INT NOT NULL PRIMARY KEY,
         grp INT NOT NULL,
         v INT NOT NULL
       ) ENGINE=InnoDB`,
    );
    const expected = expectedChecksums();
    const [sums] = await conn.query<mysql.RowDataPacket[]>(
      `SELECT COUNT(*) AS n, COALESCE(SUM(grp), 0) AS g, COALESCE(SUM(v), 0) AS v FROM ${AGGREGATE_TABLE}`,
    );
    const actual = sums[0];
    if (Number(actual?.n) !== expected.rows || Number(actual?.g) !== expected.grpSum || Number(actual?.v) !== expected.vSum) {
      log(`filling ${DATABASE}.${AGGREGATE_TABLE} with ${AGGREGATE_ROWS.toLocaleString('en-US')} rows`);
      await conn.query(`TRUNCATE TABLE ${AGGREGATE_TABLE}`);
      await conn.query(
        `INSERT INTO ${AGGREGATE_TABLE} (id, grp, v)
         SELECT seq, seq % ${AGGREGATE_GROUPS}, (seq * 7919) % 1000 FROM seq_1_to_${AGGREGATE_ROWS}`,
      );
      await conn.query(`ANALYZE TABLE ${AGGREGATE_TABLE}`);
    }
    const [versionRows] = await conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    return String(versionRows[0]?.v);
  } finally {
    await conn.end();
  }
}

process.exitCode = await main();
