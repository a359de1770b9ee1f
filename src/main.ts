/**
 * The tqdbproxy command: parse argv, load the config, start the metrics
 * server and the proxy, and handle signals (SIGTERM/SIGINT drain and exit,
 * SIGHUP reload).
 *
 * Exit status: 0 after a clean stop, --help, --version or a valid
 * --check-config; 1 when the proxy fails at run time; 2 for an invalid config
 * or command line.
 */
import { existsSync } from 'node:fs';
import { ConfigError, isConfigError } from './config/errors.ts';
import { loadConfig, type LoadOptions } from './config/load.ts';
import { assertSupported } from './config/support.ts';
import { reloadConfig } from './config/reload.ts';
import { renderConfigIni } from './config/render.ts';
import type { Config } from './config/types.ts';
import { createLogger, type RootLogger } from './log.ts';
import { startMetricsServer, type MetricsServer } from './metrics/http.ts';
import { Metrics } from './metrics/registry.ts';
import type { RunningProxy } from './proxy.ts';
import { VERSION, versionLine } from './version.ts';
import { StartupError } from './net/listen-failure.ts';
import { raiseOpenFileLimit } from './net/fd-limit.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Used when --config is not given and this file exists in the working directory. */
export const DEFAULT_CONFIG_FILE = 'config.ini';

/** Extra time past shutdown_timeout_ms before a stuck shutdown is abandoned. */
const SHUTDOWN_GRACE_MS = 5_000;

export const USAGE = `Usage: tqdbproxy [options]

A MariaDB/MySQL and PostgreSQL proxy with write batching and a query cache.

Options:
  --config FILE        INI config file (default: ./config.ini if it exists,
                       else the built-in defaults)
  --metrics ADDR       metrics HTTP address, overrides [proxy] metrics_listen
                       (host:port, :port, [::1]:port or unix:/path)
  --check-config       validate the config, print the effective config as INI
                       and exit: 0 if valid, 2 with one line per problem if not
  --log-format FORMAT  text or json, overrides [proxy] log_format
  --log-level LEVEL    debug, info, warn or error, overrides [proxy] log_level
  -h, --help           print this help and exit
  --version            print the version and exit

Environment:
  TQDBPROXY_<SECTION>_<KEY> overrides any config key, the section's dots
  written as underscores: TQDBPROXY_MARIADB_LISTEN=:3307,
  TQDBPROXY_MARIADB_MAIN_PRIMARY=10.0.0.5:3306, TQDBPROXY_PROXY_LOG_LEVEL=debug.

Signals:
  SIGTERM, SIGINT  stop accepting, let in-flight work finish (up to
                   shutdown_timeout_ms), exit 0; a second signal exits at once
  SIGHUP           reload the config file; if it is invalid, log the problems
                   and keep running with the old config

Exit status: 0 success, 1 run-time failure, 2 invalid config or usage.
`;

export interface CliOptions {
  readonly configFile: string | null;
  readonly metricsListen?: string;
  readonly logFormat?: string;
  readonly logLevel?: string;
  readonly isCheckConfig: boolean;
  readonly isHelp: boolean;
  readonly isVersion: boolean;
}

export type CliParseResult = { readonly ok: true; readonly options: CliOptions } | { readonly ok: false; readonly message: string };

const VALUE_FLAGS = {
  '--config': 'configFile',
  '--metrics': 'metricsListen',
  '--log-format': 'logFormat',
  '--log-level': 'logLevel',
} as const;
const SWITCHES = {
  '--check-config': 'isCheckConfig',
  '--help': 'isHelp',
  '-h': 'isHelp',
  '--version': 'isVersion',
} as const;

/** Parses the arguments after the program name. Accepts `--flag value` and `--flag=value`. */
export function parseCliArgs(argv: readonly string[]): CliParseResult {
  const values: Partial<Record<(typeof VALUE_FLAGS)[keyof typeof VALUE_FLAGS], string>> = {};
  const switches: Partial<Record<(typeof SWITCHES)[keyof typeof SWITCHES], boolean>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (Object.hasOwn(SWITCHES, name)) {
      if (eq >= 0) return { ok: false, message: `option ${name} takes no value` };
      switches[SWITCHES[name as keyof typeof SWITCHES]] = true;
      continue;
    }
    if (Object.hasOwn(VALUE_FLAGS, name)) {
      const field = VALUE_FLAGS[name as keyof typeof VALUE_FLAGS];
      let value: string | undefined;
      if (eq >= 0) {
        value = arg.slice(eq + 1);
      } else {
        value = argv[i + 1];
        if (value !== undefined && value.startsWith('--')) value = undefined;
        else i++;
      }
      if (value === undefined || value === '') return { ok: false, message: `option ${name} needs a value` };
      if (values[field] !== undefined) return { ok: false, message: `option ${name} given more than once` };
      values[field] = value;
      continue;
    }
    if (arg.startsWith('-')) return { ok: false, message: `unknown option ${name}` };
    return { ok: false, message: `unexpected argument ${JSON.stringify(arg)}` };
  }
  return {
    ok: true,
    options: {
      configFile: values.configFile ?? null,
      metricsListen: values.metricsListen,
      logFormat: values.logFormat,
      logLevel: values.logLevel,
      isCheckConfig: switches.isCheckConfig ?? false,
      isHelp: switches.isHelp ?? false,
      isVersion: switches.isVersion ?? false,
    },
  };
}

/** The loader options for a command line: also used again, unchanged, for every SIGHUP reload. */
export function loadOptionsFor(options: CliOptions, env: Record<string, string | undefined>, cwdHasConfig: boolean): LoadOptions {
  return {
    file: options.configFile ?? (cwdHasConfig ? DEFAULT_CONFIG_FILE : null),
    env,
    metricsListen: options.metricsListen,
    logLevel: options.logLevel,
    logFormat: options.logFormat,
  };
}

/**
 * Runs the command. Returns the exit status for the commands that end by
 * themselves (--help, --version, --check-config, a bad command line or
 * config, a failed start); a started proxy runs until a signal ends the
 * process.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCliArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`tqdbproxy: ${parsed.message}\nTry 'tqdbproxy --help' for the options.\n`);
    return EXIT_USAGE;
  }
  const cli = parsed.options;
  if (cli.isHelp) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (cli.isVersion) {
    process.stdout.write(`${versionLine()}\n`);
    return EXIT_OK;
  }

  const loadOptions = loadOptionsFor(cli, process.env, existsSync(DEFAULT_CONFIG_FILE));
  let config: Config;
  try {
    config = assertSupported(loadConfig(loadOptions));
  } catch (error) {
    if (!isConfigError(error)) throw error;
    process.stderr.write(`${error.toString()}\n`);
    return EXIT_USAGE;
  }
  if (cli.isCheckConfig) {
    process.stdout.write(renderConfigIni(config));
    return EXIT_OK;
  }

  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  const lifecycle = new Lifecycle(config, loadOptions, log);
  return lifecycle.start();
}

type Phase = 'starting' | 'running' | 'stopping';

/** Owns the running proxy, the metrics server and the process signal handlers. */
class Lifecycle {
  private phase: Phase = 'starting';
  private config: Config;
  private readonly loadOptions: LoadOptions;
  private readonly log: RootLogger;
  private metrics: Metrics | null = null;
  private metricsServer: MetricsServer | null = null;
  private proxy: RunningProxy | null = null;
  /** Set when a stop signal arrives while the proxy is still starting. */
  private pendingStop: { reason: string; exitCode: number } | null = null;

  constructor(config: Config, loadOptions: LoadOptions, log: RootLogger) {
    this.config = config;
    this.loadOptions = loadOptions;
    this.log = log;
  }

  async start(): Promise<number> {
    this.installHandlers();
    const config = this.config;
    const log = this.log;
    log.info('starting', {
      version: VERSION,
      config: config.sourceFile ?? 'built-in defaults',
      pid: process.pid,
    });
    const fds = raiseOpenFileLimit();
    if (fds !== null) log.info('open-file limit', { soft: fds.after.soft, hard: fds.after.hard, raised_from: fds.before.soft });
    try {
      this.metrics = new Metrics({ maxCallSites: config.metricsMaxCallSites });
      this.metricsServer = startMetricsServer(config.metricsListen, this.metrics, log);
      // Loaded here, not at the top, so --help, --version and --check-config
      // never load the protocol code.
      const { startProxy } = await import('./proxy.ts');
      this.proxy = await startProxy(config, log, this.metrics);
    } catch (error) {
      // A bind failure is the operator's to fix and says all in one line; anything else is a bug.
      if (error instanceof StartupError) log.error('start failed', { error: error.message });
      else log.error('start failed', { error: describeError(error), stack: stackOf(error) });
      await this.metricsServer?.stop();
      return EXIT_FAILURE;
    }
    this.phase = 'running';
    log.info('started', { version: VERSION });
    if (this.pendingStop !== null) void this.stop(this.pendingStop.reason, this.pendingStop.exitCode);
    // Runs until a signal: stop() ends the process.
    return new Promise<number>(() => {});
  }

  private installHandlers(): void {
    process.on('SIGTERM', () => this.onStopSignal('SIGTERM'));
    process.on('SIGINT', () => this.onStopSignal('SIGINT'));
    process.on('SIGHUP', () => this.onReloadSignal());
    process.on('uncaughtException', (error) => {
      this.log.error('uncaught exception', { error: describeError(error), stack: stackOf(error) });
      // State may be inconsistent after an exception nobody caught: drain and
      // exit non-zero so a supervisor restarts us, rather than limp on.
      void this.stop('uncaught exception', EXIT_FAILURE);
    });
    process.on('unhandledRejection', (reason) => {
      // A rejected promise nobody awaited is a bug, but it leaves no state
      // half-changed the way a throw can: log it loudly and keep serving.
      this.log.error('unhandled promise rejection', { error: describeError(reason), stack: stackOf(reason) });
    });
  }

  private onStopSignal(signal: string): void {
    if (this.phase === 'stopping') {
      this.log.warn('second stop signal, exiting without waiting', { signal });
      process.exit(EXIT_FAILURE);
    }
    if (this.phase === 'starting') {
      if (this.pendingStop !== null) process.exit(EXIT_FAILURE);
      this.pendingStop = { reason: signal, exitCode: EXIT_OK };
      return;
    }
    void this.stop(signal, EXIT_OK);
  }

  private async stop(reason: string, exitCode: number): Promise<void> {
    if (this.phase === 'stopping') return;
    if (this.phase === 'starting') {
      this.pendingStop ??= { reason, exitCode };
      return;
    }
    this.phase = 'stopping';
    const timeoutMs = this.config.shutdownTimeoutMs;
    this.log.info('stopping', { reason, timeout_ms: timeoutMs });
    const watchdog = setTimeout(() => {
      this.log.error('shutdown did not finish in time, exiting', { timeout_ms: timeoutMs + SHUTDOWN_GRACE_MS });
      process.exit(EXIT_FAILURE);
    }, timeoutMs + SHUTDOWN_GRACE_MS);
    watchdog.unref();

    let code = exitCode;
    try {
      await this.proxy?.stop(timeoutMs);
    } catch (error) {
      this.log.error('proxy stop failed', { error: describeError(error), stack: stackOf(error) });
      code = EXIT_FAILURE;
    }
    try {
      await this.metricsServer?.stop();
    } catch (error) {
      this.log.error('metrics server stop failed', { error: describeError(error) });
      code = EXIT_FAILURE;
    }
    this.log.info('stopped', { exit_code: code });
    process.exit(code);
  }

  private onReloadSignal(): void {
    if (this.phase !== 'running') {
      this.log.warn('SIGHUP ignored: the proxy is not running', { phase: this.phase });
      return;
    }
    const log = this.log;
    const running = this.config;
    let result: ReturnType<typeof reloadConfig>;
    try {
      result = reloadConfig(running, this.loadOptions);
      assertSupported(result.config);
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        log.error('config reload failed, keeping the running config', { error: describeError(error), stack: stackOf(error) });
        return;
      }
      log.error('config reload rejected, keeping the running config', {
        file: this.loadOptions.file ?? 'built-in defaults',
        problems: error.problems.length,
      });
      for (const problem of error.problems) log.error('config problem', { problem: problem.toString() });
      return;
    }

    const next = result.config;
    this.config = next;
    log.setLevel(next.logLevel);
    log.setFormat(next.logFormat);
    this.metrics?.setMaxCallSites(next.metricsMaxCallSites);
    try {
      this.proxy?.reload(next);
    } catch (error) {
      log.error('proxy reload failed', { error: describeError(error), stack: stackOf(error) });
      return;
    }
    for (const change of result.pendingRestart) {
      log.warn('config change needs a restart, keeping the running value', {
        section: change.section,
        key: change.key,
        running: change.running,
        requested: change.requested,
      });
    }
    log.info('config reloaded', {
      file: next.sourceFile ?? 'built-in defaults',
      changed: result.changed.length === 0 ? 'none' : result.changed.join(', '),
    });
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.name === 'Error' ? error.message : `${error.name}: ${error.message}`;
  return String(error);
}

function stackOf(error: unknown): string | undefined {
  return error instanceof Error ? error.stack : undefined;
}

if (import.meta.main) {
  main(Bun.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`tqdbproxy: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}
