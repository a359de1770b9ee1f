import { describe, expect, it } from 'bun:test';
import { parseStatement, type DeleteShape } from '../../../../src/core/sql/index.ts';

function shapeOf(sql: string): DeleteShape | null {
  return parseStatement(sql, 'mysql').deleteShape;
}

describe('core/sql delete shape', () => {
  it('reads a DELETE by one key: table, column and the value span', () => {
    const sql = 'DELETE FROM sbtest1 WHERE id=?';
    expect(shapeOf(sql)).toEqual({ table: 'sbtest1', column: 'id', operatorStart: sql.indexOf('='), valueStart: sql.length - 1, valueEnd: sql.length, valueKind: 'placeholder' });
    const text = 'DELETE FROM `db`.`t` WHERE `id` = 42;';
    expect(shapeOf(text)).toEqual({ table: 'db.t', column: 'id', operatorStart: text.indexOf('='), valueStart: text.indexOf('42'), valueEnd: text.indexOf('42') + 2, valueKind: 'integer' });
  });

  it('passes over comments, hints included', () => {
    expect(shapeOf('/* batch:5 */ DELETE /* x */ FROM t WHERE id = 7 -- done')?.valueKind).toBe('integer');
  });

  it('refuses anything whose per-row results could not be read back from the keys removed', () => {
    for (const sql of [
      'DELETE FROM t WHERE id = 1 AND v = 2',
      'DELETE FROM t WHERE id = 1 LIMIT 1',
      'DELETE FROM t WHERE id = 1 ORDER BY id',
      'DELETE FROM t WHERE id = 1 RETURNING id',
      'DELETE FROM t WHERE id IN (1, 2)',
      'DELETE FROM t WHERE id > 1',
      "DELETE FROM t WHERE id = '1'",
      'DELETE FROM t WHERE id = 1.5',
      'DELETE FROM t WHERE id = -1',
      'DELETE FROM t WHERE id = 0x10',
      'DELETE FROM t WHERE t.id = 1',
      'DELETE LOW_PRIORITY FROM t WHERE id = 1',
      'DELETE FROM t',
      'DELETE t FROM t JOIN u ON t.id = u.id WHERE t.id = 1',
      'DELETE FROM t USING t WHERE id = 1',
      'DELETE FROM t WHERE id = 1; DELETE FROM t WHERE id = 2',
      'DELETE FROM t WHERE id = /*!50000 1 */',
      'UPDATE t SET v = 1 WHERE id = 1',
    ]) {
      expect({ sql, shape: shapeOf(sql) }).toEqual({ sql, shape: null });
    }
  });

  it('never throws on mangled input', () => {
    const base = 'DELETE FROM t WHERE id = ?';
    for (let cut = 0; cut <= base.length; cut++) expect(() => shapeOf(base.slice(0, cut))).not.toThrow();
  });
});
