import { describe, expect, it } from 'bun:test';
import { parseStatement, type SqlDialect } from '../../../../src/core/sql/index.ts';

function tables(sql: string, dialect: SqlDialect = 'mysql') {
  const { read, written } = parseStatement(sql, dialect).tables;
  return { read: [...read], written: [...written] };
}

describe('core/sql tables', () => {
  it('reads FROM and JOIN tables of a SELECT', () => {
    expect(tables('SELECT * FROM a JOIN b ON a.id = b.id LEFT JOIN c USING (id), d WHERE x = 1')).toEqual({
      read: ['a', 'b', 'c', 'd'],
      written: [],
    });
  });

  it('reads qualified and quoted names unquoted', () => {
    expect(tables('SELECT * FROM `db`.`my t` AS x, db2.u y')).toEqual({ read: ['db.my t', 'db2.u'], written: [] });
  });

  it('folds unquoted PostgreSQL names to lower case, as the server does', () => {
    expect(tables('SELECT * FROM Public.Users, "Mixed"', 'postgres')).toEqual({ read: ['public.users', 'Mixed'], written: [] });
  });

  it('reads tables of subqueries and leaves CTE names out', () => {
    expect(tables('WITH x AS (SELECT * FROM a) SELECT * FROM x WHERE id IN (SELECT id FROM b)')).toEqual({
      read: ['a', 'b'],
      written: [],
    });
    expect(tables('SELECT * FROM (SELECT * FROM a) s JOIN (b JOIN c ON 1) ON 1')).toEqual({ read: ['a', 'b', 'c'], written: [] });
  });

  it('leaves out FROM inside function arguments, table functions and DUAL', () => {
    expect(tables('SELECT EXTRACT(YEAR FROM d), TRIM(x FROM y) FROM t, generate_series(1, 3) g', 'postgres')).toEqual({
      read: ['t'],
      written: [],
    });
    expect(tables('SELECT 1 FROM DUAL')).toEqual({ read: [], written: [] });
  });

  it('writes the INSERT target and reads its source', () => {
    expect(tables('INSERT INTO t (a) SELECT a FROM u JOIN v ON 1')).toEqual({ read: ['u', 'v'], written: ['t'] });
    expect(tables('INSERT IGNORE t VALUES (1)')).toEqual({ read: [], written: ['t'] });
    expect(tables('REPLACE INTO db.t (a) VALUES (1)')).toEqual({ read: [], written: ['db.t'] });
  });

  it('does not mistake REPLACE() for a statement', () => {
    expect(tables("SELECT REPLACE(a, 'x', 'y') FROM t")).toEqual({ read: ['t'], written: [] });
  });

  it('writes every UPDATE target and reads the rest', () => {
    expect(tables('UPDATE t SET a = (SELECT max(b) FROM u)')).toEqual({ read: ['u'], written: ['t'] });
    expect(tables('UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = 1')).toEqual({ read: [], written: ['t1', 't2'] });
    expect(tables('UPDATE ONLY t SET a = 1 FROM u WHERE t.id = u.id', 'postgres')).toEqual({ read: ['u'], written: ['t'] });
  });

  it('writes DELETE targets', () => {
    expect(tables('DELETE FROM t WHERE id IN (SELECT id FROM u)')).toEqual({ read: ['u'], written: ['t'] });
    expect(tables('DELETE a FROM t1 AS a JOIN t2 ON a.id = t2.id')).toEqual({ read: [], written: ['t1', 't2'] });
    expect(tables('DELETE FROM t USING u WHERE t.id = u.id', 'postgres')).toEqual({ read: ['u'], written: ['t'] });
  });

  it('does not take FOR UPDATE, ON UPDATE or ON DUPLICATE KEY UPDATE for writes', () => {
    expect(tables('SELECT * FROM t FOR UPDATE')).toEqual({ read: ['t'], written: [] });
    expect(tables('INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = 2, b = 3')).toEqual({ read: [], written: ['t'] });
  });

  it('writes tables named by DDL', () => {
    expect(tables('CREATE TABLE IF NOT EXISTS t (a INT)')).toEqual({ read: [], written: ['t'] });
    expect(tables('DROP TABLE IF EXISTS a, b')).toEqual({ read: [], written: ['a', 'b'] });
    expect(tables('ALTER TABLE t ADD COLUMN b INT, ADD COLUMN c INT')).toEqual({ read: [], written: ['t'] });
    expect(tables('TRUNCATE TABLE t')).toEqual({ read: [], written: ['t'] });
    expect(tables('TRUNCATE a, b', 'postgres')).toEqual({ read: [], written: ['a', 'b'] });
    expect(tables('RENAME TABLE a TO b, c TO d')).toEqual({ read: [], written: ['a', 'b', 'c', 'd'] });
    expect(tables('CREATE TABLE t AS SELECT * FROM u')).toEqual({ read: ['u'], written: ['t'] });
  });

  it('writes the LOAD DATA target and reads or writes the COPY table', () => {
    expect(tables("LOAD DATA INFILE 'f' INTO TABLE t")).toEqual({ read: [], written: ['t'] });
    expect(tables('COPY t FROM STDIN', 'postgres')).toEqual({ read: [], written: ['t'] });
    expect(tables('COPY t TO STDOUT', 'postgres')).toEqual({ read: ['t'], written: [] });
    expect(tables('COPY (SELECT * FROM u) TO STDOUT', 'postgres')).toEqual({ read: ['u'], written: [] });
  });

  it('reads TABLE t and writes PostgreSQL SELECT INTO', () => {
    expect(tables('TABLE t')).toEqual({ read: ['t'], written: [] });
    expect(tables('SELECT * INTO TEMP n FROM t', 'postgres')).toEqual({ read: ['t'], written: ['n'] });
    expect(tables("SELECT * FROM t INTO OUTFILE '/tmp/x'")).toEqual({ read: ['t'], written: [] });
  });

  it('collects the tables of every statement, without duplicates', () => {
    expect(tables('SELECT * FROM a; UPDATE b SET x = 1; SELECT * FROM a')).toEqual({ read: ['a'], written: ['b'] });
  });

  it('is empty for statements without tables', () => {
    expect(tables('SELECT 1')).toEqual({ read: [], written: [] });
    expect(tables('SET autocommit = 0')).toEqual({ read: [], written: [] });
    expect(tables('')).toEqual({ read: [], written: [] });
  });
});
