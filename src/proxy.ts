// Wires the listeners to the core services and metrics; owns start, stop and reload.
import type { Config } from './config/types.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics/registry.ts';
import { MysqlServer } from './mysql/server.ts';
import type { MysqlServices } from './mysql/services.ts';
import type { ClientConnection } from './mysql/frontend.ts';

export interface RunningProxy {
  /** Stop accepting, let in-flight work finish up to timeoutMs, close everything. */
  stop(timeoutMs: number): Promise<void>;
  /** Swap in a new, already validated config (SIGHUP). */
  reload(config: Config): void;
}

function mysqlServices(config: Config, log: Logger, metrics: Metrics, clients: Set<ClientConnection>): MysqlServices {
  const protocolLog = log.child({ protocol: 'mariadb' });
  return {
    config: config.mariadb,
    log: protocolLog,
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
  };
}

export async function startProxy(config: Config, log: Logger, metrics: Metrics): Promise<RunningProxy> {
  const clients = new Set<ClientConnection>();
  let current = config;
  const mysql = new MysqlServer(mysqlServices(config, log, metrics, clients));
  const address = mysql.listen(config.mariadb.listen, config.mariadb.socket);
  log.info('listening', { protocol: 'mariadb', address });
  if (config.mariadb.socket !== null) log.info('listening', { protocol: 'mariadb', address: `unix:${config.mariadb.socket}` });

  return {
    async stop(timeoutMs) {
      mysql.stopListening();
      const deadline = performance.now() + timeoutMs;
      // Let commands in flight finish; idle clients are closed at once.
      while (performance.now() < deadline) {
        for (const client of clients) if (client.isIdle) client.close();
        if (clients.size === 0) break;
        await Bun.sleep(10);
      }
      for (const client of clients) client.close();
      log.info('stopped', { protocol: 'mariadb' });
    },
    reload(next) {
      current = next;
      mysql.setServices(mysqlServices(current, log, metrics, clients));
      log.info('config reloaded', { file: next.sourceFile ?? '(defaults)' });
    },
  };
}
