import { afterAll, describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'ini';
import type { TObject, TSchema } from '@sinclair/typebox';
import {
  BUILT_IN_GROUP,
  groupSchema,
  keysOf,
  PROTOCOLS,
  protocolSchema,
  ProxySection,
} from '../../../src/config/schema.ts';
import type { Config } from '../../../src/config/types.ts';
import { IniFiles, load } from './helpers.ts';

const EXAMPLE_PATH = join(import.meta.dir, '..', '..', '..', 'config.example.ini');
const example = readFileSync(EXAMPLE_PATH, 'utf8');
/** The example with its switched-off settings (`# key = value`, `# [section]`) switched on. */
const enabled = example
  .split('\n')
  .map((line) => (/^# (\[|[a-z_]+ =)/.test(line) ? line.slice(2) : line))
  .join('\n');

const files = new IniFiles();
afterAll(() => files.cleanup());

type Section = Record<string, unknown>;
const parsed = decode(enabled) as Record<string, Section>;

/** The INI spelling of a schema default. */
function defaultText(schema: TSchema): string {
  const value: unknown = schema.default;
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** Values compared as the loader would read them: 1000.0 is 1000. */
function sameValue(schema: TSchema, written: unknown, expected: string): boolean {
  const text = String(written);
  if (schema.type === 'integer' || schema.type === 'number') return Number(text) === Number(expected);
  return text === expected;
}

function scalarKeys(section: Section): string[] {
  return Object.keys(section).filter((k) => typeof section[k] !== 'object');
}

function expectDocumented(name: string, schema: TObject, section: Section | undefined): void {
  expect(section, `[${name}] is missing from config.example.ini`).toBeDefined();
  const values = section as Section;
  expect(scalarKeys(values).sort()).toEqual(keysOf(schema).sort());
  for (const key of keysOf(schema)) {
    const keySchema = schema.properties[key] as TSchema;
    if (keySchema.default === undefined) continue;
    const expected = defaultText(keySchema);
    expect(sameValue(keySchema, values[key], expected), `[${name}] ${key} = ${String(values[key])}, default ${expected}`).toBe(true);
  }
}

describe('config.example.ini', () => {
  it('documents every [proxy] key with its default', () => {
    expectDocumented('proxy', ProxySection, parsed['proxy']);
  });

  for (const protocol of PROTOCOLS) {
    it(`documents every [${protocol}] key with its default`, () => {
      expectDocumented(protocol, protocolSchema(protocol), parsed[protocol]);
    });

    it(`documents every [${protocol}.<name>] key, with the built-in main group`, () => {
      const main = parsed[protocol]?.[BUILT_IN_GROUP[protocol].name] as Section | undefined;
      expectDocumented(`${protocol}.main`, groupSchema(protocol), main);
      expect(main?.['primary']).toBe(BUILT_IN_GROUP[protocol].primary);
    });
  }

  it('explains every key in a comment right above it', () => {
    const documented = new Set(['proxy', 'mariadb', 'mariadb.main', 'postgres', 'postgres.main']);
    const lines = enabled.split('\n');
    let section = '';
    lines.forEach((line, i) => {
      const header = /^\[(.+)\]$/.exec(line);
      if (header !== null) section = header[1];
      else if (documented.has(section) && /^[a-z_]+ =/.test(line)) {
        expect(lines[i - 1]?.startsWith(';'), `no comment above "${line}" in [${section}]`).toBe(true);
      }
    });
  });

  it('marks the keys that need a restart', () => {
    const restartKeys = ['metrics_listen', 'listen', 'socket'];
    const lines = enabled.split('\n');
    for (const key of restartKeys) {
      const at = lines.findIndex((line) => line.startsWith(`${key} =`));
      expect(lines[at - 1], `${key} is not marked (restart)`).toContain('(restart)');
    }
  });

  it('loads as shipped, as the built-in defaults', () => {
    const shipped: Config = { ...load(EXAMPLE_PATH), sourceFile: null };
    expect(shipped).toEqual(load(null));
  });

  it('loads with every switched-off setting switched on', () => {
    const config = load(files.write(enabled));
    expect(config.postgres?.listen.text).toBe('127.0.0.1:5433');
    expect([...config.mariadb.groups.keys()]).toEqual(['main', 'archive']);
  });
});
