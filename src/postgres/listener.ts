// The PostgreSQL side of the proxy: its services per config generation, its listener, stop and reload.
import type { Config, ProtocolConfig } from '../config/types.ts';
import type { QueryCache } from '../core/cache/query-cache.ts';
import { KeyInterner } from '../core/batch/eligibility.ts';
import type { EngineServices } from '../core/session/index.ts';
import { TtlOnWriteWarner } from '../core/sql/index.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import { CancelKeys } from './cancel-keys.ts';
import type { PgClientConnection } from './frontend.ts';
import { PgServer } from './server.ts';
import { PgWriteBatcher, type PgWrite } from './write-batcher.ts';
import { BatchManager } from '../core/batch/batch-manager.ts';
import { createBatchManager, templateId } from '../write-batching.ts';
import { drainThenClose } from '../shutdown.ts';
import type { PgServices } from './services.ts';
import { loadServerTls, withAlpn, type ServerTls } from '../net/tls.ts';

export interface RunningPostgres {
  stop(timeoutMs: number): Promise<void>;
  /** `tls`: the new [postgres] TLS material, read by the caller before anything was swapped. */
  reload(config: Config, tls: ServerTls | null): void;
}

interface PgState {
  config: ProtocolConfig;
  /** TLS material for clients, re-read from its files on every reload. */
  tls: ServerTls | null;
  isShuttingDown: boolean;
  writes: BatchManager<PgWrite>;
  /** Managers of earlier configs, draining the writes queued before a reload. */
  retired: BatchManager<PgWrite>[];
}

/** One write batcher per config generation. */
function createWriteBatching(config: ProtocolConfig, metrics: Metrics, log: Logger): BatchManager<PgWrite> {
  const batcher = new PgWriteBatcher({ pipelined: (size) => size > 0 && metrics.batchExecuted('transaction') });
  return createBatchManager<PgWrite>(config, batcher, metrics, log.child({ protocol: 'postgres' }));
}

function pgServices(state: PgState, log: Logger, metrics: Metrics, clients: Set<PgClientConnection>, cache: QueryCache, cancelKeys: CancelKeys): PgServices {
  const config = state.config;
  const protocolLog = log.child({ protocol: 'postgres' });
  const batchKeys = new KeyInterner();
  const sites = new KeyInterner();
  const templateSites = new Map<string, string>();
  const ttlWarner = new TtlOnWriteWarner({ log: (message) => protocolLog.warn(message), onWarn: () => metrics.hintWarning('ttl_on_write') });
  const engine: EngineServices = {
    cache,
    hasBatcher: true,
    // Read at call time: a reload turns batching on or off for connections already open.
    get isBatchingEnabled() {
      return state.config.writeBatch.enabled;
    },
    onWriteExcluded: (reason) => metrics.writeExcludedFromBatch(reason),
    internBatchKey: (key) => batchKeys.intern(key),
  };
  return {
    config,
    log: protocolLog,
    engine,
    cancelKeys,
    tls: state.tls,
    onClientTlsRefused: (reason) => metrics.clientTlsRefused('postgres', reason),
    get isShuttingDown() {
      return state.isShuttingDown;
    },
    onClientOpen(client) {
      clients.add(client);
      metrics.clientConnected('postgres', 1);
    },
    onClientClose(client) {
      if (clients.delete(client)) metrics.clientConnected('postgres', -1);
    },
    onBackendError(kind) {
      metrics.backendError('postgres', config.defaultGroup, kind);
    },
    observeQuery(statement, isCached, seconds) {
      const hints = statement?.hints;
      metrics.observeQuery('postgres', statement?.kind ?? 'other', isCached, hints?.file ?? null, hints?.line ?? null, seconds);
    },
    inspectHints(statement) {
      if (statement.hasTtlOnWrite) ttlWarner.check(statement);
      for (let i = 0; i < statement.hintWarnings; i++) metrics.hintWarning('out_of_range');
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
}

/** Reads the [postgres] TLS files (throws naming the file when one cannot be used) and says what the links will be. */
export function loadPostgresTls(config: ProtocolConfig, log: Logger): ServerTls | null {
  const loaded = loadServerTls(config.tls);
  // "postgresql", as PostgreSQL 17 offers it: required for direct TLS (sslnegotiation=direct).
  const tls = loaded === null ? null : withAlpn(loaded, 'postgresql');
  if (tls !== null) {
    log.info('TLS offered to clients', { protocol: 'postgres', mode: tls.mode, client_certificates: tls.requiresClientCert });
    for (const group of config.groups.values()) {
      if (group.tls.mode === 'disable') {
        log.warn('clients may use TLS but the link to this group is plaintext (backend_tls = disable): logins and data cross it unencrypted', { group: `postgres.${group.name}` });
      }
    }
  }
  return tls;
}

/** Starts the `[postgres]` listener; `tls` from loadPostgresTls. */
export function startPostgres(config: ProtocolConfig, tls: ServerTls | null, log: Logger, metrics: Metrics, cache: QueryCache): RunningPostgres {
  const clients = new Set<PgClientConnection>();
  const cancelKeys = new CancelKeys(log.child({ protocol: 'postgres' }));
  const state: PgState = { config, tls, isShuttingDown: false, writes: createWriteBatching(config, metrics, log), retired: [] };
  const server = new PgServer(pgServices(state, log, metrics, clients, cache, cancelKeys));
  const address = server.listen(config.listen, config.socket);
  log.info('listening', { protocol: 'postgres', address });
  if (config.socket !== null) log.info('listening', { protocol: 'postgres', address: `unix:${config.socket}` });
  return {
    async stop(timeoutMs) {
      server.stopListening();
      state.isShuttingDown = true;
      // Idle clients are told 57P01 as they are closed.
      await drainThenClose([state.writes, ...state.retired], clients, timeoutMs, (client) => client.shutdown());
      log.info('stopped', { protocol: 'postgres' });
    },
    reload(next, tls) {
      if (next.postgres === null) {
        log.warn('reload: [postgres] was removed; the listener keeps running until restart');
        return;
      }
      const hasBatchingChanged = JSON.stringify(next.postgres.writeBatch) !== JSON.stringify(state.config.writeBatch);
      state.config = next.postgres;
      state.tls = tls;
      if (hasBatchingChanged) {
        const previous = state.writes;
        state.writes = createWriteBatching(next.postgres, metrics, log);
        // Writes already queued there still go out; new ones join the new manager.
        state.retired.push(previous);
        void previous.drain().then(() => state.retired.splice(state.retired.indexOf(previous), 1));
      }
      server.setServices(pgServices(state, log, metrics, clients, cache, cancelKeys));
    },
  };
}
