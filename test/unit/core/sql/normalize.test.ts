import { describe, expect, it } from 'bun:test';
import { parseStatement, type SqlDialect } from '../../../../src/core/sql/index.ts';

const key = (sql: string, dialect: SqlDialect = 'mysql'): string => parseStatement(sql, dialect).batchKey();
const text = (sql: string, dialect: SqlDialect = 'mysql'): string => parseStatement(sql, dialect).cacheText();

describe('core/sql batch key', () => {
  it('gives INSERTs that differ only in their values the same key', () => {
    expect(key("INSERT INTO t (a,b) VALUES (1,'x')")).toBe(key("INSERT INTO t (a,b) VALUES (2,'y')"));
    expect(key("INSERT INTO t (a,b) VALUES (1,'x')")).toBe('INSERT INTO t(a,b)VALUES(?,?)');
  });

  it('replaces every kind of literal, placeholders included', () => {
    expect(key("SELECT 1, -2.5e3, 'a', \"b\", X'0A', 0x1F, b'01', N'n', NULL, TRUE, false, ?, :name")).toBe(
      'SELECT ?,?,?,?,?,?,?,?,?,?,?,?,?',
    );
    expect(key("SELECT $1, $$x$$, $t$y$t$, E'z', 'w'", 'postgres')).toBe('SELECT ?,?,?,?,?');
  });

  it('keeps NULL, TRUE and FALSE after IS and NOT', () => {
    expect(key('SELECT * FROM t WHERE a IS NULL AND b IS NOT TRUE')).toBe('SELECT*FROM t WHERE a IS NULL AND b IS NOT TRUE');
  });

  it('folds a sign into the number it precedes but keeps binary minus', () => {
    expect(key('UPDATE t SET a = -1 WHERE b = +2')).toBe(key('UPDATE t SET a = 1 WHERE b = 2'));
    expect(key('SELECT a - 1, a-1, (a) - 1')).toBe('SELECT a-?,a-?,(a)-?');
    expect(key('SELECT -a')).toBe('SELECT-a');
  });

  it('drops comments, hints included, and lays tokens out canonically', () => {
    const a = key('/* ttl:5 file:x.go */ UPDATE  t\n SET a=1 -- why\n WHERE id = 2;');
    expect(a).toBe('UPDATE t SET a=? WHERE id=?');
    expect(key('UPDATE t SET a = 7 WHERE id=(9)')).toBe('UPDATE t SET a=? WHERE id=(?)');
  });

  it('keeps quoted identifiers and variables, and executable comments as code', () => {
    expect(key('SELECT `a b`, @v, @@session.x FROM `t`')).toBe('SELECT `a b`,@v,@@session.x FROM `t`');
    expect(key('/*!40101 SET NAMES utf8 */')).toBe('/*!40101 SET NAMES utf8*/');
  });

  it('keeps separators between statements but not a trailing one', () => {
    expect(key('SELECT 1; SELECT 2;;')).toBe('SELECT ?;SELECT ?');
  });

  it('distinguishes different templates', () => {
    expect(key('INSERT INTO t (a) VALUES (1)')).not.toBe(key('INSERT INTO t (b) VALUES (1)'));
    expect(key('INSERT INTO t (a) VALUES (1)')).not.toBe(key('INSERT INTO t (a) VALUES (1), (2)'));
    expect(key('DELETE FROM t WHERE a = 1')).not.toBe(key('DELETE FROM u WHERE a = 1'));
  });

  it('is memoised', () => {
    const st = parseStatement('SELECT 1', 'mysql');
    expect(st.batchKey()).toBe(st.batchKey());
  });
});

describe('core/sql cache text', () => {
  it('removes hint comments and folds whitespace', () => {
    expect(text('/* ttl:60 file:a.go */ SELECT  *\n\tFROM t   WHERE a = 1')).toBe('SELECT * FROM t WHERE a = 1');
  });

  it('keeps literal values', () => {
    expect(text('SELECT * FROM t WHERE a = 1')).not.toBe(text('SELECT * FROM t WHERE a = 2'));
    expect(text("SELECT 'a  b'")).toBe("SELECT 'a  b'");
  });

  it('gives the same text whatever the hints', () => {
    expect(text('/* ttl:60 */ SELECT 1')).toBe(text('/* ttl:5 line:3 */SELECT 1'));
  });

  it('drops trailing semicolons and keeps separators between statements', () => {
    expect(text('SELECT 1 ; ')).toBe('SELECT 1');
    expect(text('SELECT 1; SELECT 2;')).toBe('SELECT 1; SELECT 2');
  });

  it('replaces a comment between two tokens by a space and keeps adjacent tokens adjacent', () => {
    expect(text('SELECT/**/1')).toBe('SELECT 1');
    expect(text('SELECT a<=b, a< =b')).toBe('SELECT a<=b, a< =b');
    expect(text('SELECT 1 -- x\nFROM t')).toBe('SELECT 1 FROM t');
  });

  it('keeps executable comments', () => {
    expect(text('/*!50000 SELECT */ 1')).toBe('/*!50000 SELECT */ 1');
  });

  it('returns the text itself when there is nothing to fold', () => {
    const sql = 'SELECT a, b FROM t WHERE c = 1';
    expect(text(sql)).toBe(sql);
  });

  it('is empty for a text of only comments', () => {
    expect(text('/* ttl:5 */ -- x')).toBe('');
  });

  it('is idempotent', () => {
    for (const sql of ['/* ttl:5 */  SELECT  1 ; ', 'SELECT/**/a -- x\n,b;;', "SELECT 'x'  /* y */ FROM\tt"]) {
      const once = text(sql);
      expect(text(once)).toBe(once);
    }
  });
});
