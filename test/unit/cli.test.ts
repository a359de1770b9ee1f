/**
 * The tqdbproxy command line, run as users run it: `bun src/main.ts ...` in a
 * child process. None of these need a database: --check-config, --help and
 * --version never load the protocol code, and the lifecycle test only listens.
 */
import { afterAll, describe, expect, it } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ADDRESS_EXPECTED } from '../../src/config/address.ts';
import { loadConfig } from '../../src/config/load.ts';
import { MariadbSection, unknownKeyExpected } from '../../src/config/schema.ts';
import { loadOptionsFor, parseCliArgs, USAGE } from '../../src/main.ts';
import { VERSION } from '../../src/version.ts';
import { makeScratchDir, removeDirSync } from '../support/tmp.ts';

const REPO = resolve(import.meta.dir, '..', '..');
const MAIN = join(REPO, 'src', 'main.ts');
const dir = makeScratchDir('tqdb-cli-test-');
afterAll(() => removeDirSync(dir));

let fileCount = 0;
function writeIni(text: string): string {
  const path = join(dir, `cli-${++fileCount}.ini`);
  writeFileSync(path, text);
  return path;
}

/** The environment without TQDBPROXY_* overrides from outside, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('TQDBPROXY_')) env[key] = value;
  }
  return { ...env, ...extra };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    cwd: options.cwd ?? dir,
    env: cleanEnv(options.env),
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

describe('tqdbproxy --check-config', () => {
  it('exits 2 with one clear line for listen = :99999 and one for an unknown key', async () => {
    const file = writeIni('[mariadb]\nlisten = :99999\nlisten_backlog = 128\n');
    const result = await run(['--check-config', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toEqual([
      `${file}: [mariadb] listen_backlog = "128": expected ${unknownKeyExpected(MariadbSection, 'mariadb', 'listen_backlog')}`,
      `${file}: [mariadb] listen = ":99999": expected ${ADDRESS_EXPECTED.listen}`,
    ]);
    expect(lines(result.stderr)[0]).toStartWith(`${file}: [mariadb] listen_backlog = "128": expected a key of [mariadb]: listen, socket,`);
  });

  it('prints the effective config as INI that loads back, and exits 0', async () => {
    const file = writeIni('[mariadb]\nlisten = 127.0.0.1:3400\nwritebatch_enabled = true\n[mariadb.main]\nprimary = 10.1.2.3:3306\n');
    const result = await run(['--check-config', '--config', file]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('[mariadb]\nlisten = 127.0.0.1:3400\n');
    expect(result.stdout).toContain('writebatch_enabled = true');
    expect(result.stdout).toContain('[mariadb.main]\nprimary = 10.1.2.3:3306\n');
    const printed = writeIni(result.stdout);
    const reloaded = loadConfig({ file: printed, env: {} });
    const original = loadConfig({ file, env: {} });
    expect({ ...reloaded, sourceFile: null }).toEqual({ ...original, sourceFile: null });
  });

  it('uses the built-in defaults when there is no --config and no ./config.ini', async () => {
    const empty = makeScratchDir('tqdb-cli-empty-');
    try {
      const result = await run(['--check-config'], { cwd: empty });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('from built-in defaults');
      expect(result.stdout).toContain('listen = 127.0.0.1:3307');
      expect(result.stdout).toContain('[mariadb.main]\nprimary = 127.0.0.1:3306');
    } finally {
      removeDirSync(empty);
    }
  });

  it('reads ./config.ini when there is no --config', async () => {
    const cwd = makeScratchDir('tqdb-cli-cwd-');
    try {
      writeFileSync(join(cwd, 'config.ini'), '[mariadb]\nlisten = :3999\n');
      const result = await run(['--check-config'], { cwd });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('from config.ini');
      expect(result.stdout).toContain('listen = 0.0.0.0:3999');
    } finally {
      removeDirSync(cwd);
    }
  });

  it('exits 2 when the --config file does not exist', async () => {
    const missing = join(dir, 'nope.ini');
    const result = await run(['--check-config', '--config', missing]);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([`${missing}: expected a readable config file (it does not exist)`]);
  });

  it('applies environment overrides and names the variable in problems', async () => {
    const ok = await run(['--check-config'], { env: { TQDBPROXY_MARIADB_MAIN_PRIMARY: '10.9.9.9:3306' } });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('primary = 10.9.9.9:3306');
    const bad = await run(['--check-config'], { env: { TQDBPROXY_MARIADB_LISTEN: ':99999' } });
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr)).toEqual([
      `env TQDBPROXY_MARIADB_LISTEN: [mariadb] listen = ":99999": expected ${ADDRESS_EXPECTED.listen}`,
    ]);
  });

  it('applies --metrics, --log-level and --log-format, and rejects bad values for them', async () => {
    const ok = await run(['--check-config', '--metrics', '127.0.0.1:0', '--log-level=debug', '--log-format', 'json']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('metrics_listen = 127.0.0.1:0');
    expect(ok.stdout).toContain('log_level = debug');
    expect(ok.stdout).toContain('log_format = json');
    const bad = await run(['--check-config', '--log-level', 'loud', '--metrics', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr)).toEqual([
      `--metrics: [proxy] metrics_listen = "nowhere": expected ${ADDRESS_EXPECTED.listen}`,
      '--log-level: [proxy] log_level = "loud": expected one of debug, info, warn, error',
    ]);
  });
});

describe('tqdbproxy --version and --help', () => {
  it('--version prints the package version and exits 0', async () => {
    const result = await run(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`tqdbproxy ${VERSION} (bun ${Bun.version})\n`);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });

  it('--help prints every option and exits 0', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(USAGE);
    for (const flag of ['--config FILE', '--metrics ADDR', '--check-config', '--log-format', '--log-level', '--help', '--version']) {
      expect(result.stdout).toContain(flag);
    }
  });
});

describe('tqdbproxy with a bad command line', () => {
  it('exits 2 for an unknown option', async () => {
    const result = await run(['--verbose']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toEqual(["tqdbproxy: unknown option --verbose", "Try 'tqdbproxy --help' for the options."]);
  });

  it('exits 2 for an option missing its value', async () => {
    const result = await run(['--config']);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)[0]).toBe('tqdbproxy: option --config needs a value');
  });
});

describe('parseCliArgs', () => {
  it('reads every option, in both --flag value and --flag=value forms', () => {
    expect(parseCliArgs(['--config', 'a.ini', '--metrics=:0', '--check-config', '--log-format', 'json', '--log-level=warn'])).toEqual({
      ok: true,
      options: {
        configFile: 'a.ini',
        metricsListen: ':0',
        logFormat: 'json',
        logLevel: 'warn',
        isCheckConfig: true,
        isHelp: false,
        isVersion: false,
      },
    });
  });

  it('reads -h as --help', () => {
    const result = parseCliArgs(['-h']);
    expect(result.ok && result.options.isHelp).toBe(true);
  });

  it('rejects unknown options, stray arguments, repeats, missing values and values on switches', () => {
    expect(parseCliArgs(['--nope'])).toEqual({ ok: false, message: 'unknown option --nope' });
    expect(parseCliArgs(['--nope=1'])).toEqual({ ok: false, message: 'unknown option --nope' });
    expect(parseCliArgs(['config.ini'])).toEqual({ ok: false, message: 'unexpected argument "config.ini"' });
    expect(parseCliArgs(['--config', 'a', '--config', 'b'])).toEqual({ ok: false, message: 'option --config given more than once' });
    expect(parseCliArgs(['--config', '--check-config'])).toEqual({ ok: false, message: 'option --config needs a value' });
    expect(parseCliArgs(['--metrics='])).toEqual({ ok: false, message: 'option --metrics needs a value' });
    expect(parseCliArgs(['--version=2'])).toEqual({ ok: false, message: 'option --version takes no value' });
  });

  it('defaults the config file to ./config.ini only when it exists', () => {
    const parsed = parseCliArgs([]);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(loadOptionsFor(parsed.options, {}, true).file).toBe('config.ini');
    expect(loadOptionsFor(parsed.options, {}, false).file).toBeNull();
    const explicit = parseCliArgs(['--config', 'x.ini']);
    if (!explicit.ok) throw new Error(explicit.message);
    expect(loadOptionsFor(explicit.options, {}, true).file).toBe('x.ini');
  });
});

/** Reads a child's stderr as it arrives, so a test can wait for a line. */
class StderrWatcher {
  private text = '';
  private readonly waiters: (() => void)[] = [];
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        this.text += decoder.decode(chunk, { stream: true });
        for (const wake of this.waiters.splice(0)) wake();
      }
      for (const wake of this.waiters.splice(0)) wake();
    })();
  }

  get all(): string {
    return this.text;
  }

  /** Resolves with the first match of `pattern` at or after `from`, or rejects at the deadline. */
  async waitFor(pattern: RegExp, from = 0, timeoutMs = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.text.slice(from));
      if (match !== null) return match;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${pattern} in stderr:\n${this.text}`);
      await Promise.race([new Promise<void>((wake) => this.waiters.push(wake)), Bun.sleep(Math.min(left, 250))]);
    }
  }
}

describe('tqdbproxy running', () => {
  it('serves /healthz, reloads on SIGHUP, keeps its config when the file turns bad, and exits 0 on SIGTERM', async () => {
    const base = '[proxy]\nmetrics_listen = 127.0.0.1:0\n[mariadb]\nlisten = 127.0.0.1:0\n';
    const file = writeIni(base);
    const proc = Bun.spawn([process.execPath, MAIN, '--config', file], {
      cwd: dir,
      env: cleanEnv(),
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
    });
    const stderr = new StderrWatcher(proc.stderr);
    try {
      const [, metricsAddress] = await stderr.waitFor(/INFO metrics listening address=(\S+)\n/);
      await stderr.waitFor(/INFO listening protocol=mariadb address=127\.0\.0\.1:\d+/);
      await stderr.waitFor(/INFO started /);
      const health = await fetch(`http://${metricsAddress}/healthz`);
      expect(await health.text()).toBe('ok');
      const metrics = await (await fetch(`http://${metricsAddress}/metrics`)).text();
      expect(metrics).toContain('tqdbproxy_client_connections{protocol="mariadb"} 0');

      let mark = stderr.all.length;
      writeFileSync(file, `${base}writebatch_enabled = true\n`);
      proc.kill('SIGHUP');
      await stderr.waitFor(/INFO config reloaded file=\S+ changed="\[mariadb\] writebatch_enabled"\n/, mark);

      mark = stderr.all.length;
      writeFileSync(file, base.replace('[mariadb]\nlisten = 127.0.0.1:0', '[mariadb]\nlisten = 127.0.0.1:1'));
      proc.kill('SIGHUP');
      await stderr.waitFor(
        /WARN config change needs a restart, keeping the running value section=mariadb key=listen running=127\.0\.0\.1:0 requested=127\.0\.0\.1:1\n/,
        mark,
      );

      mark = stderr.all.length;
      writeFileSync(file, base.replace('[mariadb]\nlisten = 127.0.0.1:0', '[mariadb]\nlisten = :99999'));
      proc.kill('SIGHUP');
      await stderr.waitFor(/ERROR config reload rejected, keeping the running config file=\S+ problems=1\n/, mark);
      await stderr.waitFor(/ERROR config problem problem=".*\[mariadb\] listen = \\":99999\\": expected host:port/, mark);

      proc.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      await stderr.done;
      expect(stderr.all).toMatch(/INFO stopping reason=SIGTERM timeout_ms=10000\n/);
      expect(stderr.all).toMatch(/INFO stopped exit_code=0\n$/);
    } finally {
      proc.kill('SIGKILL');
    }
  }, 60_000);

  it('exits 1 with the reason when a listener cannot bind', async () => {
    const holder = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    try {
      const file = writeIni(`[proxy]\nmetrics_listen = 127.0.0.1:${holder.port}\n`);
      const result = await run(['--config', file]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/ERROR start failed error=/);
    } finally {
      holder.stop(true);
    }
  });
});
