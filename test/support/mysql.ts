/**
 * MySQL-protocol clients for tests: mysql2 connections and pools with test
 * defaults, and the `mariadb` command-line client.
 */
import mysql from 'mysql2/promise';
import type { Connection, ConnectionOptions, Pool, PoolOptions } from 'mysql2/promise';
import { runClient } from './process.ts';

/** Root with an empty password on 127.0.0.1, database `test`: the shared server's and the throwaways' setup. */
const TEST_DEFAULTS = {
  host: '127.0.0.1',
  user: 'root',
  password: '',
  database: 'test',
  connectTimeout: 10_000,
} as const;

/** A mysql2/promise connection to `port` (a proxy or a database); `options` override the test defaults. */
export function mysqlConnect(port: number, options: ConnectionOptions = {}): Promise<Connection> {
  return mysql.createConnection({ ...TEST_DEFAULTS, port, ...options });
}

/**
 * A mysql2/promise pool to `port`. Up to 16 connections by default; callers
 * queue rather than fail when all are busy. Close it with `await pool.end()`.
 */
export function mysqlPool(port: number, options: PoolOptions = {}): Pool {
  return mysql.createPool({
    ...TEST_DEFAULTS,
    port,
    connectionLimit: 16,
    waitForConnections: true,
    queueLimit: 0,
    ...options,
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  host?: string;
  /** Kill the client after this long (the result then has code 137). Default 60 s. */
  timeoutMs?: number;
}

/**
 * Runs `mariadb --no-defaults -h127.0.0.1 -P<port> -uroot --comments <args> -e <sql>`
 * and resolves with its exit code and output. `--no-defaults` keeps the
 * machine's my.cnf out of the test. Pass e.g. `['test']` or `['-N', '-B']` in
 * `args`. A non-zero exit is a result, not a rejection.
 */
export async function runMariadbCli(port: number, sql: string, args: string[] = [], options: CliOptions = {}): Promise<CliResult> {
  const argv = [
    'mariadb',
    '--no-defaults',
    `-h${options.host ?? '127.0.0.1'}`,
    `-P${port}`,
    '-uroot',
    '--comments',
    ...args,
    '-e',
    sql,
  ];
  return runClient(argv, options.timeoutMs ?? 60_000);
}
