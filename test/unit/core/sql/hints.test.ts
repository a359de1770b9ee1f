import { describe, expect, it } from 'bun:test';
import { HINT_LIMITS, parseStatement, type SqlDialect } from '../../../../src/core/sql/index.ts';

function hintsOf(sql: string, dialect: SqlDialect = 'mysql') {
  const st = parseStatement(sql, dialect);
  return { ...st.hints, warnings: st.hintWarnings };
}

const NONE = { ttlSeconds: null, batchMs: null, file: null, line: null, warnings: 0 };

describe('core/sql hints', () => {
  it('reads every known key, in any order', () => {
    const expected = { ttlSeconds: 60, batchMs: 5, file: 'user.go', line: 42, warnings: 0 };
    expect(hintsOf('/* ttl:60 batch:5 file:user.go line:42 */ SELECT 1')).toEqual(expected);
    expect(hintsOf('/* line:42 file:user.go batch:5 ttl:60 */ SELECT 1')).toEqual(expected);
    expect(hintsOf('/* file:user.go */ /* line:42 */ SELECT /* batch:5 */ 1 /* ttl:60 */')).toEqual(expected);
  });

  it('reads hints in both dialects', () => {
    expect(hintsOf('/* ttl:7 */ SELECT 1', 'postgres').ttlSeconds).toBe(7);
  });

  it('keeps the hints of a statement with a trailing semicolon', () => {
    expect(hintsOf('/* ttl:60 file:a.go */ SELECT 1;').ttlSeconds).toBe(60);
    expect(hintsOf('SELECT 1 /* ttl:60 */ ;\n').ttlSeconds).toBe(60);
  });

  it('accepts keys in any case and words separated by any whitespace', () => {
    expect(hintsOf('/*\tTTL:5\n\nFile:x.go */ SELECT 1')).toMatchObject({ ttlSeconds: 5, file: 'x.go' });
    expect(hintsOf('/*ttl:5*/SELECT 1').ttlSeconds).toBe(5);
  });

  it('ignores unknown keys in a hint comment', () => {
    expect(hintsOf('/* app:web ttl:5 trace:abc */ SELECT 1')).toEqual({ ...NONE, ttlSeconds: 5 });
  });

  it('does not treat a comment without a known key as a hint', () => {
    expect(hintsOf('/* see http://example.com/x */ SELECT 1')).toEqual(NONE);
    expect(hintsOf('/* plain words */ SELECT 1')).toEqual(NONE);
  });

  it('lets the first value of a repeated key win', () => {
    expect(hintsOf('/* ttl:10 ttl:20 */ SELECT 1').ttlSeconds).toBe(10);
    expect(hintsOf('/* ttl:10 */ SELECT /* ttl:20 */ 1').ttlSeconds).toBe(10);
  });

  it('ignores an invalid value with a warning and takes a later valid one', () => {
    expect(hintsOf('/* ttl:x ttl:5 */ SELECT 1')).toMatchObject({ ttlSeconds: 5, warnings: 1 });
  });

  it('ignores values out of range and counts a warning for each', () => {
    expect(hintsOf(`/* ttl:${HINT_LIMITS.maxTtlSeconds + 1} */ SELECT 1`)).toEqual({ ...NONE, warnings: 1 });
    expect(hintsOf(`/* batch:${HINT_LIMITS.maxBatchMs + 1} */ SELECT 1`)).toEqual({ ...NONE, warnings: 1 });
    expect(hintsOf('/* line:99999999999999 */ SELECT 1')).toEqual({ ...NONE, warnings: 1 });
    expect(hintsOf(`/* file:${'f'.repeat(HINT_LIMITS.maxFileLength + 1)} */ SELECT 1`)).toEqual({ ...NONE, warnings: 1 });
    expect(hintsOf('/* ttl:-1 batch:1.5 line:abc file: */ SELECT 1')).toEqual({ ...NONE, warnings: 4 });
  });

  it('accepts values at the edges of their ranges', () => {
    expect(hintsOf(`/* ttl:${HINT_LIMITS.maxTtlSeconds} batch:0 line:0 */ SELECT 1`)).toMatchObject({
      ttlSeconds: HINT_LIMITS.maxTtlSeconds,
      batchMs: 0,
      line: 0,
      warnings: 0,
    });
  });

  it('does not accept a comma as a separator', () => {
    expect(hintsOf('/* ttl:5, file:x */ SELECT 1')).toMatchObject({ ttlSeconds: null, file: 'x', warnings: 1 });
  });

  it('keeps everything after the first colon as the value', () => {
    expect(hintsOf('/* file:C:\\src\\a.go line:3 */ SELECT 1').file).toBe('C:\\src\\a.go');
  });

  it('never reads hints from line comments', () => {
    expect(hintsOf('-- ttl:5\nSELECT 1')).toEqual(NONE);
    expect(hintsOf('# ttl:5\nSELECT 1')).toEqual(NONE);
  });

  it('never reads hints from string literals or quoted names', () => {
    expect(hintsOf("SELECT '/* ttl:5 */'")).toEqual(NONE);
    expect(hintsOf('SELECT `/* ttl:5 */`')).toEqual(NONE);
    expect(hintsOf('SELECT $$ /* ttl:5 */ $$', 'postgres')).toEqual(NONE);
  });

  it('treats MySQL executable comments as code, never as hints', () => {
    expect(hintsOf('/*! ttl:5 */ SELECT 1', 'mysql')).toEqual(NONE);
    expect(hintsOf('/*! ttl:5 */ SELECT 1', 'postgres').ttlSeconds).toBe(5);
  });

  it('reads hints from the whole text of a multi-statement', () => {
    expect(hintsOf('SELECT 1; /* ttl:5 */ SELECT 2').ttlSeconds).toBe(5);
  });

  it('shares one frozen object among statements without hints', () => {
    const a = parseStatement('SELECT 1', 'mysql').hints;
    const b = parseStatement('SELECT 2', 'postgres').hints;
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
  });
});
