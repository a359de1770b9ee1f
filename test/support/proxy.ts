/**
 * Starts tqdbproxy as a child process for a test, the way users run it: a
 * config file, real listeners on port 0, logs on stderr.
 *
 *     await using proxy = await startProxy({ ini: '[mariadb]\nwritebatch_enabled = true' });
 *     const conn = await mysqlConnect(proxy.port);
 *
 * It runs the compiled binary when `TQDB_BIN` is set (a path relative to the
 * repository root, e.g. `TQDB_BIN=dist/tqdbproxy`), else `bun src/main.ts`.
 */
import type { Subprocess } from 'bun';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ini from 'ini';
import { armWatchdog, terminate, type Signal } from './process.ts';
import { parseExposition, sumSamples } from './prometheus.ts';
import { makeScratchDir, removeDir } from './tmp.ts';

export type ProxyProtocol = 'mariadb' | 'postgres';

export interface StartProxyOptions {
  /**
   * INI text merged over the harness's config, section by section and key by
   * key, so it can override any default below or add sections.
   */
  ini?: string;
  /** Extra environment variables (e.g. `TQDBPROXY_MARIADB_LISTEN`). */
  env?: Record<string, string>;
  /** Extra command-line arguments, after `--config <file>`. */
  args?: string[];
  /** Port of the MariaDB primary for `[mariadb.main]`; default the shared 3306. */
  backendPort?: number;
  /**
   * Front ends to configure and wait for. Default `['mariadb']`. With
   * `postgres`, `[postgres] listen = 127.0.0.1:0` and `[postgres.main]
   * primary = 127.0.0.1:<postgresBackendPort or 5432>` are added.
   */
  protocols?: ProxyProtocol[];
  /** Port of the PostgreSQL primary for `[postgres.main]`; default the shared 5432. */
  postgresBackendPort?: number;
  /** Executable to run instead of `TQDB_BIN` / `bun src/main.ts` (absolute, or relative to the repo root). */
  bin?: string;
  /** Argv put before the proxy's, e.g. `['sh', '-c', 'ulimit -n 128 && exec "$0" "$@"']` to run it under a limit. */
  wrapper?: string[];
  /** Deadline for the listening log lines. Default 15 s. */
  startTimeoutMs?: number;
  /** Copy the proxy's stderr to ours as it arrives (also with `TQDB_TEST_VERBOSE=1`). */
  isVerbose?: boolean;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ProxyProcess {
  readonly host: string;
  /** The MariaDB listener's port (the first configured protocol's, if mariadb is not among them). */
  readonly port: number;
  readonly metricsPort: number;
  /** Every TCP listener announced in the log, by protocol. */
  readonly listeners: Readonly<Partial<Record<ProxyProtocol, ListenAddress>>>;
  readonly proc: Subprocess<'ignore', 'pipe', 'pipe'>;
  readonly configPath: string;
  /** Everything the proxy has written to stderr so far. */
  stderr(): string;
  /** Everything the proxy has written to stdout so far. */
  stdout(): string;
  /** Resolves with the first match of `pattern` in stderr (already written or still to come). */
  waitForStderr(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** The body of GET /metrics. */
  metrics(): Promise<string>;
  /**
   * Sum of the series `name` whose labels include `labels`; 0 for a family
   * with no matching series yet; throws when the name is not exposed at all.
   */
  metricValue(name: string, labels?: Record<string, string>): Promise<number>;
  signal(signal: Signal): void;
  /** Resolves with the exit code (128 + n when killed by signal n). */
  waitExit(): Promise<number>;
  /** SIGTERM, wait for the exit (SIGKILL after 30 s), remove the config directory. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export const REPO_ROOT = resolve(import.meta.dir, '..', '..');
const HOST = '127.0.0.1';
const STOP_GRACE_MS = 30_000;

/** A failed start: the message carries the proxy's stderr. */
export class ProxyStartError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`${message}\n--- proxy stderr ---\n${stderr}`);
    this.name = 'ProxyStartError';
  }
}

/** The argv that runs the proxy: the compiled binary if chosen, else Bun on the source. */
export function proxyCommand(bin?: string): string[] {
  const chosen = bin ?? process.env.TQDB_BIN;
  if (chosen !== undefined && chosen !== '') return [resolve(REPO_ROOT, chosen)];
  return [process.execPath, join(REPO_ROOT, 'src', 'main.ts')];
}

/** The config object the harness writes: its defaults with `options.ini` merged over them. */
export function proxyConfig(options: StartProxyOptions = {}): Record<string, unknown> {
  const protocols = options.protocols ?? ['mariadb'];
  const base: Record<string, unknown> = { proxy: { metrics_listen: `${HOST}:0` } };
  if (protocols.includes('mariadb')) {
    base.mariadb = { listen: `${HOST}:0`, main: { primary: `${HOST}:${options.backendPort ?? 3306}` } };
  } else {
    // The MariaDB listener always runs; its default port would collide between parallel proxies.
    base.mariadb = { listen: `${HOST}:0` };
  }
  if (protocols.includes('postgres')) {
    base.postgres = { listen: `${HOST}:0`, main: { primary: `${HOST}:${options.postgresBackendPort ?? 5432}` } };
  }
  return options.ini === undefined ? base : deepMerge(base, ini.parse(options.ini));
}

/**
 * Starts the proxy with a temporary config file and resolves once every
 * configured listener and the metrics server have logged their addresses.
 * Rejects with a `ProxyStartError` carrying stderr if the process exits first
 * or the deadline passes (the process is then killed).
 */
export async function startProxy(options: StartProxyOptions = {}): Promise<ProxyProcess> {
  const protocols = options.protocols ?? ['mariadb'];
  const dir = makeScratchDir('tqdb-proxy-');
  const configPath = join(dir, 'proxy.ini');
  writeFileSync(configPath, ini.stringify(proxyConfig(options)));

  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    // Overrides in the outer environment would silently change every test's config.
    if (value !== undefined && !key.startsWith('TQDBPROXY_')) env[key] = value;
  }
  Object.assign(env, options.env);

  const argv = [...(options.wrapper ?? []), ...proxyCommand(options.bin), '--config', configPath, ...(options.args ?? [])];
  let proc: Subprocess<'ignore', 'pipe', 'pipe'>;
  try {
    proc = Bun.spawn(argv, { cwd: REPO_ROOT, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  } catch (error) {
    await removeDir(dir);
    throw new Error(`cannot start the proxy (${argv.join(' ')}): ${error instanceof Error ? error.message : String(error)}`);
  }
  // A test that forgets stop() must not leave a proxy behind: the watchdog
  // kills it once the test process is gone.
  const watchdog = armWatchdog(proc.pid, { dir });

  const isVerbose = options.isVerbose ?? process.env.TQDB_TEST_VERBOSE === '1';
  const stderr = new TextCollector(proc.stderr, isVerbose ? (text) => process.stderr.write(text) : undefined);
  const stdout = new TextCollector(proc.stdout, undefined);

  const timeoutMs = options.startTimeoutMs ?? 15_000;
  const wanted = protocols.map((protocol) => `${protocol} listener`).concat('metrics listener');
  let ready: { listeners: Partial<Record<ProxyProtocol, ListenAddress>>; metrics: ListenAddress };
  try {
    ready = await stderr.waitFor(
      (text) => {
        const found = findListeners(text);
        if (found.metrics === undefined) return undefined;
        for (const protocol of protocols) if (found.listeners[protocol] === undefined) return undefined;
        return { listeners: found.listeners, metrics: found.metrics };
      },
      timeoutMs,
      proc.exited,
    );
  } catch (error) {
    const exitCode = proc.exitCode;
    if (exitCode === null) await terminate(proc, 'SIGKILL', 0);
    await stderr.done;
    await removeDir(dir);
    watchdog.disarm();
    const why =
      error instanceof ExitedError
        ? `the proxy exited with code ${error.code} before listening`
        : `the proxy did not log ${wanted.join(' and ')} within ${timeoutMs} ms`;
    throw new ProxyStartError(`${why} (${argv.join(' ')})`, stderr.text, exitCode);
  }

  const primary = ready.listeners.mariadb ?? ready.listeners[protocols[0]];
  if (primary === undefined) throw new Error('unreachable: no listener for the first protocol');
  let isStopped = false;
  const metricsUrl = `http://${formatHost(ready.metrics.host)}:${ready.metrics.port}/metrics`;

  const handle: ProxyProcess = {
    host: primary.host,
    port: primary.port,
    metricsPort: ready.metrics.port,
    listeners: ready.listeners,
    proc,
    configPath,
    stderr: () => stderr.text,
    stdout: () => stdout.text,
    waitForStderr: async (pattern, waitMs = 10_000) => {
      const regex = typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : pattern;
      try {
        return await stderr.waitFor((text) => regex.exec(text)?.[0], waitMs, proc.exited);
      } catch (error) {
        const why = error instanceof ExitedError ? `the proxy exited with code ${error.code}` : `${waitMs} ms passed`;
        throw new Error(`${regex} did not appear in the proxy's stderr (${why})\n--- proxy stderr ---\n${stderr.text}`);
      }
    },
    metrics: async () => {
      const response = await fetch(metricsUrl);
      if (!response.ok) throw new Error(`GET ${metricsUrl} answered ${response.status}`);
      return response.text();
    },
    metricValue: async (name, labels) => sumSamples(parseExposition(await handle.metrics()), name, labels),
    signal: (signal) => {
      proc.kill(signal);
    },
    waitExit: () => proc.exited,
    stop: async () => {
      if (isStopped) return;
      isStopped = true;
      await terminate(proc, 'SIGTERM', STOP_GRACE_MS);
      await stderr.done;
      await removeDir(dir);
      watchdog.disarm();
    },
    [Symbol.asyncDispose]: () => handle.stop(),
  };
  return handle;
}

class ExitedError extends Error {
  constructor(readonly code: number) {
    super(`exited with code ${code}`);
  }
}

/**
 * Drains a child's output stream into a string (a child whose pipe is not
 * drained blocks on write) and lets callers wait for text to appear.
 */
class TextCollector {
  text = '';
  readonly done: Promise<void>;
  private readonly waiters = new Set<() => void>();

  constructor(stream: ReadableStream<Uint8Array>, echo: ((text: string) => void) | undefined) {
    this.done = this.pump(stream, echo);
  }

  private async pump(stream: ReadableStream<Uint8Array>, echo: ((text: string) => void) | undefined): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        const text = decoder.decode(chunk, { stream: true });
        this.text += text;
        echo?.(text);
        for (const wake of this.waiters) wake();
      }
    } catch {
      // The pipe broke because the process died; the text so far stays.
    }
    this.text += decoder.decode();
    for (const wake of this.waiters) wake();
  }

  /**
   * Resolves with `find(text)` once it is defined, re-checking on every new
   * chunk. Rejects on timeout, or with `ExitedError` when `exited` resolves
   * and the output is complete without a match.
   */
  waitFor<T>(find: (text: string) => T | undefined, timeoutMs: number, exited: Promise<number> | undefined): Promise<T> {
    return new Promise<T>((resolvePromise, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = (): void => {
        const found = find(this.text);
        if (found !== undefined) {
          finish();
          resolvePromise(found);
        }
      };
      this.waiters.add(check);
      timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      exited?.then(async (code) => {
        await this.done;
        check();
        if (this.waiters.has(check)) {
          finish();
          reject(new ExitedError(code));
        }
      });
      check();
    });
  }
}

/**
 * Listener addresses announced in the log so far. Text format:
 *   `... INFO listening protocol=mariadb address=127.0.0.1:41234`
 *   `... INFO metrics listening address=127.0.0.1:9090`
 * JSON format (`--log-format json`): an object with `msg` "listening" or
 * "metrics listening" and `protocol`/`address` fields. Unix-socket
 * listeners are skipped: tests need the TCP port.
 */
export function findListeners(text: string): {
  listeners: Partial<Record<ProxyProtocol, ListenAddress>>;
  metrics: ListenAddress | undefined;
} {
  const listeners: Partial<Record<ProxyProtocol, ListenAddress>> = {};
  let metrics: ListenAddress | undefined;
  for (const line of text.split('\n')) {
    const event = parseListeningLine(line);
    if (event === undefined) continue;
    const address = parseHostPort(event.address);
    if (address === undefined) continue;
    if (event.kind === 'metrics') {
      metrics ??= address;
    } else if (event.protocol === 'mariadb' || event.protocol === 'postgres') {
      listeners[event.protocol] ??= address;
    }
  }
  return { listeners, metrics };
}

type ListeningEvent = { kind: 'metrics'; address: string } | { kind: 'listener'; protocol: string; address: string };

function parseListeningLine(line: string): ListeningEvent | undefined {
  const trimmed = line.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return undefined;
    }
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const record = parsed as Record<string, unknown>;
    const msg = record.msg ?? record.message;
    const address = record.address;
    if (typeof address !== 'string') return undefined;
    if (msg === 'metrics listening') return { kind: 'metrics', address };
    if (msg === 'listening' && typeof record.protocol === 'string') {
      return { kind: 'listener', protocol: record.protocol, address };
    }
    return undefined;
  }
  const metricsMatch = /(?:^|\s)metrics listening\b.*?\baddress=(\S+)/.exec(trimmed);
  if (metricsMatch !== null) return { kind: 'metrics', address: metricsMatch[1] };
  const match = /(?:^|\s)listening\b.*?\bprotocol=(\S+).*?\baddress=(\S+)/.exec(trimmed);
  if (match !== null) return { kind: 'listener', protocol: match[1], address: match[2] };
  return undefined;
}

/** `host:port` or `[v6]:port`; undefined for `unix:` paths and anything else. */
function parseHostPort(text: string): ListenAddress | undefined {
  const unquoted = text.replace(/^"|"$/g, '');
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(unquoted);
  if (match === null) return undefined;
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (host === undefined || host === 'unix' || port === 0 || port > 65535) return undefined;
  // A wildcard listener is reached through loopback.
  return { host: host === '0.0.0.0' || host === '::' ? HOST : host, port };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Merges `override` into a copy of `base`: sections recursively, scalar keys replaced. */
function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const existing = result[key];
    result[key] = isPlainObject(existing) && isPlainObject(value) ? deepMerge(existing, value) : value;
  }
  return result;
}
