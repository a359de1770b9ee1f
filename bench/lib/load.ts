/**
 * A closed-loop load generator: N connections, each sending its next query as
 * soon as the previous answer arrives, for a fixed time. Throughput is then
 * bounded by latency, which is what an application with a connection pool sees.
 *
 * Connections are opened (and `setup` run) before the clock starts, so
 * connection set-up never counts as query latency.
 */
import mysql from 'mysql2/promise';
import type { Connection, ConnectionOptions } from 'mysql2/promise';
import { SampleBuffer, summarizeLatencies, type LatencySummary } from './stats.ts';

export interface ClosedLoopOptions {
  host: string;
  port: number;
  connections: number;
  durationSeconds: number;
  /** One operation; its latency is recorded. `worker` is 0..connections-1. */
  operation: (conn: Connection, worker: number, iteration: number) => Promise<unknown>;
  /** Runs once per connection before the clock starts (e.g. prepare statements). */
  setup?: (conn: Connection, worker: number) => Promise<void>;
  /** mysql2 options over the bench defaults (root, empty password, `test`, rowsAsArray). */
  connectOptions?: ConnectionOptions;
  /**
   * Paces each connection (open-loop-ish): its i-th operation is due at
   * start + (i + worker / connections) × intervalMs, so the connections
   * together offer connections / intervalMs × 1000 ops/s. An operation
   * behind schedule starts at once (catching up, never skipped). Latency is
   * measured from the actual send. Undefined: closed loop.
   */
  intervalMs?: number;
  /** Called between the set-up and the measured loop, and right after the loop. */
  onStart?: () => void;
  onStop?: () => void;
}

export interface ClosedLoopResult {
  connections: number;
  /** Operations that succeeded. */
  ops: number;
  errors: number;
  /** The first error message, to explain a non-zero `errors`. */
  firstError: string | undefined;
  elapsedSeconds: number;
  /** Successful operations per second. */
  qps: number;
  latency: LatencySummary;
  /** Raw per-operation latencies (ms) of successful operations, for merging runs. */
  samples: Float64Array;
}

/**
 * Opens the connections, runs `operation` in a loop on each until the
 * deadline, closes them, and reports throughput and latency percentiles.
 * A connection that fails fatally is reopened; if reopening fails, its
 * worker stops. Both errors are counted.
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const connectOptions: ConnectionOptions = {
    host: options.host,
    port: options.port,
    user: 'root',
    password: '',
    database: 'test',
    // Rows as arrays keep the client's own CPU cost down: client, proxy and
    // database share the cores, and client overhead would blur the ratio.
    rowsAsArray: true,
    connectTimeout: 10_000,
    ...options.connectOptions,
  };
  // Connections that mysql2 reported closed or failed; their next query would fail at once.
  const broken = new WeakSet<Connection>();
  const connect = async (worker: number): Promise<Connection> => {
    const conn = await mysql.createConnection(connectOptions);
    // A dropped connection surfaces as a query error; the event must not crash the bench.
    conn.on('error', () => broken.add(conn));
    conn.on('end', () => broken.add(conn));
    if (options.setup !== undefined) await options.setup(conn, worker);
    return conn;
  };

  const conns = await openAll(options.connections, connect);
  const buffers = conns.map(() => new SampleBuffer());
  let errors = 0;
  let firstError: string | undefined;
  const recordError = (error: unknown): void => {
    errors++;
    firstError ??= error instanceof Error ? error.message : String(error);
  };

  options.onStart?.();
  const startedAt = performance.now();
  const deadline = startedAt + options.durationSeconds * 1000;
  await Promise.all(
    conns.map(async (initial, worker) => {
      let conn = initial;
      const samples = buffers[worker];
      const intervalMs = options.intervalMs;
      const phaseMs = intervalMs === undefined ? 0 : (worker / options.connections) * intervalMs;
      for (let iteration = 0; performance.now() < deadline; iteration++) {
        if (intervalMs !== undefined) {
          const waitMs = startedAt + phaseMs + iteration * intervalMs - performance.now();
          if (waitMs >= 1) await Bun.sleep(waitMs);
          if (performance.now() >= deadline) break;
        }
        const t0 = performance.now();
        try {
          await options.operation(conn, worker, iteration);
          samples.push(performance.now() - t0);
        } catch (error) {
          recordError(error);
          if (isFatal(error) || broken.has(conn)) {
            conn.destroy();
            try {
              conn = await connect(worker);
              conns[worker] = conn;
            } catch (reconnectError) {
              recordError(reconnectError);
              return;
            }
          }
        }
      }
    }),
  );
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  options.onStop?.();
  await Promise.all(conns.map((conn) => conn.end().catch(() => conn.destroy())));

  const samples = SampleBuffer.concat(buffers);
  return {
    connections: options.connections,
    ops: samples.length,
    errors,
    firstError,
    elapsedSeconds,
    qps: samples.length / elapsedSeconds,
    latency: summarizeLatencies(samples),
    samples,
  };
}

/** Several runs of the same cell (A/B rounds) as one result: total ops over total time. */
export function mergeResults(results: ClosedLoopResult[]): ClosedLoopResult {
  if (results.length === 0) throw new Error('nothing to merge');
  const samples = new Float64Array(results.reduce((sum, r) => sum + r.samples.length, 0));
  let offset = 0;
  for (const result of results) {
    samples.set(result.samples, offset);
    offset += result.samples.length;
  }
  const elapsedSeconds = results.reduce((sum, r) => sum + r.elapsedSeconds, 0);
  return {
    connections: results[0].connections,
    ops: samples.length,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    firstError: results.find((r) => r.firstError !== undefined)?.firstError,
    elapsedSeconds,
    qps: samples.length / elapsedSeconds,
    latency: summarizeLatencies(samples),
    samples,
  };
}

/** Opens `count` connections, at most 32 handshakes at a time; closes them all if one fails. */
async function openAll(count: number, connect: (worker: number) => Promise<Connection>): Promise<Connection[]> {
  const conns: Connection[] = [];
  for (let first = 0; first < count; first += 32) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(32, count - first) }, (_, i) => connect(first + i)),
    );
    let failure: unknown;
    let isFailed = false;
    for (const outcome of batch) {
      if (outcome.status === 'fulfilled') {
        conns.push(outcome.value);
      } else if (!isFailed) {
        isFailed = true;
        failure = outcome.reason;
      }
    }
    if (isFailed) {
      await Promise.all(conns.map((conn) => conn.end().catch(() => conn.destroy())));
      throw failure;
    }
  }
  return conns;
}

function isFatal(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { fatal?: unknown }).fatal === true;
}
