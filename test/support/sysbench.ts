/**
 * sysbench (1.0.x) driven from tests and benches: prepare, run, cleanup, and
 * the end-of-run summary parsed into numbers.
 *
 * sysbench is optional on a developer machine (CI installs it). Guard tests
 * with `it.skipIf(!sysbenchAvailable())`, which prints why they are skipped.
 */

export type SysbenchTest =
  | 'oltp_read_write'
  | 'oltp_read_only'
  | 'oltp_write_only'
  | 'oltp_point_select'
  | 'oltp_insert'
  | 'oltp_update_index'
  | 'oltp_update_non_index'
  | 'oltp_delete'
  | 'select_random_points'
  | 'select_random_ranges'
  | 'bulk_insert';

export type SysbenchCommand = 'prepare' | 'run' | 'cleanup';

export interface SysbenchOptions {
  /** Default 127.0.0.1. */
  host?: string;
  port: number;
  /** `mysql` (default) or `pgsql`; both speak to the proxy's front ends. */
  driver?: 'mysql' | 'pgsql';
  /** Default root with an empty password. */
  user?: string;
  password?: string;
  /** Default `test`. */
  database?: string;
  /** `--tables`, default 1. */
  tables?: number;
  /** `--table-size`, default 10000. */
  tableSize?: number;
  /** `--threads`, default 1. */
  threads?: number;
  /** `--time` for `run`, default 10. */
  timeSeconds?: number;
  /** `--percentile` reported in the summary, default 95. */
  percentile?: number;
  /** `--histogram=on`: the summary then carries the latency histogram (and p50). */
  isHistogram?: boolean;
  /** Appended last, e.g. `['--db-ps-mode=disable']` or `['--mysql-ignore-errors=none']`. */
  extraArgs?: string[];
  /** Kill sysbench after this long. Default `timeSeconds` + 120 s. */
  timeoutMs?: number;
}

export interface SysbenchOutput {
  code: number;
  stdout: string;
  stderr: string;
  argv: string[];
}

export interface SysbenchSummary {
  queries: { read: number; write: number; other: number; total: number };
  transactions: number;
  /** Transactions per second. */
  tps: number;
  /** Queries per second. */
  qps: number;
  /** Errors sysbench ignored and retried (by default deadlocks and lock wait timeouts: 1213, 1020, 1205). */
  ignoredErrors: number;
  reconnects: number;
  totalTimeSeconds: number;
  events: number;
  latencyMs: {
    min: number;
    avg: number;
    max: number;
    sum: number;
    /** The `--percentile` line, e.g. `{ percentile: 95, value: 0.13 }`; absent with `--percentile=0`. */
    percentile?: { percentile: number; value: number };
    /** Median from the histogram, when `--histogram=on`. */
    p50?: number;
    /** 99th percentile from the histogram, when `--histogram=on`. */
    p99?: number;
  };
  /** Latency histogram buckets, when `--histogram=on`. */
  histogram?: Array<{ valueMs: number; count: number }>;
}

const SKIP_MESSAGE = 'sysbench is not installed: skipping what needs it (install it with `apt-get install -y sysbench`)';
let hasWarned = false;

/** Whether `sysbench` is on PATH; says so on stderr (once) when it is not. */
export function sysbenchAvailable(): boolean {
  if (Bun.which('sysbench') !== null) return true;
  if (!hasWarned) {
    hasWarned = true;
    console.warn(SKIP_MESSAGE);
  }
  return false;
}

/** The argv for one sysbench invocation. */
export function sysbenchArgv(test: SysbenchTest, command: SysbenchCommand, options: SysbenchOptions): string[] {
  const driver = options.driver ?? 'mysql';
  const prefix = driver === 'mysql' ? '--mysql' : '--pgsql';
  const argv = [
    'sysbench',
    test,
    `--db-driver=${driver}`,
    `${prefix}-host=${options.host ?? '127.0.0.1'}`,
    `${prefix}-port=${options.port}`,
    `${prefix}-user=${options.user ?? 'root'}`,
    `${prefix}-password=${options.password ?? ''}`,
    `${prefix}-db=${options.database ?? 'test'}`,
    `--tables=${options.tables ?? 1}`,
    `--table-size=${options.tableSize ?? 10_000}`,
    `--threads=${options.threads ?? 1}`,
  ];
  if (command === 'run') {
    argv.push(`--time=${options.timeSeconds ?? 10}`, `--percentile=${options.percentile ?? 95}`);
    if (options.isHistogram === true) argv.push('--histogram=on');
  }
  argv.push(...(options.extraArgs ?? []), command);
  return argv;
}

/** Runs one sysbench command; a non-zero exit is a result, not a rejection. */
export async function runSysbench(test: SysbenchTest, command: SysbenchCommand, options: SysbenchOptions): Promise<SysbenchOutput> {
  if (Bun.which('sysbench') === null) throw new Error(SKIP_MESSAGE);
  const argv = sysbenchArgv(test, command, options);
  const proc = Bun.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const timeoutMs = options.timeoutMs ?? ((options.timeSeconds ?? 10) + 120) * 1000;
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr, argv };
  } finally {
    clearTimeout(timer);
  }
}

/** Drops any leftover tables of an earlier run, then creates and fills fresh ones. */
export async function sysbenchPrepare(test: SysbenchTest, options: SysbenchOptions): Promise<void> {
  await sysbenchCleanup(test, options);
  expectSuccess(await runSysbench(test, 'prepare', options));
}

/** Runs the workload and parses its summary; rejects with sysbench's output if it fails. */
export async function sysbenchRun(test: SysbenchTest, options: SysbenchOptions): Promise<SysbenchSummary> {
  const output = expectSuccess(await runSysbench(test, 'run', options));
  try {
    return parseSysbenchSummary(output.stdout);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${describeOutput(output)}`);
  }
}

export async function sysbenchCleanup(test: SysbenchTest, options: SysbenchOptions): Promise<void> {
  expectSuccess(await runSysbench(test, 'cleanup', options));
}

function expectSuccess(output: SysbenchOutput): SysbenchOutput {
  if (output.code !== 0) throw new Error(`sysbench exited with code ${output.code}\n${describeOutput(output)}`);
  return output;
}

function describeOutput(output: SysbenchOutput): string {
  return `$ ${output.argv.join(' ')}\n--- stdout ---\n${output.stdout}\n--- stderr ---\n${output.stderr}`;
}

/** Parses the report sysbench prints at the end of `run`. Throws when a required line is missing. */
export function parseSysbenchSummary(stdout: string): SysbenchSummary {
  const num = (pattern: RegExp, what: string): number => {
    const match = pattern.exec(stdout);
    if (match === null) throw new Error(`sysbench output has no ${what} line`);
    return Number(match[1]);
  };
  const pair = (pattern: RegExp, what: string): [number, number] => {
    const match = pattern.exec(stdout);
    if (match === null) throw new Error(`sysbench output has no ${what} line`);
    return [Number(match[1]), Number(match[2])];
  };

  const [transactions, tps] = pair(/^\s*transactions:\s+(\d+)\s+\(([\d.]+) per sec\.\)/m, 'transactions');
  const [queriesTotal, qps] = pair(/^\s*queries:\s+(\d+)\s+\(([\d.]+) per sec\.\)/m, 'queries');
  const summary: SysbenchSummary = {
    queries: {
      read: num(/^\s*read:\s+(\d+)/m, 'queries read'),
      write: num(/^\s*write:\s+(\d+)/m, 'queries write'),
      other: num(/^\s*other:\s+(\d+)/m, 'queries other'),
      total: queriesTotal,
    },
    transactions,
    tps,
    qps,
    ignoredErrors: num(/^\s*ignored errors:\s+(\d+)/m, 'ignored errors'),
    reconnects: num(/^\s*reconnects:\s+(\d+)/m, 'reconnects'),
    totalTimeSeconds: num(/^\s*total time:\s+([\d.]+)s/m, 'total time'),
    events: num(/^\s*total number of events:\s+(\d+)/m, 'total number of events'),
    latencyMs: {
      min: num(/^\s*min:\s+([\d.]+)/m, 'latency min'),
      avg: num(/^\s*avg:\s+([\d.]+)/m, 'latency avg'),
      max: num(/^\s*max:\s+([\d.]+)/m, 'latency max'),
      sum: num(/^\s*sum:\s+([\d.]+)/m, 'latency sum'),
    },
  };
  const percentile = /^\s*(\d+)(?:st|nd|rd|th) percentile:\s+([\d.]+)/m.exec(stdout);
  if (percentile !== null) {
    summary.latencyMs.percentile = { percentile: Number(percentile[1]), value: Number(percentile[2]) };
  }
  const histogram = parseHistogram(stdout);
  if (histogram.length > 0) {
    summary.histogram = histogram;
    summary.latencyMs.p50 = histogramPercentile(histogram, 50);
    summary.latencyMs.p99 = histogramPercentile(histogram, 99);
  }
  return summary;
}

/** Buckets of the `--histogram=on` block: lines like `       0.049 |*****     4532`. */
function parseHistogram(stdout: string): Array<{ valueMs: number; count: number }> {
  const start = stdout.indexOf('Latency histogram');
  if (start === -1) return [];
  const buckets: Array<{ valueMs: number; count: number }> = [];
  for (const line of stdout.slice(start).split('\n').slice(2)) {
    const match = /^\s*([\d.]+)\s+\|[*\s]*?\s(\d+)\s*$/.exec(line);
    if (match === null) break;
    buckets.push({ valueMs: Number(match[1]), count: Number(match[2]) });
  }
  return buckets;
}

/**
 * The bucket value at or below which `percentile`% of the events fall.
 * sysbench's buckets are logarithmic (about 1.5% apart), which bounds the error.
 */
export function histogramPercentile(histogram: Array<{ valueMs: number; count: number }>, percentile: number): number {
  const total = histogram.reduce((sum, bucket) => sum + bucket.count, 0);
  if (total === 0) return Number.NaN;
  const rank = Math.ceil((percentile / 100) * total);
  let seen = 0;
  for (const bucket of histogram) {
    seen += bucket.count;
    if (seen >= rank) return bucket.valueMs;
  }
  return histogram[histogram.length - 1].valueMs;
}
