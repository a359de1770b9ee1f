/**
 * One protocol-neutral test driver per front end, so a feature suite is
 * written once and runs against both (Hono's `common.case` pattern; see
 * test/integration/common/). A driver knows its protocol's client library
 * (mysql2 or node-postgres), its SQL dialect where the two differ (DDL,
 * placeholders, sleeping, counting executions), its error numbers, and how to
 * misbehave on the wire for fault cases. Everything runs against the real
 * shared databases; nothing here mocks one.
 */
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import type { Connection, ResultSetHeader } from 'mysql2/promise';
import pg from 'pg';
import { pgErrorFields, pgQuery } from './bytes.ts';
import { startProxy, type ProxyProcess, type ProxyProtocol } from './proxy.ts';
import { rawPgClient } from './raw-postgres.ts';
import { waitUntil } from './wait.ts';

/** A statement's outcome, the same shape for both protocols. */
export interface DbResult {
  rows: Record<string, unknown>[];
  /** MySQL affectedRows; PostgreSQL the CommandComplete row count (0 when the tag has none). */
  affectedRows: number;
  /** MySQL's OK-packet insert id; null on PostgreSQL (use `RETURNING`, see `ProtocolDriver.insertedId`). */
  insertId: number | null;
  /** PostgreSQL's CommandComplete command (`INSERT`, `SELECT`...); null on MySQL. */
  command: string | null;
}

/**
 * An error a statement got, in one view: `code` is the MySQL errno as text
 * (`'1146'`) or the PostgreSQL SQLSTATE (`'42P01'`), the number each
 * protocol's users look up; `sqlState` is the SQLSTATE both carry.
 */
export class DbError extends Error {
  constructor(
    readonly code: string,
    readonly sqlState: string,
    message: string,
  ) {
    super(`${code} (${sqlState}): ${message}`);
    this.name = 'DbError';
  }
}

export interface DbClient {
  /** Runs `sql` with `params` bound at the driver's placeholders; rejects with a `DbError`. */
  query(sql: string, params?: readonly unknown[]): Promise<DbResult>;
  /** Resolves with the `DbError` the statement fails with; rejects if it succeeds. */
  queryError(sql: string, params?: readonly unknown[]): Promise<DbError>;
  /** SHOW TQDB STATUS as a name → value map. */
  status(like?: string): Promise<Record<string, string>>;
  /** Closes politely (Terminate / COM_QUIT). */
  end(): Promise<void>;
}

/** The error numbers a case expects, per protocol. */
export interface ErrorCodes {
  /** Query on a table that does not exist. */
  readonly noSuchTable: string;
  /** A statement the user has no privilege for. */
  readonly permissionDenied: string;
  /** A client message larger than the listener's max_packet_size. */
  readonly packetTooLarge: string;
  /** Bytes that are not the protocol. */
  readonly protocolViolation: string;
  /** SQL the server cannot parse. */
  readonly syntaxError: string;
}

/** Who a connection logs in as. */
export interface Login {
  user: string;
  password?: string;
  database?: string;
}

export interface ProtocolDriver {
  /** Also the `protocol` label value of this front end's metrics. */
  readonly name: ProxyProtocol;
  /** The shared database server this protocol's cases run against. */
  readonly directPort: number;
  /** The proxy's config section for this front end, e.g. `[mariadb]`. */
  readonly section: string;
  readonly codes: ErrorCodes;
  /** Column type of an auto-generated bigint primary key. */
  readonly autoIdColumn: string;
  /** The placeholder for the `n`-th (1-based) parameter: `?` or `$n`. */
  param(n: number): string;
  /** An SQL expression that sleeps `seconds` on the server. */
  sleep(seconds: number): string;
  /** A SELECT returning `rows` rows of 1000 bytes, with `marker` in its text (to find it among server sessions). */
  bigResult(rows: number, marker: string): string;
  /** DDL creating `table` (one row per execution) and a function `fn()` that adds a row and returns 1. */
  executionCounter(table: string, fn: string): string[];
  /** DDL dropping what `executionCounter` created. */
  dropExecutionCounter(table: string, fn: string): string[];
  /** `INSERT ...` made to report its generated `id`: `RETURNING id` appended on PostgreSQL. */
  returningId(insertSql: string): string;
  /** The generated id of an INSERT made by `returningId`. */
  insertedId(result: DbResult): number;
  /** Starts a proxy serving this protocol; `section` lines go into this protocol's section, `proxy` into `[proxy]`. */
  startProxy(options?: { section?: string[]; proxy?: string[] }): Promise<ProxyProcess>;
  /** This protocol's listener port on `proxy`. */
  port(proxy: ProxyProcess): number;
  /** A client connection to `port` (a proxy or the database), as root on `test` unless `as` says otherwise. */
  connect(port: number, as?: Login): Promise<DbClient>;
  /** Sessions on the database server (not through the proxy) whose current query text contains `marker`. */
  serverQueriesLike(marker: string): Promise<number>;
  /** Sends a big query on a fresh connection, reads part of the result and kills the socket. */
  killMidResult(port: number, marker: string): Promise<void>;
  /** Sends garbage on a fresh connection; resolves with the code of the error the proxy answered, once it closed. */
  sendGarbage(port: number): Promise<string>;
}

function iniLines(section: string, lines: string[] | undefined): string {
  return lines === undefined || lines.length === 0 ? '' : `${section}\n${lines.join('\n')}\n`;
}

function toDbResult(rows: Record<string, unknown>[], affectedRows: number, insertId: number | null, command: string | null): DbResult {
  return { rows, affectedRows, insertId, command };
}

function statusMap(rows: Record<string, unknown>[]): Record<string, string> {
  return Object.fromEntries(rows.map((r) => [String(r.Variable_name), String(r.Value)]));
}

function statusSql(like: string | undefined): string {
  return like === undefined ? 'SHOW TQDB STATUS' : `SHOW TQDB STATUS LIKE '${like.replaceAll("'", "''")}'`;
}

async function errorOf(client: DbClient, sql: string, params: readonly unknown[] | undefined): Promise<DbError> {
  try {
    await client.query(sql, params);
  } catch (error) {
    if (error instanceof DbError) return error;
    throw error;
  }
  throw new Error(`expected an error from: ${sql.slice(0, 200)}`);
}

// ------------------------------------------------------------------ MariaDB

function mysqlError(error: unknown): unknown {
  const e = error as { errno?: unknown; sqlState?: unknown; message?: unknown };
  if (typeof e?.errno === 'number') return new DbError(String(e.errno), typeof e.sqlState === 'string' ? e.sqlState : '', String(e.message));
  return error;
}

class MysqlClient implements DbClient {
  constructor(private readonly conn: Connection) {
    // A fatal error (e.g. the proxy closing after 1153) is also emitted as an event; the rejection carries it.
    conn.on('error', () => {});
  }

  async query(sql: string, params?: readonly unknown[]): Promise<DbResult> {
    try {
      const [result] = await this.conn.query(sql, params === undefined ? undefined : [...params]);
      if (Array.isArray(result)) return toDbResult(result as Record<string, unknown>[], 0, null, null);
      const header = result as ResultSetHeader;
      return toDbResult([], header.affectedRows, header.insertId, null);
    } catch (error) {
      throw mysqlError(error);
    }
  }

  queryError(sql: string, params?: readonly unknown[]): Promise<DbError> {
    return errorOf(this, sql, params);
  }

  async status(like?: string): Promise<Record<string, string>> {
    return statusMap((await this.query(statusSql(like))).rows);
  }

  async end(): Promise<void> {
    await this.conn.end().catch(() => this.conn.destroy());
  }
}

async function mysqlConnectTo(port: number, as: Login = { user: 'root' }): Promise<Connection> {
  return mysqlPromise.createConnection({ host: '127.0.0.1', port, user: as.user, password: as.password ?? '', database: as.database ?? 'test', connectTimeout: 10_000 });
}

/** Reads one MySQL packet's payload at `offset` of `bytes`, or undefined while it is incomplete. */
function mysqlPacketAt(bytes: Uint8Array, offset: number): Uint8Array | undefined {
  if (bytes.length < offset + 4) return undefined;
  const length = bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16);
  if (bytes.length < offset + 4 + length) return undefined;
  return bytes.subarray(offset + 4, offset + 4 + length);
}

async function rawSocket(port: number): Promise<{ socket: import('bun').Socket<undefined>; received: () => Uint8Array; closed: Promise<void> }> {
  const chunks: Uint8Array[] = [];
  let onClose = (): void => {};
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data(_s, chunk) {
        // Copied: Bun reuses the chunk's buffer after the handler returns.
        chunks.push(Uint8Array.from(chunk));
      },
      close() {
        onClose();
      },
      error() {
        onClose();
      },
    },
  });
  return { socket, received: () => Buffer.concat(chunks), closed };
}

export const mariadb: ProtocolDriver = {
  name: 'mariadb',
  directPort: 3306,
  section: '[mariadb]',
  codes: { noSuchTable: '1146', permissionDenied: '1142', packetTooLarge: '1153', protocolViolation: '1047', syntaxError: '1064' },
  autoIdColumn: 'BIGINT AUTO_INCREMENT PRIMARY KEY',
  param: () => '?',
  sleep: (seconds) => `SLEEP(${seconds})`,
  bigResult: (rows, marker) => `SELECT REPEAT('x', 1000) AS ${marker} FROM seq_1_to_${rows}`,
  executionCounter: (table, fn) => [
    `DROP FUNCTION IF EXISTS ${fn}`,
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY)`,
    `CREATE FUNCTION ${fn}() RETURNS INT NOT DETERMINISTIC MODIFIES SQL DATA BEGIN INSERT INTO ${table} VALUES (NULL); RETURN 1; END`,
  ],
  dropExecutionCounter: (table, fn) => [`DROP FUNCTION IF EXISTS ${fn}`, `DROP TABLE IF EXISTS ${table}`],
  returningId: (sql) => sql,
  insertedId(result) {
    if (result.insertId === null) throw new Error('no insert id in the OK packet');
    return result.insertId;
  },
  startProxy: (options = {}) => startProxy({ protocols: ['mariadb'], ini: iniLines('[mariadb]', options.section) + iniLines('[proxy]', options.proxy) }),
  port: (proxy) => proxy.listeners.mariadb!.port,
  connect: async (port, as) => new MysqlClient(await mysqlConnectTo(port, as)),
  async serverQueriesLike(marker) {
    const c = await mysqlConnectTo(3306);
    try {
      const [rows] = await c.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()', [`%${marker}%`]);
      return Number((rows as { n: number }[])[0]!.n);
    } finally {
      await c.end();
    }
  },
  async killMidResult(port, marker) {
    const c = mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: 'test' });
    c.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      const stream = c.query(mariadb.bigResult(200_000, marker)).stream();
      stream.once('data', () => {
        c.destroy();
        resolve();
      });
      stream.once('error', reject);
    });
  },
  async sendGarbage(port) {
    const raw = await rawSocket(port);
    await waitUntil(() => mysqlPacketAt(raw.received(), 0) !== undefined, { description: 'the greeting' });
    // A handshake response whose sequence id and body are nonsense.
    raw.socket.write(Uint8Array.from([0x05, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x00]));
    await raw.closed;
    const bytes = raw.received();
    const greeting = mysqlPacketAt(bytes, 0)!;
    const reply = mysqlPacketAt(bytes, 4 + greeting.length);
    if (reply === undefined || reply[0] !== 0xff) throw new Error('the proxy closed without an ERR packet');
    return String(reply[1]! | (reply[2]! << 8));
  },
};

// --------------------------------------------------------------- PostgreSQL

function pgError(error: unknown): unknown {
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return new DbError(e.code, e.code, String(e.message));
  return error;
}

class PgClient implements DbClient {
  constructor(private readonly client: pg.Client) {
    // A FATAL ErrorResponse is also emitted as an event; the rejection carries it.
    client.on('error', () => {});
  }

  async query(sql: string, params?: readonly unknown[]): Promise<DbResult> {
    try {
      const r = await this.client.query(sql, params === undefined ? undefined : [...params]);
      return toDbResult(r.rows as Record<string, unknown>[], r.rowCount ?? 0, null, r.command);
    } catch (error) {
      throw pgError(error);
    }
  }

  queryError(sql: string, params?: readonly unknown[]): Promise<DbError> {
    return errorOf(this, sql, params);
  }

  async status(like?: string): Promise<Record<string, string>> {
    return statusMap((await this.query(statusSql(like))).rows);
  }

  async end(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

async function pgConnectTo(port: number, as: Login = { user: 'root' }): Promise<pg.Client> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: as.user, password: as.password, database: as.database ?? 'test', connectionTimeoutMillis: 10_000 });
  await client.connect();
  return client;
}

export const postgres: ProtocolDriver = {
  name: 'postgres',
  directPort: 5432,
  section: '[postgres]',
  codes: { noSuchTable: '42P01', permissionDenied: '42501', packetTooLarge: '08P01', protocolViolation: '08P01', syntaxError: '42601' },
  autoIdColumn: 'bigserial PRIMARY KEY',
  param: (n) => `$${n}`,
  sleep: (seconds) => `pg_sleep(${seconds})`,
  bigResult: (rows, marker) => `SELECT repeat('x', 1000) AS ${marker} FROM generate_series(1, ${rows})`,
  executionCounter: (table, fn) => [
    `DROP FUNCTION IF EXISTS ${fn}()`,
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (id serial PRIMARY KEY)`,
    `CREATE FUNCTION ${fn}() RETURNS int LANGUAGE sql VOLATILE AS $$ INSERT INTO ${table} DEFAULT VALUES; SELECT 1 $$`,
  ],
  dropExecutionCounter: (table, fn) => [`DROP FUNCTION IF EXISTS ${fn}()`, `DROP TABLE IF EXISTS ${table}`],
  returningId: (sql) => `${sql} RETURNING id`,
  insertedId(result) {
    const id = result.rows[0]?.id;
    if (id === undefined) throw new Error('no RETURNING id row');
    return Number(id);
  },
  startProxy: (options = {}) => startProxy({ protocols: ['postgres'], ini: iniLines('[postgres]', options.section) + iniLines('[proxy]', options.proxy) }),
  port: (proxy) => proxy.listeners.postgres!.port,
  connect: async (port, as) => new PgClient(await pgConnectTo(port, as)),
  async serverQueriesLike(marker) {
    const c = await pgConnectTo(5432);
    try {
      const r = await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()', [`%${marker}%`]);
      return r.rows[0].n as number;
    } finally {
      await c.end();
    }
  },
  async killMidResult(port, marker) {
    const raw = await rawPgClient(port);
    await raw.login();
    const before = raw.received().length;
    raw.socket.write(pgQuery(postgres.bigResult(300_000, marker)));
    await waitUntil(() => raw.received().length > before + 100_000, { description: 'part of the result' });
    raw.socket.terminate();
  },
  async sendGarbage(port) {
    const raw = await rawPgClient(port);
    // An absurd length and no protocol version where the StartupMessage should be.
    raw.socket.write(Uint8Array.from([0x7f, 0xff, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef]));
    await raw.closed;
    const error = raw.messages().find((m) => m.type === 'E');
    if (error === undefined) throw new Error('the proxy closed without an ErrorResponse');
    return pgErrorFields(error.body).C ?? '';
  },
};

export const PROTOCOL_DRIVERS: readonly ProtocolDriver[] = [mariadb, postgres];
