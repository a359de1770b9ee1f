/**
 * Command-line options shared by every bench (STYLE.md §10):
 *   --duration SECONDS     measured time per mode per cell (split over --rounds)
 *   --connections 1,16,64  client connection counts
 *   --protocol mariadb     front end to measure
 *   --proxy HOST:PORT      measure an already-running proxy instead of starting one
 *   --direct HOST:PORT     the database (default 127.0.0.1:3306, or :5432 for postgres)
 *   --warmup SECONDS       unmeasured run of each mode before measuring
 *   --rounds N             A/B alternations per cell
 *   --json                 print the results document on stdout (progress goes to stderr)
 * A bench may add its own flags through `extra` (value-taking) and
 * `extraBooleans` (flags without a value, reported as 'true' in `extra`).
 */

export type BenchProtocol = 'mariadb' | 'postgres';

export interface HostPort {
  host: string;
  port: number;
}

export interface BenchArgs {
  durationSeconds: number;
  connections: number[];
  protocol: BenchProtocol;
  proxy: HostPort | undefined;
  direct: HostPort;
  /** False when `direct` is the protocol's default address (a bench may then start its own server). */
  isDirectGiven: boolean;
  warmupSeconds: number;
  rounds: number;
  isJson: boolean;
  /** Values of the bench's own flags, by name without dashes. */
  extra: Record<string, string>;
}

export interface BenchArgDefaults {
  durationSeconds?: number;
  connections?: number[];
  warmupSeconds?: number;
  rounds?: number;
}

export class BenchArgError extends Error {}

/** Flags that take no value. */
const BOOLEAN_FLAGS = new Set(['json', 'help']);

/**
 * Parses `argv` (without the runtime and script). `extraFlags` names the
 * bench's own value-taking flags with their help text. Throws `BenchArgError`
 * on anything unknown or malformed; `--help` throws one carrying the usage.
 */
export function parseBenchArgs(
  argv: string[],
  defaults: BenchArgDefaults = {},
  extraFlags: Record<string, string> = {},
  extraBooleans: Record<string, string> = {},
): BenchArgs {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new BenchArgError(`unexpected argument ${JSON.stringify(arg)}\n${usage(extraFlags, extraBooleans)}`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (BOOLEAN_FLAGS.has(name) || name in extraBooleans) {
      if (eq !== -1) throw new BenchArgError(`--${name} takes no value`);
      values.set(name, 'true');
      continue;
    }
    if (!KNOWN_FLAGS.has(name) && !(name in extraFlags)) {
      throw new BenchArgError(`unknown option --${name}\n${usage(extraFlags, extraBooleans)}`);
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new BenchArgError(`--${name} needs a value`);
    values.set(name, value);
  }
  if (values.has('help')) throw new BenchArgError(usage(extraFlags, extraBooleans));

  const protocol = values.get('protocol') ?? 'mariadb';
  if (protocol !== 'mariadb' && protocol !== 'postgres') {
    throw new BenchArgError(`--protocol must be mariadb or postgres, got ${JSON.stringify(protocol)}`);
  }
  const extra: Record<string, string> = {};
  for (const name of [...Object.keys(extraFlags), ...Object.keys(extraBooleans)]) {
    const value = values.get(name);
    if (value !== undefined) extra[name] = value;
  }
  const proxyText = values.get('proxy');
  const directText = values.get('direct');
  return {
    durationSeconds: positiveNumber('duration', values.get('duration'), defaults.durationSeconds ?? 10),
    connections: connectionList(values.get('connections'), defaults.connections ?? [1, 16, 64]),
    protocol,
    proxy: proxyText === undefined ? undefined : hostPort('proxy', proxyText),
    direct: directText === undefined ? { host: '127.0.0.1', port: protocol === 'mariadb' ? 3306 : 5432 } : hostPort('direct', directText),
    isDirectGiven: directText !== undefined,
    warmupSeconds: nonNegativeNumber('warmup', values.get('warmup'), defaults.warmupSeconds ?? 2),
    rounds: positiveInteger('rounds', values.get('rounds'), defaults.rounds ?? 2),
    isJson: values.has('json'),
    extra,
  };
}

const KNOWN_FLAGS = new Set(['duration', 'connections', 'protocol', 'proxy', 'direct', 'warmup', 'rounds']);

export function usage(extraFlags: Record<string, string> = {}, extraBooleans: Record<string, string> = {}): string {
  const lines = [
    'options:',
    '  --duration SECONDS      measured seconds per mode per cell, split over --rounds (default 10)',
    '  --connections 1,16,64   client connection counts',
    '  --protocol mariadb      front end to measure (mariadb | postgres)',
    '  --proxy HOST:PORT       use an already-running proxy instead of starting one',
    '  --direct HOST:PORT      the database (default 127.0.0.1:3306)',
    '  --warmup SECONDS        unmeasured run of each mode first (default 2)',
    '  --rounds N              direct/proxy alternations per cell (default 2)',
    '  --json                  print the results document on stdout',
  ];
  for (const [name, help] of Object.entries(extraFlags)) lines.push(`  --${name.padEnd(22)}${help}`);
  for (const [name, help] of Object.entries(extraBooleans)) lines.push(`  --${name.padEnd(22)}${help}`);
  return lines.join('\n');
}

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new BenchArgError(`--${name} must be a positive number, got ${JSON.stringify(text)}`);
  return value;
}

function nonNegativeNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new BenchArgError(`--${name} must be a number ≥ 0, got ${JSON.stringify(text)}`);
  return value;
}

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new BenchArgError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

function connectionList(text: string | undefined, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  const list = text.split(',').map((part) => Number(part.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new BenchArgError(`--connections must be a comma list of positive integers, got ${JSON.stringify(text)}`);
  }
  return list;
}

/** Parses `host:port`; benches only ever target loopback, so other hosts are refused. */
export function hostPort(name: string, text: string): HostPort {
  const match = /^([^:]*):(\d{1,5})$/.exec(text);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || port < 1 || port > 65535) throw new BenchArgError(`--${name} must be HOST:PORT, got ${JSON.stringify(text)}`);
  const host = match[1] === '' || match[1] === 'localhost' ? '127.0.0.1' : match[1];
  if (host !== '127.0.0.1') throw new BenchArgError(`--${name}: benches run against 127.0.0.1 only, got ${JSON.stringify(host)}`);
  return { host, port };
}
