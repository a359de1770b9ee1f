import { describe, expect, it } from 'bun:test';
import { parseStatement, type InsertShape, type SqlDialect } from '../../../../src/core/sql/index.ts';

function shapeOf(sql: string, dialect: SqlDialect = 'mysql'): InsertShape | null {
  return parseStatement(sql, dialect).insertShape;
}

function tupleOf(sql: string, dialect: SqlDialect = 'mysql'): string {
  const shape = shapeOf(sql, dialect);
  if (shape === null) throw new Error(`no shape for ${sql}`);
  return sql.slice(shape.valuesStart, shape.valuesEnd);
}

describe('core/sql insert shape', () => {
  it('gives table, columns and the span of the single tuple', () => {
    const sql = "INSERT INTO t (a, b) VALUES (1, 'x')";
    expect(shapeOf(sql)).toEqual({
      table: 't',
      columns: ['a', 'b'],
      valuesStart: sql.indexOf("(1, 'x')"),
      valuesEnd: sql.length,
      rowCount: 1,
      firstRow: [
        { start: sql.indexOf('1,'), end: sql.indexOf('1,') + 1, kind: 'integer', paramIndex: -1 },
        { start: sql.indexOf("'x'"), end: sql.indexOf("'x'") + 3, kind: 'expression', paramIndex: -1 },
      ],
      isIgnore: false,
      hasOnDuplicateKeyUpdate: false,
      hasReturning: false,
      hasSelect: false,
      hasTrailingClause: false,
    });
  });

  it("tells the first tuple's values that generate an AUTO_INCREMENT id from the rest", () => {
    const kinds = (sql: string): string[] => shapeOf(sql)!.firstRow.map((v) => v.kind);
    expect(kinds('INSERT INTO t (id, a, b, c) VALUES (NULL, DEFAULT, 0, ?)')).toEqual(['null', 'default', 'zero', 'placeholder']);
    expect(kinds("INSERT INTO t (id, a, b, c, d) VALUES ('0', 0.0, 00, -0, null)")).toEqual(['expression', 'expression', 'zero', 'expression', 'null']);
    expect(kinds('INSERT INTO t (a, b, c, d, e) VALUES (42, 1e3, 0x1F, 7.5, -3)')).toEqual(['integer', 'expression', 'expression', 'expression', 'expression']);
    expect(kinds('INSERT INTO t (id, a) VALUES (/* c */ NULL /* d */, (0))')).toEqual(['null', 'expression']);
    expect(kinds('INSERT INTO t (id, a) VALUES (/*!50000 0 */, 1), (NULL, 2)')).toEqual(['expression', 'integer']);
    expect(kinds('INSERT INTO t (a, b) VALUES (f(1, 2), ? + 1)')).toEqual(['expression', 'expression']);
  });

  it('spans each value of the first tuple and numbers its placeholders', () => {
    const sql = 'INSERT INTO t (a, b, c) VALUES (?, f(?, 1), ?), (?, ?, ?)';
    const row = shapeOf(sql)!.firstRow;
    expect(row.map((v) => sql.slice(v.start, v.end))).toEqual(['?', 'f(?, 1)', '?']);
    expect(row[0]!.paramIndex).toBe(0);
    expect(row[2]!.paramIndex).toBe(2);
  });

  it('unquotes the table and columns and keeps db.table', () => {
    expect(shapeOf('INSERT INTO `db`.`my t` (`a``b`, c) VALUES (1, 2)')).toMatchObject({ table: 'db.my t', columns: ['a`b', 'c'] });
    expect(shapeOf('INSERT INTO "Sch"."T" ("A") VALUES (1)', 'postgres')).toMatchObject({ table: 'Sch.T', columns: ['A'] });
    expect(shapeOf('INSERT INTO db.t (a) VALUES (1)')).toMatchObject({ table: 'db.t' });
  });

  it('gives null columns when there is no column list, and an empty list for ()', () => {
    expect(shapeOf('INSERT INTO t VALUES (1)')?.columns).toBeNull();
    expect(shapeOf('INSERT INTO t () VALUES ()')?.columns).toEqual([]);
  });

  it('finds the tuple through strings, comments and nested parentheses', () => {
    expect(tupleOf("INSERT INTO t (a, b) VALUES ('a)(', /* ) */ f(1, (2)))")).toBe("('a)(', /* ) */ f(1, (2)))");
    expect(tupleOf('INSERT INTO t (a) VALUES ($$)$$)', 'postgres')).toBe('($$)$$)');
  });

  it('keeps a trailing semicolon and comments out of the span and the trailing clause', () => {
    const sql = 'INSERT INTO t (a) VALUES (?) /* x */ ;';
    expect(tupleOf(sql)).toBe('(?)');
    expect(shapeOf(sql)?.hasTrailingClause).toBe(false);
  });

  it('counts rows and spans all of them', () => {
    const sql = 'INSERT INTO t (a) VALUES (1), (2),(3)';
    expect(shapeOf(sql)?.rowCount).toBe(3);
    expect(tupleOf(sql)).toBe('(1), (2),(3)');
  });

  it('flags IGNORE, upserts, RETURNING and trailing clauses', () => {
    expect(shapeOf('INSERT IGNORE INTO t (a) VALUES (1)')?.isIgnore).toBe(true);
    expect(shapeOf('INSERT LOW_PRIORITY IGNORE t (a) VALUES (1)')).toMatchObject({ isIgnore: true, table: 't' });
    expect(shapeOf('INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)')).toMatchObject({
      hasOnDuplicateKeyUpdate: true,
      hasTrailingClause: true,
    });
    expect(shapeOf('INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING', 'postgres')).toMatchObject({
      hasOnDuplicateKeyUpdate: true,
      hasTrailingClause: true,
    });
    expect(shapeOf('INSERT INTO t (a) VALUES (1) RETURNING id', 'postgres')).toMatchObject({ hasReturning: true, hasTrailingClause: true });
    expect(shapeOf('INSERT INTO t (a) VALUES (1) AS new ON DUPLICATE KEY UPDATE a = new.a')?.hasTrailingClause).toBe(true);
  });

  it('flags a SELECT inside a tuple', () => {
    expect(shapeOf('INSERT INTO t (a) VALUES ((SELECT max(a) FROM u))')?.hasSelect).toBe(true);
  });

  it('reads REPLACE and MySQL VALUE like INSERT ... VALUES', () => {
    expect(shapeOf('REPLACE INTO t (a) VALUES (1)')?.table).toBe('t');
    expect(shapeOf('INSERT INTO t (a) VALUE (1)')?.rowCount).toBe(1);
  });

  it('reads past PARTITION, a PostgreSQL alias and OVERRIDING', () => {
    expect(shapeOf('INSERT INTO t PARTITION (p0, p1) (a) VALUES (1)')).toMatchObject({ table: 't', columns: ['a'] });
    expect(shapeOf('INSERT INTO t AS x (a) OVERRIDING SYSTEM VALUE VALUES (1)', 'postgres')).toMatchObject({ table: 't', columns: ['a'] });
  });

  it('gives no shape for statements that are not plain INSERT ... VALUES', () => {
    for (const sql of [
      'INSERT INTO t (a) SELECT a FROM u',
      'INSERT INTO t SET a = 1',
      'INSERT INTO t VALUES ROW(1), ROW(2)',
      'INSERT INTO t (a) VALUES (1); SELECT 1',
      'INSERT INTO t (a) VALUES (1',
      'INSERT INTO t (a + 1) VALUES (1)',
      'INSERT INTO',
      'SET STATEMENT max_statement_time=1 FOR INSERT INTO t (a) VALUES (1)',
      'UPDATE t SET a = 1',
      'SELECT 1',
    ]) {
      expect(shapeOf(sql)).toBeNull();
    }
    expect(shapeOf('INSERT INTO t DEFAULT VALUES', 'postgres')).toBeNull();
    expect(shapeOf('WITH s AS (SELECT 1) INSERT INTO t (a) VALUES (1)', 'postgres')).toBeNull();
  });

  it('lets a batcher rebuild a multi-row INSERT from the prefix and the tuples', () => {
    const members = ['INSERT INTO t (a, b) VALUES (1, 2)', "insert  into t (a, b) values ('x', NULL) ;"];
    const first = members[0] as string;
    const shapes = members.map((sql) => shapeOf(sql) as InsertShape);
    const merged =
      first.slice(0, shapes[0]?.valuesStart) + members.map((sql, i) => sql.slice(shapes[i]?.valuesStart, shapes[i]?.valuesEnd)).join(', ');
    expect(merged).toBe("INSERT INTO t (a, b) VALUES (1, 2), ('x', NULL)");
    expect(parseStatement(merged, 'mysql').insertShape?.rowCount).toBe(2);
  });
});
