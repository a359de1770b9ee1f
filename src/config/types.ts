/**
 * The normalised, frozen configuration the rest of `src/` sees. Built only by
 * `loadConfig` (src/config/load.ts); nothing outside src/config parses INI or
 * reads TQDBPROXY_* variables.
 */

/** A parsed listen or backend address. `text` is the canonical spelling (`host:port`, `[v6]:port`, `unix:/path`). */
export type Address =
  | { kind: 'tcp'; host: string; port: number; text: string }
  | { kind: 'unix'; path: string; text: string };

export type BackendTlsMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface BackendTlsConfig {
  readonly mode: BackendTlsMode;
  /** PEM CA bundle path for verify-ca/verify-full, or null for the system CAs. */
  readonly caFile: string | null;
}

export interface BackendGroupConfig {
  readonly name: string;
  readonly primary: Address;
  readonly replicas: readonly Address[];
  readonly databases: readonly string[];
  readonly tls: BackendTlsConfig;
}

export type ClientTlsMode = 'disable' | 'allow' | 'require';

/** TLS towards clients. Paths only: the files are read when the listener starts and on every reload. */
export interface ClientTlsConfig {
  readonly mode: ClientTlsMode;
  readonly certFile: string | null;
  readonly keyFile: string | null;
  /** CA bundle for client certificates; when set, TLS clients must present one. */
  readonly caFile: string | null;
}

export interface WriteBatchConfig {
  readonly enabled: boolean;
  readonly initialDelayMs: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxBatchSize: number;
  /** Batched writes per second above which the delay grows (below half of it, it shrinks). */
  readonly writeThreshold: number;
  readonly adaptiveStep: number;
  readonly metricsIntervalSeconds: number;
  readonly timeoutMs: number;
  readonly maxConcurrentBatches: number;
  /** 0: templates always batch; else how often the other mode is probed. */
  readonly probeIntervalMs: number;
}

export interface ProtocolConfig {
  readonly listen: Address;
  /** Extra unix socket to listen on, or null. */
  readonly socket: string | null;
  readonly defaultGroup: string;
  readonly maxPacketSize: number;
  /** 0 = derived from the open-file limit at start. */
  readonly maxClientConnections: number;
  readonly maxPendingHandshakes: number;
  readonly handshakeTimeoutMs: number;
  readonly backendConnectTimeoutMs: number;
  /** Every `[<protocol>.<name>]` group by name; `defaultGroup` is always a key. */
  readonly groups: ReadonlyMap<string, BackendGroupConfig>;
  readonly writeBatch: WriteBatchConfig;
  readonly tls: ClientTlsConfig;
}

export interface CacheConfig {
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  readonly waitTimeoutMs: number;
  readonly staleFactor: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

export interface Config {
  /** The INI file this was loaded from, or null for built-in defaults (plus environment). */
  readonly sourceFile: string | null;
  readonly mariadb: ProtocolConfig;
  /** Null when the config has neither a `[postgres]` nor a `[postgres.<name>]` section. */
  readonly postgres: ProtocolConfig | null;
  readonly metricsListen: Address;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly shutdownTimeoutMs: number;
  readonly metricsMaxCallSites: number;
  readonly cache: CacheConfig;
}
