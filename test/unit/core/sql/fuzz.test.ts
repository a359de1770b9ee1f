import { describe, expect, it } from 'bun:test';
import { parseStatement, STATEMENT_KINDS, type SqlDialect, type Statement } from '../../../../src/core/sql/index.ts';
import { withSeed, type Prng } from './random.ts';

const DIALECTS: SqlDialect[] = ['mysql', 'postgres'];
/** Generous: a loaded CI machine must not turn a pass into a timeout. This is not a timing assertion. */
const FUZZ_TIMEOUT_MS = 120_000;
const KINDS = new Set<string>(STATEMENT_KINDS);

const CORPUS = [
  "/* ttl:60 file:user.go line:42 */ SELECT u.id, u.name FROM users u WHERE u.id = ? AND u.email = 'a@b.c';",
  "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y') ON DUPLICATE KEY UPDATE a = VALUES(a)",
  'INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO NOTHING RETURNING id',
  'UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = -5 WHERE t2.b IN (SELECT b FROM u FOR UPDATE)',
  'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) DELETE FROM t WHERE id IN (SELECT n FROM r)',
  "SET NAMES utf8mb4 COLLATE 'utf8mb4_bin', autocommit = 0",
  "/*!40101 SET @OLD=@@CHARACTER_SET_CLIENT */; /*M!100100 SELECT 1 */ -- done\n# more",
  "SELECT $tag$ a ; b $tag$, E'c\\'d', $$e$$, \"Q\"\"x\" FROM s.t /* a /* nested */ b */",
  'CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END',
  'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY',
  'ROLLBACK TO SAVEPOINT `a b`',
  "COPY (SELECT * FROM t) TO STDOUT WITH (FORMAT csv, DELIMITER ';')",
  "LOAD DATA LOCAL INFILE '/tmp/x' REPLACE INTO TABLE db.t",
  "SELECT a INTO @x FROM t LOCK IN SHARE MODE; SELECT LAST_INSERT_ID()",
  'EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1',
  'INSERT INTO `db`.`t` PARTITION (p0) (`a`, b) VALUE (X\'0A\', 0x1F)',
];

/** Characters that drive the scanner's decisions, over-weighted in random input. */
const SPECIAL = ["'", '"', '`', '$', '/', '*', '-', '#', ';', '(', ')', '@', ':', '?', '\\', '.', '!', 'M', 'E', 'x', '\n', ' ', '0'];
const FRAGMENTS = ['/*', '*/', '/*!', '--', '-- ', '$$', '$a$', "''", '\\\'', 'SELECT', 'INSERT INTO', 'VALUES (', ';', 'WITH x AS (', ' ttl:', 'FOR UPDATE', '@@', 'E\''];

function randomBytes(random: Prng): string {
  const length = random.int(96);
  let out = '';
  for (let i = 0; i < length; i++) {
    out += random.chance(0.4) ? random.pick(SPECIAL) : String.fromCharCode(random.int(256));
  }
  if (random.chance(0.05)) out += String.fromCharCode(0xd800 + random.int(0x800)); // lone surrogate
  return out;
}

function mutate(random: Prng, sql: string): string {
  let out = sql;
  const rounds = 1 + random.int(4);
  for (let i = 0; i < rounds; i++) {
    const at = random.int(out.length + 1);
    switch (random.int(5)) {
      case 0:
        out = out.slice(0, at) + random.pick(FRAGMENTS) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + random.int(8));
        break;
      case 2:
        out = out.slice(0, at) + random.pick(SPECIAL) + out.slice(at + 1);
        break;
      case 3:
        out = out.slice(0, at);
        break;
      default:
        out = out.slice(0, at) + out.slice(random.int(out.length));
    }
  }
  return out;
}

/** Every entry point of the statement, checked for sane results. */
function exercise(sql: string, dialect: SqlDialect): Statement {
  const st = parseStatement(sql, dialect);
  if (!KINDS.has(st.kind)) throw new Error(`unknown kind ${st.kind}`);
  st.isWritable();
  st.isBatchable();
  st.isCacheable();
  if (typeof st.batchKey() !== 'string') throw new Error('batch key is not a string');
  const text = st.cacheText();
  if (parseStatement(text, dialect).cacheText() !== text) throw new Error(`cache text is not idempotent: ${JSON.stringify(text)}`);
  const { read, written } = st.tables;
  for (const name of [...read, ...written]) if (typeof name !== 'string') throw new Error('table name is not a string');
  void st.isInsertSelect;
  const shape = st.insertShape;
  if (shape !== null) {
    if (sql[shape.valuesStart] !== '(' || sql[shape.valuesEnd - 1] !== ')' || shape.valuesEnd <= shape.valuesStart) {
      throw new Error(`bad tuple span ${shape.valuesStart}..${shape.valuesEnd}`);
    }
  }
  return st;
}

function check(sql: string, dialect: SqlDialect): void {
  try {
    exercise(sql, dialect);
  } catch (error) {
    throw new Error(`${dialect}: ${JSON.stringify(sql)}: ${String(error)}`);
  }
}

/**
 * Counts the characters the reader looks at: every charCodeAt call, and the
 * span every indexOf call searches. A linear reader's count grows linearly.
 */
function charVisits(run: () => void): number {
  const proto = String.prototype;
  const charCodeAt = proto.charCodeAt;
  const indexOf = proto.indexOf;
  let visits = 0;
  proto.charCodeAt = function (this: string, index: number): number {
    visits++;
    return charCodeAt.call(this, index);
  };
  proto.indexOf = function (this: string, search: string, from?: number): number {
    const found = indexOf.call(this, search, from);
    visits += (found < 0 ? this.length : found + search.length) - (from ?? 0);
    return found;
  };
  try {
    run();
  } finally {
    proto.charCodeAt = charCodeAt;
    proto.indexOf = indexOf;
  }
  return visits;
}

/** Inputs built to trip quadratic behaviour: unterminated and repeated openers. */
const PATHOLOGICAL: ((n: number) => string)[] = [
  (n) => "'".repeat(n),
  (n) => "a'".repeat(n / 2),
  (n) => '"\\'.repeat(n / 2),
  (n) => '/*'.repeat(n / 2),
  (n) => '/* ttl:1 '.repeat(n / 9),
  (n) => '--'.repeat(n / 2),
  (n) => '$a'.repeat(n / 2),
  (n) => '$a$' + '$a'.repeat(n / 2),
  (n) => '$'.repeat(n),
  (n) => '`'.repeat(n),
  (n) => '('.repeat(n),
  (n) => 'SELECT ('.repeat(n / 8),
  (n) => 'WITH a AS ('.repeat(n / 11),
  (n) => 'INSERT INTO t VALUES ('.repeat(n / 22),
  (n) => 'SET a = 1, '.repeat(n / 11),
  (n) => '@'.repeat(n),
  (n) => 'x.'.repeat(n / 2),
  (n) => '/*!'.repeat(n / 3),
  (n) => ';'.repeat(n),
  (n) => 'a '.repeat(n / 2),
];

describe('core/sql fuzz', () => {
  it('never throws on 100,000 random byte strings', () => {
    withSeed('random bytes fuzz', (random) => {
      for (let i = 0; i < 100_000; i++) check(randomBytes(random), DIALECTS[i & 1] as SqlDialect);
    });
  }, FUZZ_TIMEOUT_MS);

  it('never throws on 100,000 mutated statements', () => {
    withSeed('mutated SQL fuzz', (random) => {
      for (let i = 0; i < 100_000; i++) check(mutate(random, random.pick(CORPUS)), DIALECTS[i & 1] as SqlDialect);
    });
  }, FUZZ_TIMEOUT_MS);

  it('looks at each character a bounded number of times, at 10k and 100k characters alike', () => {
    for (const build of PATHOLOGICAL) {
      for (const dialect of DIALECTS) {
        const small = build(10_000);
        const large = build(100_000);
        const smallVisits = charVisits(() => exercise(small, dialect));
        const largeVisits = charVisits(() => exercise(large, dialect));
        const context = `${dialect}: ${JSON.stringify(small.slice(0, 24))}...`;
        // Linear: ten times the text costs about ten times the visits, and a few visits per character.
        expect(largeVisits, context).toBeLessThanOrEqual(smallVisits * 12 + 1000);
        expect(largeVisits, context).toBeLessThanOrEqual(large.length * 40 + 1000);
      }
    }
  }, FUZZ_TIMEOUT_MS);
});
