/**
 * Tables a statement reads and writes, as a best effort for simple
 * statements (for cache invalidation). Read lazily, only when asked.
 *
 * Over-approximates writes: in a multi-table UPDATE or DELETE every table of
 * the target list counts as written. Names are unquoted and joined with `.`;
 * PostgreSQL folds unquoted names to lower case, as the server does.
 * Tables only named inside function arguments, CTE names and DUAL are left out.
 */
import { unquoteIdent } from './identifier.ts';
import { Kw, KW_FLAGS, KwFlag } from './keywords.ts';
import { Scanner, Tok, type ScanConfig, type TokKind } from './scanner.ts';
import type { TablesTouched } from './types.ts';

const Mode = { None: 0, Read: 1, Written: 2, Copy: 3 } as const;
type ModeId = (typeof Mode)[keyof typeof Mode];

/** Depths beyond this are not tracked (a bit per depth in 32-bit masks). */
const MAX_TRACKED_DEPTH = 30;

function bit(depth: number): number {
  return depth <= MAX_TRACKED_DEPTH ? 1 << depth : 0;
}

export const NO_TABLES: TablesTouched = Object.freeze({ read: Object.freeze([]), written: Object.freeze([]) });

/** Tables read and written by `sql`. Never throws; linear in the text length. */
export function tablesOf(sql: string, cfg: ScanConfig): TablesTouched {
  return new TableReader(sql, cfg).read();
}

class TableReader {
  private readonly s: Scanner;
  private readonly isMysql: boolean;
  private readonly reads: string[] = [];
  private readonly writes: string[] = [];
  private readonly cteNames: string[] = [];
  private depth = 0;
  /** Bit d: a table list (FROM, JOIN, UPDATE targets...) is open at depth d, so `,` introduces a table. */
  private listMask = 0;
  /** Bit d: the list open at depth d holds written tables. */
  private writtenMask = 0;
  /** Bit d: the parenthesis that opened depth d holds function arguments. */
  private fnParenMask = 0;
  /** The next name is a table, read or written. */
  private expect: ModeId = Mode.None;
  /** A `(` right after the expectation descends into it (`FROM (a JOIN b)`) rather than ending it. */
  private isExpectDescending = false;
  // The qualified name being read.
  private name: string | null = null;
  private nameMode: ModeId = Mode.None;
  private isNameDotPending = false;
  // Per statement.
  private leadKw = 0;
  private isStmtStarted = false;
  private deleteDepth = -1;
  private isDeleteFromPending = false;
  private copyName: string | null = null;
  private cteDepth = -1;
  private isCteNameExpected = false;
  private prevKw = 0;
  private prevWasName = false;

  constructor(sql: string, cfg: ScanConfig) {
    this.s = new Scanner(sql, cfg);
    this.isMysql = cfg.isMysql;
  }

  read(): TablesTouched {
    const s = this.s;
    for (;;) {
      const t = s.next();
      if (t === Tok.End) break;
      if (t >= Tok.BlockComment) continue;
      if (t === Tok.Semicolon) {
        this.endStatement();
        continue;
      }
      const kw = t === Tok.Word ? s.kw : 0;
      this.token(t, kw);
      this.prevKw = kw;
    }
    this.endStatement();
    if (this.reads.length === 0 && this.writes.length === 0) return NO_TABLES;
    return { read: this.unique(this.reads), written: this.unique(this.writes) };
  }

  private unique(names: string[]): string[] {
    const out: string[] = [];
    for (const name of names) {
      if (!out.includes(name) && !this.cteNames.includes(name)) out.push(name);
    }
    return out;
  }

  private endStatement(): void {
    this.finishName(false);
    if (this.copyName !== null) this.reads.push(this.copyName);
    this.copyName = null;
    this.depth = 0;
    this.listMask = 0;
    this.writtenMask = 0;
    this.fnParenMask = 0;
    this.expect = Mode.None;
    this.leadKw = 0;
    this.isStmtStarted = false;
    this.deleteDepth = -1;
    this.isDeleteFromPending = false;
    this.cteDepth = -1;
    this.isCteNameExpected = false;
    this.prevKw = 0;
    this.prevWasName = false;
  }

  private isNameToken(t: TokKind, kw: number): boolean {
    return t === Tok.QuotedIdent || (t === Tok.Word && (kw === 0 || (KW_FLAGS[kw] & KwFlag.Reserved) === 0));
  }

  private namePart(t: TokKind): string {
    const s = this.s;
    const part = unquoteIdent(s.sql, s.start, s.end, t);
    return t === Tok.Word && !this.isMysql ? asciiLower(part) : part;
  }

  /** Records the pending name. A name followed by `(` in a read list is a function (`FROM generate_series(1, 3)`). */
  private finishName(isFollowedByParen: boolean): void {
    const name = this.name;
    if (name === null) return;
    this.name = null;
    if (this.isNameDotPending) {
      this.isNameDotPending = false;
      return;
    }
    if (isFollowedByParen && this.nameMode === Mode.Read) return;
    if (this.nameMode === Mode.Copy) this.copyName = name;
    else if (this.nameMode === Mode.Written) this.writes.push(name);
    else this.reads.push(name);
  }

  private token(t: TokKind, kw: number): void {
    const s = this.s;
    const isOpenParen = t === Tok.Punct && s.ch === 0x28;
    // Continue or finish a qualified name.
    if (this.name !== null) {
      if (this.isNameDotPending) {
        if (this.isNameToken(t, kw)) {
          this.name += '.' + this.namePart(t);
          this.isNameDotPending = false;
          this.prevWasName = true;
          return;
        }
        this.finishName(false); // `a.` followed by something else: not a name
      } else if (t === Tok.Punct && s.ch === 0x2e) {
        this.isNameDotPending = true;
        return;
      } else {
        this.finishName(isOpenParen);
      }
    }
    if (!this.isStmtStarted && !isOpenParen) {
      this.isStmtStarted = true;
      this.leadKw = kw;
      if (kw === Kw.truncate) {
        this.openList(Mode.Written);
        return;
      }
      if (kw === Kw.copy && !this.isMysql) {
        this.expect = Mode.Copy;
        return;
      }
    }
    if (this.isCteNameExpected && this.depth === this.cteDepth && (t === Tok.Word || t === Tok.QuotedIdent) && kw !== Kw.recursive) {
      this.cteNames.push(this.namePart(t));
      this.isCteNameExpected = false;
      this.prevWasName = true;
      return;
    }
    if (this.expect !== Mode.None) {
      if (this.isNameToken(t, kw) && !isSkippedBeforeTable(kw)) {
        this.name = this.namePart(t);
        this.nameMode = this.expect;
        this.expect = Mode.None;
        this.prevWasName = true;
        return;
      }
      if (isSkippedBeforeTable(kw)) return;
      if (isOpenParen && this.isExpectDescending) {
        this.depth++;
        this.clearDepthBits();
        return;
      }
      this.expect = Mode.None;
    }
    const wasName = this.prevWasName;
    this.prevWasName = false;
    if (t === Tok.Punct) {
      this.punct(s.ch, wasName);
      return;
    }
    if (t === Tok.QuotedIdent) {
      this.prevWasName = true;
      return;
    }
    if (t !== Tok.Word) return;
    if (kw === 0 || (KW_FLAGS[kw] & KwFlag.Reserved) === 0) this.prevWasName = true;
    if (kw !== 0) this.keyword(kw);
  }

  private punct(ch: number, wasName: boolean): void {
    const depthBit = bit(this.depth);
    switch (ch) {
      case 0x28: // (
        this.depth++;
        this.clearDepthBits();
        if (wasName) this.fnParenMask |= bit(this.depth);
        return;
      case 0x29: // )
        this.clearDepthBits();
        if (this.depth > 0) this.depth--;
        if (this.cteDepth === this.depth) this.isCteNameExpected = false;
        return;
      case 0x2c: // ,
        if ((this.listMask & depthBit) !== 0) {
          this.expect = (this.writtenMask & depthBit) !== 0 ? Mode.Written : Mode.Read;
          this.isExpectDescending = true;
        } else if (this.cteDepth === this.depth) {
          this.isCteNameExpected = true;
        }
        return;
    }
  }

  private clearDepthBits(): void {
    const mask = ~bit(this.depth);
    this.listMask &= mask;
    this.writtenMask &= mask;
    this.fnParenMask &= mask;
  }

  private openList(mode: ModeId): void {
    const depthBit = bit(this.depth);
    this.listMask |= depthBit;
    if (mode === Mode.Written) this.writtenMask |= depthBit;
    else this.writtenMask &= ~depthBit;
    this.expect = mode;
    this.isExpectDescending = true;
  }

  private expectTarget(mode: ModeId): void {
    this.expect = mode;
    this.isExpectDescending = false;
  }

  private keyword(kw: number): void {
    const depthBit = bit(this.depth);
    if (this.cteDepth === this.depth && isMainKeyword(kw)) this.cteDepth = -1;
    switch (kw) {
      case Kw.from:
        if ((this.fnParenMask & depthBit) !== 0) return; // EXTRACT(YEAR FROM d), TRIM(x FROM y)
        if (this.copyName !== null && this.depth === 0) {
          this.writes.push(this.copyName);
          this.copyName = null;
          return;
        }
        if (this.isDeleteFromPending && this.depth === this.deleteDepth) {
          this.isDeleteFromPending = false;
          this.openList(Mode.Written);
          return;
        }
        this.openList(Mode.Read);
        return;
      case Kw.to:
        if (this.copyName !== null && this.depth === 0) {
          this.reads.push(this.copyName);
          this.copyName = null;
        } else if (this.leadKw === Kw.rename && (this.listMask & depthBit) !== 0) {
          this.expectTarget(Mode.Written);
        }
        return;
      case Kw.join:
      case Kw.straight_join:
        this.openList((this.writtenMask & depthBit) !== 0 ? Mode.Written : Mode.Read);
        return;
      case Kw.update:
        if (isDml(this.prevKw, kw)) this.openList(Mode.Written);
        return;
      case Kw.insert:
      case Kw.replace:
      case Kw.merge:
        this.expectTarget(Mode.Written);
        return;
      case Kw.delete:
        if (isDml(this.prevKw, kw)) {
          this.isDeleteFromPending = true;
          this.deleteDepth = this.depth;
        }
        return;
      case Kw.using:
        if (this.depth === this.deleteDepth && this.leadKw !== Kw.merge) {
          // DELETE ... USING: the other tables (MySQL's form may delete from them too).
          this.openList(this.isMysql ? Mode.Written : Mode.Read);
          this.isExpectDescending = false;
        } else if (this.leadKw === Kw.merge) {
          this.expectTarget(Mode.Read);
        }
        return;
      case Kw.table:
        switch (this.leadKw) {
          case Kw.drop:
          case Kw.rename:
            this.openList(Mode.Written);
            this.isExpectDescending = false;
            return;
          case Kw.create:
          case Kw.alter:
            this.expectTarget(Mode.Written);
            return;
          case Kw.lock:
          case Kw.unlock:
          case Kw.show:
            return;
          default: // TABLE t as a query
            this.expectTarget(Mode.Read);
        }
        return;
      case Kw.into:
        if (this.leadKw === Kw.load) this.expectTarget(Mode.Written);
        else if (!this.isMysql) this.expectTarget(Mode.Written); // PostgreSQL SELECT ... INTO new_table
        return;
      case Kw.with:
        this.cteDepth = this.depth;
        this.isCteNameExpected = true;
        return;
    }
    if ((KW_FLAGS[kw] & KwFlag.Clause) !== 0) {
      this.listMask &= ~depthBit;
      this.writtenMask &= ~depthBit;
    }
  }
}

/** Words that may stand between a table-introducing keyword and the name. */
function isSkippedBeforeTable(kw: number): boolean {
  switch (kw) {
    case Kw.only:
    case Kw.lateral:
    case Kw.if:
    case Kw.not:
    case Kw.exists:
    case Kw.table:
    case Kw.temporary:
    case Kw.temp:
    case Kw.unlogged:
    case Kw.into:
    case Kw.ignore:
    case Kw.low_priority:
    case Kw.delayed:
    case Kw.high_priority:
      return true;
    default:
      return false;
  }
}

function isMainKeyword(kw: number): boolean {
  return kw === Kw.select || kw === Kw.insert || kw === Kw.update || kw === Kw.delete || kw === Kw.values || kw === Kw.table || kw === Kw.replace;
}

/** UPDATE/DELETE as a statement, not `FOR UPDATE`, `ON UPDATE`, `ON DELETE`, `DUPLICATE KEY UPDATE`. */
function isDml(prevKw: number, kw: number): boolean {
  if (prevKw === Kw.on) return false;
  return kw !== Kw.update || (prevKw !== Kw.for && prevKw !== Kw.key);
}

/** PostgreSQL folds unquoted names to lower case: ASCII letters only. */
function asciiLower(text: string): string {
  let i = 0;
  while (i < text.length && !isAsciiUpper(text.charCodeAt(i))) i++;
  if (i === text.length) return text;
  let out = text.slice(0, i);
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += isAsciiUpper(c) ? String.fromCharCode(c + 0x20) : text[i];
  }
  return out;
}

function isAsciiUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}
