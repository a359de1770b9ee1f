/**
 * The proxy under test for a bench: either one started here, or an
 * already-running one named with `--proxy HOST:PORT`. A started proxy is the
 * built `dist/tqdbproxy` when present, else `bun src/main.ts`; `TQDB_BIN` wins
 * over both, and an empty `TQDB_BIN=` forces the source.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startProxy, type ProxyProcess } from '../../test/support/proxy.ts';
import type { BenchArgs } from './args.ts';
import { pidListeningOn } from './proc.ts';

export interface BenchProxy {
  host: string;
  port: number;
  /** For CPU accounting; undefined when an external proxy's pid cannot be found. */
  pid: number | undefined;
  /** What runs, for the results document: the command or "external HOST:PORT". */
  description: string;
  /** The started proxy's stderr so far ('' for an external one). */
  stderr(): string;
  /**
   * Sum of a metric's series whose labels include `labels`, read from the
   * started proxy's /metrics; undefined for an external proxy (its metrics
   * port is not known).
   */
  metricValue: ((name: string, labels?: Record<string, string>) => Promise<number>) | undefined;
  /** Stops a proxy started here; leaves an external one alone. */
  stop(): Promise<void>;
}

export interface StartBenchProxyOptions {
  /** INI merged over the harness config (see `startProxy`). */
  ini?: string;
  env?: Record<string, string>;
}

export async function startBenchProxy(args: BenchArgs, options: StartBenchProxyOptions = {}): Promise<BenchProxy> {
  if (args.proxy !== undefined) {
    const { host, port } = args.proxy;
    return {
      host,
      port,
      pid: pidListeningOn(port),
      description: `external ${host}:${port}`,
      stderr: () => '',
      metricValue: undefined,
      stop: async () => {},
    };
  }
  const built = join(REPO_ROOT, 'dist', 'tqdbproxy');
  // An empty TQDB_BIN asks for the source even when a binary exists.
  const fromEnv = process.env.TQDB_BIN;
  const bin = fromEnv !== undefined ? (fromEnv === '' ? undefined : fromEnv) : existsSync(built) ? built : undefined;
  if (bin === built) warnIfStale(built);
  const proxy: ProxyProcess = await startProxy({
    ...(bin === undefined ? {} : { bin }),
    backendPort: args.direct.port,
    protocols: [args.protocol],
    ...(args.protocol === 'postgres' ? { postgresBackendPort: args.direct.port } : {}),
    ...(options.ini === undefined ? {} : { ini: options.ini }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const listener = proxy.listeners[args.protocol];
  if (listener === undefined) throw new Error(`the proxy announced no ${args.protocol} listener`);
  return {
    host: listener.host,
    port: listener.port,
    pid: proxy.proc.pid,
    description: bin === undefined ? 'bun src/main.ts' : bin,
    stderr: () => proxy.stderr(),
    metricValue: (name, labels) => proxy.metricValue(name, labels),
    stop: () => proxy.stop(),
  };
}

/**
 * A binary older than the source measures yesterday's proxy. Say so rather
 * than silently rebuilding: the build belongs to `bun run build`.
 */
function warnIfStale(binary: string): void {
  const builtAt = statSync(binary).mtimeMs;
  const newer = newestFile(join(REPO_ROOT, 'src'));
  if (newer !== undefined && newer.mtimeMs > builtAt) {
    console.warn(
      `warning: ${binary} is older than ${newer.path}: run \`bun run build\`, ` +
        'or set an empty TQDB_BIN= to run `bun src/main.ts`, to measure the current source',
    );
  }
}

function newestFile(dir: string): { path: string; mtimeMs: number } | undefined {
  let newest: { path: string; mtimeMs: number } | undefined;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const mtimeMs = statSync(path).mtimeMs;
    if (newest === undefined || mtimeMs > newest.mtimeMs) newest = { path, mtimeMs };
  }
  return newest;
}
