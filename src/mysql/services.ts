import type { Logger } from '../log.ts';
import type { ProtocolConfig } from '../config/types.ts';
import type { Statement } from '../core/sql/index.ts';
import type { ClientConnection } from './frontend.ts';
import type { Frame } from './wire/framing.ts';
import type { ExclusionReason } from '../core/batch/eligibility.ts';
import type { MysqlWrite } from './write-batcher.ts';
import type { QueryCache } from '../core/cache/query-cache.ts';
import type { ServerTls } from '../net/tls.ts';
import type { ClientTlsRefusal } from '../metrics/registry.ts';

/**
 * What a MariaDB client connection needs from the rest of the proxy. The
 * listener builds one per config generation; connections keep the one they
 * started with.
 */
export interface MysqlServices {
  readonly config: ProtocolConfig;
  readonly log: Logger;
  /** The shared query cache; null when caching is unavailable. */
  readonly cache: QueryCache | null;
  /** Certificate and mode for TLS towards clients, read at start-up or at the last reload; null: TLS not offered. */
  readonly tls: ServerTls | null;
  /** Counts a client refused for its TLS (the connection logs why). */
  onClientTlsRefused(reason: ClientTlsRefusal): void;
  onClientOpen(client: ClientConnection): void;
  /** `wasOpen` is false when the connection was already being drained. */
  onClientClose(client: ClientConnection, wasOpen: boolean): void;
  onBackendError(kind: 'connect' | 'lost'): void;
  observeQuery(client: ClientConnection, statement: Statement | null, isCached: boolean, seconds: number): void;
  /** Checks a parsed statement's hints: warns about a ttl on a write, counts rejected hint values. */
  inspectHints(statement: Statement): void;
  /** Lets the cache or the batcher take a COM_QUERY. Returns true when it did. */
  interceptQuery?(client: ClientConnection, frame: Frame, statement: Statement, startedAt: number): boolean;
  /** The same for COM_STMT_EXECUTE of prepared statement `statementId`. */
  interceptExecute?(client: ClientConnection, frame: Frame, statementId: number, startedAt: number): boolean;
  /** `writebatch_enabled`: batch every eligible write, not only those with a `batch:N` hint. */
  readonly isBatchingEnabled: boolean;
  /** Queues a write for batching; absent when batching is unavailable. */
  enqueueWrite?(write: MysqlWrite): void;
  cancelWrite?(write: MysqlWrite): void;
  onWriteExcluded(reason: ExclusionReason): void;
  /** One shared copy of a batch key (queued writes of one template share it). */
  internBatchKey(key: string): string;
  /** The metrics label of a batched write: its call site, or a short template id. */
  batchSite(statement: Statement, template: string): string;
}
