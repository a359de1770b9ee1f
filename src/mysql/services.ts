import type { ServerTls } from '../net/tls.ts';
import type { ProtocolServices } from '../protocol-services.ts';
import type { MysqlWrite } from './write-batcher.ts';

/**
 * What a MariaDB client connection needs from the rest of the proxy: the
 * services both protocols share, plus the TLS material for clients. `C` is
 * the client connection, named by whoever builds the services (this file
 * does not import the front end, which imports it).
 */
export interface MysqlServices<C = unknown> extends ProtocolServices<MysqlWrite, C> {
  /** Certificate and mode for TLS towards clients, read at start-up or at the last reload; null: TLS not offered. */
  readonly tls: ServerTls | null;
}
