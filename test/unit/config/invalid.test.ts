import { afterAll, describe, expect, it } from 'bun:test';
import { ADDRESS_EXPECTED } from '../../../src/config/address.ts';
import { ConfigError } from '../../../src/config/errors.ts';
import { IniFiles, load, problemsOf } from './helpers.ts';

const files = new IniFiles();
afterAll(() => files.cleanup());

const LISTEN = ADDRESS_EXPECTED.listen;
const BACKEND = ADDRESS_EXPECTED.backend;
const SECTIONS = 'one of [proxy], [mariadb], [mariadb.<name>], [postgres], [postgres.<name>]';

/** One invalid config and the single problem it must produce (the file is filled in). */
interface Case {
  name: string;
  ini: string;
  section: string;
  key: string;
  value: string | null;
  expected: string;
}

const cases: Case[] = [
  {
    name: 'a TLS certificate without its key',
    ini: '[mariadb]\ntls_cert_file = /etc/tqdb/cert.pem\n',
    section: 'mariadb',
    key: 'tls_key_file',
    value: '',
    expected: 'the key file of tls_cert_file (both or neither)',
  },
  {
    name: 'a TLS key without its certificate',
    ini: '[mariadb]\ntls_key_file = /etc/tqdb/key.pem\n',
    section: 'mariadb',
    key: 'tls_cert_file',
    value: '',
    expected: 'the certificate file of tls_key_file (both or neither)',
  },
  {
    name: 'tls_mode = require without a certificate',
    ini: '[mariadb]\ntls_mode = require\n',
    section: 'mariadb',
    key: 'tls_mode',
    value: 'require',
    expected: 'allow or disable when tls_cert_file and tls_key_file are empty',
  },
  {
    name: 'a client CA without a certificate',
    ini: '[mariadb]\ntls_ca_file = /etc/tqdb/ca.pem\n',
    section: 'mariadb',
    key: 'tls_ca_file',
    value: '/etc/tqdb/ca.pem',
    expected: 'empty when tls_cert_file is empty',
  },
  {
    name: 'an unknown backend_tls mode',
    ini: '[mariadb.main]\nprimary = 127.0.0.1:3306\nbackend_tls = verify\n',
    section: 'mariadb.main',
    key: 'backend_tls',
    value: 'verify',
    expected: 'one of disable, prefer, require, verify-ca, verify-full',
  },
  {
    name: 'a [postgres] TLS certificate without its key',
    ini: '[postgres]\ntls_cert_file = /etc/tqdb/cert.pem\n',
    section: 'postgres',
    key: 'tls_key_file',
    value: '',
    expected: 'the key file of tls_cert_file (both or neither)',
  },
  {
    name: '[postgres] tls_mode = require without a certificate',
    ini: '[postgres]\ntls_mode = require\n',
    section: 'postgres',
    key: 'tls_mode',
    value: 'require',
    expected: 'allow or disable when tls_cert_file and tls_key_file are empty',
  },
  {
    name: 'an unknown [postgres.<name>] backend_tls mode',
    ini: '[postgres.main]\nprimary = 127.0.0.1:5432\nbackend_tls = verify\n',
    section: 'postgres.main',
    key: 'backend_tls',
    value: 'verify',
    expected: 'one of disable, prefer, require, verify-ca, verify-full',
  },
  {
    name: 'a listen port above 65535',
    ini: '[mariadb]\nlisten = :99999\n',
    section: 'mariadb',
    key: 'listen',
    value: ':99999',
    expected: LISTEN,
  },
  {
    name: 'a misspelt key, with a suggestion',
    ini: '[mariadb]\nlisen = :3307\n',
    section: 'mariadb',
    key: 'lisen',
    value: ':3307',
    expected: 'a key of [mariadb] (did you mean listen?)',
  },
  {
    name: 'an unknown key with nothing close, listing the known ones',
    ini: '[proxy]\ncolour = blue\n',
    section: 'proxy',
    key: 'colour',
    value: 'blue',
    expected:
      'a key of [proxy]: metrics_listen, log_level, log_format, shutdown_timeout_ms, metrics_max_call_sites, cache_max_bytes, cache_max_entry_bytes, cache_wait_timeout_ms, cache_stale_factor',
  },
  {
    name: 'an unknown section',
    ini: '[mysql]\nlisten = :3307\n',
    section: 'mysql',
    key: '',
    value: null,
    expected: SECTIONS,
  },
  {
    name: 'a section nested below a group',
    ini: '[mariadb.main.extra]\nprimary = 127.0.0.1:3306\n',
    section: 'mariadb.main.extra',
    key: '',
    value: null,
    expected: SECTIONS,
  },
  {
    name: 'a subsection of [proxy]',
    ini: '[proxy.cache]\nmax = 1\n',
    section: 'proxy.cache',
    key: '',
    value: null,
    expected: SECTIONS,
  },
  {
    name: 'a key before any section',
    ini: 'listen = :3307\n[mariadb]\n',
    section: '',
    key: 'listen',
    value: ':3307',
    expected: 'every key inside a [section]',
  },
  {
    name: 'an unknown log level',
    ini: '[proxy]\nlog_level = verbose\n',
    section: 'proxy',
    key: 'log_level',
    value: 'verbose',
    expected: 'one of debug, info, warn, error',
  },
  {
    name: 'an unknown log format',
    ini: '[proxy]\nlog_format = xml\n',
    section: 'proxy',
    key: 'log_format',
    value: 'xml',
    expected: 'one of text, json',
  },
  {
    name: 'a negative timeout',
    ini: '[proxy]\nshutdown_timeout_ms = -1\n',
    section: 'proxy',
    key: 'shutdown_timeout_ms',
    value: '-1',
    expected: 'an integer from 0 to 3600000',
  },
  {
    name: 'a duration with a unit suffix',
    ini: '[proxy]\nshutdown_timeout_ms = 10s\n',
    section: 'proxy',
    key: 'shutdown_timeout_ms',
    value: '10s',
    expected: 'an integer from 0 to 3600000',
  },
  {
    name: 'a fractional integer',
    ini: '[proxy]\nmetrics_max_call_sites = 1.5\n',
    section: 'proxy',
    key: 'metrics_max_call_sites',
    value: '1.5',
    expected: 'an integer from 0 to 100000',
  },
  {
    name: 'a stale factor below 1',
    ini: '[proxy]\ncache_stale_factor = 0.5\n',
    section: 'proxy',
    key: 'cache_stale_factor',
    value: '0.5',
    expected: 'a number from 1 up to 1000',
  },
  {
    name: 'a cache entry limit above the cache size',
    ini: '[proxy]\ncache_max_bytes = 1000\ncache_max_entry_bytes = 2000\n',
    section: 'proxy',
    key: 'cache_max_entry_bytes',
    value: '2000',
    expected: 'at most cache_max_bytes (1000)',
  },
  {
    name: 'a metrics address that is not an address',
    ini: '[proxy]\nmetrics_listen = localhost\n',
    section: 'proxy',
    key: 'metrics_listen',
    value: 'localhost',
    expected: LISTEN,
  },
  {
    name: 'a unix address with no path',
    ini: '[proxy]\nmetrics_listen = unix:\n',
    section: 'proxy',
    key: 'metrics_listen',
    value: 'unix:',
    expected: LISTEN,
  },
  {
    name: 'an unbracketed IPv6 listen address',
    ini: '[mariadb]\nlisten = ::1:3307\n',
    section: 'mariadb',
    key: 'listen',
    value: '::1:3307',
    expected: LISTEN,
  },
  {
    name: 'a max_packet_size below 1024',
    ini: '[mariadb]\nmax_packet_size = 512\n',
    section: 'mariadb',
    key: 'max_packet_size',
    value: '512',
    expected: 'an integer from 1024 to 1073741824',
  },
  {
    name: 'a max_packet_size above 1 GiB',
    ini: '[mariadb]\nmax_packet_size = 2147483648\n',
    section: 'mariadb',
    key: 'max_packet_size',
    value: '2147483648',
    expected: 'an integer from 1024 to 1073741824',
  },
  {
    name: 'a socket path too long for sun_path',
    ini: `[mariadb]\nsocket = /tmp/${'s'.repeat(110)}\n`,
    section: 'mariadb',
    key: 'socket',
    value: `/tmp/${'s'.repeat(110)}`,
    expected: 'a unix socket path of at most 107 characters, or empty for none',
  },
  {
    name: 'a boolean spelt yes',
    ini: '[mariadb]\nwritebatch_enabled = yes\n',
    section: 'mariadb',
    key: 'writebatch_enabled',
    value: 'yes',
    expected: 'true or false',
  },
  {
    name: 'an adaptive step of exactly 1',
    ini: '[mariadb]\nwritebatch_adaptive_step = 1\n',
    section: 'mariadb',
    key: 'writebatch_adaptive_step',
    value: '1',
    expected: 'a number greater than 1 up to 100',
  },
  {
    name: 'a write threshold that is not a number',
    ini: '[mariadb]\nwritebatch_write_threshold = fast\n',
    section: 'mariadb',
    key: 'writebatch_write_threshold',
    value: 'fast',
    expected: 'a number greater than 0 up to 1000000000',
  },
  {
    name: 'a batch size of 0',
    ini: '[mariadb]\nwritebatch_max_batch_size = 0\n',
    section: 'mariadb',
    key: 'writebatch_max_batch_size',
    value: '0',
    expected: 'an integer from 1 to 100000',
  },
  {
    name: 'a minimum delay of 0, which would let the delay stick at 0',
    ini: '[mariadb]\nwritebatch_min_delay_ms = 0\n',
    section: 'mariadb',
    key: 'writebatch_min_delay_ms',
    value: '0',
    expected: 'an integer from 1 to 60000',
  },
  {
    name: 'a metrics interval of 0 seconds',
    ini: '[mariadb]\nwritebatch_metrics_interval = 0\n',
    section: 'mariadb',
    key: 'writebatch_metrics_interval',
    value: '0',
    expected: 'an integer from 1 to 86400',
  },
  {
    name: 'a minimum delay above the maximum',
    ini: '[mariadb]\nwritebatch_min_delay_ms = 50\nwritebatch_initial_delay_ms = 50\nwritebatch_max_delay_ms = 20\n',
    section: 'mariadb',
    key: 'writebatch_min_delay_ms',
    value: '50',
    expected: 'at most writebatch_max_delay_ms (20)',
  },
  {
    name: 'an initial delay above the maximum',
    ini: '[mariadb]\nwritebatch_initial_delay_ms = 200\n',
    section: 'mariadb',
    key: 'writebatch_initial_delay_ms',
    value: '200',
    expected: 'between writebatch_min_delay_ms (1) and writebatch_max_delay_ms (100)',
  },
  {
    name: 'a minimum delay above the default initial delay',
    ini: '[mariadb]\nwritebatch_min_delay_ms = 20\n',
    section: 'mariadb',
    key: 'writebatch_min_delay_ms',
    value: '20',
    expected: 'at most writebatch_initial_delay_ms (10)',
  },
  {
    name: 'a maximum delay below the default initial delay',
    ini: '[mariadb]\nwritebatch_max_delay_ms = 5\n',
    section: 'mariadb',
    key: 'writebatch_max_delay_ms',
    value: '5',
    expected: 'at least writebatch_initial_delay_ms (10)',
  },
  {
    name: 'a group without a primary',
    ini: '[mariadb.main]\nreplicas = 10.0.0.2:3306\n',
    section: 'mariadb.main',
    key: 'primary',
    value: null,
    expected: `${BACKEND} (required)`,
  },
  {
    name: 'a default naming no group',
    ini: '[mariadb]\ndefault = shard9\n',
    section: 'mariadb',
    key: 'default',
    value: 'shard9',
    expected: 'the name of a [mariadb.<name>] group (defined: main)',
  },
  {
    name: 'groups defined without the default one',
    ini: '[mariadb.shard1]\nprimary = 10.0.0.1:3306\n',
    section: 'mariadb',
    key: 'default',
    value: 'main',
    expected: 'the name of a [mariadb.<name>] group (defined: shard1)',
  },
  {
    name: 'a primary without a port',
    ini: '[mariadb.main]\nprimary = localhost\n',
    section: 'mariadb.main',
    key: 'primary',
    value: 'localhost',
    expected: BACKEND,
  },
  {
    name: 'a primary on port 0',
    ini: '[mariadb.main]\nprimary = 127.0.0.1:0\n',
    section: 'mariadb.main',
    key: 'primary',
    value: '127.0.0.1:0',
    expected: BACKEND,
  },
  {
    name: 'a primary with no host',
    ini: '[mariadb.main]\nprimary = :3306\n',
    section: 'mariadb.main',
    key: 'primary',
    value: ':3306',
    expected: BACKEND,
  },
  {
    name: 'a replica list with an entry that is no address',
    ini: '[mariadb.main]\nprimary = 10.0.0.1:3306\nreplicas = 10.0.0.2:3306, nope\n',
    section: 'mariadb.main',
    key: 'replicas',
    value: '10.0.0.2:3306, nope',
    expected: `a comma-separated list of ${BACKEND}`,
  },
  {
    name: 'a replica list with an empty entry',
    ini: '[mariadb.main]\nprimary = 10.0.0.1:3306\nreplicas = 10.0.0.2:3306,,10.0.0.3:3306\n',
    section: 'mariadb.main',
    key: 'replicas',
    value: '10.0.0.2:3306,,10.0.0.3:3306',
    expected: `a comma-separated list of ${BACKEND}`,
  },
  {
    name: 'a replica that is the primary',
    ini: '[mariadb.main]\nprimary = 10.0.0.1:3306\nreplicas = 10.0.0.1:3306\n',
    section: 'mariadb.main',
    key: 'replicas',
    value: '10.0.0.1:3306',
    expected: 'replica addresses that differ from each other and from the primary',
  },
  {
    name: 'a database in two groups',
    ini: '[mariadb.main]\nprimary = 10.0.0.1:3306\ndatabases = app\n[mariadb.archive]\nprimary = 10.0.0.2:3306\ndatabases = old,app\n',
    section: 'mariadb.archive',
    key: 'databases',
    value: 'old,app',
    expected: 'each database in one group only (app is also in [mariadb.main])',
  },
  {
    name: 'a database listed twice in one group',
    ini: '[mariadb.main]\nprimary = 10.0.0.1:3306\ndatabases = app,app\n',
    section: 'mariadb.main',
    key: 'databases',
    value: 'app,app',
    expected: 'each database listed once',
  },
  {
    name: 'a database name with a space',
    ini: '[mariadb.main]\nprimary = 10.0.0.1:3306\ndatabases = my app\n',
    section: 'mariadb.main',
    key: 'databases',
    value: 'my app',
    expected: 'a comma-separated list of a database name without spaces, commas, quotes or slashes (at most 64)',
  },
  {
    name: 'a section header followed by text',
    ini: '[proxy]\n[mariadb] clients\n',
    section: 'proxy',
    key: '[mariadb] clients',
    value: 'true',
    expected: 'a section header with nothing but a comment after it on its line',
  },
  {
    name: 'a key given twice in one section',
    ini: '[mariadb]\nlisten = :3307\nlisten = :3308\n',
    section: 'mariadb',
    key: 'listen',
    value: ':3308',
    expected: 'each key once per section (the earlier value would be ignored)',
  },
  {
    name: 'a list written with key[] lines',
    ini: '[mariadb.main]\nprimary = 10.0.0.1:3306\nreplicas[] = 10.0.0.2:3306\nreplicas[] = 10.0.0.3:3306\n',
    section: 'mariadb.main',
    key: 'replicas',
    value: '10.0.0.2:3306, 10.0.0.3:3306',
    expected: 'a single line with comma-separated values, not key[] lines',
  },
  {
    name: 'a group name with a space',
    ini: '[mariadb.main]\nprimary = 10.0.0.1:3306\n[mariadb.eu west]\nprimary = 10.0.0.2:3306\n',
    section: 'mariadb.eu west',
    key: '',
    value: null,
    expected: 'a group name of letters, digits, _ and - (at most 64), as in [mariadb.main]',
  },
  {
    name: 'a postgres group without a primary',
    ini: '[postgres.main]\ndatabases = app\n',
    section: 'postgres.main',
    key: 'primary',
    value: null,
    expected: `${BACKEND} (required)`,
  },
  {
    name: 'two listeners on one port',
    ini: '[proxy]\nmetrics_listen = 127.0.0.1:3307\n[mariadb]\nlisten = :3307\n',
    section: 'mariadb',
    key: 'listen',
    value: ':3307',
    expected: 'an address no other listener uses ([proxy] metrics_listen is 127.0.0.1:3307)',
  },
  {
    name: 'mariadb and postgres on one unix socket',
    ini: '[mariadb]\nsocket = /tmp/tqdb.sock\n[postgres]\nsocket = /tmp/tqdb.sock\n',
    section: 'postgres',
    key: 'socket',
    value: '/tmp/tqdb.sock',
    expected: 'an address no other listener uses ([mariadb] socket is unix:/tmp/tqdb.sock)',
  },
];

describe('loadConfig rejects', () => {
  for (const c of cases) {
    it(`${c.name} with exactly one problem naming it`, () => {
      const file = files.write(c.ini);
      expect(problemsOf(file)).toEqual([
        { file, section: c.section, key: c.key, value: c.value, expected: c.expected },
      ]);
    });
  }

  it('a missing --config file', () => {
    const file = `${files.dir}/does-not-exist.ini`;
    expect(problemsOf(file)).toEqual([
      { file, section: '', key: '', value: null, expected: 'a readable config file (it does not exist)' },
    ]);
  });

  it('a directory given as the config file', () => {
    expect(problemsOf(files.dir)).toEqual([
      { file: files.dir, section: '', key: '', value: null, expected: 'a readable config file (it is a directory)' },
    ]);
  });
});

describe('ConfigError', () => {
  it('collects every problem in one file, not just the first', () => {
    const file = files.write(
      '[proxy]\nlog_level = loud\n[mariadb]\nlisten = :99999\nbogus = 1\nwritebatch_max_batch_size = many\n[mariadb.main]\nprimary = nowhere\n[elsewhere]\n',
    );
    const problems = problemsOf(file);
    expect(problems.map((p) => `${p.section} ${p.key}`).sort()).toEqual(
      ['elsewhere ', 'mariadb bogus', 'mariadb listen', 'mariadb writebatch_max_batch_size', 'mariadb.main primary', 'proxy log_level'].sort(),
    );
  });

  it('formats each problem as one line naming file, section, key, value and expectation', () => {
    const file = files.write('[mariadb]\nlisten = :99999\nlisen = x\n');
    let error: unknown;
    try {
      load(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as ConfigError).toString().split('\n');
    expect(lines).toEqual([
      `${file}: [mariadb] lisen = "x": expected a key of [mariadb] (did you mean listen?)`,
      `${file}: [mariadb] listen = ":99999": expected host:port, :port or unix:/path with port 0-65535`,
    ]);
  });

  it('says "(missing)" for a required key that is absent', () => {
    const file = files.write('[mariadb.main]\n');
    let error: unknown;
    try {
      load(file);
    } catch (e) {
      error = e;
    }
    expect((error as ConfigError).problems[0].toString()).toBe(
      `${file}: [mariadb.main] primary (missing): expected ${BACKEND} (required)`,
    );
  });

  it('has problems that cannot be modified', () => {
    const file = files.write('[mariadb]\nlisten = :99999\n');
    try {
      load(file);
    } catch (e) {
      const error = e as ConfigError;
      expect(Object.isFrozen(error.problems)).toBe(true);
      expect(Object.isFrozen(error.problems[0])).toBe(true);
      return;
    }
    throw new Error('expected a ConfigError');
  });
});
