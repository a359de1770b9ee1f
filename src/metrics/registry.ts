/**
 * Every metric the proxy exposes is defined here, on a registry this object
 * owns (never prom-client's global one), named `tqdbproxy_<area>_<what>_<unit>`.
 *
 * Hot-path methods take label values from closed sets (typed unions) or from
 * bounded label sets (`CallSiteLabels`, `BoundedLabels`), and cache the
 * prom-client label children they use: after the first call with given label
 * values, a call creates no metric object and builds no key string.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { StatementKind } from '../core/sql/types.ts';
import { BoundedLabels, CallSiteLabels, type CallSite } from './call-sites.ts';
import { FastCounterVec, FastHistogramVec, type CounterSeries } from './fast-series.ts';

export type Protocol = 'mariadb' | 'postgres';
export const PROTOCOL_LABELS = ['mariadb', 'postgres'] as const satisfies readonly Protocol[];

/** Why a backend connection failed: `connect` (could not reach it), `lost` (dropped mid-session), `protocol` (sent bytes we could not frame), `timeout`. */
export type BackendErrorKind = 'connect' | 'lost' | 'protocol' | 'timeout';
export const BACKEND_ERROR_KINDS = ['connect', 'lost', 'protocol', 'timeout'] as const satisfies readonly BackendErrorKind[];

/** Why a client was refused for its TLS; the reason label of tqdbproxy_client_tls_refused_total. */
export type ClientTlsRefusal = 'plaintext' | 'handshake' | 'unencrypted_data';

export type DelayDirection = 'up' | 'down';
export const DELAY_DIRECTIONS = ['up', 'down'] as const satisfies readonly DelayDirection[];

/** Why an eligible-looking write went straight to the backend instead of into a batch. */
export type WriteExcludedReason =
  | 'disabled'
  | 'hint_zero'
  | 'transaction'
  | 'autocommit_off'
  | 'lock_tables'
  | 'multi_statement'
  | 'not_batchable'
  | 'session_state'
  /** Sent behind answers still owed to its client (a pipelining driver): a batched answer could not be put in place. */
  | 'pipelined'
  | 'too_large'
  | 'shutting_down'
  /** Its template's writes are faster alone than batched (see writebatch_probe_interval_ms). */
  | 'not_paying';
export const WRITE_EXCLUDED_REASONS = [
  'disabled',
  'hint_zero',
  'transaction',
  'autocommit_off',
  'lock_tables',
  'multi_statement',
  'not_batchable',
  'session_state',
  'pipelined',
  'too_large',
  'shutting_down',
  'not_paying',
] as const satisfies readonly WriteExcludedReason[];

/** The mode a template switched to: batching its writes, or running them alone. */
export type WriteMode = 'batch' | 'alone';
export const WRITE_MODES = ['batch', 'alone'] as const satisfies readonly WriteMode[];

export type BatchMethod = 'multi_row_insert' | 'multi_row_delete' | 'transaction';
export const BATCH_METHODS = ['multi_row_insert', 'multi_row_delete', 'transaction'] as const satisfies readonly BatchMethod[];

export type CacheHitState = 'fresh' | 'stale';
export const CACHE_HIT_STATES = ['fresh', 'stale'] as const satisfies readonly CacheHitState[];

export type HintWarningKind = 'ttl_on_write' | 'out_of_range';
export const HINT_WARNING_KINDS = ['ttl_on_write', 'out_of_range'] as const satisfies readonly HintWarningKind[];

/** Seconds, 100 µs to 10 s: a cache hit is sub-millisecond, a slow query is seconds. */
export const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Writes per batch, up to the largest allowed writebatch_max_batch_size default. */
/** How often call sites age; a site idle for IDLE_TICKS_BEFORE_EVICTION ticks can be replaced. */
const CALL_SITE_TICK_MS = 60_000;

export const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
/** Seconds a batch waited before it was sent: 0 to writebatch_max_delay_ms territory. */
export const BATCH_DELAY_BUCKETS_SECONDS = [0, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * Statement kinds are a closed union owned by src/core/sql; this cap is only
 * a safety net so a value forced past the type cannot explode the label set.
 */
const MAX_QUERY_TYPES = 64;
/** Backends come from the config; the cap guards against a caller passing something else. */
const MAX_BACKENDS = 1024;

export interface MetricsOptions {
  /** `[proxy] metrics_max_call_sites`: distinct file:line pairs (and batch sites) kept as labels. */
  readonly maxCallSites: number;
  /** Register prom-client's process and runtime metrics (process_*, nodejs_*). Default true. */
  readonly collectDefaultMetrics?: boolean;
}

/** The three histograms of one batch site, children resolved once. */
export interface BatchSiteMetrics {
  /** The `site` label value (the site itself, or `other` past the cap). */
  readonly label: string;
  /** Writes in a batch that was sent. */
  observeSize(writes: number): void;
  /** Seconds the batch waited between its first write arriving and being sent. */
  observeDelay(seconds: number): void;
  /** Seconds from sending the batch to its last result. */
  observeLatency(seconds: number): void;
}

interface CounterChild {
  inc(value?: number): void;
}
interface GaugeChild {
  inc(value?: number): void;
  dec(value?: number): void;
  set(value: number): void;
}
interface HistogramChild {
  observe(value: number): void;
}

interface QueryChildren {
  readonly total: CounterChild;
  readonly latency: HistogramChild;
}

/** Four slots: protocol (mariadb, postgres) × cached (false, true). */
type QueryRow = [QueryChildren | undefined, QueryChildren | undefined, QueryChildren | undefined, QueryChildren | undefined];

export class Metrics {
  readonly registry: Registry;
  /** Resolves hint `file`/`line` pairs to capped label values. */
  readonly callSites: CallSiteLabels;

  // Per-query metrics use the fast series: prom-client children hash their labels on every call.
  private readonly queryTotal: FastCounterVec;
  private readonly queryLatency: FastHistogramVec;
  private readonly clientConnections: Gauge<'protocol'>;
  private readonly backendErrors: Counter<'protocol' | 'backend' | 'kind'>;
  private readonly clientTlsRefusals: Counter<'protocol' | 'reason'>;

  private readonly writeBatchSize: FastHistogramVec;
  private readonly writeBatchDelay: FastHistogramVec;
  private readonly writeBatchLatency: FastHistogramVec;
  private readonly writeOpsPerSecond: Gauge<'protocol'>;
  private readonly writeCurrentDelayMs: Gauge<'protocol'>;
  /** Read at scrape time: each protocol's batch manager updates its own count per write. */
  private readonly writeQueuedCounts: Partial<Record<Protocol, number>> = {};
  private readonly writeDelayAdjustments: Counter<'protocol' | 'direction'>;
  private readonly writeModeSwitches: Counter<'protocol' | 'to'>;
  private readonly writeBatched: Record<Protocol, CounterSeries>;
  private readonly writeExcluded: FastCounterVec;
  private readonly writeBatchMethod: FastCounterVec;

  private readonly cacheHits: FastCounterVec;
  private readonly cacheMissChildren: Record<Protocol, CounterSeries>;
  private readonly cacheCoalescedChildren: Record<Protocol, CounterSeries>;
  private readonly cacheEvictions: CounterSeries;
  private readonly cacheBytes: Gauge;
  private readonly cacheEntries: Gauge;

  private readonly hintWarnings: Counter<'protocol' | 'kind'>;

  // Label-child caches. Indexed by CallSite.index, then query type.
  private readonly queryChildren: (Map<string, QueryRow> | undefined)[] = [];
  private readonly queryTypes = new BoundedLabels(MAX_QUERY_TYPES);
  private readonly connectionChildren: Record<Protocol, GaugeChild>;
  private readonly backendLabels = new BoundedLabels(MAX_BACKENDS);
  private readonly backendChildren = new Map<string, CounterChild[]>();
  /** Batch sites age like query call sites: junk `file:` hints crowd real ones out for minutes, not until restart. */
  private readonly batchSiteLabels: CallSiteLabels;
  /** Keyed by protocol, then site label. */
  private readonly batchSites: Record<Protocol, Map<string, BatchSiteMetrics>> = { mariadb: new Map(), postgres: new Map() };
  private readonly opsPerSecondChildren: Record<Protocol, GaugeChild>;
  private readonly currentDelayChildren: Record<Protocol, GaugeChild>;
  private readonly delayChildren: Record<Protocol, Record<DelayDirection, CounterChild>>;
  private readonly modeChildren: Record<Protocol, Record<WriteMode, CounterChild>>;
  private readonly excludedChildren: Record<Protocol, Record<WriteExcludedReason, CounterChild>>;
  private readonly methodChildren: Record<Protocol, Record<BatchMethod, CounterChild>>;
  private readonly hitChildren: Record<Protocol, Record<CacheHitState, CounterChild>>;
  private readonly hintWarningChildren: Record<Protocol, Record<HintWarningKind, CounterChild>>;

  constructor(options: MetricsOptions) {
    this.registry = new Registry();
    this.callSites = new CallSiteLabels(options.maxCallSites, (site) => {
      // The evicted site's index is reused: drop its cached children and its series.
      this.queryChildren[site.index] = undefined;
      const matches = (labels: Record<string, string>): boolean => labels['file'] === site.file && labels['line'] === site.line;
      this.queryTotal.removeWhere(matches);
      this.queryLatency.removeWhere(matches);
    });
    // Call sites age once a minute; unref'd so it never keeps a process alive.
    this.batchSiteLabels = new CallSiteLabels(options.maxCallSites, (site) => {
      for (const p of PROTOCOL_LABELS) this.batchSites[p].delete(site.file);
      const matches = (labels: Record<string, string>): boolean => labels['site'] === site.file;
      this.writeBatchSize.removeWhere(matches);
      this.writeBatchDelay.removeWhere(matches);
      this.writeBatchLatency.removeWhere(matches);
    });
    const ageing = setInterval(() => this.ageLabels(), CALL_SITE_TICK_MS);
    (ageing as { unref?: () => void }).unref?.();
    const registers = [this.registry];
    if (options.collectDefaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    this.queryTotal = new FastCounterVec(
      'tqdbproxy_query_total',
      'Statements answered, by protocol, statement kind, whether the cache answered, and hint call site (file/line capped by metrics_max_call_sites).',
    );
    this.queryLatency = new FastHistogramVec(
      'tqdbproxy_query_latency_seconds',
      'Time from a statement arriving to the end of its response being relayed, with the labels of tqdbproxy_query_total.',
      LATENCY_BUCKETS_SECONDS,
    );
    this.fast(this.queryTotal);
    this.fast(this.queryLatency);
    this.clientConnections = new Gauge({
      name: 'tqdbproxy_client_connections',
      help: 'Client connections currently open.',
      labelNames: ['protocol'],
      registers,
    });
    this.backendErrors = new Counter({
      name: 'tqdbproxy_backend_errors_total',
      help: 'Backend connection failures, by backend address and kind (connect, lost, protocol, timeout).',
      labelNames: ['protocol', 'backend', 'kind'],
      registers,
    });
    this.clientTlsRefusals = new Counter({
      name: 'tqdbproxy_client_tls_refused_total',
      help: 'Client connections refused over TLS, by reason: plaintext (tls_mode = require), handshake (failed TLS handshake or client certificate), unencrypted_data (bytes sent after the SSLRequest before its answer).',
      labelNames: ['protocol', 'reason'],
      registers,
    });

    // Every batching series carries the protocol whose listener batched it: each listener has its own batch manager.
    this.writeBatchSize = this.fast(new FastHistogramVec('tqdbproxy_write_batch_size', 'Writes per executed batch, by protocol and site (hint file:line or template id, capped by metrics_max_call_sites).', BATCH_SIZE_BUCKETS));
    this.writeBatchDelay = this.fast(new FastHistogramVec('tqdbproxy_write_batch_delay_seconds', 'Time a batch gathered writes before it was sent, by protocol and site.', BATCH_DELAY_BUCKETS_SECONDS));
    this.writeBatchLatency = this.fast(new FastHistogramVec('tqdbproxy_write_batch_latency_seconds', 'Time from sending a batch to its last result, by protocol and site.', LATENCY_BUCKETS_SECONDS));
    this.writeOpsPerSecond = new Gauge({
      name: 'tqdbproxy_write_ops_per_second',
      help: 'Batched writes per second over the last writebatch_metrics_interval, by protocol.',
      labelNames: ['protocol'],
      registers,
    });
    this.writeCurrentDelayMs = new Gauge({
      name: 'tqdbproxy_write_current_delay_ms',
      help: 'Current adaptive batching delay in milliseconds, by protocol.',
      labelNames: ['protocol'],
      registers,
    });
    const queuedCounts = this.writeQueuedCounts;
    new Gauge({
      name: 'tqdbproxy_write_queued',
      help: 'Writes waiting in a batch queue right now (not yet sent to the database), by protocol.',
      labelNames: ['protocol'],
      registers,
      collect() {
        // Only protocols whose listener batches have a series, as with the delay gauges.
        for (const p of PROTOCOL_LABELS) {
          const count = queuedCounts[p];
          if (count !== undefined) this.labels(p).set(count);
        }
      },
    });
    this.writeDelayAdjustments = new Counter({
      name: 'tqdbproxy_write_delay_adjustments_total',
      help: 'Adaptive delay changes, by protocol and direction (up, down).',
      labelNames: ['protocol', 'direction'],
      registers,
    });
    this.writeModeSwitches = new Counter({
      name: 'tqdbproxy_write_mode_switches_total',
      help: 'Templates that switched between batching and running their writes alone (to = batch, alone), from measured latency, by protocol.',
      labelNames: ['protocol', 'to'],
      registers,
    });
    const writeBatched = this.fast(new FastCounterVec('tqdbproxy_write_batched_total', 'Writes executed as part of a batch, by protocol.'));
    this.writeBatched = childrenFor(PROTOCOL_LABELS, (p) => writeBatched.child({ protocol: p }));
    this.writeExcluded = this.fast(new FastCounterVec('tqdbproxy_write_excluded_total', 'Writes sent straight to the backend instead of batched, by protocol and reason.'));
    this.writeBatchMethod = this.fast(new FastCounterVec('tqdbproxy_write_batch_method_total', 'Batches executed, by protocol and method (multi_row_insert, multi_row_delete, transaction).'));

    this.cacheHits = this.fast(new FastCounterVec('tqdbproxy_cache_hits_total', 'Statements answered from the cache, by protocol and state (fresh, stale).'));
    const cacheMisses = this.fast(new FastCounterVec('tqdbproxy_cache_misses_total', 'Cacheable statements not found in the cache, by protocol.'));
    this.cacheMissChildren = childrenFor(PROTOCOL_LABELS, (p) => cacheMisses.child({ protocol: p }));
    const cacheCoalesced = this.fast(new FastCounterVec('tqdbproxy_cache_coalesced_total', 'Cache misses served by waiting for an identical query already in flight (single-flight), by protocol.'));
    this.cacheCoalescedChildren = childrenFor(PROTOCOL_LABELS, (p) => cacheCoalesced.child({ protocol: p }));
    this.cacheEvictions = this.fast(new FastCounterVec('tqdbproxy_cache_evictions_total', 'Cache entries evicted to stay within cache_max_bytes.')).child({});
    this.cacheBytes = new Gauge({
      name: 'tqdbproxy_cache_bytes',
      help: 'Bytes held by the cache, keys and values.',
      registers,
    });
    this.cacheEntries = new Gauge({
      name: 'tqdbproxy_cache_entries',
      help: 'Entries held by the cache.',
      registers,
    });

    this.hintWarnings = new Counter({
      name: 'tqdbproxy_sql_hint_warnings_total',
      help: 'SQL hints ignored, by protocol and kind (ttl_on_write, out_of_range).',
      labelNames: ['protocol', 'kind'],
      registers,
    });

    // Closed label sets get their children now, so every series is exposed
    // (as 0) from the first scrape and the hot path never creates one.
    this.connectionChildren = childrenFor(PROTOCOL_LABELS, (p) => this.clientConnections.labels(p));
    this.opsPerSecondChildren = childrenFor(PROTOCOL_LABELS, (p) => this.writeOpsPerSecond.labels(p));
    this.currentDelayChildren = childrenFor(PROTOCOL_LABELS, (p) => this.writeCurrentDelayMs.labels(p));
    this.delayChildren = childrenFor(PROTOCOL_LABELS, (p) => childrenFor(DELAY_DIRECTIONS, (d) => zeroed(this.writeDelayAdjustments.labels(p, d))));
    this.modeChildren = childrenFor(PROTOCOL_LABELS, (p) => childrenFor(WRITE_MODES, (m) => zeroed(this.writeModeSwitches.labels(p, m))));
    this.excludedChildren = childrenFor(PROTOCOL_LABELS, (p) => childrenFor(WRITE_EXCLUDED_REASONS, (r) => this.writeExcluded.child({ protocol: p, reason: r })));
    this.methodChildren = childrenFor(PROTOCOL_LABELS, (p) => childrenFor(BATCH_METHODS, (m) => this.writeBatchMethod.child({ protocol: p, method: m })));
    this.hitChildren = childrenFor(PROTOCOL_LABELS, (p) => childrenFor(CACHE_HIT_STATES, (s) => this.cacheHits.child({ protocol: p, state: s })));
    this.hintWarningChildren = childrenFor(PROTOCOL_LABELS, (p) => childrenFor(HINT_WARNING_KINDS, (k) => zeroed(this.hintWarnings.labels(p, k))));
    for (const child of Object.values(this.connectionChildren)) child.set(0);
  }

  /** Content-Type of `render()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<string> {
    const text = await this.registry.metrics();
    // prom-client spells NaN "Nan" (e.g. event-loop lag before its first
    // sample); the exposition format says NaN, and strict parsers reject the
    // other spelling. Label values cannot contain a raw newline, so only a
    // sample value can match.
    return text.includes(' Nan\n') ? text.replaceAll(' Nan\n', ' NaN\n') : text;
  }

  /** Registers a fast series family on this registry (prom-client renders it through `get()`). */
  private fast<T extends FastCounterVec | FastHistogramVec>(metric: T): T {
    this.registry.registerMetric(metric as unknown as Counter);
    return metric;
  }

  /** `[proxy] metrics_max_call_sites` after a reload: applies to sites not yet seen. */
  /** One step of the call sites' and batch sites' ageing clock (once a minute in the proxy). */
  ageLabels(): void {
    this.callSites.tick();
    this.batchSiteLabels.tick();
  }

  setMaxCallSites(max: number): void {
    this.callSites.setMax(max);
    this.batchSiteLabels.setMax(max);
  }

  // ------------------------------------------------------------------ queries

  /** The capped call site of a statement's `file`/`line` hints (either may be absent). */
  callSite(file: string | null | undefined, line: number | null | undefined): CallSite {
    return this.callSites.resolve(file, line);
  }

  /**
   * Counts one answered statement and records its latency.
   * @param queryType the parser's statement kind
   * @param cached whether the cache answered it
   * @param file the statement's `file:` hint, or null
   * @param line the statement's `line:` hint, or null
   */
  observeQuery(
    protocol: Protocol,
    queryType: StatementKind,
    cached: boolean,
    file: string | null,
    line: number | null,
    seconds: number,
  ): void {
    this.observeQueryAt(protocol, queryType, cached, this.callSites.resolve(file, line), seconds);
  }

  /** `observeQuery` with the call site already resolved by `callSite()`. */
  observeQueryAt(protocol: Protocol, queryType: StatementKind, cached: boolean, site: CallSite, seconds: number): void {
    let byType = this.queryChildren[site.index];
    if (byType === undefined) {
      byType = new Map();
      this.queryChildren[site.index] = byType;
    }
    // Kinds past the safety cap share the `other` row, so the cache stays bounded too.
    const type = this.queryTypes.label(queryType);
    let row = byType.get(type);
    if (row === undefined) {
      row = [undefined, undefined, undefined, undefined];
      byType.set(type, row);
    }
    const slot = (protocol === 'postgres' ? 2 : 0) + (cached ? 1 : 0);
    let children = row[slot];
    if (children === undefined) {
      const labels = { protocol, query_type: type, cached: cached ? 'true' : 'false', file: site.file, line: site.line };
      children = { total: this.queryTotal.child(labels), latency: this.queryLatency.child(labels) };
      row[slot] = children;
    }
    children.total.inc();
    children.latency.observe(seconds);
  }

  /** A client connection opened (`delta` 1) or closed (`delta` -1). */
  clientConnected(protocol: Protocol, delta: 1 | -1 = 1): void {
    this.connectionChildren[protocol].inc(delta);
  }

  clientDisconnected(protocol: Protocol): void {
    this.connectionChildren[protocol].dec();
  }

  /** @param backend the backend's configured address text (`host:port`), a closed set by config */
  /** A client refused for its TLS (rare: no cached child). */
  clientTlsRefused(protocol: Protocol, reason: ClientTlsRefusal): void {
    this.clientTlsRefusals.labels(protocol, reason).inc();
  }

  backendError(protocol: Protocol, backend: string, kind: BackendErrorKind): void {
    let children = this.backendChildren.get(backend);
    if (children === undefined) {
      const label = this.backendLabels.label(backend);
      children = [];
      for (const p of PROTOCOL_LABELS) {
        for (const k of BACKEND_ERROR_KINDS) children.push(this.backendErrors.labels(p, label, k));
      }
      // Only admitted backends are cached; the rest are few calls on an error path.
      if (label === backend) this.backendChildren.set(backend, children);
    }
    children[PROTOCOL_LABELS.indexOf(protocol) * BACKEND_ERROR_KINDS.length + BACKEND_ERROR_KINDS.indexOf(kind)].inc();
  }

  // ----------------------------------------------------------------- batching

  /**
   * The histograms for one protocol's batch site: `file:line` from the hint,
   * or a short template id; past metrics_max_call_sites, `other`.
   */
  batchSite(protocol: Protocol, site: string): BatchSiteMetrics {
    // Resolved on every use, which is what keeps a busy site from ageing out.
    const label = this.batchSiteLabels.resolve(site, null).file;
    const sites = this.batchSites[protocol];
    let metrics = sites.get(label);
    if (metrics === undefined) {
      const labels = { protocol, site: label };
      const size = this.writeBatchSize.child(labels);
      const delay = this.writeBatchDelay.child(labels);
      const latency = this.writeBatchLatency.child(labels);
      metrics = Object.freeze({
        label,
        observeSize: (writes: number) => size.observe(writes),
        observeDelay: (seconds: number) => delay.observe(seconds),
        observeLatency: (seconds: number) => latency.observe(seconds),
      });
      sites.set(label, metrics);
    }
    return metrics;
  }

  /** A batch was sent: its size and how long its first write waited. Same as `batchSite(protocol, site).observeSize/observeDelay`. */
  observeBatch(protocol: Protocol, site: string, writes: number, delaySeconds: number): void {
    const metrics = this.batchSite(protocol, site);
    metrics.observeSize(writes);
    metrics.observeDelay(delaySeconds);
  }

  /** A batch finished: seconds from sending it to its last result. */
  observeBatchLatency(protocol: Protocol, site: string, seconds: number): void {
    this.batchSite(protocol, site).observeLatency(seconds);
  }

  setWriteOpsPerSecond(protocol: Protocol, opsPerSecond: number): void {
    this.opsPerSecondChildren[protocol].set(opsPerSecond);
  }

  setWriteCurrentDelayMs(protocol: Protocol, delayMs: number): void {
    this.currentDelayChildren[protocol].set(delayMs);
  }

  /** Writes queued for a batch on this protocol's listener and not yet sent. */
  setWriteQueued(protocol: Protocol, count: number): void {
    this.writeQueuedCounts[protocol] = count;
  }

  delayAdjusted(protocol: Protocol, direction: DelayDirection): void {
    this.delayChildren[protocol][direction].inc();
  }

  writeModeSwitched(protocol: Protocol, to: WriteMode): void {
    this.modeChildren[protocol][to].inc();
  }

  /** Counts writes that were executed inside a batch. */
  writesBatched(protocol: Protocol, writes = 1): void {
    this.writeBatched[protocol].inc(writes);
  }

  writeExcludedFromBatch(protocol: Protocol, reason: WriteExcludedReason): void {
    this.excludedChildren[protocol][reason].inc();
  }

  /** Counts one executed batch by how it ran. */
  batchExecuted(protocol: Protocol, method: BatchMethod): void {
    this.methodChildren[protocol][method].inc();
  }

  // -------------------------------------------------------------------- cache

  cacheHit(protocol: Protocol, state: CacheHitState): void {
    this.hitChildren[protocol][state].inc();
  }

  cacheMiss(protocol: Protocol): void {
    this.cacheMissChildren[protocol].inc();
  }

  /** Counts waiters answered by an identical query already in flight. */
  cacheCoalescedWaiters(protocol: Protocol, waiters = 1): void {
    this.cacheCoalescedChildren[protocol].inc(waiters);
  }

  cacheEvicted(entries = 1): void {
    this.cacheEvictions.inc(entries);
  }

  /** The cache's current size; call after each insert or eviction. */
  setCacheUsage(bytes: number, entries: number): void {
    this.cacheBytes.set(bytes);
    this.cacheEntries.set(entries);
  }

  // ------------------------------------------------------------------- parser

  hintWarning(protocol: Protocol, kind: HintWarningKind): void {
    this.hintWarningChildren[protocol][kind].inc();
  }
}

function childrenFor<K extends string, C>(keys: readonly K[], make: (key: K) => C): Record<K, C> {
  const out = {} as Record<K, C>;
  for (const key of keys) out[key] = make(key);
  return out;
}

/** Creates the series at 0 so it is exposed before the first event. */
function zeroed(child: CounterChild): CounterChild {
  child.inc(0);
  return child;
}
