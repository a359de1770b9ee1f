// Wires the listeners to the core services and metrics; owns start, stop and reload.
import type { Config } from './config/types.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics/registry.ts';
import { MysqlServer } from './mysql/server.ts';
import type { MysqlServices } from './mysql/services.ts';
import type { ClientConnection } from './mysql/frontend.ts';
import { BatchManager } from './core/batch/batch-manager.ts';
import { createBatchManager } from './write-batching.ts';
import { drainThenClose } from './shutdown.ts';
import { MysqlWriteBatcher, type MysqlWrite } from './mysql/write-batcher.ts';
import type { ProtocolConfig } from './config/types.ts';
import { QueryCache } from './core/cache/query-cache.ts';
import { protocolServices, replaceWriteBatching, type ProtocolDeps, type ProtocolState } from './protocol-services.ts';
import { loadPostgresTls, startPostgres, type RunningPostgres } from './postgres/listener.ts';
import { loadServerTls } from './net/tls.ts';

export interface RunningProxy {
  /** Stop accepting, let in-flight work finish up to timeoutMs, close everything. */
  stop(timeoutMs: number): Promise<void>;
  /** Swap in a new, already validated config (SIGHUP). */
  reload(config: Config): void;
}

/** One write batcher per protocol config generation. */
function createWriteBatching(config: ProtocolConfig, metrics: Metrics, log: Logger): BatchManager<MysqlWrite> {
  const batcher = new MysqlWriteBatcher(config.defaultGroup, { method: (m) => metrics.batchExecuted('mariadb', m) });
  return createBatchManager<MysqlWrite>('mariadb', config, batcher, metrics, log.child({ protocol: 'mariadb' }));
}

/**
 * Replicas are not used yet; the primary answers everything, so they are safe
 * to ignore with a warning. (Several groups and `databases` are refused by the
 * config rules in config/load.ts, so --check-config refuses them too.)
 */
function warnUnusedReplicas(config: ProtocolConfig, protocol: string, log: Logger): void {
  for (const g of config.groups.values()) {
    if (g.replicas.length > 0) log.warn('replicas are not used yet; the primary answers every query', { group: `${protocol}.${g.name}`, replicas: g.replicas.map((r) => r.text).join(',') });
  }
}

export async function startProxy(config: Config, log: Logger, metrics: Metrics): Promise<RunningProxy> {
  warnUnusedReplicas(config.mariadb, 'mariadb', log);
  if (config.postgres !== null) warnUnusedReplicas(config.postgres, 'postgres', log);
  const clients = new Set<ClientConnection>();
  const tls = loadServerTls(config.mariadb.tls);
  const state: ProtocolState<MysqlWrite> = { config: config.mariadb, tls, isShuttingDown: false, writes: createWriteBatching(config.mariadb, metrics, log), retired: [] };
  if (tls !== null) {
    log.info('TLS offered to clients', { protocol: 'mariadb', mode: tls.mode, client_certificates: tls.requiresClientCert });
    for (const group of config.mariadb.groups.values()) {
      if (group.tls.mode === 'disable') {
        log.warn('clients may use TLS but the link to this group is plaintext (backend_tls = disable): logins and data cross it unencrypted', { group: `mariadb.${group.name}` });
      }
    }
  }
  const cache = new QueryCache(config.cache, {
    hit: (protocol, state) => metrics.cacheHit(protocol, state),
    miss: (protocol) => metrics.cacheMiss(protocol),
    coalesced: (protocol, waiters) => metrics.cacheCoalescedWaiters(protocol, waiters),
    evicted: (count) => metrics.cacheEvicted(count),
    usage: (bytes, entries) => metrics.setCacheUsage(bytes, entries),
  });
  const deps: ProtocolDeps<ClientConnection> = { log, metrics, cache, clients };
  const mysqlServices = (): MysqlServices<ClientConnection> => protocolServices('mariadb', state, deps, {});
  const mysql = new MysqlServer(mysqlServices());
  const address = mysql.listen(config.mariadb.listen, config.mariadb.socket);
  log.info('listening', { protocol: 'mariadb', address });
  if (config.mariadb.socket !== null) log.info('listening', { protocol: 'mariadb', address: `unix:${config.mariadb.socket}` });
  let postgres: RunningPostgres | null = config.postgres === null ? null : startPostgres(config.postgres, loadPostgresTls(config.postgres, log), log, metrics, cache);

  return {
    async stop(timeoutMs) {
      const postgresStopped = postgres?.stop(timeoutMs);
      mysql.stopListening();
      state.isShuttingDown = true;
      await drainThenClose([state.writes, ...state.retired], clients, timeoutMs, (client) => client.close());
      log.info('stopped', { protocol: 'mariadb' });
      await postgresStopped;
    },
    reload(next) {
      // Read first: a certificate that cannot be read leaves the running state untouched.
      const tls = loadServerTls(next.mariadb.tls);
      const postgresTls = next.postgres === null ? null : loadPostgresTls(next.postgres, log);
      state.tls = tls;
      const hasBatchingChanged = JSON.stringify(next.mariadb.writeBatch) !== JSON.stringify(state.config.writeBatch);
      state.config = next.mariadb;
      if (hasBatchingChanged) replaceWriteBatching(state, createWriteBatching(next.mariadb, metrics, log));
      cache.reconfigure(next.cache);
      metrics.setMaxCallSites(next.metricsMaxCallSites);
      mysql.setServices(mysqlServices());
      if (postgres !== null) postgres.reload(next, postgresTls);
      else if (next.postgres !== null) {
        // A listener added by a reload starts now; its address is a restart key only once it runs.
        warnUnusedReplicas(next.postgres, 'postgres', log);
        postgres = startPostgres(next.postgres, postgresTls, log, metrics, cache);
      }
    },
  };
}
