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
import type { PgServices } from './services.ts';

export interface RunningPostgres {
  stop(timeoutMs: number): Promise<void>;
  reload(config: Config): void;
}

interface PgState {
  config: ProtocolConfig;
  isShuttingDown: boolean;
}

function pgServices(state: PgState, log: Logger, metrics: Metrics, clients: Set<PgClientConnection>, cache: QueryCache, cancelKeys: CancelKeys): PgServices {
  const config = state.config;
  const protocolLog = log.child({ protocol: 'postgres' });
  const batchKeys = new KeyInterner();
  const ttlWarner = new TtlOnWriteWarner({ log: (message) => protocolLog.warn(message), onWarn: () => metrics.hintWarning('ttl_on_write') });
  const engine: EngineServices = {
    cache,
    // No PostgreSQL write batcher yet: every write is forwarded as it comes.
    hasBatcher: false,
    isBatchingEnabled: config.writeBatch.enabled,
    onWriteExcluded: (reason) => metrics.writeExcludedFromBatch(reason),
    internBatchKey: (key) => batchKeys.intern(key),
  };
  return {
    config,
    log: protocolLog,
    engine,
    cancelKeys,
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
  };
}

/** Starts the `[postgres]` listener. */
export function startPostgres(config: ProtocolConfig, log: Logger, metrics: Metrics, cache: QueryCache): RunningPostgres {
  const clients = new Set<PgClientConnection>();
  const cancelKeys = new CancelKeys(log.child({ protocol: 'postgres' }));
  const state: PgState = { config, isShuttingDown: false };
  const server = new PgServer(pgServices(state, log, metrics, clients, cache, cancelKeys));
  const address = server.listen(config.listen, config.socket);
  log.info('listening', { protocol: 'postgres', address });
  if (config.socket !== null) log.info('listening', { protocol: 'postgres', address: `unix:${config.socket}` });
  return {
    async stop(timeoutMs) {
      server.stopListening();
      state.isShuttingDown = true;
      const deadline = performance.now() + timeoutMs;
      // Let responses in flight finish; idle clients are told 57P01 and closed at once.
      while (performance.now() < deadline) {
        for (const client of clients) if (client.isIdle) client.shutdown();
        if (clients.size === 0) break;
        await Bun.sleep(10);
      }
      for (const client of clients) client.shutdown();
      log.info('stopped', { protocol: 'postgres' });
    },
    reload(next) {
      if (next.postgres === null) {
        log.warn('reload: [postgres] was removed; the listener keeps running until restart');
        return;
      }
      state.config = next.postgres;
      server.setServices(pgServices(state, log, metrics, clients, cache, cancelKeys));
    },
  };
}
