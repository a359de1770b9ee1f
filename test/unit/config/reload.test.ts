import { afterAll, describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { ConfigError } from '../../../src/config/errors.ts';
import { reconcileReload, reloadConfig } from '../../../src/config/reload.ts';
import { renderConfigIni } from '../../../src/config/render.ts';
import { IniFiles, load } from './helpers.ts';

const files = new IniFiles();
afterAll(() => files.cleanup());

const FULL = `[proxy]
metrics_listen = 127.0.0.1:9191
log_level = warn
cache_stale_factor = 3.5
[mariadb]
listen = [::1]:3310
socket = /tmp/tqdb.sock
default = eu
writebatch_enabled = true
writebatch_write_threshold = 250.5
[mariadb.eu]
primary = 10.0.0.1:3306
replicas = 10.0.0.2:3306,unix:/tmp/replica.sock
databases = app,logs
[mariadb.us]
primary = db.us:3306
[postgres]
listen = :5439
[postgres.main]
primary = 10.0.0.3:5432
`;

describe('renderConfigIni', () => {
  it('prints an INI that loads back into the same config', () => {
    const original = load(files.write(FULL));
    const rendered = load(files.write(renderConfigIni(original)));
    expect({ ...rendered, sourceFile: null }).toEqual({ ...original, sourceFile: null });
  });

  it('prints the defaults with no file, and says PostgreSQL is off', () => {
    const text = renderConfigIni(load(null));
    expect(text).toContain('[mariadb.main]\nprimary = 127.0.0.1:3306\nreplicas =\ndatabases =\n');
    expect(text).toContain('writebatch_enabled = false');
    expect(text).toContain('; postgres is disabled');
    expect(text).not.toContain('\n[postgres]');
  });

  it('quotes values INI would cut at a comment character', () => {
    const config = load(files.write('[mariadb]\nsocket = "/tmp/a;b.sock"\n'));
    expect(config.mariadb.socket).toBe('/tmp/a;b.sock');
    expect(renderConfigIni(config)).toContain('socket = "/tmp/a;b.sock"');
    expect(load(files.write(renderConfigIni(config))).mariadb.socket).toBe('/tmp/a;b.sock');
  });
});

describe('reloadConfig', () => {
  it('applies reloadable keys and lists them as changed', () => {
    const file = files.write('[mariadb]\nwritebatch_enabled = false\n');
    const running = load(file);
    writeFileSync(file, '[mariadb]\nwritebatch_enabled = true\nwritebatch_max_batch_size = 50\n');
    const result = reloadConfig(running, { file, env: {} });
    expect(result.config.mariadb.writeBatch.enabled).toBe(true);
    expect(result.config.mariadb.writeBatch.maxBatchSize).toBe(50);
    expect(result.pendingRestart).toEqual([]);
    expect(result.changed).toEqual(['[mariadb] writebatch_enabled', '[mariadb] writebatch_max_batch_size']);
  });

  it('keeps restart-only keys at their running values and reports them', () => {
    const file = files.write('[proxy]\nmetrics_listen = 127.0.0.1:9191\n[mariadb]\nlisten = 127.0.0.1:3310\n');
    const running = load(file);
    writeFileSync(
      file,
      '[proxy]\nmetrics_listen = 127.0.0.1:9192\n[mariadb]\nlisten = 127.0.0.1:3311\nsocket = /tmp/new.sock\nwritebatch_enabled = true\n',
    );
    const result = reloadConfig(running, { file, env: {} });
    expect(result.pendingRestart).toEqual([
      { section: 'proxy', key: 'metrics_listen', running: '127.0.0.1:9191', requested: '127.0.0.1:9192' },
      { section: 'mariadb', key: 'listen', running: '127.0.0.1:3310', requested: '127.0.0.1:3311' },
      { section: 'mariadb', key: 'socket', running: '', requested: '/tmp/new.sock' },
    ]);
    expect(result.config.metricsListen.text).toBe('127.0.0.1:9191');
    expect(result.config.mariadb.listen.text).toBe('127.0.0.1:3310');
    expect(result.config.mariadb.socket).toBeNull();
    expect(result.config.mariadb.writeBatch.enabled).toBe(true);
    expect(result.changed).toEqual(['[mariadb] writebatch_enabled']);
    expect(Object.isFrozen(result.config)).toBe(true);
    expect(Object.isFrozen(result.config.mariadb)).toBe(true);
  });

  it('does not switch PostgreSQL on or off without a restart', () => {
    const running = load(null);
    const next = load(files.write('[postgres]\n'));
    const result = reconcileReload(running, next);
    expect(result.config.postgres).toBeNull();
    expect(result.pendingRestart).toEqual([{ section: 'postgres', key: '(section)', running: 'disabled', requested: 'enabled' }]);
  });

  it('returns the new config itself when nothing needs a restart', () => {
    const running = load(null);
    const next = load(null, { env: { TQDBPROXY_PROXY_LOG_LEVEL: 'debug' } });
    const result = reconcileReload(running, next);
    expect(result.config).toBe(next);
    expect(result.changed).toEqual(['[proxy] log_level']);
  });

  it('reports added and removed groups as changed', () => {
    const running = load(files.write('[mariadb.main]\nprimary = 10.0.0.1:3306\n[mariadb.old]\nprimary = 10.0.0.2:3306\n'));
    const next = load(files.write('[mariadb.main]\nprimary = 10.0.0.1:3306\n[mariadb.new]\nprimary = 10.0.0.3:3306\n'));
    expect([...reconcileReload(running, next).changed].sort()).toEqual(
      [
        '[mariadb.new] primary',
        '[mariadb.new] replicas',
        '[mariadb.new] databases',
        '[mariadb.new] backend_tls',
        '[mariadb.new] backend_tls_ca_file',
        '[mariadb.old] primary',
        '[mariadb.old] replicas',
        '[mariadb.old] databases',
        '[mariadb.old] backend_tls',
        '[mariadb.old] backend_tls_ca_file',
      ].sort(),
    );
  });

  it('throws ConfigError for an invalid file, leaving the caller the running config', () => {
    const file = files.write('[mariadb]\n');
    const running = load(file);
    writeFileSync(file, '[mariadb]\nlisten = :99999\n');
    expect(() => reloadConfig(running, { file, env: {} })).toThrow(ConfigError);
    expect(running.mariadb.listen.text).toBe('127.0.0.1:3307');
  });
});
