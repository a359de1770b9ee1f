/**
 * The shape of an INSERT/REPLACE, for the batcher that merges single-row
 * INSERTs into one multi-row INSERT:
 *
 *   INSERT [LOW_PRIORITY|DELAYED|HIGH_PRIORITY] [IGNORE] [INTO] tbl [PARTITION (p)]
 *     [AS alias] [(col, ...)] [OVERRIDING {SYSTEM|USER} VALUE]
 *     VALUES (row) [, (row)]... [trailing clauses]
 *
 * Read lazily, only when a caller asks, starting at the INSERT keyword.
 */
import { unquoteIdent } from './identifier.ts';
import { Kw, KW_FLAGS, KwFlag } from './keywords.ts';
import { Scanner, Tok, type ScanConfig, type TokKind } from './scanner.ts';
import type { InsertShape, RowValue, RowValueKind } from './types.ts';

export interface InsertAnalysis {
  /** null unless a plain INSERT/REPLACE ... VALUES whose tuples are all well formed. */
  shape: InsertShape | null;
  /** The rows come from a query: INSERT ... SELECT / TABLE / WITH / (SELECT ...). */
  isInsertSelect: boolean;
}

const NOT_AN_INSERT: InsertAnalysis = Object.freeze({ shape: null, isInsertSelect: false });
const INSERT_SELECT: InsertAnalysis = Object.freeze({ shape: null, isInsertSelect: true });

export interface InsertContext {
  /** Index of the INSERT/REPLACE keyword. */
  mainStart: number;
  /** Whether a shape may be given at all: a plain lead and a single statement. */
  canHaveShape: boolean;
  hasReturning: boolean;
}

/** Reads the INSERT/REPLACE starting at `context.mainStart`. Never throws. */
export function analyzeInsert(sql: string, cfg: ScanConfig, context: InsertContext): InsertAnalysis {
  if (context.mainStart < 0) return NOT_AN_INSERT;
  return new InsertReader(sql, cfg, context).read();
}

class InsertReader {
  private readonly s: Scanner;
  private readonly context: InsertContext;
  private t: TokKind = Tok.End;
  private kw = 0;
  private isPlain: boolean;
  private hasSelect = false;

  constructor(sql: string, cfg: ScanConfig, context: InsertContext) {
    this.s = new Scanner(sql, cfg, context.mainStart);
    this.context = context;
    this.isPlain = context.canHaveShape;
  }

  /** Moves to the next token that is not a comment or an executable-comment marker. */
  private next(): TokKind {
    const s = this.s;
    let t: TokKind;
    do t = s.next();
    while (t >= Tok.BlockComment);
    this.t = t;
    this.kw = t === Tok.Word ? s.kw : 0;
    return t;
  }

  /** The current keyword id (a method, so TypeScript does not narrow it across `next()` calls). */
  private keyword(): number {
    return this.kw;
  }

  private isPunct(ch: number): boolean {
    return this.t === Tok.Punct && this.s.ch === ch;
  }

  read(): InsertAnalysis {
    this.next();
    if (this.keyword() !== Kw.insert && this.keyword() !== Kw.replace) return NOT_AN_INSERT;
    let isIgnore = false;
    this.next();
    while (this.keyword() !== 0 && (KW_FLAGS[this.keyword()] & KwFlag.InsertModifier) !== 0) {
      if (this.keyword() === Kw.ignore) isIgnore = true;
      this.next();
    }
    if (this.keyword() === Kw.into) this.next();
    const table = this.qualifiedName();
    if (table === null) return NOT_AN_INSERT;
    if (this.keyword() === Kw.partition) {
      this.next();
      if (this.isPunct(0x28)) {
        if (!this.skipParens(1)) return NOT_AN_INSERT;
        this.next();
      }
    }
    if (this.keyword() === Kw.as) {
      // PostgreSQL `INSERT INTO t AS alias`.
      this.next();
      if (this.t === Tok.Word || this.t === Tok.QuotedIdent) this.next();
    }
    let columns: string[] | null = null;
    if (this.isPunct(0x28)) {
      this.next();
      if (this.isQueryStart()) return INSERT_SELECT;
      columns = this.columnList();
      if (columns === null) {
        // Not a plain name list; find its end to read on. The current token is inside it.
        this.isPlain = false;
        if (!this.isPunct(0x29) && !this.skipParens(this.isPunct(0x28) ? 2 : 1)) return NOT_AN_INSERT;
      }
      this.next();
    }
    if (this.keyword() === Kw.overriding) {
      this.next(); // SYSTEM | USER
      this.next(); // VALUE
      this.next();
    }
    if (this.isQueryStart()) return INSERT_SELECT;
    if (this.keyword() !== Kw.values && this.keyword() !== Kw.value) return NOT_AN_INSERT; // SET form, DEFAULT VALUES
    return this.tuples(table, columns, isIgnore);
  }

  private isQueryStart(): boolean {
    return this.kw === Kw.select || this.kw === Kw.with || this.kw === Kw.table || this.isPunct(0x28);
  }

  /** `name` or `a.b.c`, unquoted; leaves the token after it current. null when there is no (complete) name. */
  private qualifiedName(): string | null {
    let name: string | null = null;
    for (;;) {
      const t = this.t;
      const isName = t === Tok.QuotedIdent || (t === Tok.Word && (KW_FLAGS[this.kw] & KwFlag.Reserved) === 0);
      if (!isName) return null;
      const s = this.s;
      const part = unquoteIdent(s.sql, s.start, s.end, t);
      name = name === null ? part : name + '.' + part;
      this.next();
      if (!this.isPunct(0x2e)) return name;
      this.next();
    }
  }

  /** Reads `a, b, c)` after the opening `(`; leaves `)` current. null when it is not a plain name list. */
  private columnList(): string[] | null {
    const columns: string[] = [];
    if (this.isPunct(0x29)) return columns;
    for (;;) {
      const name = this.qualifiedName();
      if (name === null) return null;
      columns.push(name);
      if (this.isPunct(0x29)) return columns;
      if (!this.isPunct(0x2c)) return null;
      this.next();
    }
  }

  /** Reads on to the `)` that brings `depth` open parentheses to zero and makes it current; false when unterminated. */
  private skipParens(depth: number): boolean {
    const s = this.s;
    for (;;) {
      const t = s.next();
      if (t === Tok.End) return false;
      if (t === Tok.Word && s.kw === Kw.select) this.hasSelect = true;
      if (t !== Tok.Punct) continue;
      if (s.ch === 0x28) depth++;
      else if (s.ch === 0x29 && --depth === 0) {
        this.t = Tok.Punct;
        this.kw = 0;
        return true;
      }
    }
  }

  /**
   * Reads a tuple after its `(` to the closing `)`, which it makes current,
   * noting each top-level value's span and kind. null when unterminated.
   */
  private firstTuple(): RowValue[] | null {
    const s = this.s;
    const values: RowValue[] = [];
    let depth = 1;
    let start = -1;
    let end = -1;
    let tokens = 0;
    let kind: RowValueKind = 'expression';
    let params = 0;
    let paramIndex = -1;
    for (;;) {
      const t = s.next();
      if (t === Tok.End) return null;
      if (t === Tok.BlockComment || t === Tok.LineComment) continue;
      if (t === Tok.Word && s.kw === Kw.select) this.hasSelect = true;
      if (t === Tok.Punct && depth === 1 && (s.ch === 0x2c || s.ch === 0x29)) {
        values.push({ start, end, kind: tokens === 1 ? kind : 'expression', paramIndex });
        if (s.ch === 0x29) {
          this.t = Tok.Punct;
          this.kw = 0;
          return values;
        }
        start = -1;
        tokens = 0;
        paramIndex = -1;
        continue;
      }
      if (t === Tok.Punct && s.ch === 0x28) depth++;
      else if (t === Tok.Punct && s.ch === 0x29) depth--;
      if (start < 0) start = s.start;
      end = s.end;
      tokens++;
      // Executable comments hide code whose meaning is version-dependent: never a plain value.
      kind = t === Tok.ExecOpen || t === Tok.ExecClose ? 'expression' : valueKind(s, t);
      if (t === Tok.Param) {
        if (tokens === 1) paramIndex = params;
        params++;
      }
    }
  }

  private tuples(table: string, columns: string[] | null, isIgnore: boolean): InsertAnalysis {
    const s = this.s;
    let valuesStart = -1;
    let valuesEnd = -1;
    let rowCount = 0;
    let firstRow: RowValue[] = [];
    for (;;) {
      this.next();
      if (this.kw === Kw.row) {
        // MySQL 8 `VALUES ROW(...)`: a row constructor, not a plain tuple list.
        this.isPlain = false;
        this.next();
      }
      if (!this.isPunct(0x28)) {
        if (rowCount === 0) return NOT_AN_INSERT;
        break;
      }
      if (valuesStart < 0) valuesStart = s.start;
      if (rowCount === 0) {
        const row = this.firstTuple();
        if (row === null) return NOT_AN_INSERT;
        firstRow = row;
      } else if (!this.skipParens(1)) return NOT_AN_INSERT;
      valuesEnd = s.end;
      rowCount++;
      this.next();
      if (!this.isPunct(0x2c)) break;
    }
    // The current token is the first one after the tuples.
    const hasTrailingClause = this.t !== Tok.End && this.t !== Tok.Semicolon;
    let hasUpsert = false;
    let prevKw = 0;
    while (this.t !== Tok.End && this.t !== Tok.Semicolon) {
      const kw = this.kw;
      if ((kw === Kw.duplicate || kw === Kw.conflict) && prevKw === Kw.on) hasUpsert = true;
      else if (kw === Kw.select) this.hasSelect = true;
      prevKw = kw;
      this.next();
    }
    if (!this.isPlain) return NOT_AN_INSERT;
    return {
      shape: {
        table,
        columns,
        valuesStart,
        valuesEnd,
        rowCount,
        firstRow,
        isIgnore,
        hasOnDuplicateKeyUpdate: hasUpsert,
        hasReturning: this.context.hasReturning,
        hasSelect: this.hasSelect,
        hasTrailingClause,
      },
      isInsertSelect: false,
    };
  }
}

/** The kind of a value that is a single token. */
function valueKind(s: Scanner, t: TokKind): RowValueKind {
  if (t === Tok.Param) return 'placeholder';
  if (t === Tok.Word) return s.kw === Kw.null ? 'null' : s.kw === Kw.default ? 'default' : 'expression';
  if (t === Tok.Number) {
    let isZero = true;
    for (let i = s.start; i < s.end; i++) {
      const c = s.sql.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return 'expression';
      if (c !== 0x30) isZero = false;
    }
    return isZero ? 'zero' : 'integer';
  }
  return 'expression';
}
