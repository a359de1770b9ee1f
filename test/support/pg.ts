/**
 * PostgreSQL-protocol clients for tests: Bun.SQL with test defaults, and psql.
 */
import { SQL } from 'bun';
import { runClient } from './process.ts';

export interface PgConnectOptions {
  host?: string;
  /** Default root (trust auth, like `postgres`). */
  username?: string;
  /** Default `test`. */
  database?: string;
  /** Pool size; default 1, i.e. one connection, as a single client would hold. */
  max?: number;
  /** Seconds. Default 10. */
  connectionTimeout?: number;
  /** Bun.SQL's prepared-statement mode; false sends simple queries. Default true. */
  prepare?: boolean;
}

/**
 * A Bun.SQL client for `port` (a proxy or a database). It connects lazily on
 * the first query; close it with `await sql.close()`.
 */
export function pgConnect(port: number, options: PgConnectOptions = {}): SQL {
  return new SQL({
    hostname: options.host ?? '127.0.0.1',
    port,
    username: options.username ?? 'root',
    database: options.database ?? 'test',
    max: options.max ?? 1,
    connectionTimeout: options.connectionTimeout ?? 10,
    prepare: options.prepare ?? true,
  });
}

export interface PsqlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `psql -X -h 127.0.0.1 -p <port> -U root -d test -v ON_ERROR_STOP=1 <args> -c <sql>`.
 * `-X` keeps ~/.psqlrc out of the test; ON_ERROR_STOP makes an SQL error a
 * non-zero exit. Pass e.g. `['-At']` for bare values. A non-zero exit is a
 * result, not a rejection; the client is killed after `timeoutMs` (default 60 s).
 */
export async function runPsql(
  port: number,
  sql: string,
  args: string[] = [],
  options: { host?: string; database?: string; user?: string; timeoutMs?: number } = {},
): Promise<PsqlResult> {
  const argv = [
    'psql',
    '-X',
    '-h',
    options.host ?? '127.0.0.1',
    '-p',
    String(port),
    '-U',
    options.user ?? 'root',
    '-d',
    options.database ?? 'test',
    '-v',
    'ON_ERROR_STOP=1',
    ...args,
    '-c',
    sql,
  ];
  return runClient(argv, options.timeoutMs ?? 60_000, { PGCONNECT_TIMEOUT: '10' });
}
