// What a client connection of either protocol needs from the rest of the
// proxy, built the same way for both: one construction per protocol and
// config generation. Protocol-neutral: each front end adds only its own
// extras (PostgreSQL's cancel keys).
import type { ProtocolConfig } from './config/types.ts';
import type { BatchManager, BatchMember } from './core/batch/batch-manager.ts';
import { KeyInterner } from './core/batch/eligibility.ts';
import type { QueryCache } from './core/cache/query-cache.ts';
import type { EngineServices } from './core/session/index.ts';
import { TtlOnWriteWarner, type Statement } from './core/sql/index.ts';
import type { Protocol } from './core/types.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics/registry.ts';
import type { ServerTls } from './net/tls.ts';
import type { ClientTlsRefusal } from './metrics/registry.ts';
import { templateId } from './write-batching.ts';

/**
 * The services of one protocol's client connections for one config
 * generation; connections keep the one they started with. `W` is the
 * protocol's batched write, `C` its client connection (only registered for
 * shutdown: no hook reads it). Hooks about statements receive the statement
 * and nothing of the connection.
 */
export interface ProtocolServices<W extends BatchMember, C> {
  readonly protocol: Protocol;
  readonly config: ProtocolConfig;
  readonly log: Logger;
  /** What the session engine decides with: cache, batching policy. */
  readonly engine: EngineServices;
  /** Certificate and mode for TLS towards clients, read at start-up or at the last reload; null: TLS not offered. */
  readonly tls: ServerTls | null;
  /** True once a graceful shutdown started. */
  readonly isShuttingDown: boolean;
  /** Counts a client refused for its TLS (the connection logs why). */
  onClientTlsRefused(reason: ClientTlsRefusal): void;
  onClientOpen(client: C): void;
  /** `wasOpen` is false when the connection was already being drained. */
  onClientClose(client: C, wasOpen: boolean): void;
  onBackendError(kind: 'connect' | 'lost'): void;
  observeQuery(statement: Statement | null, isCached: boolean, seconds: number): void;
  /** Checks a parsed statement's hints: warns about a ttl on a write, counts rejected hint values. */
  inspectHints(statement: Statement): void;
  /** Queues a write for batching; present exactly when `engine.hasBatcher` is true. */
  enqueueWrite?(write: W): void;
  cancelWrite?(write: W): void;
  /** The metrics label of a batched write: its call site, or a short template id. */
  batchSite(statement: Statement): string;
}

/**
 * What a reload swaps for one protocol. Services built from it keep the
 * `config` and `tls` of their generation and read the rest at call time, so
 * open connections follow batching changes, the live batch manager and a shutdown.
 */
export interface ProtocolState<W extends BatchMember> {
  config: ProtocolConfig;
  /** TLS material for clients, re-read from its files on every reload. */
  tls: ServerTls | null;
  isShuttingDown: boolean;
  writes: BatchManager<W>;
  /** Managers of earlier configs, draining the writes queued before a reload. */
  retired: BatchManager<W>[];
}

/** What outlives config generations: shared by every services object of a protocol. */
export interface ProtocolDeps<C> {
  log: Logger;
  metrics: Metrics;
  cache: QueryCache | null;
  /** The protocol's open clients, for graceful shutdown. */
  clients: Set<C>;
}

/** Builds one generation's services of `protocol`, with the protocol's own `extras` added as they are. */
export function protocolServices<W extends BatchMember, C, X extends object>(
  protocol: Protocol,
  state: ProtocolState<W>,
  deps: ProtocolDeps<C>,
  extras: X,
): ProtocolServices<W, C> & X {
  const { metrics, clients } = deps;
  const config = state.config;
  const log = deps.log.child({ protocol });
  const batchKeys = new KeyInterner();
  const sites = new KeyInterner();
  const templateSites = new Map<string, string>();
  const ttlWarner = new TtlOnWriteWarner({ log: (message) => log.warn(message), onWarn: () => metrics.hintWarning(protocol, 'ttl_on_write') });
  const engine: EngineServices = {
    cache: deps.cache,
    hasBatcher: true,
    // Read at call time: a reload turns batching on or off for connections already open.
    get isBatchingEnabled() {
      return state.config.writeBatch.enabled;
    },
    onWriteExcluded: (reason) => metrics.writeExcludedFromBatch(protocol, reason),
    internBatchKey: (key) => batchKeys.intern(key),
  };
  const services: ProtocolServices<W, C> = {
    protocol,
    config,
    log,
    engine,
    tls: state.tls,
    onClientTlsRefused: (reason) => metrics.clientTlsRefused(protocol, reason),
    get isShuttingDown() {
      return state.isShuttingDown;
    },
    onClientOpen(client) {
      clients.add(client);
      metrics.clientConnected(protocol, 1);
    },
    onClientClose(client) {
      if (clients.delete(client)) metrics.clientConnected(protocol, -1);
    },
    onBackendError(kind) {
      metrics.backendError(protocol, config.defaultGroup, kind);
    },
    observeQuery(statement, isCached, seconds) {
      const hints = statement?.hints;
      metrics.observeQuery(protocol, statement?.kind ?? 'other', isCached, hints?.file ?? null, hints?.line ?? null, seconds);
    },
    inspectHints(statement) {
      if (statement.hasTtlOnWrite) ttlWarner.check(statement);
      for (let i = 0; i < statement.hintWarnings; i++) metrics.hintWarning(protocol, 'out_of_range');
    },
    enqueueWrite: (write) => state.writes.enqueue(write),
    // A write queued before a reload may still sit in a retired manager.
    cancelWrite: (write) => {
      if (!state.writes.cancel(write)) for (const manager of state.retired) if (manager.cancel(write)) return;
    },
    batchSite(statement) {
      const { file, line } = statement.hints;
      if (file !== null) return sites.intern(`${file}:${line ?? ''}`);
      const template = statement.batchKey();
      let site = templateSites.get(template);
      if (site === undefined) {
        if (templateSites.size >= 10_000) templateSites.clear();
        site = templateId(template);
        templateSites.set(template, site);
      }
      return site;
    },
  };
  // Object.assign keeps the getters above: only `extras`' own values are copied onto them.
  return Object.assign(services, extras);
}

/**
 * A reload with changed batching settings: a new manager takes new writes;
 * the previous one still sends what was queued there, then is dropped.
 */
export function replaceWriteBatching<W extends BatchMember>(state: ProtocolState<W>, next: BatchManager<W>): void {
  const previous = state.writes;
  state.writes = next;
  state.retired.push(previous);
  void previous.drain().then(() => state.retired.splice(state.retired.indexOf(previous), 1));
}
