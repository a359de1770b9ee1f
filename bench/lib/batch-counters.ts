/**
 * What one proxy did for batching between two /metrics scrapes, for one
 * protocol's series: batches, their sizes and latency, methods, and the
 * writes sent alone by reason. Shared by the MariaDB and PostgreSQL benches.
 */
import { labelDeltas, metricDelta, type MetricsSnapshot } from './metrics.ts';

export interface BatchCounters {
  batches: number;
  batchedWrites: number;
  batchSizeSum: number;
  /** Sum of `tqdbproxy_write_batch_latency_seconds`: send to last result, over all batches. */
  batchLatencySeconds: number;
  /** Batches by `tqdbproxy_write_batch_method_total{method}`. */
  methods: Record<string, number>;
  /** Writes sent straight through, by `tqdbproxy_write_excluded_total{reason}`. */
  excluded: Record<string, number>;
  /** `tqdbproxy_write_current_delay_ms` at the end. */
  delayMs: number | undefined;
}

/** `protocol`'s batching between two scrapes; all zero when either is missing (direct mode). */
export function batchCountersBetween(before: MetricsSnapshot | undefined, after: MetricsSnapshot | undefined, protocol: 'mariadb' | 'postgres'): BatchCounters {
  if (before === undefined || after === undefined) {
    return { batches: 0, batchedWrites: 0, batchSizeSum: 0, batchLatencySeconds: 0, methods: {}, excluded: {}, delayMs: undefined };
  }
  const labels = { protocol };
  return {
    batches: metricDelta(before, after, 'tqdbproxy_write_batch_size_count', labels),
    batchSizeSum: metricDelta(before, after, 'tqdbproxy_write_batch_size_sum', labels),
    batchedWrites: metricDelta(before, after, 'tqdbproxy_write_batched_total', labels),
    batchLatencySeconds: metricDelta(before, after, 'tqdbproxy_write_batch_latency_seconds_sum', labels),
    methods: labelDeltas(before, after, 'tqdbproxy_write_batch_method_total', 'method', labels),
    excluded: labelDeltas(before, after, 'tqdbproxy_write_excluded_total', 'reason', labels),
    delayMs: after.value('tqdbproxy_write_current_delay_ms', labels),
  };
}

export function sumCounters(all: readonly BatchCounters[]): BatchCounters {
  const sum = (pick: (c: BatchCounters) => number): number => all.reduce((total, c) => total + pick(c), 0);
  const sumRecords = (pick: (c: BatchCounters) => Record<string, number>): Record<string, number> => {
    const total: Record<string, number> = {};
    for (const record of all.map(pick)) for (const [key, value] of Object.entries(record)) total[key] = (total[key] ?? 0) + value;
    return total;
  };
  return {
    batches: sum((c) => c.batches),
    batchedWrites: sum((c) => c.batchedWrites),
    batchSizeSum: sum((c) => c.batchSizeSum),
    batchLatencySeconds: sum((c) => c.batchLatencySeconds),
    methods: sumRecords((c) => c.methods),
    excluded: sumRecords((c) => c.excluded),
    delayMs: all[all.length - 1]?.delayMs,
  };
}

const METHOD_SHORT_NAMES: Record<string, string> = { multi_row_insert: 'multi', multi_row_delete: 'mdel', transaction: 'txn' };

/** Each method's share of the batches, the rest counted as batches of one (`single`). */
export function describeMethods(methods: Record<string, number>, batches: number): string {
  const single = batches - Object.values(methods).reduce((sum, n) => sum + n, 0);
  return describeShares(single > 0 ? { ...methods, single } : methods, batches);
}

/** `txn 100%` or `multi 80% txn 20%`: each key's share of `total`, largest first; '-' for none. */
export function describeShares(counts: Record<string, number>, total: number): string {
  const entries = Object.entries(counts).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0 || total <= 0) return '-';
  return entries.map(([key, n]) => `${METHOD_SHORT_NAMES[key] ?? key} ${Math.round((100 * n) / total)}%`).join(' ');
}
