import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ConfigProblem } from '../../../src/config/errors.ts';
import { loadConfig, type LoadOptions } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/types.ts';
import { makeScratchDir, removeDirSync } from '../../support/tmp.ts';

/** A scratch directory of INI files for one test file; `cleanup()` in afterAll. */
export class IniFiles {
  readonly dir = makeScratchDir('tqdb-config-test-');
  private count = 0;

  /** Writes `text` to a fresh file and returns its path. */
  write(text: string, name = `config-${++this.count}.ini`): string {
    const path = join(this.dir, name);
    writeFileSync(path, text);
    return path;
  }

  cleanup(): void {
    removeDirSync(this.dir);
  }
}

/** loadConfig with an empty environment unless one is given. */
export function load(file: string | null, extra: Partial<LoadOptions> = {}): Config {
  return loadConfig({ file, env: {}, ...extra });
}

/** The problems loadConfig reports, as plain objects; fails the test if it succeeds. */
export function problemsOf(file: string | null, extra: Partial<LoadOptions> = {}): ProblemFields[] {
  try {
    load(file, extra);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(fields);
    throw error;
  }
  throw new Error('expected loadConfig to report problems, but the config was accepted');
}

export interface ProblemFields {
  file: string;
  section: string;
  key: string;
  value: string | null;
  expected: string;
}

function fields(p: ConfigProblem): ProblemFields {
  return { file: p.file, section: p.section, key: p.key, value: p.value, expected: p.expected };
}
