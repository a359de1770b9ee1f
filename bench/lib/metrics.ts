/**
 * Reading a bench proxy's Prometheus /metrics: one scrape gives a snapshot,
 * and the difference of two snapshots is what a measured slot did (batches,
 * batched writes, ...). The metrics address comes from the proxy's own
 * "metrics listening" log line, so any proxy started by `startBenchProxy`
 * can be scraped.
 */
import { findListeners } from '../../test/support/proxy.ts';
import { parseExposition, sumSamples, type Exposition } from '../../test/support/prometheus.ts';
import type { BenchProxy } from './proxy.ts';

export class MetricsSnapshot {
  constructor(private readonly exposition: Exposition) {}

  /**
   * Sum of the series `name` whose labels include `labels`; 0 for a family
   * with no series yet; NaN when the proxy does not expose the name at all.
   */
  value(name: string, labels: Record<string, string> = {}): number {
    try {
      return sumSamples(this.exposition, name, labels);
    } catch {
      return Number.NaN;
    }
  }

  /**
   * Sums of the series `name` by the value of one label (e.g. the batch
   * method), for label sets that are not known in advance; only series whose
   * labels include `where` (e.g. `{ protocol: 'mariadb' }`) count.
   */
  byLabel(name: string, label: string, where: Record<string, string> = {}): Map<string, number> {
    const sums = new Map<string, number>();
    for (const sample of this.exposition.samples) {
      const value = sample.labels[label];
      if (sample.name !== name || value === undefined) continue;
      if (!Object.entries(where).every(([key, wanted]) => sample.labels[key] === wanted)) continue;
      sums.set(value, (sums.get(value) ?? 0) + sample.value);
    }
    return sums;
  }
}

/** The /metrics URL of a proxy started by `startBenchProxy`; undefined for an external one. */
export function metricsUrlOf(proxy: BenchProxy): string | undefined {
  const address = findListeners(proxy.stderr()).metrics;
  if (address === undefined) return undefined;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `http://${host}:${address.port}/metrics`;
}

/** Scrapes `url` once. */
export async function scrapeMetrics(url: string): Promise<MetricsSnapshot> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return new MetricsSnapshot(parseExposition(await response.text()));
}

/** `after − before` of one series sum (counters and histogram _sum/_count). */
export function metricDelta(before: MetricsSnapshot, after: MetricsSnapshot, name: string, labels: Record<string, string> = {}): number {
  return after.value(name, labels) - before.value(name, labels);
}

/** `after − before` of every label value of `label` on `name` (series matching `where`); values that did not move are left out. */
export function labelDeltas(before: MetricsSnapshot, after: MetricsSnapshot, name: string, label: string, where: Record<string, string> = {}): Record<string, number> {
  const previous = before.byLabel(name, label, where);
  const deltas: Record<string, number> = {};
  for (const [value, sum] of after.byLabel(name, label, where)) {
    const delta = sum - (previous.get(value) ?? 0);
    if (delta !== 0) deltas[value] = delta;
  }
  return deltas;
}
