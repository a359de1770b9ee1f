import { escapeControl } from '../log.ts';

/**
 * One thing wrong with the configuration, located precisely enough for an
 * operator to fix it without reading code: where the value came from (a file,
 * an environment variable or a command-line flag), the section and key, the
 * value found, and what was expected.
 */
export class ConfigProblem {
  /** The config file, `env NAME` for an environment variable, or the command-line flag. */
  readonly file: string;
  /** Section name without brackets (`mariadb.main`); empty for problems about the file itself. */
  readonly section: string;
  /** Key name; empty for problems about a whole section or the file. */
  readonly key: string;
  /** The value as found; null when it is missing. */
  readonly value: string | null;
  readonly expected: string;

  constructor(fields: { file: string; section: string; key: string; value: string | null; expected: string }) {
    this.file = fields.file;
    this.section = fields.section;
    this.key = fields.key;
    this.value = fields.value;
    this.expected = fields.expected;
    Object.freeze(this);
  }

  /**
   * One line: `config.ini: [mariadb] listen = ":99999": expected host:port, ...`.
   * Every part is escaped: a config file can hold any bytes, and this line goes
   * to a terminal and a log.
   */
  toString(): string {
    let where = this.section === '' ? '' : `[${escapeControl(this.section)}]`;
    if (this.key !== '') {
      const value = this.value === null ? '(missing)' : `= ${escapeControl(JSON.stringify(this.value))}`;
      where = `${where}${where === '' ? '' : ' '}${escapeControl(this.key)} ${value}`;
    }
    return escapeControl(`${this.file}: ${where === '' ? '' : `${where}: `}expected ${this.expected}`);
  }
}

/** Thrown by loadConfig with every problem found, not just the first. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(
      problems.length === 1
        ? `invalid config: ${problems[0].toString()}`
        : `invalid config (${problems.length} problems):\n${problems.map((p) => p.toString()).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }

  /** One line per problem, ready for stderr. */
  override toString(): string {
    return this.problems.map((p) => p.toString()).join('\n');
  }
}

export function isConfigError(value: unknown): value is ConfigError {
  return value instanceof ConfigError;
}
