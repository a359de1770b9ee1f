/**
 * A single-pass SQL tokenizer over char codes, for both dialects.
 *
 * MySQL/MariaDB lexical structure: https://mariadb.com/kb/en/identifier-names/,
 * https://mariadb.com/kb/en/string-literals/, https://mariadb.com/kb/en/comment-syntax/.
 * PostgreSQL: https://www.postgresql.org/docs/current/sql-syntax-lexical.html.
 *
 * The scanner is a cursor: `next()` advances to the following token and
 * leaves its kind and span in fields, so reading a statement allocates
 * nothing per token. Every token consumes at least one character and every
 * loop moves forward, so a scan is linear in the text length whatever the
 * input; unterminated quotes and comments simply run to the end of the text.
 * It never throws.
 */
import { keywordAt, MAX_KEYWORD_LENGTH } from './keywords.ts';

export type SqlDialect = 'mysql' | 'postgres';

/** Token kinds. Comments and executable-comment markers are tokens too: hints live in comments. */
export const Tok = {
  End: 0,
  /** Unquoted identifier or keyword; `kw` holds the keyword id or 0. */
  Word: 1,
  /** `` `x` `` (MySQL), `"x"` (PostgreSQL, or MySQL with ANSI_QUOTES). */
  QuotedIdent: 2,
  /** `'x'`, MySQL `"x"`, `N'x'`, `X'0A'`, `B'01'`, PostgreSQL `E'x'` and `$tag$x$tag$`. */
  String: 3,
  /** Decimal, hex (`0x1F`), binary (`0b01`), with fraction and exponent. */
  Number: 4,
  /** `?` (MySQL), `$1` (PostgreSQL), `:name`. */
  Param: 5,
  /** MySQL `@user_var` and `@@system_var` (with `@@session.` style prefixes). */
  Variable: 6,
  /** Any other single character; `ch` holds its code. */
  Punct: 7,
  Semicolon: 8,
  // Kinds from here on are not code: readers skip them with `kind >= Tok.BlockComment`.
  BlockComment: 9,
  LineComment: 10,
  /** MySQL `/*!50700` or MariaDB `/*M!100100`: what follows up to `*\/` is code. */
  ExecOpen: 11,
  /** The `*\/` that closes an executable comment. */
  ExecClose: 12,
} as const;
export type TokKind = (typeof Tok)[keyof typeof Tok];

/** How the text is lexed; derived once from the dialect and session modes. */
export interface ScanConfig {
  readonly dialect: SqlDialect;
  readonly isMysql: boolean;
  /** Backslash escapes inside '...' (MySQL unless NO_BACKSLASH_ESCAPES; PostgreSQL only with standard_conforming_strings off). */
  readonly backslashEscapes: boolean;
  /** `"x"` is an identifier (PostgreSQL always; MySQL with ANSI_QUOTES). */
  readonly doubleQuoteIsIdent: boolean;
}

/** Session modes that change how a statement is lexed. Defaults are each server's defaults. */
export interface ParseOptions {
  /** MySQL sql_mode NO_BACKSLASH_ESCAPES (the server reports it in the status flags). Default false. */
  noBackslashEscapes?: boolean;
  /** MySQL sql_mode ANSI_QUOTES. Default false. */
  ansiQuotes?: boolean;
  /** PostgreSQL standard_conforming_strings. Default true. */
  standardConformingStrings?: boolean;
}

const MYSQL_DEFAULT: ScanConfig = Object.freeze({
  dialect: 'mysql',
  isMysql: true,
  backslashEscapes: true,
  doubleQuoteIsIdent: false,
});
const POSTGRES_DEFAULT: ScanConfig = Object.freeze({
  dialect: 'postgres',
  isMysql: false,
  backslashEscapes: false,
  doubleQuoteIsIdent: true,
});

/** The lexing configuration for a dialect; shared frozen objects for the defaults. */
export function scanConfigFor(dialect: SqlDialect, options?: ParseOptions): ScanConfig {
  if (dialect === 'postgres') {
    if (options?.standardConformingStrings !== false) return POSTGRES_DEFAULT;
    return Object.freeze({ ...POSTGRES_DEFAULT, backslashEscapes: true });
  }
  if (options === undefined || (options.noBackslashEscapes !== true && options.ansiQuotes !== true)) {
    return MYSQL_DEFAULT;
  }
  return Object.freeze({
    ...MYSQL_DEFAULT,
    backslashEscapes: options.noBackslashEscapes !== true,
    doubleQuoteIsIdent: options.ansiQuotes === true,
  });
}

// Character classes for ASCII; every code >= 0x80 counts as an identifier character.
const IDENT_START = 2;
const IDENT = 4;
const DIGIT = 8;
const HEX = 16;
const CC = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) CC[c] = IDENT | DIGIT | HEX;
for (let c = 0x41; c <= 0x5a; c++) {
  CC[c] = IDENT_START | IDENT;
  CC[c + 0x20] = IDENT_START | IDENT;
}
for (const c of [0x41, 0x42, 0x43, 0x44, 0x45, 0x46]) {
  CC[c] |= HEX;
  CC[c + 0x20] |= HEX;
}
CC[0x5f] = IDENT_START | IDENT; // _
CC[0x24] = IDENT; // $ inside identifiers; MySQL also starts identifiers with it

function isIdentChar(c: number): boolean {
  return c >= 128 || (CC[c] & IDENT) !== 0;
}

function isIdentStart(c: number): boolean {
  return c >= 128 || (CC[c] & IDENT_START) !== 0;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export class Scanner {
  readonly sql: string;
  readonly cfg: ScanConfig;
  private readonly len: number;
  // Copies of the config's flags: read per token, one load instead of two.
  private readonly isMysql: boolean;
  private readonly backslashEscapes: boolean;
  private readonly doubleQuoteIsIdent: boolean;
  /** Where the next token scan begins. */
  pos: number;
  /** Span of the current token. */
  start = 0;
  end = 0;
  kind: TokKind = Tok.End;
  /** Keyword id of a Word token, else 0. */
  kw = 0;
  /** Char code of a Punct token. */
  ch = 0;
  /** Inside a MySQL executable comment, where `*\/` is a token of its own. */
  private inExec = false;

  constructor(sql: string, cfg: ScanConfig, from = 0) {
    this.sql = sql;
    this.cfg = cfg;
    this.len = sql.length;
    this.pos = from;
    this.isMysql = cfg.isMysql;
    this.backslashEscapes = cfg.backslashEscapes;
    this.doubleQuoteIsIdent = cfg.doubleQuoteIsIdent;
  }

  /** Advances to the next token and returns its kind (`Tok.End` at the end, and on every call after). */
  next(): TokKind {
    const s = this.sql;
    const len = this.len;
    let p = this.pos;
    while (p < len) {
      const w = s.charCodeAt(p);
      if (w !== 32 && (w < 9 || w > 13)) break;
      p++;
    }
    this.start = p;
    this.kw = 0;
    if (p >= len) {
      this.end = this.pos = len;
      return (this.kind = Tok.End);
    }
    const c = s.charCodeAt(p);
    let kind: TokKind;
    let e: number;
    if (c >= 128 || (CC[c] & IDENT_START) !== 0) {
      // Words are most tokens: scanned inline, hashing as we go for the keyword lookup.
      const start = p;
      let hash = 0;
      let d = c;
      do {
        hash = (Math.imul(hash, 31) + (d | 0x20)) | 0; // keywords.ts hashStep, inlined
        if (++p >= len) break;
        d = s.charCodeAt(p);
      } while (d >= 128 || (CC[d] & IDENT) !== 0);
      const length = p - start;
      if (length === 1) {
        if (p < len && d === 0x27) return this.word(start); // X'0A', N'x'...
      } else if (length <= MAX_KEYWORD_LENGTH) {
        this.kw = keywordAt(s, start, p, hash); // (no keyword has one letter)
      }
      this.end = this.pos = p;
      return (this.kind = Tok.Word);
    }
    switch (c) {
      case 0x27: // '
        e = this.quoted(p, 0x27, this.backslashEscapes);
        kind = Tok.String;
        break;
      case 0x22: // "
        if (this.doubleQuoteIsIdent) {
          e = this.quoted(p, 0x22, false);
          kind = Tok.QuotedIdent;
        } else {
          e = this.quoted(p, 0x22, this.backslashEscapes);
          kind = Tok.String;
        }
        break;
      case 0x60: // `
        if (this.isMysql) {
          e = this.quoted(p, 0x60, false);
          kind = Tok.QuotedIdent;
        } else {
          e = p + 1;
          kind = Tok.Punct;
        }
        break;
      case 0x2f: // /
        if (p + 1 < len && s.charCodeAt(p + 1) === 0x2a) return this.blockComment(p);
        e = p + 1;
        kind = Tok.Punct;
        break;
      case 0x2d: // -
        if (p + 1 < len && s.charCodeAt(p + 1) === 0x2d) {
          // MySQL needs whitespace or a control character after "--" (so 1--1 is 1 - -1); PostgreSQL does not.
          if (!this.isMysql || p + 2 >= len || s.charCodeAt(p + 2) <= 0x20) {
            e = this.lineEnd(p + 2);
            kind = Tok.LineComment;
            break;
          }
        }
        e = p + 1;
        kind = Tok.Punct;
        break;
      case 0x23: // #
        if (this.isMysql) {
          e = this.lineEnd(p + 1);
          kind = Tok.LineComment;
        } else {
          e = p + 1;
          kind = Tok.Punct;
        }
        break;
      case 0x3b: // ;
        e = p + 1;
        kind = Tok.Semicolon;
        break;
      case 0x24: // $
        return this.dollar(p);
      case 0x3f: // ?
        e = p + 1;
        kind = this.isMysql ? Tok.Param : Tok.Punct;
        break;
      case 0x3a: // :
        // `:name` is a placeholder; `::type` (PostgreSQL cast) and `:=` are not.
        if (p + 1 < len && isIdentStart(s.charCodeAt(p + 1)) && (p === 0 || s.charCodeAt(p - 1) !== 0x3a)) {
          e = p + 2;
          while (e < len && isIdentChar(s.charCodeAt(e))) e++;
          kind = Tok.Param;
        } else {
          e = p + 1;
          kind = Tok.Punct;
        }
        break;
      case 0x40: // @
        if (this.isMysql) return this.variable(p);
        e = p + 1;
        kind = Tok.Punct;
        break;
      case 0x2e: // .
        // `.5` is a number, but in `t.5col` or `` `t`.5 `` the dot qualifies a name.
        if (p + 1 < len && isDigit(s.charCodeAt(p + 1)) && !this.dotQualifies(p)) return this.number(p);
        e = p + 1;
        kind = Tok.Punct;
        break;
      case 0x2a: // *
        if (this.inExec && p + 1 < len && s.charCodeAt(p + 1) === 0x2f) {
          this.inExec = false;
          e = p + 2;
          kind = Tok.ExecClose;
          break;
        }
        e = p + 1;
        kind = Tok.Punct;
        break;
      default:
        if (c >= 0x30 && c <= 0x39) return this.number(p);
        e = p + 1;
        kind = Tok.Punct;
    }
    this.ch = c;
    this.end = this.pos = e;
    return (this.kind = kind);
  }

  private finish(kind: TokKind, end: number): TokKind {
    this.end = this.pos = end;
    return (this.kind = kind);
  }

  private word(p: number): TokKind {
    const s = this.sql;
    const len = this.len;
    const start = p;
    let hash = 0;
    while (p < len) {
      const c = s.charCodeAt(p);
      if (c < 128 && (CC[c] & IDENT) === 0) break;
      hash = (Math.imul(hash, 31) + (c | 0x20)) | 0; // keywords.ts hashStep, inlined
      p++;
    }
    if (p - start === 1 && p < len && s.charCodeAt(p) === 0x27) {
      // Prefixed strings: X'0A', B'01', N'x', and PostgreSQL E'x' (with backslash escapes).
      switch (s.charCodeAt(start) | 0x20) {
        case 0x78: // x
        case 0x62: // b
          return this.finish(Tok.String, this.quoted(p, 0x27, false));
        case 0x6e: // n
          return this.finish(Tok.String, this.quoted(p, 0x27, this.backslashEscapes));
        case 0x65: // e
          if (!this.isMysql) return this.finish(Tok.String, this.quoted(p, 0x27, true));
          break;
      }
    }
    if (p - start <= MAX_KEYWORD_LENGTH) this.kw = keywordAt(s, start, p, hash);
    return this.finish(Tok.Word, p);
  }

  /** End of a quoted run starting at the opening quote `p`: doubled quotes and (optionally) backslashes escape. */
  private quoted(p: number, quote: number, backslash: boolean): number {
    const s = this.sql;
    const len = this.len;
    p++;
    if (!backslash) {
      for (;;) {
        const q = s.indexOf(quote === 0x27 ? "'" : quote === 0x22 ? '"' : '`', p);
        if (q < 0) return len;
        if (q + 1 < len && s.charCodeAt(q + 1) === quote) {
          p = q + 2;
          continue;
        }
        return q + 1;
      }
    }
    while (p < len) {
      const c = s.charCodeAt(p);
      if (c === quote) {
        if (p + 1 < len && s.charCodeAt(p + 1) === quote) {
          p += 2;
          continue;
        }
        return p + 1;
      }
      p += c === 0x5c ? 2 : 1;
    }
    return len;
  }

  private blockComment(p: number): TokKind {
    const s = this.sql;
    const len = this.len;
    if (this.isMysql && !this.inExec) {
      // Executable comments: /*!12345 code */ and MariaDB's /*M!123456 code */.
      let q = -1;
      let maxDigits = 5;
      if (p + 2 < len) {
        const c2 = s.charCodeAt(p + 2);
        if (c2 === 0x21) q = p + 3;
        else if (c2 === 0x4d && p + 3 < len && s.charCodeAt(p + 3) === 0x21) {
          q = p + 4;
          maxDigits = 6;
        }
      }
      if (q >= 0) {
        const limit = Math.min(len, q + maxDigits);
        while (q < limit && isDigit(s.charCodeAt(q))) q++;
        this.inExec = true;
        return this.finish(Tok.ExecOpen, q);
      }
    }
    if (this.isMysql) {
      const close = s.indexOf('*/', p + 2);
      return this.finish(Tok.BlockComment, close < 0 ? len : close + 2);
    }
    // PostgreSQL block comments nest.
    let depth = 1;
    let q = p + 2;
    while (q < len) {
      const c = s.charCodeAt(q);
      if (c === 0x2a && q + 1 < len && s.charCodeAt(q + 1) === 0x2f) {
        q += 2;
        if (--depth === 0) return this.finish(Tok.BlockComment, q);
      } else if (c === 0x2f && q + 1 < len && s.charCodeAt(q + 1) === 0x2a) {
        q += 2;
        depth++;
      } else {
        q++;
      }
    }
    return this.finish(Tok.BlockComment, len);
  }

  /** Index of the line break ending a line comment (the break itself is whitespace), or the end. */
  private lineEnd(p: number): number {
    const s = this.sql;
    const len = this.len;
    while (p < len) {
      const c = s.charCodeAt(p);
      if (c === 0x0a || c === 0x0d) return p;
      p++;
    }
    return len;
  }

  private number(p: number): TokKind {
    const s = this.sql;
    const len = this.len;
    const start = p;
    const c0 = s.charCodeAt(p);
    const c1 = p + 1 < len ? s.charCodeAt(p + 1) | 0x20 : 0;
    if (c0 === 0x30 && (c1 === 0x78 || c1 === 0x62 || (c1 === 0x6f && !this.isMysql))) {
      // 0x1F, 0b101, PostgreSQL 0o17.
      const mask = c1 === 0x78 ? HEX : DIGIT;
      let q = p + 2;
      while (q < len) {
        const c = s.charCodeAt(q);
        if (c < 128 && (CC[c] & mask) !== 0) q++;
        else if (c === 0x5f && !this.isMysql) q++;
        else break;
      }
      if (q > p + 2) p = q;
      else p++;
    } else {
      p = this.digits(p);
      if (p < len && s.charCodeAt(p) === 0x2e) p = this.digits(p + 1);
      if (p < len && (s.charCodeAt(p) | 0x20) === 0x65) {
        let q = p + 1;
        if (q < len && (s.charCodeAt(q) === 0x2b || s.charCodeAt(q) === 0x2d)) q++;
        if (q < len && isDigit(s.charCodeAt(q))) p = this.digits(q);
      }
    }
    if (p < len && this.isMysql && isIdentStart(s.charCodeAt(p)) && s.charCodeAt(start) !== 0x2e) {
      // MySQL identifiers may begin with digits (`1st_col`, `0xZZ`): the whole run is a word.
      while (p < len && isIdentChar(s.charCodeAt(p))) p++;
      return this.finish(Tok.Word, p);
    }
    return this.finish(Tok.Number, p);
  }

  private digits(p: number): number {
    const s = this.sql;
    const len = this.len;
    const isPg = !this.isMysql;
    while (p < len) {
      const c = s.charCodeAt(p);
      if (c >= 0x30 && c <= 0x39) p++;
      else if (isPg && c === 0x5f && p + 1 < len && isDigit(s.charCodeAt(p + 1))) p++; // 1_000
      else break;
    }
    return p;
  }

  /** Whether the `.` at `p` qualifies a preceding name rather than starting a number. */
  private dotQualifies(p: number): boolean {
    if (p === 0) return false;
    const prev = this.sql.charCodeAt(p - 1);
    return isIdentChar(prev) || prev === 0x60 || prev === 0x22;
  }

  /** PostgreSQL `$1`, `$$...$$`, `$tag$...$tag$`; MySQL `$name`. */
  private dollar(p: number): TokKind {
    const s = this.sql;
    const len = this.len;
    if (this.isMysql) return this.word(p);
    const c1 = p + 1 < len ? s.charCodeAt(p + 1) : -1;
    if (c1 >= 0x30 && c1 <= 0x39) {
      let q = p + 2;
      while (q < len && isDigit(s.charCodeAt(q))) q++;
      return this.finish(Tok.Param, q);
    }
    let q = p + 1;
    if (c1 !== 0x24) {
      if (c1 < 0 || !isIdentStart(c1)) {
        this.ch = 0x24;
        return this.finish(Tok.Punct, p + 1);
      }
      // A tag is an identifier without `$`.
      q = p + 2;
      while (q < len) {
        const c = s.charCodeAt(q);
        if (c === 0x24 || !isIdentChar(c)) break;
        q++;
      }
      if (q >= len || s.charCodeAt(q) !== 0x24) {
        this.ch = 0x24;
        return this.finish(Tok.Punct, p + 1);
      }
    }
    // The opening delimiter is s[p..q] inclusive; find the same delimiter again.
    const tagLen = q - p + 1;
    let r = q + 1;
    while (r < len) {
      if (s.charCodeAt(r) === 0x24) {
        // Tag characters are never `$`, so a mismatch stops before the next `$`: each character is compared once.
        let i = 1;
        while (i < tagLen && r + i < len && s.charCodeAt(r + i) === s.charCodeAt(p + i)) i++;
        if (i === tagLen) return this.finish(Tok.String, r + tagLen);
        r += i;
      } else {
        r++;
      }
    }
    return this.finish(Tok.String, len);
  }

  /** MySQL `@name`, `@'name'`, `` @`name` ``, `@"name"`, `@@name`, `@@session.name`. */
  private variable(p: number): TokKind {
    const s = this.sql;
    const len = this.len;
    let q = p + 1;
    if (q < len && s.charCodeAt(q) === 0x40) q++;
    if (q < len) {
      const c = s.charCodeAt(q);
      if (c === 0x27 || c === 0x22 || c === 0x60) return this.finish(Tok.Variable, this.quoted(q, c, c !== 0x60 && this.backslashEscapes));
    }
    const nameStart = q;
    while (q < len) {
      const c = s.charCodeAt(q);
      if (isIdentChar(c) || c === 0x2e) q++;
      else break;
    }
    if (q === nameStart) {
      this.ch = 0x40;
      return this.finish(Tok.Punct, p + 1);
    }
    return this.finish(Tok.Variable, q);
  }
}
