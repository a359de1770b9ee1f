// The PostgreSQL side of the proxy: its services per config generation, its listener, stop and reload.
import type { Config, ProtocolConfig } from '../config/types.ts';
import type { QueryCache } from '../core/cache/query-cache.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/registry.ts';
import { CancelKeys } from './cancel-keys.ts';
import type { PgClientConnection } from './frontend.ts';
import { PgServer } from './server.ts';
import { PgWriteBatcher, type PgWrite } from './write-batcher.ts';
import { BatchManager } from '../core/batch/batch-manager.ts';
import { createBatchManager } from '../write-batching.ts';
import { protocolServices, replaceWriteBatching, type ProtocolDeps, type ProtocolState } from '../protocol-services.ts';
import { drainThenClose } from '../shutdown.ts';
import type { PgServices } from './services.ts';
import { loadServerTls, withAlpn, type ServerTls } from '../net/tls.ts';

export interface RunningPostgres {
  stop(timeoutMs: number): Promise<void>;
  /** `tls`: the new [postgres] TLS material, read by the caller before anything was swapped. */
  reload(config: Config, tls: ServerTls | null): void;
}

/** One write batcher per config generation. */
function createWriteBatching(config: ProtocolConfig, metrics: Metrics, log: Logger): BatchManager<PgWrite> {
  const batcher = new PgWriteBatcher({ pipelined: (size) => size > 0 && metrics.batchExecuted('postgres', 'transaction') });
  return createBatchManager<PgWrite>('postgres', config, batcher, metrics, log.child({ protocol: 'postgres' }));
}

function pgServices(state: ProtocolState<PgWrite>, deps: ProtocolDeps<PgClientConnection>, cancelKeys: CancelKeys): PgServices<PgClientConnection> {
  return protocolServices('postgres', state, deps, { cancelKeys });
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
  const deps: ProtocolDeps<PgClientConnection> = { log, metrics, cache, clients };
  const cancelKeys = new CancelKeys(log.child({ protocol: 'postgres' }));
  const state: ProtocolState<PgWrite> = { config, tls, isShuttingDown: false, writes: createWriteBatching(config, metrics, log), retired: [] };
  const server = new PgServer(pgServices(state, deps, cancelKeys));
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
      if (hasBatchingChanged) replaceWriteBatching(state, createWriteBatching(next.postgres, metrics, log));
      server.setServices(pgServices(state, deps, cancelKeys));
    },
  };
}
