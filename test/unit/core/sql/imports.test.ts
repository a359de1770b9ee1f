import { describe, expect, it } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const SQL_DIR = resolve(import.meta.dir, '../../../../src/core/sql');

describe('core/sql imports', () => {
  it('imports nothing from the protocol front ends', () => {
    const files = readdirSync(SQL_DIR).filter((name) => name.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const source = readFileSync(join(SQL_DIR, name), 'utf8');
      const specifiers = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);
      for (const specifier of specifiers) {
        expect(specifier, `${name} imports ${specifier}`).toStartWith('./');
      }
    }
  });
});
