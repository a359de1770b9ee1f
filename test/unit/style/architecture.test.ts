// The folder tree is the architecture: the core stays protocol-blind.
import { describe, expect, it } from 'bun:test';
import { Glob } from 'bun';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dir, '../../..');

function sources(pattern: string): string[] {
  return [...new Glob(pattern).scanSync({ cwd: root })].sort();
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

describe('architecture', () => {
  it('keeps src/core free of protocol front ends, sockets and metrics', () => {
    const offenders: string[] = [];
    for (const file of sources('src/core/**/*.ts')) {
      for (const spec of importsOf(file)) {
        if (/\/(mysql|postgres|net|metrics)\//.test(spec) || spec === 'bun' || spec.startsWith('node:net')) offenders.push(`${file} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('keeps the wire codec free of connection and core logic', () => {
    const offenders: string[] = [];
    for (const file of sources('src/{mysql,postgres}/wire/**/*.ts')) {
      for (const spec of importsOf(file)) {
        if (/frontend|backend|batch|cache|proxy/.test(spec)) offenders.push(`${file} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

describe('source conventions', () => {
  // This file spells the patterns it looks for.
  const files = sources('{src,test,bench}/**/*.ts').filter((f) => !f.endsWith('style/architecture.test.ts'));

  it('has no `any` types, no `const enum` and no tabs', () => {
    const offenders: string[] = [];
    for (const file of files) {
      readFileSync(join(root, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const code = line.replace(/\/\/.*$/, '').replace(/'[^']*'|"[^"]*"|`[^`]*`/g, '""');
          if (/:\s*any\b|<any>|\bas any\b/.test(code)) offenders.push(`${file}:${i + 1} uses any`);
          if (/\bconst enum\b/.test(code)) offenders.push(`${file}:${i + 1} uses const enum`);
          if (line.includes('\t')) offenders.push(`${file}:${i + 1} has a tab`);
          if (/\s+$/.test(line)) offenders.push(`${file}:${i + 1} has trailing whitespace`);
        });
    }
    expect(offenders).toEqual([]);
  });
});
