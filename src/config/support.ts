/**
 * Rules about what this version can serve, as opposed to what the file format
 * allows: the schema accepts routing by database across groups (so configs
 * written for it validate), but start-up cannot honour it yet. These are
 * config problems all the same, checked by start-up, --check-config and SIGHUP
 * alike, so `--check-config` never passes a config that start-up refuses.
 */
import { loadServerTls, TlsFileError } from '../net/tls.ts';
import { ConfigError, ConfigProblem } from './errors.ts';
import { DEFAULTS_ORIGIN } from './load.ts';
import type { Config, ProtocolConfig } from './types.ts';

export function unsupportedProblems(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const file = config.sourceFile ?? DEFAULTS_ORIGIN;
  const check = (protocol: string, p: ProtocolConfig | null): void => {
    if (p === null) return;
    const groups = [...p.groups.values()];
    if (groups.length > 1) {
      problems.push(
        new ConfigProblem({
          file,
          section: `${protocol}.${groups[1]!.name}`,
          key: '',
          value: null,
          expected: `a single [${protocol}.<name>] group: routing across several backend groups is not supported by this version`,
        }),
      );
    }
    for (const g of groups) {
      if (g.databases.length > 0) {
        problems.push(
          new ConfigProblem({
            file,
            section: `${protocol}.${g.name}`,
            key: 'databases',
            value: g.databases.join(','),
            expected: 'no databases: routing by database is not supported by this version (leave it empty)',
          }),
        );
      }
    }
  };
  check('mariadb', config.mariadb);
  check('postgres', config.postgres);
  problems.push(...tlsFileProblems(file, 'mariadb', config.mariadb), ...tlsFileProblems(file, 'postgres', config.postgres));
  return problems;
}

/**
 * The client TLS files are read as start-up and reload read them: a missing
 * file or a key that does not match its certificate is a config problem
 * naming the key, not a failed start with a stack trace.
 */
function tlsFileProblems(file: string, protocol: string, p: ProtocolConfig | null): ConfigProblem[] {
  if (p === null) return [];
  try {
    loadServerTls(p.tls);
    return [];
  } catch (error) {
    if (!(error instanceof TlsFileError)) throw error;
    return [new ConfigProblem({ file, section: protocol, key: error.key, value: error.path, expected: `a readable PEM file (${error.reason})` })];
  }
}

/** @throws ConfigError when this version cannot serve the config. */
export function assertSupported(config: Config): Config {
  const problems = unsupportedProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
