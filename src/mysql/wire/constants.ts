// https://mariadb.com/kb/en/clientserver-protocol/ — protocol constants, named as in the spec.

/** Command bytes (first payload byte of a client command packet). */
export const Com = {
  Sleep: 0x00,
  Quit: 0x01,
  InitDb: 0x02,
  Query: 0x03,
  FieldList: 0x04,
  CreateDb: 0x05,
  DropDb: 0x06,
  Refresh: 0x07,
  Shutdown: 0x08,
  Statistics: 0x09,
  ProcessInfo: 0x0a,
  Connect: 0x0b,
  ProcessKill: 0x0c,
  Debug: 0x0d,
  Ping: 0x0e,
  Time: 0x0f,
  DelayedInsert: 0x10,
  ChangeUser: 0x11,
  BinlogDump: 0x12,
  TableDump: 0x13,
  ConnectOut: 0x14,
  RegisterSlave: 0x15,
  StmtPrepare: 0x16,
  StmtExecute: 0x17,
  StmtSendLongData: 0x18,
  StmtClose: 0x19,
  StmtReset: 0x1a,
  SetOption: 0x1b,
  StmtFetch: 0x1c,
  Daemon: 0x1d,
  BinlogDumpGtid: 0x1e,
  ResetConnection: 0x1f,
  StmtBulkExecute: 0xfa, // MariaDB
} as const;

/** Capability flags (Protocol::CapabilityFlags). */
export const Cap = {
  LongPassword: 0x1,
  FoundRows: 0x2,
  LongFlag: 0x4,
  ConnectWithDb: 0x8,
  NoSchema: 0x10,
  Compress: 0x20,
  Odbc: 0x40,
  LocalFiles: 0x80,
  IgnoreSpace: 0x100,
  Protocol41: 0x200,
  Interactive: 0x400,
  Ssl: 0x800,
  IgnoreSigpipe: 0x1000,
  Transactions: 0x2000,
  Reserved: 0x4000,
  SecureConnection: 0x8000,
  MultiStatements: 0x10000,
  MultiResults: 0x20000,
  PsMultiResults: 0x40000,
  PluginAuth: 0x80000,
  ConnectAttrs: 0x100000,
  PluginAuthLenencClientData: 0x200000,
  CanHandleExpiredPasswords: 0x400000,
  SessionTrack: 0x800000,
  DeprecateEof: 0x1000000,
  OptionalResultsetMetadata: 0x2000000,
  ZstdCompressionAlgorithm: 0x4000000,
  QueryAttributes: 0x8000000,
  SslVerifyServerCert: 0x40000000,
} as const;

/** MariaDB extended capabilities: the upper 32 bits, sent in the reserved bytes of the handshakes. */
export const MariaDbCap = {
  Progress: 0x1,
  ComMulti: 0x2,
  StmtBulkOperations: 0x4,
  ExtendedTypeInfo: 0x8,
  CacheMetadata: 0x10,
} as const;

/**
 * Capabilities the proxy does not pass through from the server's greeting:
 * TLS is per link (the proxy offers CLIENT_SSL itself when it has a
 * certificate, and asks the server for it per backend_tls); zstd compression
 * is not implemented (zlib CLIENT_COMPRESS is: both links switch together);
 * query attributes change the COM_QUERY layout; optional metadata changes the
 * result-set layout.
 */
export const CAPS_MASKED =
  Cap.Ssl | Cap.ZstdCompressionAlgorithm | Cap.QueryAttributes | Cap.OptionalResultsetMetadata | Cap.SslVerifyServerCert;

/**
 * Progress reports interleave ERR-shaped packets; COM_MULTI nests commands;
 * cached metadata elides column definitions. Bulk execute is relayed: its
 * response has the shape of a COM_STMT_EXECUTE response.
 */
export const MARIADB_CAPS_MASKED = MariaDbCap.Progress | MariaDbCap.ComMulti | MariaDbCap.CacheMetadata;

/** Server status flags, sent in OK and EOF packets. */
export const ServerStatus = {
  InTrans: 0x1,
  Autocommit: 0x2,
  MoreResultsExists: 0x8,
  NoGoodIndexUsed: 0x10,
  NoIndexUsed: 0x20,
  CursorExists: 0x40,
  LastRowSent: 0x80,
  DbDropped: 0x100,
  NoBackslashEscapes: 0x200,
  MetadataChanged: 0x400,
  QueryWasSlow: 0x800,
  PsOutParams: 0x1000,
  InTransReadonly: 0x2000,
  SessionStateChanged: 0x4000,
} as const;

/** First payload byte of a server response packet. */
export const Header = {
  Ok: 0x00,
  AuthMoreData: 0x01,
  LocalInfile: 0xfb,
  Eof: 0xfe, // also AuthSwitchRequest during authentication
  Err: 0xff,
} as const;

/** Largest payload of one physical packet; a payload this long continues in the next packet. */
export const MAX_PACKET_PAYLOAD = 0xffffff;
export const PACKET_HEADER_LENGTH = 4;

/** Session state tracking types in OK packets (SESSION_TRACK). */
export const SessionTrack = {
  SystemVariables: 0x00,
  Schema: 0x01,
  StateChange: 0x02,
  Gtids: 0x03,
  TransactionCharacteristics: 0x04,
  TransactionState: 0x05,
} as const;

/** Binary protocol column types (MYSQL_TYPE_*), for prepared-statement parameters. */
export const FieldType = {
  Decimal: 0x00,
  Tiny: 0x01,
  Short: 0x02,
  Long: 0x03,
  Float: 0x04,
  Double: 0x05,
  Null: 0x06,
  Timestamp: 0x07,
  LongLong: 0x08,
  Int24: 0x09,
  Date: 0x0a,
  Time: 0x0b,
  DateTime: 0x0c,
  Year: 0x0d,
  NewDate: 0x0e,
  VarChar: 0x0f,
  Bit: 0x10,
  Json: 0xf5,
  NewDecimal: 0xf6,
  Enum: 0xf7,
  Set: 0xf8,
  TinyBlob: 0xf9,
  MediumBlob: 0xfa,
  LongBlob: 0xfb,
  Blob: 0xfc,
  VarString: 0xfd,
  String: 0xfe,
  Geometry: 0xff,
} as const;
