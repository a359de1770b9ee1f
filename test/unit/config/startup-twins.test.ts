/**
 * Issue #10, findings 6, 7 and 10: every config that start-up refuses is
 * refused by --check-config too, with exit 2 and the same one line; a
 * listener that cannot bind says why in one line; hostile bytes in a config
 * file never reach the terminal raw. Runs the real command (the compiled
 * binary under TQDB_BIN), with no database.
 */
import { afterAll, describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { proxyCommand } from '../../support/proxy.ts';
import { makeScratchDir, removeDirSync } from '../../support/tmp.ts';

const dir = makeScratchDir('tqdb-hard-twins-');
afterAll(() => removeDirSync(dir));

let count = 0;
function file(content: string | Uint8Array): string {
  const path = join(dir, `twin-${++count}.ini`);
  writeFileSync(path, content);
  return path;
}

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TQDBPROXY_')) env[k] = v;
  return env;
}

async function run(args: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([...proxyCommand(), ...args], { cwd: dir, env: cleanEnv(), stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

const nonEmpty = (text: string): string[] => text.split('\n').filter((l) => l !== '');
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

const BASE = '[proxy]\nmetrics_listen = 127.0.0.1:0\n[mariadb]\nlisten = 127.0.0.1:0\n';

const refusals: { name: string; content: () => string | Uint8Array; says: RegExp; path?: string }[] = [
  { name: 'databases in a group (routing is not built)', content: () => `${BASE}[mariadb.main]\nprimary = 127.0.0.1:3306\ndatabases = a\n`, says: /databases = "a": expected no databases/ },
  {
    name: 'two backend groups',
    content: () => `${BASE}[mariadb.main]\nprimary = 127.0.0.1:3306\n[mariadb.other]\nprimary = 127.0.0.1:3307\n`,
    says: /\[mariadb\.other\]: expected a single \[mariadb\.<name>\] group/,
  },
  { name: 'a repeated [mariadb] section', content: () => `[mariadb]\nlisten = 127.0.0.1:0\n[proxy]\nlog_level = info\n[mariadb]\nsocket =\n`, says: /\[mariadb\]: expected each \[section\] once/ },
  { name: 'a bare key with no "="', content: () => `${BASE}writebatch_enabled\n`, says: /\[mariadb\] writebatch_enabled \(missing\): expected key = value/ },
  { name: 'an unclosed [mariadb header', content: () => `[mariadb\nlisten = 127.0.0.1:0\n`, says: /expected a section header closed by "\]"/ },
  { name: 'a binary file', content: () => Uint8Array.from([0x1b, 0x5b, 0x32, 0x4a, 0x00, 0x9b, 0x41, 0x0a, 0x7f, 0x3d, 0x1b]), says: /expected a text file/ },
  { name: 'a file over 1 MiB', content: () => `; ${'x'.repeat(1024 * 1024)}\n${BASE}`, says: /expected a config file of at most 1048576 bytes/ },
  {
    name: 'a [postgres] TLS certificate without its key',
    content: () => `${BASE}[postgres]\nlisten = 127.0.0.1:0\ntls_cert_file = /etc/tqdb/cert.pem\n`,
    says: /\[postgres\] tls_key_file = "": expected the key file of tls_cert_file \(both or neither\)/,
  },
  {
    name: '[postgres] tls_mode = require without a certificate',
    content: () => `${BASE}[postgres]\nlisten = 127.0.0.1:0\ntls_mode = require\n`,
    says: /\[postgres\] tls_mode = "require": expected allow or disable when tls_cert_file and tls_key_file are empty/,
  },
  {
    name: 'a [postgres] tls_cert_file that cannot be read',
    content: () => `${BASE}[postgres]\nlisten = 127.0.0.1:0\ntls_cert_file = /nonexistent/cert.pem\ntls_key_file = /nonexistent/key.pem\n`,
    says: /\[postgres\] tls_cert_file = "\/nonexistent\/cert\.pem": expected a readable PEM file \(ENOENT/,
  },
  {
    name: 'a [mariadb] tls_cert_file that is not a certificate',
    content: () => `${BASE}tls_cert_file = /etc/hostname\ntls_key_file = /etc/hostname\n`,
    says: /\[mariadb\] tls_cert_file = "\/etc\/hostname": expected a readable PEM file \(/,
  },
  { name: '/dev/urandom', content: () => '', path: '/dev/urandom', says: /\/dev\/urandom: expected a regular config file/ },
];

describe('start-up refusals and their --check-config twins', () => {
  for (const r of refusals) {
    it(`${r.name}: start-up and --check-config both exit 2 with the same one line`, async () => {
      const path = r.path ?? file(r.content());
      const [start, check] = await Promise.all([run(['--config', path]), run(['--check-config', '--config', path])]);
      for (const result of [start, check]) {
        expect(result.code).toBe(2);
        expect(nonEmpty(result.stderr)).toHaveLength(1);
        expect(result.stderr).toMatch(r.says);
        expect(result.stderr).not.toMatch(RAW_CONTROL);
        expect(result.stderr).not.toMatch(/^\s+at /m);
      }
      expect(check.stderr).toBe(start.stderr);
    }, 30_000);
  }
});

describe('start-up failures that no config check can foresee', () => {
  it('a listen address already in use exits 1 with one line naming the address and the reason, no stack trace', async () => {
    const holder = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    try {
      const path = file(`[proxy]\nmetrics_listen = 127.0.0.1:0\n[mariadb]\nlisten = 127.0.0.1:${holder.port}\n`);
      const result = await run(['--config', path]);
      expect(result.code).toBe(1);
      const errors = nonEmpty(result.stderr).filter((l) => / ERROR /.test(l));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(`cannot listen on 127.0.0.1:${holder.port} ([mariadb] listen)`);
      expect(errors[0]).toContain('already in use');
      expect(result.stderr).not.toMatch(/stack=|^\s+at /m);
    } finally {
      holder.stop(true);
    }
  }, 30_000);

  it('a metrics address already in use says so the same way', async () => {
    const holder = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    try {
      const path = file(`[proxy]\nmetrics_listen = 127.0.0.1:${holder.port}\n[mariadb]\nlisten = 127.0.0.1:0\n`);
      const result = await run(['--config', path]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${holder.port} ([proxy] metrics_listen)`);
      expect(result.stderr).not.toMatch(/stack=|^\s+at /m);
    } finally {
      holder.stop(true);
    }
  }, 30_000);
});

describe('--check-config output', () => {
  it('shows the metrics_listen that --metrics sets, not the file value', async () => {
    const path = file('[proxy]\nmetrics_listen = 127.0.0.1:9191\n');
    const result = await run(['--check-config', '--config', path, '--metrics', '127.0.0.1:9292']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('metrics_listen = 127.0.0.1:9292');
    expect(result.stdout).not.toContain('9191');
  }, 30_000);

  it('prints loopback defaults for both listeners', async () => {
    const result = await run(['--check-config', '--config', file('')]);
    expect(result.stdout).toContain('metrics_listen = 127.0.0.1:9090');
    expect(result.stdout).toContain('listen = 127.0.0.1:3307');
  }, 30_000);
});

