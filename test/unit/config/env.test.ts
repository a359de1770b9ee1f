import { afterAll, describe, expect, it } from 'bun:test';
import { ADDRESS_EXPECTED } from '../../../src/config/address.ts';
import { envVariableName } from '../../../src/config/env.ts';
import { IniFiles, load, problemsOf } from './helpers.ts';

const files = new IniFiles();
afterAll(() => files.cleanup());

describe('environment overrides', () => {
  it('TQDBPROXY_MARIADB_LISTEN overrides the file', () => {
    const file = files.write('[mariadb]\nlisten = :3307\n');
    expect(load(file, { env: { TQDBPROXY_MARIADB_LISTEN: '127.0.0.1:4100' } }).mariadb.listen.text).toBe('127.0.0.1:4100');
  });

  it('TQDBPROXY_MARIADB_MAIN_PRIMARY overrides a group key', () => {
    const file = files.write('[mariadb.main]\nprimary = 10.0.0.1:3306\nreplicas = 10.0.0.2:3306\n');
    const main = load(file, { env: { TQDBPROXY_MARIADB_MAIN_PRIMARY: '10.0.0.9:3306' } }).mariadb.groups.get('main');
    expect(main?.primary.text).toBe('10.0.0.9:3306');
    expect(main?.replicas.map((r) => r.text)).toEqual(['10.0.0.2:3306']);
  });

  it('TQDBPROXY_MARIADB_MAIN_PRIMARY overrides the built-in group with no file', () => {
    expect(load(null, { env: { TQDBPROXY_MARIADB_MAIN_PRIMARY: '10.0.0.9:3306' } }).mariadb.groups.get('main')?.primary.text).toBe(
      '10.0.0.9:3306',
    );
  });

  it('TQDBPROXY_MARIADB_MAIN_REPLICAS adds replicas to the built-in group', () => {
    const main = load(null, { env: { TQDBPROXY_MARIADB_MAIN_REPLICAS: '10.0.0.2:3306,10.0.0.3:3306' } }).mariadb.groups.get('main');
    expect(main?.primary.text).toBe('127.0.0.1:3306');
    expect(main?.replicas).toHaveLength(2);
  });

  it('TQDBPROXY_PROXY_LOG_LEVEL overrides [proxy] log_level', () => {
    expect(load(null, { env: { TQDBPROXY_PROXY_LOG_LEVEL: 'debug' } }).logLevel).toBe('debug');
  });

  it('converts typed values from the environment', () => {
    const config = load(null, {
      env: {
        TQDBPROXY_MARIADB_WRITEBATCH_ENABLED: 'true',
        TQDBPROXY_MARIADB_WRITEBATCH_ADAPTIVE_STEP: '2.5',
        TQDBPROXY_PROXY_SHUTDOWN_TIMEOUT_MS: '0',
      },
    });
    expect(config.mariadb.writeBatch.enabled).toBe(true);
    expect(config.mariadb.writeBatch.adaptiveStep).toBe(2.5);
    expect(config.shutdownTimeoutMs).toBe(0);
  });

  it('creates a group a variable names when none matches', () => {
    const config = load(null, {
      env: { TQDBPROXY_MARIADB_ARCHIVE_PRIMARY: '10.0.0.7:3306', TQDBPROXY_MARIADB_ARCHIVE_DATABASES: 'old,audit' },
    });
    expect([...config.mariadb.groups.keys()].sort()).toEqual(['archive', 'main']);
    expect(config.mariadb.groups.get('archive')?.databases).toEqual(['old', 'audit']);
  });

  it('matches an existing group case-insensitively and with - for _', () => {
    const file = files.write('[mariadb]\ndefault = EU-West\n[mariadb.EU-West]\nprimary = 10.0.0.1:3306\n');
    const config = load(file, { env: { TQDBPROXY_MARIADB_EU_WEST_PRIMARY: '10.0.0.2:3306' } });
    expect([...config.mariadb.groups.keys()]).toEqual(['EU-West']);
    expect(config.mariadb.groups.get('EU-West')?.primary.text).toBe('10.0.0.2:3306');
  });

  it('enables PostgreSQL when a variable targets it', () => {
    const config = load(null, { env: { TQDBPROXY_POSTGRES_LISTEN: '127.0.0.1:0' } });
    expect(config.postgres?.listen.text).toBe('127.0.0.1:0');
    expect(config.postgres?.groups.get('main')?.primary.text).toBe('127.0.0.1:5432');
  });

  it('TQDBPROXY_POSTGRES_TLS_* and TQDBPROXY_POSTGRES_MAIN_BACKEND_TLS set PostgreSQL TLS', () => {
    const config = load(null, {
      env: {
        TQDBPROXY_POSTGRES_TLS_MODE: 'require',
        TQDBPROXY_POSTGRES_TLS_CERT_FILE: '/etc/tqdb/cert.pem',
        TQDBPROXY_POSTGRES_TLS_KEY_FILE: '/etc/tqdb/key.pem',
        TQDBPROXY_POSTGRES_MAIN_BACKEND_TLS: 'verify-full',
        TQDBPROXY_POSTGRES_MAIN_BACKEND_TLS_CA_FILE: '/etc/tqdb/ca.pem',
      },
    });
    expect(config.postgres?.tls).toEqual({ mode: 'require', certFile: '/etc/tqdb/cert.pem', keyFile: '/etc/tqdb/key.pem', caFile: null });
    expect(config.postgres?.groups.get('main')?.tls).toEqual({ mode: 'verify-full', caFile: '/etc/tqdb/ca.pem' });
  });

  it('ignores other variables and unset ones', () => {
    const config = load(null, { env: { PATH: '/bin', TQDB_BIN: 'x', TQDBPROXY_MARIADB_LISTEN: undefined } });
    expect(config.mariadb.listen.text).toBe('127.0.0.1:3307');
  });

  it('lets --metrics win over the environment and the file', () => {
    const file = files.write('[proxy]\nmetrics_listen = :9100\n');
    const config = load(file, { env: { TQDBPROXY_PROXY_METRICS_LISTEN: ':9200' }, metricsListen: '127.0.0.1:0' });
    expect(config.metricsListen.text).toBe('127.0.0.1:0');
  });

  it('lets --log-level and --log-format win over the environment', () => {
    const config = load(null, { env: { TQDBPROXY_PROXY_LOG_LEVEL: 'error' }, logLevel: 'warn', logFormat: 'json' });
    expect(config.logLevel).toBe('warn');
    expect(config.logFormat).toBe('json');
  });

  it('names every section and key as TQDBPROXY_<SECTION>_<KEY>', () => {
    expect(envVariableName('mariadb', 'listen')).toBe('TQDBPROXY_MARIADB_LISTEN');
    expect(envVariableName('mariadb.main', 'primary')).toBe('TQDBPROXY_MARIADB_MAIN_PRIMARY');
    expect(envVariableName('proxy', 'log_level')).toBe('TQDBPROXY_PROXY_LOG_LEVEL');
    expect(envVariableName('postgres.eu-west', 'databases')).toBe('TQDBPROXY_POSTGRES_EU_WEST_DATABASES');
  });
});

describe('environment problems', () => {
  it('name the variable as the origin of a bad value', () => {
    expect(problemsOf(null, { env: { TQDBPROXY_MARIADB_LISTEN: ':70000' } })).toEqual([
      { file: 'env TQDBPROXY_MARIADB_LISTEN', section: 'mariadb', key: 'listen', value: ':70000', expected: ADDRESS_EXPECTED.listen },
    ]);
  });

  it('reject a variable naming no section', () => {
    expect(problemsOf(null, { env: { TQDBPROXY_MYSQL_LISTEN: ':3307' } })).toEqual([
      {
        file: 'env TQDBPROXY_MYSQL_LISTEN',
        section: '',
        key: '',
        value: null,
        expected:
          'a variable named TQDBPROXY_PROXY_<KEY>, TQDBPROXY_MARIADB_[<GROUP>_]<KEY> or TQDBPROXY_POSTGRES_[<GROUP>_]<KEY>',
      },
    ]);
  });

  it('reject a variable naming no key of [proxy]', () => {
    const [problem] = problemsOf(null, { env: { TQDBPROXY_PROXY_VERBOSE: '1' } });
    expect(problem.file).toBe('env TQDBPROXY_PROXY_VERBOSE');
    expect(problem.section).toBe('proxy');
    expect(problem.key).toBe('verbose');
    expect(problem.expected.startsWith('a key of [proxy]: metrics_listen, log_level')).toBe(true);
  });

  it('reject a variable naming no key of [mariadb] nor a group key', () => {
    const [problem] = problemsOf(null, { env: { TQDBPROXY_MARIADB_LISTEN_ADDR: ':1' } });
    expect(problem.section).toBe('mariadb');
    expect(problem.key).toBe('listen_addr');
    expect(problem.expected.endsWith('or <GROUP>_PRIMARY|REPLICAS|DATABASES|BACKEND_TLS|BACKEND_TLS_CA_FILE')).toBe(true);
  });

  it('reject a variable matching two groups', () => {
    const file = files.write('[mariadb]\ndefault = eu-west\n[mariadb.eu-west]\nprimary = 10.0.0.1:3306\n[mariadb.eu_west]\nprimary = 10.0.0.2:3306\n');
    expect(problemsOf(file, { env: { TQDBPROXY_MARIADB_EU_WEST_PRIMARY: '10.0.0.3:3306' } })).toEqual([
      {
        file: 'env TQDBPROXY_MARIADB_EU_WEST_PRIMARY',
        section: 'mariadb.eu_west',
        key: 'primary',
        value: '10.0.0.3:3306',
        expected: 'a variable naming one group, not several ([mariadb.eu-west], [mariadb.eu_west])',
      },
    ]);
  });

  it('report a group created by a variable without a primary', () => {
    expect(problemsOf(null, { env: { TQDBPROXY_MARIADB_ARCHIVE_DATABASES: 'old' } })).toEqual([
      {
        file: 'env TQDBPROXY_MARIADB_ARCHIVE_DATABASES',
        section: 'mariadb.archive',
        key: 'primary',
        value: null,
        expected: `${ADDRESS_EXPECTED.backend} (required)`,
      },
    ]);
  });

  it('name the flag as the origin of a bad flag value', () => {
    expect(problemsOf(null, { logLevel: 'loud' })).toEqual([
      { file: '--log-level', section: 'proxy', key: 'log_level', value: 'loud', expected: 'one of debug, info, warn, error' },
    ]);
    expect(problemsOf(null, { metricsListen: 'nowhere' })).toEqual([
      { file: '--metrics', section: 'proxy', key: 'metrics_listen', value: 'nowhere', expected: ADDRESS_EXPECTED.listen },
    ]);
  });
});
