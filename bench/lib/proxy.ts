/**
 * The proxy under test for a bench: either one started here (the built
 * `dist/tqdbproxy` when present, else `bun src/main.ts`; `TQDB_BIN` wins over
 * both), or an already-running one named with `--proxy HOST:PORT`.
 */
import { existsSync } from 'node:fs';
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
  const bin = process.env.TQDB_BIN ?? (existsSync(built) ? built : undefined);
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
