import { describe, expect, it } from 'bun:test';
import { parseStatement, type SqlDialect } from '../../../../src/core/sql/index.ts';
import { withSeed, type Prng } from './random.ts';

/** Statements as token lists: separators are inserted only between tokens, never inside one. */
const TOKENIZED: { dialect: SqlDialect; tokens: string[] }[] = [
  { dialect: 'mysql', tokens: ['INSERT', 'INTO', 't', '(', 'a', ',', 'b', ')', 'VALUES', '(', '1', ',', "'x'", ')'] },
  { dialect: 'mysql', tokens: ['SELECT', '*', 'FROM', 'users', 'WHERE', 'id', '=', '?', 'AND', 'name', '=', "'bob'", 'FOR', 'UPDATE'] },
  { dialect: 'mysql', tokens: ['UPDATE', 't', 'SET', 'a', '=', 'a', '+', '1', 'WHERE', 'id', 'IN', '(', '1', ',', '2', ')'] },
  { dialect: 'mysql', tokens: ['DELETE', 'FROM', '`t`', 'WHERE', 'x', '<', '5', 'LIMIT', '10'] },
  { dialect: 'mysql', tokens: ['REPLACE', 'INTO', 't', 'VALUES', '(', 'NULL', ',', '-', '5', ')', ';'] },
  { dialect: 'mysql', tokens: ['SET', 'autocommit', '=', '0'] },
  { dialect: 'mysql', tokens: ['START', 'TRANSACTION', 'READ', 'ONLY'] },
  { dialect: 'mysql', tokens: ['SELECT', 'a', 'INTO', '@v', 'FROM', 't'] },
  { dialect: 'mysql', tokens: ['WITH', 'x', 'AS', '(', 'SELECT', '1', ')', 'DELETE', 'FROM', 't', 'WHERE', 'id', 'IN', '(', 'SELECT', '*', 'FROM', 'x', ')'] },
  { dialect: 'mysql', tokens: ['LOAD', 'DATA', 'INFILE', "'f'", 'INTO', 'TABLE', 't'] },
  { dialect: 'mysql', tokens: ['USE', '`db`'] },
  { dialect: 'postgres', tokens: ['INSERT', 'INTO', 't', '(', 'a', ')', 'VALUES', '(', '$1', ')', 'RETURNING', 'id'] },
  { dialect: 'postgres', tokens: ['SELECT', '$$a;b$$', '::', 'text', ',', "E'\\''", 'FROM', '"T"'] },
  { dialect: 'postgres', tokens: ['COPY', 't', 'FROM', 'STDIN'] },
  { dialect: 'postgres', tokens: ['BEGIN', 'ISOLATION', 'LEVEL', 'SERIALIZABLE'] },
  { dialect: 'postgres', tokens: ['EXPLAIN', 'ANALYZE', 'UPDATE', 't', 'SET', 'a', '=', '2'] },
  { dialect: 'postgres', tokens: ['WITH', 'd', 'AS', '(', 'DELETE', 'FROM', 't', 'RETURNING', '*', ')', 'SELECT', '*', 'FROM', 'd'] },
  { dialect: 'postgres', tokens: ['ROLLBACK', 'TO', 'SAVEPOINT', 'sp'] },
];

const isWordLike = (token: string): boolean => /^[\w$@?:'"`]/.test(token);

function separator(random: Prng, dialect: SqlDialect, canBeEmpty: boolean): string {
  const choices = [' ', '\n', '\t  ', '/* c */', ' /* ttl:5 file:x.go */ ', ' -- c\n', '/**/', '\r\n'];
  if (dialect === 'mysql') choices.push(' # c\n');
  else choices.push('/* a /* nested */ b */');
  if (canBeEmpty) choices.push('', '', '');
  let out = random.pick(choices);
  while (random.chance(0.2)) out += random.pick(choices.filter((s) => s !== ''));
  return out;
}

function relayout(random: Prng, dialect: SqlDialect, tokens: string[]): string {
  let out = random.chance(0.3) ? separator(random, dialect, true) : '';
  tokens.forEach((token, i) => {
    if (i > 0) {
      const previous = tokens[i - 1] as string;
      out += separator(random, dialect, !(isWordLike(previous) && isWordLike(token)));
    }
    out += token;
  });
  if (random.chance(0.3)) out += separator(random, dialect, true);
  return out;
}

function randomString(random: Prng, dialect: SqlDialect): string {
  const alphabet = ['a', 'Z', ' ', ';', '*/', '/*', '--', '#', '$', '"', '`', '\n', 'é', '😀', '?', ':x', '(', ')'];
  let content = '';
  const length = random.int(8);
  for (let i = 0; i < length; i++) content += random.pick(alphabet);
  const quoted = (escapeQuote: string): string => `'${content.replaceAll("'", escapeQuote)}'`;
  const withQuote = content + (random.chance(0.5) ? "'" : '');
  if (dialect === 'mysql') {
    switch (random.int(5)) {
      case 0:
        return `'${withQuote.replaceAll("'", "''")}'`;
      case 1:
        return `'${withQuote.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
      case 2:
        return `"${content.replaceAll('"', '""')}"`;
      case 3:
        return `N${quoted("''")}`;
      default:
        return `X'${random.int(0xffff).toString(16).padStart(4, '0')}'`;
    }
  }
  switch (random.int(4)) {
    case 0:
      return `'${withQuote.replaceAll("'", "''")}'`;
    case 1:
      return `E'${withQuote.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
    case 2:
      return `$q$${content.replaceAll('$q$', '')}$q$`;
    default:
      return `$$${content.replaceAll('$', '')}$$`;
  }
}

function randomNumber(random: Prng, dialect: SqlDialect): string {
  const sign = random.chance(0.3) ? '-' : random.chance(0.1) ? '+' : '';
  switch (random.int(4)) {
    case 0:
      return sign + String(random.int(1_000_000));
    case 1:
      return `${sign}${random.int(1000)}.${random.int(1000)}`;
    case 2:
      return `${sign}${random.int(10)}e${random.chance(0.5) ? '-' : ''}${random.int(30)}`;
    default:
      return dialect === 'mysql' ? `0x${random.int(0xffff).toString(16)}` : `${sign}.${random.int(100)}`;
  }
}

function randomValue(random: Prng, dialect: SqlDialect, slot: string): string {
  if (slot === 'n') return randomNumber(random, dialect);
  if (slot === 's') return randomString(random, dialect);
  switch (random.int(6)) {
    case 0:
      return 'NULL';
    case 1:
      return random.chance(0.5) ? 'TRUE' : 'false';
    case 2:
      return dialect === 'mysql' ? '?' : `$${1 + random.int(9)}`;
    case 3:
      return randomNumber(random, dialect);
    default:
      return randomString(random, dialect);
  }
}

/** Templates whose {n} {s} {v} slots take a number, a string, or any literal. */
const TEMPLATES: { dialect: SqlDialect; template: string }[] = [
  { dialect: 'mysql', template: 'INSERT INTO t (a, b, c) VALUES ({v}, {v}, {v})' },
  { dialect: 'mysql', template: '/* file:w.go line:9 */ INSERT IGNORE INTO `log` (`at`, msg) VALUES ({n}, {s}) ON DUPLICATE KEY UPDATE n = n + {n}' },
  { dialect: 'mysql', template: 'UPDATE t SET a = {v}, b = {v} WHERE id = {n} AND c > {n}' },
  { dialect: 'mysql', template: 'DELETE FROM t WHERE a IN ({v}, {v}) LIMIT {n}' },
  { dialect: 'mysql', template: 'SELECT * FROM t WHERE a = {s} OR b BETWEEN {n} AND {n};' },
  { dialect: 'postgres', template: 'INSERT INTO t (a, b) VALUES ({v}, {v}) RETURNING id' },
  { dialect: 'postgres', template: 'UPDATE t SET a = {v}, b = {s}::text WHERE id = {n}' },
  { dialect: 'postgres', template: 'SELECT * FROM t WHERE a = ANY(ARRAY[{n}, {n}]) AND b <> {s}' },
];

function fill(random: Prng, dialect: SqlDialect, template: string): string {
  return template.replace(/\{([nsv])\}/g, (_match, slot: string) => randomValue(random, dialect, slot));
}

describe('core/sql properties', () => {
  it('keeps kind, batch key and flags when comments and whitespace are inserted between tokens', () => {
    withSeed('relayout property', (random) => {
      for (const { dialect, tokens } of TOKENIZED) {
        const base = parseStatement(tokens.join(' '), dialect);
        for (let i = 0; i < 300; i++) {
          const sql = relayout(random, dialect, tokens);
          const st = parseStatement(sql, dialect);
          const context = `${dialect}: ${JSON.stringify(sql)}`;
          expect(st.kind, context).toBe(base.kind);
          expect(st.batchKey(), context).toBe(base.batchKey());
          expect(st.isMultiStatement, context).toBe(base.isMultiStatement);
          expect(st.isWritable(), context).toBe(base.isWritable());
          expect(st.hasLockingRead, context).toBe(base.hasLockingRead);
          expect(st.hasSessionDependentRef, context).toBe(base.hasSessionDependentRef);
          expect(st.setTarget, context).toBe(base.setTarget);
        }
      }
    });
  });

  it('keeps the batch key and the kind whatever the literal values', () => {
    withSeed('literal property', (random) => {
      for (const { dialect, template } of TEMPLATES) {
        const base = parseStatement(fill(random, dialect, template), dialect);
        for (let i = 0; i < 500; i++) {
          const sql = fill(random, dialect, template);
          const st = parseStatement(sql, dialect);
          const context = `${dialect}: ${JSON.stringify(sql)}`;
          expect(st.kind, context).toBe(base.kind);
          expect(st.batchKey(), context).toBe(base.batchKey());
          expect(st.isMultiStatement, context).toBe(false);
          expect(st.insertShape?.rowCount, context).toBe(base.insertShape?.rowCount);
        }
      }
    });
  });

  it('gives statements with different literal values different cache texts', () => {
    withSeed('cache text property', (random) => {
      for (const { dialect, template } of TEMPLATES) {
        for (let i = 0; i < 200; i++) {
          const a = fill(random, dialect, template);
          const b = fill(random, dialect, template);
          if (a === b) continue;
          expect(parseStatement(a, dialect).cacheText(), `${a} vs ${b}`).not.toBe(parseStatement(b, dialect).cacheText());
        }
      }
    });
  });
});
