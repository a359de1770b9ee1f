/**
 * Names as the server sees them: quotes removed, doubled quotes collapsed.
 * Cold path: called once per name a caller asks for, never per token.
 */
import { Tok, type TokKind } from './scanner.ts';

/**
 * The text of a Word or QuotedIdent token `sql[start, end)` without its
 * quotes. An unterminated quoted name keeps everything after the opening quote.
 */
export function unquoteIdent(sql: string, start: number, end: number, kind: TokKind): string {
  if (kind !== Tok.QuotedIdent || end - start < 1) return sql.slice(start, end);
  const quote = sql.charCodeAt(start);
  let innerEnd = end;
  if (end - start >= 2 && sql.charCodeAt(end - 1) === quote) innerEnd = end - 1;
  const inner = sql.slice(start + 1, innerEnd);
  const q = String.fromCharCode(quote);
  return inner.includes(q + q) ? inner.split(q + q).join(q) : inner;
}

/** Whether `sql[start, end)` equals `lower` (which must be ASCII lower case), ignoring ASCII case. */
export function equalsIgnoreCase(sql: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = sql.charCodeAt(start + i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Whether `sql[start, end)` begins with `lower` (ASCII lower case), ignoring ASCII case. */
export function startsWithIgnoreCase(sql: string, start: number, end: number, lower: string): boolean {
  if (end - start < lower.length) return false;
  return equalsIgnoreCase(sql, start, start + lower.length, lower);
}
