import type { Logger } from '../log.ts';
import type { ProtocolConfig } from '../config/types.ts';
import type { Statement } from '../core/sql/index.ts';
import type { EngineServices } from '../core/session/index.ts';
import type { ClientTlsRefusal } from '../metrics/registry.ts';
import type { ServerTls } from '../net/tls.ts';
import type { CancelKeys } from './cancel-keys.ts';
import type { PgClientConnection } from './frontend.ts';
import type { PgWrite } from './write-batcher.ts';

/**
 * What a PostgreSQL client connection needs from the rest of the proxy. The
 * listener builds one per config generation; connections keep the one they
 * started with.
 */
export interface PgServices {
  readonly config: ProtocolConfig;
  readonly log: Logger;
  /** What the session engine decides with: cache, batching policy. */
  readonly engine: EngineServices;
  /** Shared by every generation: keys outlive a reload. */
  readonly cancelKeys: CancelKeys;
  /** True once a graceful shutdown started: a lost backend is then reported as 57P01. */
  readonly isShuttingDown: boolean;
  /** Certificate and mode for TLS towards clients, read at start-up or at the last reload; null: SSLRequest is answered 'N'. */
  readonly tls: ServerTls | null;
  /** Counts a client refused for its TLS (the connection logs why). */
  onClientTlsRefused(reason: ClientTlsRefusal): void;
  onClientOpen(client: PgClientConnection): void;
  /** `wasOpen` is false when the connection was already being drained. */
  onClientClose(client: PgClientConnection, wasOpen: boolean): void;
  onBackendError(kind: 'connect' | 'lost'): void;
  observeQuery(statement: Statement | null, isCached: boolean, seconds: number): void;
  /** Checks a parsed statement's hints: warns about a ttl on a write, counts rejected hint values. */
  inspectHints(statement: Statement): void;
  /** Queues a write for batching; present exactly when `engine.hasBatcher` is true. */
  enqueueWrite?(write: PgWrite): void;
  cancelWrite?(write: PgWrite): void;
  /** The metrics label of a batched write: its call site, or a short template id. */
  batchSite(statement: Statement): string;
}
