import type { ProtocolServices } from '../protocol-services.ts';
import type { CancelKeys } from './cancel-keys.ts';
import type { PgWrite } from './write-batcher.ts';

/**
 * What a PostgreSQL client connection needs from the rest of the proxy: the
 * services both protocols share, plus the cancel keys. `C` is the client
 * connection, named by whoever builds the services (this file does not
 * import the front end, which imports it).
 */
export interface PgServices<C = unknown> extends ProtocolServices<PgWrite, C> {
  /** Shared by every generation: keys outlive a reload. */
  readonly cancelKeys: CancelKeys;
}
