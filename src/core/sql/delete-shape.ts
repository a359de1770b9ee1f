/**
 * The shape of a DELETE by one key, for the batcher that merges such
 * DELETEs of one table into one `DELETE ... WHERE key IN (...)`:
 *
 *   DELETE FROM tbl WHERE col = value [;]
 *
 * Nothing else may appear (no modifiers, ORDER BY, LIMIT, RETURNING, joins
 * or further conditions): each member's result must follow from which keys
 * the merged statement removed. Read lazily, starting at the DELETE keyword.
 */
import { unquoteIdent } from './identifier.ts';
import { Kw, KW_FLAGS, KwFlag } from './keywords.ts';
import { Scanner, Tok, type ScanConfig, type TokKind } from './scanner.ts';
import type { DeleteShape, RowValueKind } from './types.ts';

/** Reads the DELETE starting at `mainStart`; null unless it has exactly the shape above. Never throws. */
export function analyzeDelete(sql: string, cfg: ScanConfig, mainStart: number): DeleteShape | null {
  if (mainStart < 0) return null;
  const s = new Scanner(sql, cfg, mainStart);
  let t: TokKind = Tok.End;
  const next = (): TokKind => {
    do t = s.next();
    while (t === Tok.BlockComment || t === Tok.LineComment);
    return t;
  };
  const isKw = (kw: number): boolean => t === Tok.Word && s.kw === kw;
  const isPunct = (ch: number): boolean => t === Tok.Punct && s.ch === ch;
  /** A plain or quoted name that is not a reserved word; leaves the token after it current. */
  const name = (): string | null => {
    const isName = t === Tok.QuotedIdent || (t === Tok.Word && (KW_FLAGS[s.kw] & KwFlag.Reserved) === 0);
    if (!isName) return null;
    const text = unquoteIdent(s.sql, s.start, s.end, t);
    next();
    return text;
  };

  next();
  if (!isKw(Kw.delete)) return null;
  next();
  if (!isKw(Kw.from)) return null;
  next();
  let table = name();
  if (table === null) return null;
  if (isPunct(0x2e)) {
    next();
    const part = name();
    if (part === null) return null;
    table = `${table}.${part}`;
  }
  if (!isKw(Kw.where)) return null;
  next();
  const column = name();
  if (column === null) return null;
  if (!isPunct(0x3d)) return null; // '=' (a qualified `tbl.col` is not taken)
  const operatorStart = s.start;
  const valueToken = next();
  const valueStart = s.start;
  const valueEnd = s.end;
  const kind = valueKind(s, valueToken);
  if (kind === null) return null;
  const after = next();
  if (after === Tok.Semicolon ? next() !== Tok.End : after !== Tok.End) return null;
  return { table, column, operatorStart, valueStart, valueEnd, valueKind: kind };
}

/** A value the merge can compare exactly: a plain integer, or a placeholder. */
function valueKind(s: Scanner, t: TokKind): RowValueKind | null {
  if (t === Tok.Param) return 'placeholder';
  if (t !== Tok.Number) return null;
  for (let i = s.start; i < s.end; i++) {
    const c = s.sql.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
  }
  return 'integer';
}
