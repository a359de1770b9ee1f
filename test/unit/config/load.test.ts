import { afterAll, describe, expect, it } from 'bun:test';
import type { Config } from '../../../src/config/types.ts';
import { IniFiles, load } from './helpers.ts';

const files = new IniFiles();
afterAll(() => files.cleanup());

describe('loadConfig with no file', () => {
  const config = load(null);

  it('listens for MariaDB on loopback 127.0.0.1:3307 and relays to 127.0.0.1:3306', () => {
    expect(config.sourceFile).toBeNull();
    expect(config.mariadb.listen).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 3307, text: '127.0.0.1:3307' });
    expect(config.mariadb.defaultGroup).toBe('main');
    expect([...config.mariadb.groups.keys()]).toEqual(['main']);
    expect(config.mariadb.groups.get('main')).toEqual({
      name: 'main',
      primary: { kind: 'tcp', host: '127.0.0.1', port: 3306, text: '127.0.0.1:3306' },
      replicas: [],
      databases: [],
      tls: { mode: 'disable', caFile: null },
    });
    expect(config.mariadb.tls).toEqual({ mode: 'allow', certFile: null, keyFile: null, caFile: null });
    expect(config.mariadb.socket).toBeNull();
    expect(config.mariadb.maxPacketSize).toBe(67_108_864);
  });

  it('serves metrics on loopback 127.0.0.1:9090 and logs info as text', () => {
    expect(config.metricsListen.text).toBe('127.0.0.1:9090');
    expect(config.logLevel).toBe('info');
    expect(config.logFormat).toBe('text');
    expect(config.shutdownTimeoutMs).toBe(10_000);
    expect(config.metricsMaxCallSites).toBe(100);
  });

  it('has the seed write-batching defaults, batching off', () => {
    expect(config.mariadb.writeBatch).toEqual({
      enabled: false,
      initialDelayMs: 10,
      minDelayMs: 1,
      maxDelayMs: 100,
      maxBatchSize: 1000,
      writeThreshold: 1000,
      adaptiveStep: 1.5,
      metricsIntervalSeconds: 60,
      timeoutMs: 30_000,
      maxConcurrentBatches: 1,
      probeIntervalMs: 5000,
    });
  });

  it('has the cache defaults', () => {
    expect(config.cache).toEqual({ maxBytes: 67_108_864, maxEntryBytes: 1_048_576, waitTimeoutMs: 5_000, staleFactor: 2 });
  });

  it('leaves PostgreSQL disabled', () => {
    expect(config.postgres).toBeNull();
  });
});

describe('loadConfig with a file', () => {
  it('reads every section and normalises values', () => {
    const file = files.write(`
; comment
# another comment
[proxy]
metrics_listen = 127.0.0.1:0
log_level = debug
log_format = json
shutdown_timeout_ms = 2500
metrics_max_call_sites = 7
cache_max_bytes = 1000000
cache_max_entry_bytes = 1000
cache_wait_timeout_ms = 0
cache_stale_factor = 1.5

[mariadb]
listen = [::1]:0
socket = /tmp/tqdb-test.sock
default = eu
max_packet_size = 1024
writebatch_enabled = TRUE
writebatch_initial_delay_ms = 5
writebatch_min_delay_ms = 2
writebatch_max_delay_ms = 50
writebatch_max_batch_size = 10
writebatch_write_threshold = 2.5e3
writebatch_adaptive_step = 2
writebatch_metrics_interval = 30
writebatch_timeout_ms = 100
writebatch_max_concurrent_batches = 2
writebatch_probe_interval_ms = 0

[mariadb.eu]
primary = db-eu.internal:3306
replicas = 10.0.0.2:3306 , [fe80::1]:3306,unix:/run/mysqld/mysqld.sock
databases = app, app_logs

[mariadb.us-east]
primary = unix:/run/mysqld/us.sock
databases = billing
`);
    const config = load(file);
    expect(config.sourceFile).toBe(file);
    expect(config.metricsListen).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 0, text: '127.0.0.1:0' });
    expect(config.logLevel).toBe('debug');
    expect(config.logFormat).toBe('json');
    expect(config.shutdownTimeoutMs).toBe(2500);
    expect(config.metricsMaxCallSites).toBe(7);
    expect(config.cache).toEqual({ maxBytes: 1_000_000, maxEntryBytes: 1000, waitTimeoutMs: 0, staleFactor: 1.5 });
    expect(config.mariadb.listen).toEqual({ kind: 'tcp', host: '::1', port: 0, text: '[::1]:0' });
    expect(config.mariadb.socket).toBe('/tmp/tqdb-test.sock');
    expect(config.mariadb.defaultGroup).toBe('eu');
    expect(config.mariadb.maxPacketSize).toBe(1024);
    expect(config.mariadb.writeBatch).toEqual({
      enabled: true,
      initialDelayMs: 5,
      minDelayMs: 2,
      maxDelayMs: 50,
      maxBatchSize: 10,
      writeThreshold: 2500,
      adaptiveStep: 2,
      metricsIntervalSeconds: 30,
      timeoutMs: 100,
      maxConcurrentBatches: 2,
      probeIntervalMs: 0,
    });
    expect([...config.mariadb.groups.keys()]).toEqual(['eu', 'us-east']);
    const eu = config.mariadb.groups.get('eu');
    expect(eu?.primary).toEqual({ kind: 'tcp', host: 'db-eu.internal', port: 3306, text: 'db-eu.internal:3306' });
    expect(eu?.replicas.map((r) => r.text)).toEqual(['10.0.0.2:3306', '[fe80::1]:3306', 'unix:/run/mysqld/mysqld.sock']);
    expect(eu?.databases).toEqual(['app', 'app_logs']);
    expect(config.mariadb.groups.get('us-east')?.primary).toEqual({
      kind: 'unix',
      path: '/run/mysqld/us.sock',
      text: 'unix:/run/mysqld/us.sock',
    });
  });

  it('does not add the built-in main group when the file defines groups', () => {
    const file = files.write('[mariadb]\ndefault = s1\n[mariadb.s1]\nprimary = 10.0.0.1:3306\n');
    expect([...load(file).mariadb.groups.keys()]).toEqual(['s1']);
  });

  it('keeps the built-in main group when [mariadb] has no groups', () => {
    const file = files.write('[mariadb]\nlisten = 127.0.0.1:0\n');
    expect(load(file).mariadb.groups.get('main')?.primary.text).toBe('127.0.0.1:3306');
  });

  it('accepts quoted values and strips inline comments', () => {
    const file = files.write('[mariadb]\nlisten = "127.0.0.1:4000"\ndefault = main ; the only group\n');
    const config = load(file);
    expect(config.mariadb.listen.text).toBe('127.0.0.1:4000');
    expect(config.mariadb.defaultGroup).toBe('main');
  });

  it('accepts a comment after a section header', () => {
    const config = load(files.write('[proxy] ; process-wide\nlog_level = warn\n[mariadb]   # clients\nlisten = :4003\n'));
    expect(config.logLevel).toBe('warn');
    expect(config.mariadb.listen.text).toBe('0.0.0.0:4003');
  });

  it('treats an empty socket as none', () => {
    const file = files.write('[mariadb]\nsocket =\n');
    expect(load(file).mariadb.socket).toBeNull();
  });

  it('accepts an empty file as all defaults', () => {
    const config = load(files.write(''));
    expect(config.mariadb.listen.text).toBe('127.0.0.1:3307');
    expect(config.postgres).toBeNull();
  });

  it('accepts a UTF-8 byte order mark', () => {
    expect(load(files.write('\uFEFF[mariadb]\nlisten = :4001\n')).mariadb.listen).toMatchObject({ port: 4001 });
  });

  it('accepts CRLF line endings', () => {
    expect(load(files.write('[mariadb]\r\nlisten = :4002\r\n')).mariadb.listen).toMatchObject({ port: 4002 });
  });

  it('accepts a unix listen address', () => {
    expect(load(files.write('[mariadb]\nlisten = unix:/tmp/tqdb.sock\n')).mariadb.listen).toEqual({
      kind: 'unix',
      path: '/tmp/tqdb.sock',
      text: 'unix:/tmp/tqdb.sock',
    });
  });

  it('lets listeners share port 0', () => {
    const file = files.write('[proxy]\nmetrics_listen = 127.0.0.1:0\n[mariadb]\nlisten = 127.0.0.1:0\n[postgres]\nlisten = 127.0.0.1:0\n');
    const config = load(file);
    expect(config.mariadb.listen.text).toBe('127.0.0.1:0');
    expect(config.postgres?.listen.text).toBe('127.0.0.1:0');
  });

  it('allows min = initial = max delay', () => {
    const file = files.write('[mariadb]\nwritebatch_min_delay_ms = 7\nwritebatch_initial_delay_ms = 7\nwritebatch_max_delay_ms = 7\n');
    const wb = load(file).mariadb.writeBatch;
    expect([wb.minDelayMs, wb.initialDelayMs, wb.maxDelayMs]).toEqual([7, 7, 7]);
  });

  it('allows a cache entry limit above the cache size when caching is off', () => {
    expect(load(files.write('[proxy]\ncache_max_bytes = 0\n')).cache.maxBytes).toBe(0);
  });
});

describe('loadConfig for PostgreSQL', () => {
  it('enables it with [postgres] alone, with the built-in main group on 127.0.0.1:5432', () => {
    const config = load(files.write('[postgres]\n'));
    expect(config.postgres).not.toBeNull();
    const pg = config.postgres as NonNullable<Config['postgres']>;
    expect(pg.listen.text).toBe('127.0.0.1:5433');
    expect(pg.defaultGroup).toBe('main');
    expect(pg.groups.get('main')?.primary.text).toBe('127.0.0.1:5432');
    expect(pg.writeBatch.enabled).toBe(false);
  });

  it('enables it with only a [postgres.<name>] group', () => {
    const config = load(files.write('[postgres.main]\nprimary = 10.0.0.5:5432\ndatabases = app\n'));
    expect(config.postgres?.groups.get('main')?.primary.text).toBe('10.0.0.5:5432');
    expect(config.postgres?.groups.get('main')?.databases).toEqual(['app']);
  });

  it('keeps MariaDB and PostgreSQL groups apart', () => {
    const config = load(files.write('[mariadb.main]\nprimary = 10.0.0.1:3306\n[postgres.main]\nprimary = 10.0.0.1:5432\n'));
    expect(config.mariadb.groups.get('main')?.primary).toMatchObject({ port: 3306 });
    expect(config.postgres?.groups.get('main')?.primary).toMatchObject({ port: 5432 });
  });
});

describe('the loaded Config', () => {
  const config = load(files.write('[mariadb.main]\nprimary = 10.0.0.1:3306\nreplicas = 10.0.0.2:3306\n'));

  it('is frozen all the way down', () => {
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.mariadb)).toBe(true);
    expect(Object.isFrozen(config.mariadb.writeBatch)).toBe(true);
    expect(Object.isFrozen(config.mariadb.listen)).toBe(true);
    const main = config.mariadb.groups.get('main');
    expect(Object.isFrozen(main)).toBe(true);
    expect(Object.isFrozen(main?.replicas)).toBe(true);
    expect(Object.isFrozen(main?.replicas[0])).toBe(true);
    expect(Object.isFrozen(config.cache)).toBe(true);
  });

  it('has a groups map that cannot be changed', () => {
    const groups = config.mariadb.groups as Map<string, unknown>;
    expect(() => groups.set('x', {})).toThrow(TypeError);
    expect(() => groups.delete('main')).toThrow(TypeError);
    expect(() => groups.clear()).toThrow(TypeError);
    expect(groups.size).toBe(1);
  });
});
