/**
 * Throwaway MariaDB servers for tests that must stop, kill or reconfigure a
 * backend (fault tests, batching under backend loss, 1000-connection benches).
 * Everything else uses the shared server on 127.0.0.1:3306.
 *
 * Start-up is kept fast in two ways:
 * - `mariadb-install-db` runs once per machine and mariadbd version into a
 *   template data directory; each server gets a `cp -a` of it.
 * - Data lives on tmpfs (/dev/shm) when available; see `scratchRoot()`.
 *
 *     await using db = await startMariaDb();
 *     await using proxy = await startProxy({ backendPort: db.port });
 */
import type { Subprocess } from 'bun';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { PortInUseError, isPortOpen, launchOnFreePort } from './ports.ts';
import { armWatchdog, fileSize, isRunning, runCommand, tailOfFile, terminate, type Watchdog } from './process.ts';
import { makeScratchDir, removeDir, scratchRoot } from './tmp.ts';
import { waitUntil } from './wait.ts';

export interface StartMariaDbOptions {
  /** `--max-connections`; the server default is 151. */
  maxConnections?: number;
  /** Appended after the harness's own mariadbd flags, so they win. */
  extraArgs?: string[];
  /** Deadline for the server to accept a root login. Default 30 s. */
  startTimeoutMs?: number;
  /**
   * Serve TLS with these files (see test/support/tls.ts). With
   * `requireSecureTransport`, plaintext TCP logins are refused, and the
   * harness's own readiness check logs in over the unix socket.
   */
  tls?: { caFile: string; certFile: string; keyFile: string; requireSecureTransport?: boolean };
}

export interface MariaDbServer {
  readonly host: string;
  readonly port: number;
  /** Pid of the current mariadbd; it changes after `restart()`. */
  readonly pid: number;
  /** The instance's scratch directory (data dir, socket, logs). */
  readonly dir: string;
  readonly dataDir: string;
  readonly socketPath: string;
  /** Milliseconds from the call to the first successful root login. */
  readonly startupMs: number;
  /** Whether mariadbd is running (not stopped or killed). */
  isRunning(): boolean;
  /** The server's error log (start-up notes, crash reports). */
  errorLog(): string;
  /** SIGTERM, wait for the exit (SIGKILL after 20 s), remove the directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit, keeping the data for `restart()`. */
  kill(): Promise<void>;
  /** Stops mariadbd if running, starts it again on the same port and data, waits until ready. */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const HOST = '127.0.0.1';
const STOP_GRACE_MS = 20_000;
const MAX_BIND_ATTEMPTS = 5;

/**
 * Flags for both `mariadb-install-db` and `mariadbd`. They mirror the shared
 * server (/etc/mysql/my.cnf: skip-name-resolve, utf8mb4) so a test behaves the
 * same against either. The redo log is 16M instead of the default 96M because
 * every start copies it; write-heavy tests can raise it through `extraArgs`
 * (`--innodb-log-file-size=…`; the server resizes it at start).
 */
const COMMON_ARGS = [
  '--innodb-buffer-pool-size=32M',
  '--innodb-log-file-size=16M',
  '--skip-log-bin',
  '--skip-name-resolve',
  '--performance-schema=OFF',
  '--character-set-server=utf8mb4',
  '--collation-server=utf8mb4_general_ci',
];

/**
 * Server-only flags. The default 12M temporary tablespace is written out in
 * full at every start; 1M (autoextending) saves about 15 ms per start.
 */
const SERVER_ARGS = ['--innodb-temp-data-file-path=ibtmp1:1M:autoextend'];

/** Bump when the template recipe changes, so stale templates are not reused. */
const TEMPLATE_RECIPE = 1;

/** One template build per test process; other processes race safely via rename. */
let templatePromise: Promise<string> | undefined;

/**
 * Starts a private mariadbd on a free port with an empty root password and a
 * `test` database, and resolves once a root login succeeds.
 */
export async function startMariaDb(options: StartMariaDbOptions = {}): Promise<MariaDbServer> {
  const startedAt = performance.now();
  const template = await mariaDbTemplate();
  const serverArgs: string[] = [...COMMON_ARGS, ...SERVER_ARGS];
  if (options.maxConnections !== undefined) serverArgs.push(`--max-connections=${options.maxConnections}`);
  const tls = options.tls;
  if (tls !== undefined) {
    serverArgs.push(`--ssl-ca=${tls.caFile}`, `--ssl-cert=${tls.certFile}`, `--ssl-key=${tls.keyFile}`);
    if (tls.requireSecureTransport === true) serverArgs.push('--require-secure-transport=ON');
  }
  serverArgs.push(...(options.extraArgs ?? []));
  const instance = new MariaDbInstance(makeScratchDir('tqdb-mariadb-'), serverArgs, options.startTimeoutMs ?? 30_000, tls?.requireSecureTransport === true);
  try {
    await runCommand(['cp', '-a', template, instance.dataDir]);
    await launchOnFreePort((port) => instance.launch(port), MAX_BIND_ATTEMPTS);
    instance.startupMs = performance.now() - startedAt;
    return instance;
  } catch (error) {
    await instance.stop();
    throw error;
  }
}

class MariaDbInstance implements MariaDbServer {
  readonly host = HOST;
  readonly dataDir: string;
  readonly socketPath: string;
  port = 0;
  startupMs = 0;
  private currentProc: Subprocess | undefined;
  private isRemoved = false;
  private readonly errorLogPath: string;
  /** Guards the directory, and the server while one runs; see `armWatchdog`. */
  private watchdog: Watchdog;

  constructor(
    readonly dir: string,
    private readonly serverArgs: string[],
    private readonly startTimeoutMs: number,
    /** Plaintext TCP logins are refused: the readiness check uses the unix socket. */
    private readonly isReadyOverSocket = false,
  ) {
    this.dataDir = join(dir, 'data');
    this.socketPath = join(dir, 's.sock');
    this.errorLogPath = join(dir, 'error.log');
    this.watchdog = armWatchdog(0, { dir });
  }

  /** Re-arms the watchdog for a new server pid (0: none running). */
  private watch(pid: number): void {
    const previous = this.watchdog;
    this.watchdog = armWatchdog(pid, { dir: this.dir });
    previous.disarm();
  }

  get pid(): number {
    if (this.currentProc === undefined) throw new Error('mariadbd has not been started');
    return this.currentProc.pid;
  }

  isRunning(): boolean {
    return this.currentProc !== undefined && isRunning(this.currentProc);
  }

  errorLog(): string {
    return tailOfFile(this.errorLogPath, 1_000_000);
  }

  /** Spawns mariadbd on `port` and waits for a root login; rejects with the error log on failure. */
  async launch(port: number): Promise<void> {
    this.port = port;
    const logStart = fileSize(this.errorLogPath);
    const proc = Bun.spawn(
      [
        'mariadbd',
        '--no-defaults', // must come first: ignore /etc/mysql/my.cnf
        `--datadir=${this.dataDir}`,
        `--port=${this.port}`,
        `--bind-address=${HOST}`,
        `--socket=${this.socketPath}`,
        `--pid-file=${join(this.dir, 'mariadbd.pid')}`,
        `--log-error=${this.errorLogPath}`,
        '--user=root', // we run as root; mariadbd refuses root without it
        ...this.serverArgs,
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    // A test that forgets stop() must not keep `bun test` alive; the watchdog
    // kills the server once the test process is gone.
    proc.unref();
    this.currentProc = proc;
    this.watch(proc.pid);
    const exitedEarly = proc.exited.then((code): never => {
      const log = tailOfFile(this.errorLogPath, 4000, logStart);
      if (/Address already in use|errno: 98/.test(log)) {
        throw new PortInUseError(`port ${this.port} was taken before mariadbd bound it`);
      }
      throw new Error(`mariadbd exited with code ${code} before accepting connections. Error log:\n${log}`);
    });
    exitedEarly.catch(() => {});
    try {
      await waitUntil(() => this.tryReadyQuery(), {
        timeoutMs: this.startTimeoutMs,
        intervalMs: 10,
        description: `mariadbd on ${HOST}:${this.port} to accept a root login`,
        abort: exitedEarly,
      });
    } catch (error) {
      await terminate(proc, 'SIGKILL', 0);
      this.watch(0);
      if (error instanceof PortInUseError) throw error;
      if (error instanceof Error && error.message.startsWith('timed out')) {
        throw new Error(`${error.message}\nError log:\n${tailOfFile(this.errorLogPath, 4000, logStart)}`);
      }
      throw error;
    }
  }

  private async tryReadyQuery(): Promise<boolean> {
    const conn = await mysql.createConnection({
      ...(this.isReadyOverSocket ? { socketPath: this.socketPath } : { host: HOST, port: this.port }),
      user: 'root',
      password: '',
      connectTimeout: 2000,
    });
    try {
      await conn.query('CREATE DATABASE IF NOT EXISTS test');
      return true;
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  }

  async stop(): Promise<void> {
    if (this.currentProc !== undefined) await terminate(this.currentProc, 'SIGTERM', STOP_GRACE_MS);
    if (!this.isRemoved) {
      this.isRemoved = true;
      await removeDir(this.dir);
      this.watchdog.disarm();
    }
  }

  async kill(): Promise<void> {
    if (this.currentProc === undefined) return;
    await terminate(this.currentProc, 'SIGKILL', 0);
    this.watch(0);
  }

  async restart(): Promise<void> {
    if (this.isRemoved) throw new Error('cannot restart a stopped MariaDB: its data directory was removed');
    if (this.currentProc !== undefined) {
      await terminate(this.currentProc, 'SIGTERM', STOP_GRACE_MS);
      this.watch(0);
    }
    // Something else may have taken the port while the server was down.
    if (await isPortOpen(this.port)) {
      throw new Error(`cannot restart MariaDB: port ${this.port} is now used by another process`);
    }
    await this.launch(this.port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Path of an initialised data directory for this mariadbd build, created on
 * first use. It is built under a unique name and renamed into place, so
 * concurrent test processes never see a half-built template.
 */
function mariaDbTemplate(): Promise<string> {
  templatePromise ??= buildTemplate().catch((error: unknown) => {
    templatePromise = undefined;
    throw error;
  });
  return templatePromise;
}

async function buildTemplate(): Promise<string> {
  const version = (await runCommand(['mariadbd', '--version'])).trim();
  const key = Bun.hash(`${TEMPLATE_RECIPE}\n${version}\n${COMMON_ARGS.join(' ')}`).toString(16);
  const path = join(scratchRoot(), `tqdb-mariadb-template-${key}`);
  if (existsSync(join(path, 'mysql'))) return path;
  const building = makeScratchDir(`tqdb-mariadb-template-${key}.building-`);
  try {
    await runCommand([
      'mariadb-install-db',
      '--no-defaults',
      '--auth-root-authentication-method=normal', // root@127.0.0.1 with an empty password
      `--datadir=${building}`,
      '--user=root',
      '--skip-test-db',
      ...COMMON_ARGS,
    ]);
    try {
      await rename(building, path);
    } catch (error) {
      // Another process renamed its template first; theirs is as good as ours.
      if (!existsSync(join(path, 'mysql'))) throw error;
    }
    return path;
  } finally {
    await removeDir(building);
  }
}
