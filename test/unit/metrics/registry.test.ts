import { describe, expect, it } from 'bun:test';
import { register as globalRegistry } from 'prom-client';
import type { StatementKind } from '../../../src/core/sql/types.ts';
import { CallSiteLabels } from '../../../src/metrics/call-sites.ts';
import { Metrics } from '../../../src/metrics/registry.ts';
import { parseExposition, sumSamples } from '../../support/prometheus.ts';

const ALL_METRICS = [
  'tqdbproxy_query_total',
  'tqdbproxy_query_latency_seconds',
  'tqdbproxy_client_connections',
  'tqdbproxy_backend_errors_total',
  'tqdbproxy_write_batch_size',
  'tqdbproxy_write_batch_delay_seconds',
  'tqdbproxy_write_batch_latency_seconds',
  'tqdbproxy_write_ops_per_second',
  'tqdbproxy_write_current_delay_ms',
  'tqdbproxy_write_queued',
  'tqdbproxy_write_delay_adjustments_total',
  'tqdbproxy_write_batched_total',
  'tqdbproxy_write_excluded_total',
  'tqdbproxy_write_batch_method_total',
  'tqdbproxy_cache_hits_total',
  'tqdbproxy_cache_misses_total',
  'tqdbproxy_cache_coalesced_total',
  'tqdbproxy_cache_evictions_total',
  'tqdbproxy_cache_bytes',
  'tqdbproxy_cache_entries',
  'tqdbproxy_sql_hint_warnings_total',
];

async function scrape(metrics: Metrics) {
  return parseExposition(await metrics.render());
}

/** Counts calls to `labels()` on one metric: each call would create a child. */
/** Counts how often a metric hands out a label child (`labels` for prom-client metrics, `child` for the fast series). */
function countLabelCalls(metrics: Metrics, name: string): { calls: number } {
  const metric = metrics.registry.getSingleMetric(name) as unknown as Record<string, unknown>;
  const method = typeof metric['child'] === 'function' ? 'child' : 'labels';
  const counter = { calls: 0 };
  const original = (metric[method] as (...args: unknown[]) => unknown).bind(metric);
  metric[method] = (...args: unknown[]) => {
    counter.calls++;
    return original(...args);
  };
  return counter;
}

describe('Metrics', () => {
  it('exposes every tqdbproxy metric from the first scrape', async () => {
    const exposition = await scrape(new Metrics({ maxCallSites: 10, collectDefaultMetrics: false }));
    for (const name of ALL_METRICS) expect(exposition.families.has(name), name).toBe(true);
  });

  it('names every metric tqdbproxy_<area>_<what>, counters ending in _total', () => {
    const metrics = new Metrics({ maxCallSites: 10, collectDefaultMetrics: false });
    for (const metric of metrics.registry.getMetricsAsArray()) {
      expect(metric.name).toMatch(/^tqdbproxy_[a-z]+_[a-z_]+$/);
      const type = (metric as unknown as { type: string }).type;
      if (type === 'counter') expect(metric.name.endsWith('_total'), metric.name).toBe(true);
    }
  });

  it('uses its own registry, not prom-client global one', async () => {
    const metrics = new Metrics({ maxCallSites: 10 });
    metrics.cacheMiss('mariadb');
    expect(metrics.registry).not.toBe(globalRegistry);
    expect(globalRegistry.getSingleMetric('tqdbproxy_cache_misses_total')).toBeUndefined();
    expect((await scrape(new Metrics({ maxCallSites: 10, collectDefaultMetrics: false }))).families.has('tqdbproxy_cache_misses_total')).toBe(true);
  });

  it('includes the default process metrics unless told not to', async () => {
    expect((await scrape(new Metrics({ maxCallSites: 1 }))).families.has('process_cpu_user_seconds_total')).toBe(true);
    expect((await scrape(new Metrics({ maxCallSites: 1, collectDefaultMetrics: false }))).families.has('process_cpu_user_seconds_total')).toBe(false);
  });

  it('counts queries and their latency with protocol, query_type, cached, file and line', async () => {
    const metrics = new Metrics({ maxCallSites: 10, collectDefaultMetrics: false });
    metrics.observeQuery('mariadb', 'select', false, 'orders.go', 42, 0.002);
    metrics.observeQuery('mariadb', 'select', false, 'orders.go', 42, 0.004);
    metrics.observeQuery('mariadb', 'select', true, 'orders.go', 42, 0.0001);
    metrics.observeQuery('postgres', 'insert', false, null, null, 0.01);
    const e = await scrape(metrics);
    const site = { file: 'orders.go', line: '42' };
    expect(sumSamples(e, 'tqdbproxy_query_total', { protocol: 'mariadb', query_type: 'select', cached: 'false', ...site })).toBe(2);
    expect(sumSamples(e, 'tqdbproxy_query_total', { cached: 'true', ...site })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_query_total', { protocol: 'postgres', query_type: 'insert', file: '', line: '' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_query_latency_seconds_count', { protocol: 'mariadb', cached: 'false' })).toBe(2);
    expect(sumSamples(e, 'tqdbproxy_query_latency_seconds_sum', { protocol: 'mariadb', cached: 'false' })).toBeCloseTo(0.006, 9);
    expect(sumSamples(e, 'tqdbproxy_query_latency_seconds_bucket', { protocol: 'mariadb', cached: 'false', le: '0.0025' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_query_latency_seconds_bucket', { protocol: 'postgres', le: '0.0001' })).toBe(0);
    expect(sumSamples(e, 'tqdbproxy_query_latency_seconds_bucket', { protocol: 'postgres', le: '10' })).toBe(1);
  });

  it('labels call sites past metrics_max_call_sites as other', async () => {
    const metrics = new Metrics({ maxCallSites: 2, collectDefaultMetrics: false });
    for (const file of ['a.go', 'b.go', 'c.go', 'd.go']) metrics.observeQuery('mariadb', 'select', false, file, 1, 0.001);
    const e = await scrape(metrics);
    const files = new Set(e.samples.filter((s) => s.name === 'tqdbproxy_query_total').map((s) => s.labels['file']));
    expect([...files].sort()).toEqual(['a.go', 'b.go', 'other']);
    expect(sumSamples(e, 'tqdbproxy_query_total', { file: 'other', line: 'other' })).toBe(2);
  });

  it('accepts a pre-resolved call site', async () => {
    const metrics = new Metrics({ maxCallSites: 5, collectDefaultMetrics: false });
    const site = metrics.callSite('x.ts', 9);
    metrics.observeQueryAt('mariadb', 'update', false, site, 0.001);
    metrics.observeQueryAt('mariadb', 'update', false, CallSiteLabels.NONE, 0.001);
    const e = await scrape(metrics);
    expect(sumSamples(e, 'tqdbproxy_query_total', { file: 'x.ts', line: '9' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_query_total', { query_type: 'update' })).toBe(2);
  });

  it('creates no label child per call once a label set has been seen', () => {
    const metrics = new Metrics({ maxCallSites: 10, collectDefaultMetrics: false });
    const total = countLabelCalls(metrics, 'tqdbproxy_query_total');
    const latency = countLabelCalls(metrics, 'tqdbproxy_query_latency_seconds');
    const errors = countLabelCalls(metrics, 'tqdbproxy_backend_errors_total');
    const batchSizes = countLabelCalls(metrics, 'tqdbproxy_write_batch_size');
    for (let i = 0; i < 1000; i++) {
      metrics.observeQuery('mariadb', 'select', false, 'a.go', 1, 0.001);
      metrics.observeQuery('mariadb', 'select', false, null, null, 0.001);
      metrics.backendError('mariadb', '127.0.0.1:3306', 'lost');
      metrics.observeBatch('mariadb', 'a.go:1', 10, 0.001);
      metrics.writeExcludedFromBatch('mariadb', 'transaction');
      metrics.cacheHit('mariadb', 'fresh');
    }
    expect(total.calls).toBe(2);
    expect(latency.calls).toBe(2);
    // One child per (protocol, kind) for the backend, made together on first use.
    expect(errors.calls).toBe(8);
    expect(batchSizes.calls).toBe(1);
  });

  it('caps query types forced past the type, so a bug cannot explode the label set', async () => {
    const metrics = new Metrics({ maxCallSites: 1, collectDefaultMetrics: false });
    for (let i = 0; i < 100; i++) metrics.observeQuery('mariadb', `kind${i}` as StatementKind, false, null, null, 0.001);
    const e = await scrape(metrics);
    const types = new Set(e.samples.filter((s) => s.name === 'tqdbproxy_query_total').map((s) => s.labels['query_type']));
    expect(types.size).toBe(65);
    expect(sumSamples(e, 'tqdbproxy_query_total', { query_type: 'other' })).toBe(36);
  });

  it('tracks client connections per protocol', async () => {
    const metrics = new Metrics({ maxCallSites: 1, collectDefaultMetrics: false });
    metrics.clientConnected('mariadb');
    metrics.clientConnected('mariadb', 1);
    metrics.clientConnected('postgres');
    metrics.clientConnected('mariadb', -1);
    metrics.clientDisconnected('postgres');
    const e = await scrape(metrics);
    expect(sumSamples(e, 'tqdbproxy_client_connections', { protocol: 'mariadb' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_client_connections', { protocol: 'postgres' })).toBe(0);
  });

  it('counts backend errors by protocol, backend and kind', async () => {
    const metrics = new Metrics({ maxCallSites: 1, collectDefaultMetrics: false });
    metrics.backendError('mariadb', '10.0.0.1:3306', 'connect');
    metrics.backendError('mariadb', '10.0.0.1:3306', 'connect');
    metrics.backendError('postgres', '10.0.0.2:5432', 'timeout');
    const e = await scrape(metrics);
    expect(sumSamples(e, 'tqdbproxy_backend_errors_total', { protocol: 'mariadb', backend: '10.0.0.1:3306', kind: 'connect' })).toBe(2);
    expect(sumSamples(e, 'tqdbproxy_backend_errors_total', { protocol: 'postgres', kind: 'timeout' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_backend_errors_total', { kind: 'lost' })).toBe(0);
  });

  it('records batches by protocol and site, capping sites like call sites', async () => {
    const metrics = new Metrics({ maxCallSites: 1, collectDefaultMetrics: false });
    metrics.observeBatch('mariadb', 'a.go:1', 20, 0.004);
    metrics.observeBatchLatency('mariadb', 'a.go:1', 0.002);
    metrics.observeBatch('mariadb', 'b.go:2', 5, 0.001);
    metrics.observeBatch('postgres', 'a.go:1', 7, 0.001);
    const site = metrics.batchSite('mariadb', 'c.go:3');
    expect(site.label).toBe('other');
    site.observeSize(1);
    const e = await scrape(metrics);
    expect(sumSamples(e, 'tqdbproxy_write_batch_size_sum', { protocol: 'mariadb', site: 'a.go:1' })).toBe(20);
    expect(sumSamples(e, 'tqdbproxy_write_batch_size_sum', { protocol: 'postgres', site: 'a.go:1' })).toBe(7);
    expect(sumSamples(e, 'tqdbproxy_write_batch_size_count', { site: 'other' })).toBe(2);
    expect(sumSamples(e, 'tqdbproxy_write_batch_delay_seconds_count', { protocol: 'mariadb', site: 'a.go:1' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_write_batch_latency_seconds_count', { site: 'a.go:1' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_write_batch_latency_seconds_count', { protocol: 'postgres' })).toBe(0);
    expect(sumSamples(e, 'tqdbproxy_write_batch_size_bucket', { protocol: 'mariadb', site: 'a.go:1', le: '1000' })).toBe(1);
  });

  it('records the adaptive delay, throughput, queue, batched and excluded writes, modes and methods per protocol', async () => {
    const metrics = new Metrics({ maxCallSites: 1, collectDefaultMetrics: false });
    metrics.setWriteCurrentDelayMs('mariadb', 15);
    metrics.setWriteCurrentDelayMs('postgres', 4);
    metrics.setWriteOpsPerSecond('mariadb', 1234.5);
    metrics.setWriteQueued('postgres', 3);
    metrics.delayAdjusted('mariadb', 'up');
    metrics.delayAdjusted('mariadb', 'up');
    metrics.delayAdjusted('postgres', 'down');
    metrics.writeModeSwitched('postgres', 'alone');
    metrics.writesBatched('mariadb', 20);
    metrics.writesBatched('postgres');
    metrics.writeExcludedFromBatch('mariadb', 'hint_zero');
    metrics.batchExecuted('mariadb', 'multi_row_insert');
    metrics.batchExecuted('postgres', 'transaction');
    const e = await scrape(metrics);
    expect(sumSamples(e, 'tqdbproxy_write_current_delay_ms', { protocol: 'mariadb' })).toBe(15);
    expect(sumSamples(e, 'tqdbproxy_write_current_delay_ms', { protocol: 'postgres' })).toBe(4);
    expect(sumSamples(e, 'tqdbproxy_write_ops_per_second', { protocol: 'mariadb' })).toBe(1234.5);
    expect(sumSamples(e, 'tqdbproxy_write_queued', { protocol: 'postgres' })).toBe(3);
    // A protocol whose listener never reported a queue has no series, rather than a 0 that looks measured.
    expect(e.samples.some((s) => s.name === 'tqdbproxy_write_queued' && s.labels['protocol'] === 'mariadb')).toBe(false);
    expect(sumSamples(e, 'tqdbproxy_write_delay_adjustments_total', { protocol: 'mariadb', direction: 'up' })).toBe(2);
    expect(sumSamples(e, 'tqdbproxy_write_delay_adjustments_total', { protocol: 'mariadb', direction: 'down' })).toBe(0);
    expect(sumSamples(e, 'tqdbproxy_write_delay_adjustments_total', { protocol: 'postgres', direction: 'down' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_write_mode_switches_total', { protocol: 'postgres', to: 'alone' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_write_mode_switches_total', { protocol: 'mariadb' })).toBe(0);
    expect(sumSamples(e, 'tqdbproxy_write_batched_total', { protocol: 'mariadb' })).toBe(20);
    expect(sumSamples(e, 'tqdbproxy_write_batched_total', { protocol: 'postgres' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_write_excluded_total', { protocol: 'mariadb', reason: 'hint_zero' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_write_excluded_total', { protocol: 'postgres', reason: 'hint_zero' })).toBe(0);
    expect(sumSamples(e, 'tqdbproxy_write_excluded_total', { reason: 'transaction' })).toBe(0);
    expect(sumSamples(e, 'tqdbproxy_write_batch_method_total', { protocol: 'mariadb', method: 'multi_row_insert' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_write_batch_method_total', { protocol: 'mariadb', method: 'transaction' })).toBe(0);
    expect(sumSamples(e, 'tqdbproxy_write_batch_method_total', { protocol: 'postgres', method: 'transaction' })).toBe(1);
    // Every batching series names its protocol.
    for (const sample of e.samples) {
      if (sample.name.startsWith('tqdbproxy_write_')) expect({ name: sample.name, protocol: sample.labels['protocol'] }).toEqual({ name: sample.name, protocol: expect.stringMatching(/^(mariadb|postgres)$/) });
    }
  });

  it('records cache hits, misses, coalesced waiters, evictions and size', async () => {
    const metrics = new Metrics({ maxCallSites: 1, collectDefaultMetrics: false });
    metrics.cacheHit('mariadb', 'fresh');
    metrics.cacheHit('postgres', 'stale');
    metrics.cacheHit('mariadb', 'fresh');
    metrics.cacheMiss('postgres');
    metrics.cacheCoalescedWaiters('mariadb', 49);
    metrics.cacheEvicted(3);
    metrics.setCacheUsage(4096, 12);
    metrics.hintWarning('postgres', 'ttl_on_write');
    const e = await scrape(metrics);
    expect(sumSamples(e, 'tqdbproxy_cache_hits_total', { protocol: 'mariadb', state: 'fresh' })).toBe(2);
    expect(sumSamples(e, 'tqdbproxy_cache_hits_total', { protocol: 'postgres', state: 'fresh' })).toBe(0);
    expect(sumSamples(e, 'tqdbproxy_cache_hits_total', { protocol: 'postgres', state: 'stale' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_cache_misses_total', { protocol: 'postgres' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_cache_misses_total', { protocol: 'mariadb' })).toBe(0);
    expect(sumSamples(e, 'tqdbproxy_cache_coalesced_total', { protocol: 'mariadb' })).toBe(49);
    expect(sumSamples(e, 'tqdbproxy_cache_evictions_total')).toBe(3);
    expect(sumSamples(e, 'tqdbproxy_cache_bytes')).toBe(4096);
    expect(sumSamples(e, 'tqdbproxy_cache_entries')).toBe(12);
    expect(sumSamples(e, 'tqdbproxy_sql_hint_warnings_total', { protocol: 'postgres', kind: 'ttl_on_write' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_sql_hint_warnings_total', { protocol: 'mariadb', kind: 'ttl_on_write' })).toBe(0);
    expect(sumSamples(e, 'tqdbproxy_sql_hint_warnings_total', { kind: 'out_of_range' })).toBe(0);
  });

  it('applies a new call-site cap to sites not yet seen', async () => {
    const metrics = new Metrics({ maxCallSites: 1, collectDefaultMetrics: false });
    metrics.observeQuery('mariadb', 'select', false, 'a', 1, 0.001);
    metrics.observeQuery('mariadb', 'select', false, 'b', 1, 0.001);
    metrics.setMaxCallSites(2);
    metrics.observeQuery('mariadb', 'select', false, 'c', 1, 0.001);
    const e = await scrape(metrics);
    expect(sumSamples(e, 'tqdbproxy_query_total', { file: 'c' })).toBe(1);
    expect(sumSamples(e, 'tqdbproxy_query_total', { file: 'other' })).toBe(1);
  });

  it('spells NaN as the exposition format does', async () => {
    const metrics = new Metrics({ maxCallSites: 1, collectDefaultMetrics: false });
    metrics.setWriteOpsPerSecond('mariadb', Number.NaN);
    const text = await metrics.render();
    expect(text).toContain('\ntqdbproxy_write_ops_per_second{protocol="mariadb"} NaN\n');
    expect(text).not.toContain(' Nan\n');
  });
});
