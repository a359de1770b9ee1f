/**
 * Throwaway PostgreSQL servers, the twin of `mariadb.ts`: tests that stop,
 * kill or reconfigure a backend use these, everything else the shared server
 * on 127.0.0.1:5432.
 *
 * PostgreSQL refuses to run as root, and the harness runs as root, so initdb
 * and postgres run as the `postgres` OS user via `setpriv`, which execs in
 * place: the spawned pid is the postmaster's, and signals reach it directly
 * (`runuser`/`su` would sit in between and hold signals back for seconds).
 *
 * Like the shared server: trust authentication, UTF8 with C.UTF-8, superusers
 * `postgres` and `root`, databases `postgres`, `root` and `test`.
 */
import type { Subprocess } from 'bun';
import { closeSync, existsSync, openSync } from 'node:fs';
import { chown, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { PortInUseError, isPortOpen, launchOnFreePort } from './ports.ts';
import {
  armWatchdog,
  descendantPids,
  fileSize,
  hasExited,
  isRunning,
  runCommand,
  signalPid,
  tailOfFile,
  terminate,
  type Watchdog,
} from './process.ts';
import { makeScratchDir, removeDir, scratchRoot } from './tmp.ts';
import { waitUntil } from './wait.ts';

export interface StartPostgresOptions {
  /** `max_connections`; the server default is 100. */
  maxConnections?: number;
  /** Extra server settings, each passed as `-c name=value`; they override the harness's. */
  settings?: Record<string, string | number>;
  /** Deadline for the server to answer a query. Default 30 s. */
  startTimeoutMs?: number;
}

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** Pid of the current postmaster; it changes after `restart()`. */
  readonly pid: number;
  readonly dir: string;
  readonly dataDir: string;
  /** Directory holding the `.s.PGSQL.<port>` unix socket. */
  readonly socketDir: string;
  /** Milliseconds from the call to the first successful query. */
  readonly startupMs: number;
  isRunning(): boolean;
  /** The server's log (stderr). */
  log(): string;
  /** Fast shutdown (SIGINT), wait for the exit (SIGKILL after 20 s), remove the directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL the postmaster and every backend process, keeping the data for `restart()`. */
  kill(): Promise<void>;
  /** Stops the server if running, starts it again on the same port and data, waits until ready. */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const HOST = '127.0.0.1';
const BIN_DIR = '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';
const STOP_GRACE_MS = 20_000;
const MAX_BIND_ATTEMPTS = 5;

/**
 * fsync is off because throwaway data never needs to survive a machine crash;
 * a killed postgres still loses nothing acknowledged, since the WAL write
 * reached the page cache. Dynamic shared memory lives in the data directory so
 * that a SIGKILLed server leaves nothing behind in /dev/shm.
 */
const BASE_SETTINGS: Record<string, string> = {
  listen_addresses: HOST,
  fsync: 'off',
  shared_buffers: '32MB',
  dynamic_shared_memory_type: 'mmap',
  logging_collector: 'off',
};

/** Bump when the template recipe changes, so stale templates are not reused. */
const TEMPLATE_RECIPE = 1;

/** One template build per test process; other processes race safely via rename. */
let templatePromise: Promise<string> | undefined;

/** Starts a private PostgreSQL on a free port and resolves once it answers a query. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const startedAt = performance.now();
  const template = await postgresTemplate();
  const owner = await osUser(OS_USER);
  const dir = makeScratchDir('tqdb-postgres-');
  const settings: Record<string, string> = { ...BASE_SETTINGS, unix_socket_directories: dir };
  if (options.maxConnections !== undefined) settings.max_connections = String(options.maxConnections);
  for (const [name, value] of Object.entries(options.settings ?? {})) settings[name] = String(value);
  const instance = new PostgresInstance(dir, settings, options.startTimeoutMs ?? 30_000);
  try {
    // The postmaster writes its socket and lock file here.
    await chown(dir, owner.uid, owner.gid);
    await runCommand(['cp', '-a', template, instance.dataDir]);
    await launchOnFreePort((port) => instance.launch(port), MAX_BIND_ATTEMPTS);
    instance.startupMs = performance.now() - startedAt;
    return instance;
  } catch (error) {
    await instance.stop();
    throw error;
  }
}

class PostgresInstance implements PostgresServer {
  readonly host = HOST;
  readonly dataDir: string;
  port = 0;
  startupMs = 0;
  private currentProc: Subprocess | undefined;
  private isRemoved = false;
  private readonly logPath: string;
  /** Guards the directory, and the server while one runs; see `armWatchdog`. */
  private watchdog: Watchdog;

  constructor(
    readonly dir: string,
    private readonly settings: Record<string, string>,
    private readonly startTimeoutMs: number,
  ) {
    this.dataDir = join(dir, 'data');
    this.logPath = join(dir, 'postgres.log');
    this.watchdog = armWatchdog(0, { dir });
  }

  /** Re-arms the watchdog for a new postmaster pid (0: none running). */
  private watch(pid: number): void {
    const previous = this.watchdog;
    this.watchdog = armWatchdog(pid, { dir: this.dir, isTree: true });
    previous.disarm();
  }

  get socketDir(): string {
    return this.dir;
  }

  get pid(): number {
    if (this.currentProc === undefined) throw new Error('postgres has not been started');
    return this.currentProc.pid;
  }

  isRunning(): boolean {
    return this.currentProc !== undefined && isRunning(this.currentProc);
  }

  log(): string {
    return tailOfFile(this.logPath, 1_000_000);
  }

  /** Spawns the postmaster on `port` and waits for a query to succeed; rejects with its log on failure. */
  async launch(port: number): Promise<void> {
    this.port = port;
    const args = [join(BIN_DIR, 'postgres'), '-D', this.dataDir, '-p', String(port)];
    for (const [name, value] of Object.entries(this.settings)) args.push('-c', `${name}=${value}`);
    const logStart = fileSize(this.logPath);
    // Appending keeps the log of a killed server across restart().
    const logFd = openSync(this.logPath, 'a');
    let proc: Subprocess;
    try {
      proc = Bun.spawn(asOsUser(args), { stdin: 'ignore', stdout: 'ignore', stderr: logFd });
    } finally {
      closeSync(logFd);
    }
    // A test that forgets stop() must not keep `bun test` alive; the watchdog
    // kills the server once the test process is gone.
    proc.unref();
    this.currentProc = proc;
    this.watch(proc.pid);
    const exitedEarly = proc.exited.then((code): never => {
      const log = tailOfFile(this.logPath, 4000, logStart);
      if (/could not bind IPv4 address[^\n]*Address already in use/.test(log)) {
        throw new PortInUseError(`port ${this.port} was taken before postgres bound it`);
      }
      throw new Error(`postgres exited with code ${code} before accepting connections. Log:\n${log}`);
    });
    exitedEarly.catch(() => {});
    try {
      await waitUntil(() => this.tryReadyQuery(), {
        timeoutMs: this.startTimeoutMs,
        intervalMs: 10,
        description: `postgres on ${HOST}:${this.port} to answer a query`,
        abort: exitedEarly,
      });
    } catch (error) {
      this.killTreeSync();
      await proc.exited;
      this.watch(0);
      if (error instanceof PortInUseError) throw error;
      if (error instanceof Error && error.message.startsWith('timed out')) {
        throw new Error(`${error.message}\nLog:\n${tailOfFile(this.logPath, 4000, logStart)}`);
      }
      throw error;
    }
  }

  private async tryReadyQuery(): Promise<boolean> {
    const sql = new Bun.SQL({
      hostname: HOST,
      port: this.port,
      username: 'root',
      database: 'test',
      max: 1,
      connectionTimeout: 2,
    });
    try {
      await sql`SELECT 1`;
      return true;
    } finally {
      await sql.close();
    }
  }

  /**
   * SIGKILLs the postmaster and its children in one go. Killing only the
   * postmaster would leave backends running against its shared memory, and a
   * restart would then refuse to start.
   */
  private killTreeSync(): void {
    const proc = this.currentProc;
    if (proc === undefined || !isRunning(proc)) return;
    const children = descendantPids(proc.pid);
    proc.kill('SIGKILL');
    for (const child of children) signalPid(child, 'SIGKILL');
  }

  async stop(): Promise<void> {
    // SIGINT is "fast shutdown": SIGTERM ("smart") would wait for clients to leave.
    if (this.currentProc !== undefined) await terminate(this.currentProc, 'SIGINT', STOP_GRACE_MS);
    if (!this.isRemoved) {
      this.isRemoved = true;
      await removeDir(this.dir);
      this.watchdog.disarm();
    }
  }

  async kill(): Promise<void> {
    const proc = this.currentProc;
    if (proc === undefined || !isRunning(proc)) return;
    const children = descendantPids(proc.pid);
    this.killTreeSync();
    await proc.exited;
    // Backends are children of the postmaster, so nobody awaits them here.
    await waitUntil(() => children.every(hasExited), {
      timeoutMs: 10_000,
      description: `postgres backends ${children.join(', ')} to exit`,
    });
    this.watch(0);
  }

  async restart(): Promise<void> {
    if (this.isRemoved) throw new Error('cannot restart a stopped PostgreSQL: its data directory was removed');
    if (this.currentProc !== undefined) {
      await terminate(this.currentProc, 'SIGINT', STOP_GRACE_MS);
      this.watch(0);
    }
    if (await isPortOpen(this.port)) {
      throw new Error(`cannot restart PostgreSQL: port ${this.port} is now used by another process`);
    }
    await this.launch(this.port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function asOsUser(argv: string[]): string[] {
  return ['setpriv', `--reuid=${OS_USER}`, `--regid=${OS_USER}`, '--init-groups', '--', ...argv];
}

async function osUser(name: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([runCommand(['id', '-u', name]), runCommand(['id', '-g', name])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/**
 * Path of an initialised data directory (with the `root` role and the `test`
 * and `root` databases), created on first use under a unique name and renamed
 * into place, so concurrent test processes never see a half-built template.
 */
function postgresTemplate(): Promise<string> {
  templatePromise ??= buildTemplate().catch((error: unknown) => {
    templatePromise = undefined;
    throw error;
  });
  return templatePromise;
}

async function buildTemplate(): Promise<string> {
  const postgresBin = join(BIN_DIR, 'postgres');
  const version = (await runCommand([postgresBin, '--version'])).trim();
  const key = Bun.hash(`${TEMPLATE_RECIPE}\n${version}`).toString(16);
  const path = join(scratchRoot(), `tqdb-postgres-template-${key}`);
  if (existsSync(join(path, 'PG_VERSION'))) return path;
  const owner = await osUser(OS_USER);
  const building = makeScratchDir(`tqdb-postgres-template-${key}.building-`);
  try {
    await chown(building, owner.uid, owner.gid);
    const dataDir = join(building, 'data');
    await runCommand(
      asOsUser([
        join(BIN_DIR, 'initdb'),
        '-D',
        dataDir,
        '--auth=trust',
        '--username=postgres',
        '--encoding=UTF8',
        '--locale=C.UTF-8',
        '--no-sync',
        '--no-instructions',
      ]),
    );
    // Single-user mode runs SQL without starting a server: one statement per line.
    await runCommand(asOsUser([postgresBin, '--single', '-D', dataDir, '-F', 'postgres']), {
      stdin: 'CREATE ROLE root SUPERUSER LOGIN;\nCREATE DATABASE test;\nCREATE DATABASE root;\n',
    });
    try {
      await rename(dataDir, path);
    } catch (error) {
      // Another process renamed its template first; theirs is as good as ours.
      if (!existsSync(join(path, 'PG_VERSION'))) throw error;
    }
    return path;
  } finally {
    await removeDir(building);
  }
}
