import { describe, expect, it } from 'bun:test';
import { Kw } from '../../../../src/core/sql/keywords.ts';
import { Scanner, scanConfigFor, Tok, type ParseOptions, type SqlDialect, type TokKind } from '../../../../src/core/sql/scanner.ts';

const NAMES = Object.fromEntries(Object.entries(Tok).map(([name, kind]) => [kind, name])) as Record<TokKind, string>;

/** `Kind:text` for every token. */
function tokens(sql: string, dialect: SqlDialect, options?: ParseOptions): string[] {
  const s = new Scanner(sql, scanConfigFor(dialect, options));
  const out: string[] = [];
  for (let t = s.next(); t !== Tok.End; t = s.next()) out.push(`${NAMES[t]}:${sql.slice(s.start, s.end)}`);
  return out;
}

describe('core/sql scanner', () => {
  it('splits words, numbers, punctuation and separators', () => {
    expect(tokens('SELECT a1, 2.5e3 FROM t;', 'mysql')).toEqual([
      'Word:SELECT', 'Word:a1', 'Punct:,', 'Number:2.5e3', 'Word:FROM', 'Word:t', 'Semicolon:;',
    ]);
  });

  it('reports keyword ids case-insensitively and 0 for plain identifiers', () => {
    const s = new Scanner('sElEcT users', scanConfigFor('mysql'));
    s.next();
    expect(s.kw).toBe(Kw.select);
    s.next();
    expect(s.kw).toBe(0);
  });

  it('reads MySQL strings with doubled quotes and backslash escapes', () => {
    expect(tokens("'it''s' 'a\\'b' \"x\\\"y\"", 'mysql')).toEqual(["String:'it''s'", "String:'a\\'b'", 'String:"x\\"y"']);
  });

  it('reads PostgreSQL strings without backslash escapes, except E strings', () => {
    expect(tokens("'a\\' E'b\\'c'", 'postgres')).toEqual(["String:'a\\'", "String:E'b\\'c'"]);
  });

  it('reads prefixed literals as one string token', () => {
    expect(tokens("X'0A' b'01' N'x'", 'mysql')).toEqual(["String:X'0A'", "String:b'01'", "String:N'x'"]);
  });

  it('reads quoted identifiers by dialect', () => {
    expect(tokens('`a``b` "c"', 'mysql')).toEqual(['QuotedIdent:`a``b`', 'String:"c"']);
    expect(tokens('"a""b"', 'postgres')).toEqual(['QuotedIdent:"a""b"']);
    expect(tokens('"c"', 'mysql', { ansiQuotes: true })).toEqual(['QuotedIdent:"c"']);
  });

  it('reads dollar-quoted strings with and without a tag', () => {
    expect(tokens('$$a;b$$ $fn$ x $$ y $fn$ $1', 'postgres')).toEqual(['String:$$a;b$$', 'String:$fn$ x $$ y $fn$', 'Param:$1']);
  });

  it('reads MySQL `$` as part of a word', () => {
    expect(tokens('$a a$b', 'mysql')).toEqual(['Word:$a', 'Word:a$b']);
  });

  it('reads placeholders but not casts or assignments', () => {
    expect(tokens('? :name a::int @x:=1', 'mysql')).toEqual([
      'Param:?', 'Param::name', 'Word:a', 'Punct::', 'Punct::', 'Word:int', 'Variable:@x', 'Punct::', 'Punct:=', 'Number:1',
    ]);
    expect(tokens('a::int', 'postgres')).toEqual(['Word:a', 'Punct::', 'Punct::', 'Word:int']);
  });

  it('reads MySQL user and system variables', () => {
    expect(tokens("@a @'b c' @@session.sql_mode @`d`", 'mysql')).toEqual([
      'Variable:@a', "Variable:@'b c'", 'Variable:@@session.sql_mode', 'Variable:@`d`',
    ]);
  });

  it('reads "--" as a comment in MySQL only when whitespace follows', () => {
    expect(tokens('1--1', 'mysql')).toEqual(['Number:1', 'Punct:-', 'Punct:-', 'Number:1']);
    expect(tokens('1-- x\n2', 'mysql')).toEqual(['Number:1', 'LineComment:-- x', 'Number:2']);
    expect(tokens('1--1', 'postgres')).toEqual(['Number:1', 'LineComment:--1']);
  });

  it('reads # as a comment in MySQL and as an operator in PostgreSQL', () => {
    expect(tokens('a # b\nc', 'mysql')).toEqual(['Word:a', 'LineComment:# b', 'Word:c']);
    expect(tokens('a # b', 'postgres')).toEqual(['Word:a', 'Punct:#', 'Word:b']);
  });

  it('nests block comments in PostgreSQL only', () => {
    expect(tokens('/* a /* b */ c */ d', 'postgres')).toEqual(['BlockComment:/* a /* b */ c */', 'Word:d']);
    expect(tokens('/* a /* b */ c', 'mysql')).toEqual(['BlockComment:/* a /* b */', 'Word:c']);
  });

  it('treats MySQL executable comments as code between markers', () => {
    expect(tokens('/*!40101 SET x=1 */ /*M!100100 y */', 'mysql')).toEqual([
      'ExecOpen:/*!40101', 'Word:SET', 'Word:x', 'Punct:=', 'Number:1', 'ExecClose:*/', 'ExecOpen:/*M!100100', 'Word:y', 'ExecClose:*/',
    ]);
    expect(tokens('/*!40101 SET x=1 */', 'postgres')).toEqual(['BlockComment:/*!40101 SET x=1 */']);
  });

  it('reads a dot before digits as a number only when it does not qualify a name', () => {
    expect(tokens('.5 t.5', 'mysql')).toEqual(['Number:.5', 'Word:t', 'Punct:.', 'Number:5']);
  });

  it('reads hex and binary numbers', () => {
    expect(tokens('0x1F 0b101', 'mysql')).toEqual(['Number:0x1F', 'Number:0b101']);
    expect(tokens('0x1F 1_000', 'postgres')).toEqual(['Number:0x1F', 'Number:1_000']);
  });

  it('reads MySQL identifiers that begin with digits as words', () => {
    expect(tokens('1st 0xZZ', 'mysql')).toEqual(['Word:1st', 'Word:0xZZ']);
  });

  it('runs unterminated quotes and comments to the end of the text', () => {
    expect(tokens("a 'b c", 'mysql')).toEqual(['Word:a', "String:'b c"]);
    expect(tokens('a /* b', 'mysql')).toEqual(['Word:a', 'BlockComment:/* b']);
    expect(tokens('a $x$ b', 'postgres')).toEqual(['Word:a', 'String:$x$ b']);
    expect(tokens('a `b', 'mysql')).toEqual(['Word:a', 'QuotedIdent:`b']);
  });

  it('returns End at the end and on every later call', () => {
    const s = new Scanner('x', scanConfigFor('mysql'));
    expect(s.next()).toBe(Tok.Word);
    expect(s.next()).toBe(Tok.End);
    expect(s.next()).toBe(Tok.End);
  });

  it('can start at an offset', () => {
    const s = new Scanner('SELECT a FROM t', scanConfigFor('mysql'), 9);
    expect(s.next()).toBe(Tok.Word);
    expect(s.kw).toBe(Kw.from);
  });

  it('tiles the text: tokens advance, never overlap, and only whitespace lies between them', () => {
    const samples = [
      "SELECT 'a''b', \"c\", `d`, $$e$$, /* f */ -- g\n # h\n 1.5e-3, @x, @@y, ?, $1, :n; /*!1 x */",
      "\u0000\u0001'\\", '/*', '$', '$a', '@', '@@', '.', '0x', "x'", 'E\'', '-', '--', "N'", '`', '"', '*/',
    ];
    for (const sql of samples) {
      for (const dialect of ['mysql', 'postgres'] as const) {
        const s = new Scanner(sql, scanConfigFor(dialect));
        let last = 0;
        for (let t = s.next(); t !== Tok.End; t = s.next()) {
          expect(s.start).toBeGreaterThanOrEqual(last);
          expect(s.end).toBeGreaterThan(s.start);
          expect(sql.slice(last, s.start).trim()).toBe('');
          last = s.end;
        }
        expect(last).toBeLessThanOrEqual(sql.length);
      }
    }
  });
});
