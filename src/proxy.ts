// Wires the listeners to the core services and metrics; owns start, stop and reload.
import type { Config } from './config/types.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics/registry.ts';
import { MysqlServer } from './mysql/server.ts';
import type { MysqlServices } from './mysql/services.ts';
import type { ClientConnection } from './mysql/frontend.ts';
import { BatchManager } from './core/batch/batch-manager.ts';
import { createBatchManager, templateId } from './write-batching.ts';
import { drainThenClose } from './shutdown.ts';
import { KeyInterner } from './core/batch/eligibility.ts';
import { MysqlWriteBatcher, type MysqlWrite } from './mysql/write-batcher.ts';
import type { ProtocolConfig } from './config/types.ts';
import { QueryCache } from './core/cache/query-cache.ts';
import { TtlOnWriteWarner } from './core/sql/index.ts';
import { loadPostgresTls, startPostgres, type RunningPostgres } from './postgres/listener.ts';
import { loadServerTls, type ServerTls } from './net/tls.ts';

export interface RunningProxy {
  /** Stop accepting, let in-flight work finish up to timeoutMs, close everything. */
  stop(timeoutMs: number): Promise<void>;
  /** Swap in a new, already validated config (SIGHUP). */
  reload(config: Config): void;
}

/** One write batcher per protocol config generation. */
function createWriteBatching(config: ProtocolConfig, metrics: Metrics, log: Logger): BatchManager<MysqlWrite> {
  const batcher = new MysqlWriteBatcher(config.defaultGroup, { method: (m) => metrics.batchExecuted(m) });
  return createBatchManager<MysqlWrite>(config, batcher, metrics, log.child({ protocol: 'mariadb' }));
}

/** What a reload swaps: connections read it at call time, so old connections follow the new config too. */
interface LiveState {
  config: Config;
  writes: BatchManager<MysqlWrite>;
  /** TLS material for clients, re-read from its files on every reload. */
  tls: ServerTls | null;
}

function mysqlServices(state: LiveState & { retired: BatchManager<MysqlWrite>[] }, log: Logger, metrics: Metrics, clients: Set<ClientConnection>, cache: QueryCache): MysqlServices {
  const config = state.config;
  const protocolLog = log.child({ protocol: 'mariadb' });
  const batchKeys = new KeyInterner();
  const sites = new KeyInterner();
  const templateSites = new Map<string, string>();
  const ttlWarner = new TtlOnWriteWarner({ log: (message) => protocolLog.warn(message), onWarn: () => metrics.hintWarning('ttl_on_write') });
  return {
    config: config.mariadb,
    log: protocolLog,
    cache,
    tls: state.tls,
    onClientTlsRefused: (reason) => metrics.clientTlsRefused('mariadb', reason),
    onClientOpen(client) {
      clients.add(client);
      metrics.clientConnected('mariadb', 1);
    },
    onClientClose(client) {
      if (clients.delete(client)) metrics.clientConnected('mariadb', -1);
    },
    onBackendError(kind) {
      metrics.backendError('mariadb', config.mariadb.defaultGroup, kind);
    },
    observeQuery(_client, statement, isCached, seconds) {
      const hints = statement?.hints;
      metrics.observeQuery('mariadb', statement?.kind ?? 'other', isCached, hints?.file ?? null, hints?.line ?? null, seconds);
    },
    inspectHints(statement) {
      if (statement.hasTtlOnWrite) ttlWarner.check(statement);
      for (let i = 0; i < statement.hintWarnings; i++) metrics.hintWarning('out_of_range');
    },
    get isBatchingEnabled() {
      return state.config.mariadb.writeBatch.enabled;
    },
    enqueueWrite: (write) => state.writes.enqueue(write),
    // A write queued before a reload may still sit in a retired manager.
    cancelWrite: (write) => {
      if (!state.writes.cancel(write)) for (const manager of state.retired) if (manager.cancel(write)) return;
    },
    onWriteExcluded: (reason) => metrics.writeExcludedFromBatch(reason),
    internBatchKey: (key) => batchKeys.intern(key),
    batchSite(statement, template) {
      const { file, line } = statement.hints;
      if (file !== null) return sites.intern(`${file}:${line ?? ''}`);
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
  const retired: BatchManager<MysqlWrite>[] = [];
  const state = { config, writes: createWriteBatching(config.mariadb, metrics, log), retired, tls: loadServerTls(config.mariadb.tls) };
  if (state.tls !== null) {
    log.info('TLS offered to clients', { protocol: 'mariadb', mode: state.tls.mode, client_certificates: state.tls.requiresClientCert });
    for (const group of config.mariadb.groups.values()) {
      if (group.tls.mode === 'disable') {
        log.warn('clients may use TLS but the link to this group is plaintext (backend_tls = disable): logins and data cross it unencrypted', { group: `mariadb.${group.name}` });
      }
    }
  }
  const cache = new QueryCache(config.cache, {
    hit: (state) => metrics.cacheHit(state),
    miss: () => metrics.cacheMiss(),
    coalesced: (waiters) => metrics.cacheCoalescedWaiters(waiters),
    evicted: (count) => metrics.cacheEvicted(count),
    usage: (bytes, entries) => metrics.setCacheUsage(bytes, entries),
  });
  const mysql = new MysqlServer(mysqlServices(state, log, metrics, clients, cache));
  const address = mysql.listen(config.mariadb.listen, config.mariadb.socket);
  log.info('listening', { protocol: 'mariadb', address });
  if (config.mariadb.socket !== null) log.info('listening', { protocol: 'mariadb', address: `unix:${config.mariadb.socket}` });
  let postgres: RunningPostgres | null = config.postgres === null ? null : startPostgres(config.postgres, loadPostgresTls(config.postgres, log), log, metrics, cache);

  return {
    async stop(timeoutMs) {
      const postgresStopped = postgres?.stop(timeoutMs);
      mysql.stopListening();
      await drainThenClose([state.writes, ...retired], clients, timeoutMs, (client) => client.close());
      log.info('stopped', { protocol: 'mariadb' });
      await postgresStopped;
    },
    reload(next) {
      // Read first: a certificate that cannot be read leaves the running state untouched.
      const tls = loadServerTls(next.mariadb.tls);
      const postgresTls = next.postgres === null ? null : loadPostgresTls(next.postgres, log);
      state.tls = tls;
      const previous = state.writes;
      const hasBatchingChanged = JSON.stringify(next.mariadb.writeBatch) !== JSON.stringify(state.config.mariadb.writeBatch);
      state.config = next;
      if (hasBatchingChanged) {
        state.writes = createWriteBatching(next.mariadb, metrics, log);
        // Writes already queued there still go out; new ones join the new manager.
        retired.push(previous);
        void previous.drain().then(() => retired.splice(retired.indexOf(previous), 1));
      }
      cache.reconfigure(next.cache);
      metrics.setMaxCallSites(next.metricsMaxCallSites);
      mysql.setServices(mysqlServices(state, log, metrics, clients, cache));
      if (postgres !== null) postgres.reload(next, postgresTls);
      else if (next.postgres !== null) {
        // A listener added by a reload starts now; its address is a restart key only once it runs.
        warnUnusedReplicas(next.postgres, 'postgres', log);
        postgres = startPostgres(next.postgres, postgresTls, log, metrics, cache);
      }
    },
  };
}
