// The folder tree is the architecture: the core stays protocol-blind.
import { describe, expect, it } from 'bun:test';
import { Glob } from 'bun';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dir, '../../..');

function sources(pattern: string): string[] {
  return [...new Glob(pattern).scanSync({ cwd: root })].sort();
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

/** The src/ files a file's relative imports resolve to (type-only imports included: they tie modules too). */
function localImportsOf(file: string): string[] {
  return importsOf(file)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => resolve(root, dirname(file), spec).slice(root.length + 1));
}

/** Import cycles among src/ modules, each as the list of files in it (Tarjan's strongly connected components). */
function importCycles(): string[][] {
  const files = sources('src/**/*.ts');
  const known = new Set(files);
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    order.set(file, order.size);
    low.set(file, order.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const dep of localImportsOf(file)) {
      if (!known.has(dep)) continue;
      if (!order.has(dep)) {
        visit(dep);
        low.set(file, Math.min(low.get(file)!, low.get(dep)!));
      } else if (onStack.has(dep)) {
        low.set(file, Math.min(low.get(file)!, order.get(dep)!));
      }
    }
    if (low.get(file) !== order.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const file of files) if (!order.has(file)) visit(file);
  return cycles;
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

  it('lets src/core import only src/core, the neutral status rows and config types, and no package', () => {
    const offenders: string[] = [];
    for (const file of sources('src/core/**/*.ts')) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) {
          offenders.push(`${file} imports package ${spec}`);
          continue;
        }
        const target = resolve(root, dirname(file), spec).slice(root.length + 1);
        if (!target.startsWith('src/core/') && target !== 'src/admin/status.ts' && target !== 'src/config/types.ts') offenders.push(`${file} imports ${target}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('keeps each protocol folder free of the other protocol', () => {
    const offenders: string[] = [];
    for (const [own, other] of [['mysql', 'postgres'], ['postgres', 'mysql']] as const) {
      for (const file of sources(`src/${own}/**/*.ts`)) {
        for (const target of localImportsOf(file)) if (target.startsWith(`src/${other}/`)) offenders.push(`${file} imports ${target}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('has no import cycles in src/', () => {
    expect(importCycles()).toEqual([]);
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
