/**
 * pgbench as the C load generator of the PostgreSQL benches: one timed run
 * against a target, with per-transaction latencies from its log (-l), the
 * database's CPU (the postmaster and every backend, from /proc) and the
 * hop's CPU (proxy, PgBouncer or relay) over the run.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { descendantPids } from '../../test/support/process.ts';
import { processCpuSeconds, processTreeCpuSeconds } from './proc.ts';

export interface PgbenchTarget {
  host: string;
  port: number;
  /** The hop's pid, for its CPU; undefined for direct. */
  pid: number | undefined;
}

export interface PgbenchRun {
  /** pgbench arguments selecting the script: ['-S'], ['-f', path], ... */
  script: string[];
  protocol: 'simple' | 'extended' | 'prepared';
  target: PgbenchTarget;
  connections: number;
  seconds: number;
  database: string;
  /** The postmaster's pid; undefined: the database's CPU is not measured. */
  dbPid: number | undefined;
  /** A directory pgbench may write its logs into (and run in). */
  scratch: string;
}

export interface PgbenchSlot {
  transactions: number;
  failed: number;
  elapsedSeconds: number;
  latenciesUs: number[];
  dbCpuSeconds: number;
  hopCpuSeconds: number | undefined;
  error: string | undefined;
}

/** What several slots of one mode add up to. */
export interface PgbenchTotals {
  tps: number;
  transactions: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  dbCpuSeconds: number;
  hopCpuSeconds: number | undefined;
  error: string | undefined;
}

export async function runPgbench(run: PgbenchRun): Promise<PgbenchSlot> {
  const { target, scratch } = run;
  const prefix = join(scratch, `log-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const argv = [
    'pgbench', '-h', target.host, '-p', String(target.port), '-U', 'root', '-n',
    ...run.script, `--protocol=${run.protocol}`, '-c', String(run.connections), '-j', '2', '-T', String(run.seconds),
    '-l', `--log-prefix=${prefix}`, run.database,
  ];
  const serverProcesses = run.dbPid === undefined ? 0 : descendantPids(run.dbPid).length;
  const dbStart = run.dbPid === undefined ? 0 : processTreeCpuSeconds(run.dbPid);
  const hopStart = target.pid === undefined ? 0 : processCpuSeconds(target.pid);
  const proc = Bun.spawn(argv, { stdout: 'pipe', stderr: 'pipe', cwd: scratch });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const dbCpuSeconds = run.dbPid === undefined ? 0 : (await settledServerCpuSeconds(run.dbPid, serverProcesses)) - dbStart;
  const hopCpuSeconds = target.pid === undefined ? undefined : processCpuSeconds(target.pid) - hopStart;
  const latenciesUs: number[] = [];
  const base = prefix.slice(scratch.length + 1);
  for (const name of readdirSync(scratch).filter((n) => n.startsWith(base))) {
    const path = join(scratch, name);
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      // client_id transaction_no time script_no time_epoch time_us
      const fields = line.split(' ');
      if (fields.length >= 3) latenciesUs.push(Number(fields[2]));
    }
    rmSync(path, { force: true });
  }
  const processed = /number of transactions actually processed: (\d+)/.exec(stdout);
  // pgbench's own rate excludes connection set-up, which -T's wall time would include.
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
  const failed = /number of failed transactions: (\d+)/.exec(stdout);
  const transactions = processed === null ? 0 : Number(processed[1]);
  return {
    transactions,
    failed: failed === null ? 0 : Number(failed[1]),
    elapsedSeconds: tps === null || transactions === 0 ? run.seconds : transactions / Number(tps[1]),
    latenciesUs,
    dbCpuSeconds,
    hopCpuSeconds,
    error: code === 0 && transactions > 0 ? undefined : (stderr.trim().split('\n').filter((l) => l.includes('error')).pop() ?? `pgbench exited ${code} with ${transactions} transactions`),
  };
}

/**
 * The server's CPU once the run's backends have exited (up to 3 s): a
 * backend's time moves into the postmaster's children's time only when it
 * is reaped, and one still exiting would be counted in the next run.
 */
export async function settledServerCpuSeconds(dbPid: number, processesBefore: number): Promise<number> {
  const deadline = performance.now() + 3000;
  while (descendantPids(dbPid).length > processesBefore && performance.now() < deadline) await Bun.sleep(10);
  return processTreeCpuSeconds(dbPid);
}

export function combinePgbenchSlots(slots: readonly PgbenchSlot[]): PgbenchTotals {
  const transactions = slots.reduce((s, x) => s + x.transactions, 0);
  const elapsed = slots.reduce((s, x) => s + x.elapsedSeconds, 0);
  const latencies = slots.flatMap((s) => s.latenciesUs).sort((a, b) => a - b);
  const pct = (p: number): number => (latencies.length === 0 ? Number.NaN : latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! / 1000);
  return {
    tps: transactions / elapsed,
    transactions,
    failed: slots.reduce((s, x) => s + x.failed, 0),
    p50Ms: pct(50),
    p99Ms: pct(99),
    dbCpuSeconds: slots.reduce((s, x) => s + x.dbCpuSeconds, 0),
    hopCpuSeconds: slots.every((s) => s.hopCpuSeconds !== undefined) ? slots.reduce((s, x) => s + (x.hopCpuSeconds ?? 0), 0) : undefined,
    error: slots.find((s) => s.error !== undefined)?.error,
  };
}
