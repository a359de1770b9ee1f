import type { ProtocolServices } from '../protocol-services.ts';
import type { MysqlWrite } from './write-batcher.ts';

/**
 * What a MariaDB client connection needs from the rest of the proxy: the
 * services both protocols share (MariaDB adds nothing of its own). `C` is
 * the client connection, named by whoever builds the services (this file
 * does not import the front end, which imports it).
 */
export type MysqlServices<C = unknown> = ProtocolServices<MysqlWrite, C>;
