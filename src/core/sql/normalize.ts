/**
 * Normalised texts of a statement, used as map keys:
 *
 * - `cacheTextOf`: comments (hints included) removed, each run of whitespace
 *   and comments between two tokens folded to one space, leading and trailing
 *   space and trailing `;` dropped. Literal values are kept, and tokens that
 *   were adjacent stay adjacent (except MySQL's minus pair `--1`, spelled
 *   `- -1`, which reads the same), so two texts share a cache text only when
 *   they are the same token sequence: the server reads them alike. Applying
 *   it twice gives the same text.
 * - `batchKeyOf`: the statement template. Literal values (strings, numbers,
 *   NULL/TRUE/FALSE, placeholders, with a leading sign) become `?`, comments
 *   are dropped, and spacing is canonical (one space between two word-like
 *   tokens, none elsewhere), so the key does not depend on the literal values
 *   or on how the statement was laid out.
 *
 * Executable comments (`/*!...` and their `*\/`) are code and are kept in both.
 */
import { Kw, KW_FLAGS, KwFlag } from './keywords.ts';
import { Scanner, Tok, type ScanConfig, type TokKind } from './scanner.ts';

/** The cache text of `sql`; returns `sql` itself when nothing needs folding. */
export function cacheTextOf(sql: string, cfg: ScanConfig): string {
  const s = new Scanner(sql, cfg);
  // Output so far = `out` + sql[runStart, runEnd): runs of the original text are copied once.
  let out = '';
  let runStart = -1;
  let runEnd = -1;
  // The output as of the last token that is not `;`, so trailing semicolons can be dropped.
  let keptOut = '';
  let keptRunStart = -1;
  let keptRunEnd = -1;
  for (;;) {
    const t = s.next();
    if (t === Tok.End) break;
    if (t === Tok.BlockComment || t === Tok.LineComment) continue;
    const start = s.start;
    if (runStart < 0) {
      runStart = start;
    } else if (start !== runEnd && (start - runEnd !== 1 || sql.charCodeAt(runEnd) !== 0x20)) {
      // The gap is not a single space (several whitespace characters, or a comment): fold it.
      out += sql.slice(runStart, runEnd) + ' ';
      runStart = start;
    } else if (start === runEnd && t === Tok.Punct && s.ch === 0x2d && sql.charCodeAt(start - 1) === 0x2d) {
      // MySQL `--` not followed by whitespace is two minus signs; spell it `- -`, which means the
      // same, so that no later space or end of text can turn it into a comment.
      out += sql.slice(runStart, runEnd) + ' ';
      runStart = start;
    }
    runEnd = s.end;
    if (t !== Tok.Semicolon) {
      keptOut = out;
      keptRunStart = runStart;
      keptRunEnd = runEnd;
    }
  }
  if (keptRunStart < 0) return '';
  if (keptOut === '' && keptRunStart === 0 && keptRunEnd === sql.length) return sql;
  return keptOut + sql.slice(keptRunStart, keptRunEnd);
}

/** Word-like tokens need a space between them; anything next to punctuation does not. */
function isWordLike(t: TokKind): boolean {
  return t !== Tok.Punct && t !== Tok.Semicolon && t !== Tok.ExecClose;
}

/** The batch key (statement template) of `sql`. */
export function batchKeyOf(sql: string, cfg: ScanConfig): string {
  const s = new Scanner(sql, cfg);
  let out = '';
  let prev: TokKind = Tok.End; // last emitted token kind; End before the first
  let isOperandEnd = false; // the last emitted token ends an operand: a following sign is binary
  let prevKw = 0;
  let pendingSign = 0; // a unary + or - not yet emitted, in case a number follows
  let isSemicolonPending = false;
  for (;;) {
    const t = s.next();
    if (t === Tok.End) break;
    if (t === Tok.BlockComment || t === Tok.LineComment) continue;
    if (t === Tok.Semicolon) {
      isSemicolonPending = true;
      continue;
    }
    if (isSemicolonPending) {
      if (pendingSign !== 0) {
        out += String.fromCharCode(pendingSign);
        pendingSign = 0;
      }
      if (prev !== Tok.End) {
        out += ';';
        prev = Tok.Semicolon;
        isOperandEnd = false;
        prevKw = 0;
      }
      isSemicolonPending = false;
    }
    const kw = t === Tok.Word ? s.kw : 0;
    let isLiteral = t === Tok.String || t === Tok.Number || t === Tok.Param;
    if (!isLiteral && (kw === Kw.null || kw === Kw.true || kw === Kw.false)) {
      // `IS NULL`, `IS NOT TRUE`, `NOT NULL`: part of the syntax, not a value.
      isLiteral = prevKw !== Kw.is && prevKw !== Kw.not;
    }
    if (t === Tok.Punct && (s.ch === 0x2d || s.ch === 0x2b) && !isOperandEnd && pendingSign === 0) {
      pendingSign = s.ch;
      continue;
    }
    if (pendingSign !== 0) {
      if (t !== Tok.Number) {
        out += String.fromCharCode(pendingSign);
        prev = Tok.Punct;
      }
      pendingSign = 0;
    }
    if (isWordLike(t) && isWordLike(prev) && prev !== Tok.End) out += ' ';
    if (isLiteral) {
      out += '?';
      prev = Tok.Param;
      isOperandEnd = true;
    } else {
      out += sql.slice(s.start, s.end);
      prev = t;
      isOperandEnd = endsOperand(t, kw, s.ch);
    }
    prevKw = kw;
  }
  if (pendingSign !== 0) out += String.fromCharCode(pendingSign);
  return out;
}

function endsOperand(t: TokKind, kw: number, ch: number): boolean {
  switch (t) {
    case Tok.Word:
      return kw === 0 || (KW_FLAGS[kw] & KwFlag.SignFollows) === 0;
    case Tok.Punct:
      return ch === 0x29 || ch === 0x5d; // ) ]
    case Tok.ExecOpen:
    case Tok.ExecClose:
      return false;
    default:
      return true;
  }
}
