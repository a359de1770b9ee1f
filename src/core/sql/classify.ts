/**
 * One pass over a statement's tokens that decides everything the hot path
 * needs: the kind, the hints, and the flags that batching, caching and
 * routing test. Anything only some callers need (batch key, cache text,
 * tables, insert shape) is left to lazy passes elsewhere.
 *
 * The kind comes from the first keyword after leading comments and
 * parentheses; a small state machine then reads the few words that refine
 * it (START TRANSACTION, ROLLBACK TO, SET targets, the main statement after
 * WITH...). Flags are tracked over every token of the text. Per token the
 * work is constant, so a classification is linear in the text length.
 */
import { HintCollector } from './hints.ts';
import { equalsIgnoreCase, startsWithIgnoreCase, unquoteIdent } from './identifier.ts';
import { Kw, KW_FLAGS, KwFlag } from './keywords.ts';
import { Scanner, Tok, type ScanConfig, type TokKind } from './scanner.ts';
import type { SetTarget, StatementKind } from './types.ts';

/** What the classifier learnt; the Statement copies it. */
export interface Classification {
  readonly kind: StatementKind;
  readonly isMultiStatement: boolean;
  readonly hasLockingRead: boolean;
  readonly hasInto: boolean;
  readonly hasSessionDependentRef: boolean;
  readonly hasReturning: boolean;
  /**
   * Modifies data although the kind does not say so: nextval()/setval()/pg_notify(),
   * NEXT VALUE FOR, a data-modifying CTE under a SELECT, EXPLAIN ANALYZE of a
   * write, COPY ... FROM.
   */
  readonly writesData: boolean;
  readonly setTarget: SetTarget | null;
  readonly autocommitValue: boolean | null;
  readonly useDatabase: string | null;
  readonly savepointName: string | null;
  readonly transactionAccess: 'read_only' | 'read_write' | null;
  /** Index of the first statement's main keyword (INSERT in `WITH ... INSERT`), or -1. */
  readonly mainStart: number;
  /** The main keyword is the first token of the text: no WITH, no parentheses, no SET STATEMENT prefix. */
  readonly isPlainLead: boolean;
  /** Hints from the block comments; null when the text has no block comment. */
  readonly hints: HintCollector | null;
}

const Phase = {
  /** Before the first keyword of the first statement (skipping parentheses). */
  Lead: 0,
  /** Kind settled: only flags are tracked. */
  Body: 1,
  /** WITH's CTE list: looking for the main keyword at the WITH's depth. */
  With: 2,
  /** The word after a lead that needs one more word (LOAD, START, ROLLBACK...). */
  After: 3,
  /** A name follows (USE db, SAVEPOINT sp). */
  Name: 4,
  /** CREATE/ALTER head: looking for a stored-program object type. */
  Create: 5,
  /** BEGIN / START TRANSACTION modes. */
  TxModes: 6,
  /** EXPLAIN/ANALYZE options before the explained statement. */
  Explain: 7,
  /** COPY: looking for FROM or TO. */
  Copy: 8,
  SetAssign: 9,
  SetOp: 10,
  SetValue: 11,
  SetCharacter: 12,
  SetStatement: 13,
  /** The first statement has ended. */
  Done: 14,
} as const;
type PhaseId = (typeof Phase)[keyof typeof Phase];

const Target = { None: 0, Autocommit: 1, Charset: 2, Transaction: 3, Other: 4 } as const;
type TargetId = (typeof Target)[keyof typeof Target];

const NameFor = { Database: 0, Savepoint: 1 } as const;

const PAREN_OPEN = 0x28;
const PAREN_CLOSE = 0x29;

/** Classifies `sql`. Never throws; linear in `sql.length`. */
export function classify(sql: string, cfg: ScanConfig): Classification {
  const classifier = new Classifier(sql, cfg);
  classifier.run();
  return classifier;
}

/** The classifier is its own result, to spare an allocation per statement. */
class Classifier implements Classification {
  kind: StatementKind = 'empty';
  isMultiStatement = false;
  hasLockingRead = false;
  hasInto = false;
  hasSessionDependentRef = false;
  hasReturning = false;
  writesData = false;
  setTarget: SetTarget | null = null;
  autocommitValue: boolean | null = null;
  useDatabase: string | null = null;
  savepointName: string | null = null;
  transactionAccess: 'read_only' | 'read_write' | null = null;
  mainStart = -1;
  isPlainLead = false;
  hints: HintCollector | null = null;
  private readonly s: Scanner;
  private readonly isMysql: boolean;
  private depth = 0;
  private stmtIndex = 0;
  private isStmtStarted = false;
  private phase: PhaseId = Phase.Lead;
  /** The lead keyword awaiting its next word, in Phase.After. */
  private lead = 0;
  private leadTokens = 0;
  private mainDepth = 0;
  private withDepth = 0;
  /** Keyword ids of the two previous significant tokens (0: not a keyword). */
  private prevKw = 0;
  private prev2Kw = 0;
  /** A session (1) or writing (2) function name that counts once `(` follows. */
  private pendingFn = 0;
  /** An INSERT/REPLACE/MERGE whose INTO has not come yet: that INTO is not SELECT ... INTO. */
  private isInsertTarget = false;
  private separatorsAreCode = false;
  private createBudget = 0;
  private isFirstTxMode = false;
  private isAnalyze = false;
  private nameFor: number = NameFor.Database;
  private isSavepointKwOptional = false;
  // SET
  private setCategory: TargetId = Target.None;
  private target: TargetId = Target.None;
  private isGlobalScope = false;
  private valueTokens = 0;
  private valueKind: TokKind = Tok.End;
  private valueStart = 0;
  private valueEnd = 0;
  private valueKw = 0;

  constructor(sql: string, cfg: ScanConfig) {
    this.s = new Scanner(sql, cfg);
    this.isMysql = cfg.isMysql;
  }

  run(): void {
    const s = this.s;
    for (;;) {
      const t = s.next();
      if (t === Tok.End) break;
      if (t >= Tok.BlockComment) {
        if (t === Tok.BlockComment) {
          if (this.hints === null) this.hints = new HintCollector();
          this.hints.readComment(s.sql, s.start, s.end);
        }
        continue;
      }
      if (t === Tok.Semicolon && !this.separatorsAreCode) {
        this.endStatement();
        continue;
      }
      this.token(t);
    }
    this.endStatement();
  }

  private token(t: TokKind): void {
    const s = this.s;
    const kw = t === Tok.Word ? s.kw : 0;
    if (!this.isStmtStarted) {
      this.isStmtStarted = true;
      if (this.stmtIndex > 0) this.isMultiStatement = true;
      else this.kind = 'other';
    }
    if (this.pendingFn !== 0) {
      if (t === Tok.Punct && s.ch === PAREN_OPEN) {
        if (this.pendingFn === 1) this.hasSessionDependentRef = true;
        else this.writesData = true;
      }
      this.pendingFn = 0;
    }
    const wasInsertTarget = this.isInsertTarget;
    this.isInsertTarget = false;
    if (kw !== 0) this.keywordFlags(kw, wasInsertTarget);
    else if (t === Tok.Punct) {
      if (s.ch === PAREN_OPEN) this.depth++;
      else if (s.ch === PAREN_CLOSE && this.depth > 0) this.depth--;
    } else if (t === Tok.Variable) this.variableFlags();
    if (this.phase !== Phase.Body && this.phase !== Phase.Done) this.advance(t, kw);
    this.prev2Kw = this.prevKw;
    this.prevKw = kw;
  }

  private keywordFlags(kw: number, wasInsertTarget: boolean): void {
    const flags = KW_FLAGS[kw];
    if ((flags & (KwFlag.SessionFn | KwFlag.WriteFn)) !== 0) {
      this.pendingFn = (flags & KwFlag.SessionFn) !== 0 ? 1 : 2;
      return;
    }
    switch (kw) {
      case Kw.update: // FOR UPDATE, FOR NO KEY UPDATE
        if (this.prevKw === Kw.for || (this.prevKw === Kw.key && this.prev2Kw === Kw.no)) this.hasLockingRead = true;
        break;
      case Kw.share: // FOR SHARE, FOR KEY SHARE
        if (this.prevKw === Kw.for || (this.prevKw === Kw.key && this.prev2Kw === Kw.for)) this.hasLockingRead = true;
        break;
      case Kw.mode: // LOCK IN SHARE MODE
        if (this.prevKw === Kw.share && this.prev2Kw === Kw.in) this.hasLockingRead = true;
        break;
      case Kw.sql_calc_found_rows: // sets FOUND_ROWS() for the session
        this.hasSessionDependentRef = true;
        break;
      case Kw.value: // MariaDB sequences: PREVIOUS VALUE FOR s, NEXT VALUE FOR s
        if (this.prevKw === Kw.previous) this.hasSessionDependentRef = true;
        else if (this.prevKw === Kw.next) this.writesData = true;
        break;
      case Kw.insert:
      case Kw.replace:
      case Kw.merge:
        this.isInsertTarget = true;
        break;
      case Kw.into:
        if (!wasInsertTarget && this.stmtIndex === 0 && this.kind === 'select') this.hasInto = true;
        break;
      case Kw.returning:
        if (this.stmtIndex === 0 && this.depth === this.mainDepth && isDmlKind(this.kind)) this.hasReturning = true;
        break;
      default:
        if ((flags & KwFlag.InsertModifier) !== 0) this.isInsertTarget = wasInsertTarget;
    }
  }

  private variableFlags(): void {
    const s = this.s;
    const sql = s.sql;
    if (s.end - s.start >= 2 && sql.charCodeAt(s.start + 1) === 0x40) {
      // @@var reads or sets a session variable unless it names the global one.
      if (!startsWithIgnoreCase(sql, s.start + 2, s.end, 'global.')) this.hasSessionDependentRef = true;
    } else {
      this.hasSessionDependentRef = true;
    }
  }

  private endStatement(): void {
    if (this.isStmtStarted) {
      if (this.stmtIndex === 0) this.finishFirst();
      this.stmtIndex++;
      this.isStmtStarted = false;
    }
    this.depth = 0;
    this.prevKw = 0;
    this.prev2Kw = 0;
    this.pendingFn = 0;
    this.isInsertTarget = false;
  }

  private finishFirst(): void {
    switch (this.phase) {
      case Phase.SetOp:
      case Phase.SetValue:
        this.finishAssignment();
        break;
      case Phase.SetCharacter:
        this.addCategory(Target.Other);
        break;
    }
    if (this.kind === 'set') this.setTarget = categoryName(this.setCategory);
    this.phase = Phase.Done;
  }

  private advance(t: TokKind, kw: number): void {
    switch (this.phase) {
      case Phase.Lead:
        this.onLead(t, kw);
        break;
      case Phase.With:
        this.onWith(kw);
        break;
      case Phase.After:
        this.onAfter(kw);
        break;
      case Phase.Name:
        this.onName(t, kw);
        break;
      case Phase.Create:
        this.onCreate(kw);
        break;
      case Phase.TxModes:
        this.onTxModes(kw);
        break;
      case Phase.Explain:
        this.onExplain(kw);
        break;
      case Phase.Copy:
        this.onCopy(kw);
        break;
      case Phase.SetAssign:
        this.onSetAssign(t, kw);
        break;
      case Phase.SetOp:
        this.onSetOp(t, kw);
        break;
      case Phase.SetValue:
        this.onSetValue(t, kw);
        break;
      case Phase.SetCharacter:
        this.onSetCharacter(t, kw);
        break;
      case Phase.SetStatement:
        if (kw === Kw.for && this.depth === this.mainDepth) {
          // MariaDB SET STATEMENT var=value FOR <statement>: the statement is what runs.
          this.kind = 'other';
          this.phase = Phase.Lead;
        }
        break;
    }
  }

  private onLead(t: TokKind, kw: number): void {
    const s = this.s;
    if (t === Tok.Punct && s.ch === PAREN_OPEN) {
      this.leadTokens++;
      return;
    }
    this.mainDepth = this.depth;
    this.mainStart = s.start;
    this.isPlainLead = this.leadTokens === 0;
    this.leadTokens++;
    this.phase = Phase.Body;
    const isPg = !this.isMysql;
    switch (kw) {
      case Kw.select:
      case Kw.values:
      case Kw.table:
        this.kind = 'select';
        return;
      case Kw.with:
        this.isPlainLead = false;
        this.withDepth = this.depth;
        this.phase = Phase.With;
        return;
      case Kw.insert:
        this.kind = 'insert';
        return;
      case Kw.replace:
        this.kind = 'replace';
        return;
      case Kw.update:
        this.kind = 'update';
        return;
      case Kw.delete:
        this.kind = 'delete';
        return;
      case Kw.call:
        this.kind = 'call';
        return;
      case Kw.create:
      case Kw.alter:
        this.kind = 'ddl';
        this.phase = Phase.Create;
        this.createBudget = 16;
        return;
      case Kw.drop:
      case Kw.truncate:
      case Kw.rename:
      case Kw.grant:
      case Kw.revoke:
      case Kw.comment:
        this.kind = 'ddl';
        return;
      case Kw.set:
        this.kind = 'set';
        this.phase = Phase.SetAssign;
        return;
      case Kw.use:
        if (this.isMysql) {
          this.kind = 'use';
          this.expectName(NameFor.Database, false);
        }
        return;
      case Kw.show:
        this.kind = 'show';
        return;
      case Kw.describe:
      case Kw.desc:
        this.kind = 'describe';
        return;
      case Kw.explain:
        this.kind = 'explain';
        this.phase = Phase.Explain;
        return;
      case Kw.do:
        this.kind = 'do';
        return;
      case Kw.begin:
        this.kind = 'begin';
        this.phase = Phase.TxModes;
        this.isFirstTxMode = true;
        return;
      case Kw.commit:
        this.kind = 'commit';
        this.after(kw);
        return;
      case Kw.rollback:
        this.kind = 'rollback';
        this.after(kw);
        return;
      case Kw.end:
        if (isPg) this.kind = 'commit';
        return;
      case Kw.abort:
        if (isPg) this.kind = 'rollback';
        return;
      case Kw.savepoint:
        this.kind = 'savepoint';
        this.expectName(NameFor.Savepoint, false);
        return;
      case Kw.release:
        this.kind = 'release_savepoint';
        this.expectName(NameFor.Savepoint, true);
        return;
      case Kw.lock:
        if (isPg) this.kind = 'lock_tables';
        else this.after(kw);
        return;
      case Kw.xa:
        this.kind = 'xa';
        return;
      case Kw.copy:
        if (isPg) {
          this.kind = 'copy';
          this.phase = Phase.Copy;
        }
        return;
      case Kw.listen:
      case Kw.unlisten:
        if (isPg) this.kind = 'listen';
        return;
      case Kw.notify:
        if (isPg) this.kind = 'notify';
        return;
      case Kw.prepare:
        if (isPg) this.after(kw);
        return;
      case Kw.load:
      case Kw.analyze:
      case Kw.analyse:
      case Kw.start:
      case Kw.unlock:
        this.after(kw);
        return;
    }
  }

  private after(kw: number): void {
    this.lead = kw;
    this.phase = Phase.After;
  }

  private expectName(nameFor: number, isSavepointKwOptional: boolean): void {
    this.nameFor = nameFor;
    this.isSavepointKwOptional = isSavepointKwOptional;
    this.phase = Phase.Name;
  }

  private onAfter(kw: number): void {
    this.phase = Phase.Body;
    switch (this.lead) {
      case Kw.load: // LOAD DATA / LOAD XML (PostgreSQL LOAD 'library' is other)
        if (kw === Kw.data || kw === Kw.xml) this.kind = 'load_data';
        return;
      case Kw.analyze:
      case Kw.analyse: // MariaDB ANALYZE <statement> runs it; ANALYZE TABLE is other
        if (isStatementLead(kw)) {
          this.kind = 'explain';
          this.isAnalyze = true;
          this.phase = Phase.Explain;
          this.onExplain(kw);
        }
        return;
      case Kw.start:
        if (kw === Kw.transaction) {
          this.kind = 'begin';
          this.phase = Phase.TxModes;
        }
        return;
      case Kw.commit:
        if (kw === Kw.prepared && !this.isMysql) this.kind = 'xa';
        return;
      case Kw.rollback:
        if (kw === Kw.work || kw === Kw.transaction) this.phase = Phase.After;
        else if (kw === Kw.to) this.expectName(NameFor.Savepoint, true);
        else if (kw === Kw.prepared && !this.isMysql) this.kind = 'xa';
        return;
      case Kw.lock:
        if (kw === Kw.table || kw === Kw.tables) this.kind = 'lock_tables';
        return;
      case Kw.unlock:
        if (kw === Kw.table || kw === Kw.tables) this.kind = 'unlock_tables';
        return;
      case Kw.prepare: // PostgreSQL PREPARE TRANSACTION 'gid': two-phase commit
        if (kw === Kw.transaction) this.kind = 'xa';
        return;
    }
  }

  private onName(t: TokKind, kw: number): void {
    if (kw === Kw.savepoint && this.isSavepointKwOptional) {
      this.isSavepointKwOptional = false;
      return;
    }
    this.phase = Phase.Body;
    if (t !== Tok.Word && t !== Tok.QuotedIdent) return;
    const s = this.s;
    const name = unquoteIdent(s.sql, s.start, s.end, t);
    if (this.nameFor === NameFor.Database) this.useDatabase = name;
    else this.savepointName = name;
  }

  private onWith(kw: number): void {
    if (this.depth === this.withDepth) {
      let kind: StatementKind | null = null;
      switch (kw) {
        case Kw.select:
        case Kw.values:
        case Kw.table:
          kind = 'select';
          break;
        case Kw.insert:
          kind = 'insert';
          break;
        case Kw.replace:
          kind = 'replace';
          break;
        case Kw.update:
          kind = 'update';
          break;
        case Kw.delete:
          kind = 'delete';
          break;
      }
      if (kind !== null) {
        this.kind = kind;
        this.mainStart = this.s.start;
        this.mainDepth = this.depth;
        this.phase = Phase.Body;
      }
      return;
    }
    if (this.depth > this.withDepth && isDmlWord(kw, this.prevKw)) this.writesData = true;
  }

  private onCreate(kw: number): void {
    switch (kw) {
      case Kw.procedure:
      case Kw.function:
      case Kw.trigger:
      case Kw.event:
        // A stored program's body holds `;`s that belong to it (BEGIN ... END, BEGIN ATOMIC ... END).
        this.separatorsAreCode = true;
        this.phase = Phase.Body;
        return;
      case Kw.table:
      case Kw.view:
      case Kw.index:
      case Kw.database:
      case Kw.schema:
        this.phase = Phase.Body;
        return;
    }
    if (--this.createBudget <= 0) this.phase = Phase.Body;
  }

  private onTxModes(kw: number): void {
    if (this.isFirstTxMode) {
      this.isFirstTxMode = false;
      if (kw === Kw.not && this.isMysql) {
        // MariaDB BEGIN NOT ATOMIC ... END: a compound statement, not a transaction.
        this.kind = 'other';
        this.separatorsAreCode = true;
        this.phase = Phase.Body;
        return;
      }
    }
    if (this.prevKw === Kw.read) {
      if (kw === Kw.only) this.transactionAccess = 'read_only';
      else if (kw === Kw.write) this.transactionAccess = 'read_write';
    }
  }

  private onExplain(kw: number): void {
    if (kw === Kw.analyze || kw === Kw.analyse) {
      this.isAnalyze = true;
      return;
    }
    if (this.depth !== this.mainDepth) {
      if (this.isAnalyze && this.depth > this.mainDepth && isDmlWord(kw, this.prevKw)) this.writesData = true;
      return;
    }
    switch (kw) {
      case Kw.insert:
      case Kw.update:
      case Kw.delete:
      case Kw.replace:
      case Kw.merge:
        // EXPLAIN ANALYZE executes the statement.
        if (this.isAnalyze) this.writesData = true;
        this.phase = Phase.Body;
        return;
      case Kw.select:
      case Kw.values:
      case Kw.table:
        this.phase = Phase.Body;
        return;
    }
  }

  private onCopy(kw: number): void {
    if (this.depth !== this.mainDepth) return;
    if (kw === Kw.from) {
      this.writesData = true;
      this.phase = Phase.Body;
    } else if (kw === Kw.to) {
      this.phase = Phase.Body;
    }
  }

  // SET ------------------------------------------------------------------

  private onSetAssign(t: TokKind, kw: number): void {
    switch (kw) {
      case Kw.global:
      case Kw.persist:
      case Kw.persist_only:
        this.isGlobalScope = true;
        return;
      case Kw.session:
      case Kw.local:
        return;
      case Kw.transaction: // SET [GLOBAL|SESSION] TRANSACTION ...
      case Kw.characteristics: // PostgreSQL SET SESSION CHARACTERISTICS AS TRANSACTION ...
        this.addCategory(Target.Transaction);
        this.phase = Phase.Body;
        return;
      case Kw.names:
      case Kw.charset:
        this.beginAssignment(Target.Charset);
        this.phase = Phase.SetValue;
        return;
      case Kw.character:
        this.phase = Phase.SetCharacter;
        return;
      case Kw.autocommit:
        this.beginAssignment(this.isGlobalScope ? Target.Other : Target.Autocommit);
        this.phase = Phase.SetOp;
        return;
      case Kw.statement:
        if (this.isMysql) {
          this.isPlainLead = false;
          this.phase = Phase.SetStatement;
          return;
        }
        break;
    }
    const s = this.s;
    if (t === Tok.Word) {
      const isCharset = !this.isGlobalScope && isCharsetVariable(s.sql, s.start, s.end);
      this.beginAssignment(isCharset ? Target.Charset : Target.Other);
      this.phase = Phase.SetOp;
    } else if (t === Tok.Variable) {
      this.beginAssignment(this.variableTarget());
      this.phase = Phase.SetOp;
    } else {
      this.beginAssignment(Target.Other);
      this.phase = Phase.SetValue;
      this.onSetValue(t, kw);
    }
  }

  /** The target of `SET @@[scope.]name` or `SET @user_var`. */
  private variableTarget(): TargetId {
    const s = this.s;
    const sql = s.sql;
    const end = s.end;
    let p = s.start;
    if (end - p < 2 || sql.charCodeAt(p + 1) !== 0x40) return Target.Other; // @user_var
    p += 2;
    let isGlobal = this.isGlobalScope;
    if (startsWithIgnoreCase(sql, p, end, 'global.')) {
      isGlobal = true;
      p += 7;
    } else if (startsWithIgnoreCase(sql, p, end, 'persist.')) {
      isGlobal = true;
      p += 8;
    } else if (startsWithIgnoreCase(sql, p, end, 'persist_only.')) {
      isGlobal = true;
      p += 13;
    } else if (startsWithIgnoreCase(sql, p, end, 'session.')) {
      p += 8;
    } else if (startsWithIgnoreCase(sql, p, end, 'local.')) {
      p += 6;
    }
    if (isGlobal) return Target.Other;
    if (equalsIgnoreCase(sql, p, end, 'autocommit')) return Target.Autocommit;
    return isCharsetVariable(sql, p, end) ? Target.Charset : Target.Other;
  }

  private onSetOp(t: TokKind, kw: number): void {
    if (t === Tok.Punct) {
      const ch = this.s.ch;
      if (ch === 0x3d) {
        this.phase = Phase.SetValue;
        return;
      }
      if (ch === 0x3a) return; // the ':' of ':='
    }
    if (kw === Kw.to) {
      this.phase = Phase.SetValue;
      return;
    }
    // A dotted or otherwise unusual name: PostgreSQL `SET my.setting = 1`, `SET TIME ZONE ...`.
    this.target = Target.Other;
    if (t === Tok.Punct && this.s.ch === 0x2e) return;
    this.phase = Phase.SetValue;
    this.onSetValue(t, kw);
  }

  private onSetValue(t: TokKind, kw: number): void {
    const s = this.s;
    if (this.isMysql && t === Tok.Punct && s.ch === 0x2c && this.depth === this.mainDepth) {
      this.finishAssignment();
      this.phase = Phase.SetAssign;
      return;
    }
    if (this.valueTokens === 0) {
      this.valueKind = t;
      this.valueStart = s.start;
      this.valueEnd = s.end;
      this.valueKw = kw;
    }
    this.valueTokens++;
  }

  private onSetCharacter(t: TokKind, kw: number): void {
    if (kw === Kw.set) {
      this.beginAssignment(Target.Charset);
      this.phase = Phase.SetValue;
      return;
    }
    this.beginAssignment(Target.Other);
    this.phase = Phase.SetValue;
    this.onSetValue(t, kw);
  }

  private beginAssignment(target: TargetId): void {
    this.target = target;
    this.valueTokens = 0;
    this.isGlobalScope = false;
  }

  private finishAssignment(): void {
    if (this.target === Target.None) return;
    if (this.target === Target.Autocommit) {
      this.autocommitValue = this.valueTokens === 1 ? this.booleanValue() : null;
    }
    this.addCategory(this.target);
    this.target = Target.None;
  }

  private addCategory(target: TargetId): void {
    if (this.setCategory === Target.None || this.setCategory === target) this.setCategory = target;
    else this.setCategory = Target.Other;
  }

  /** The value of `SET autocommit = <one token>`: 0/1/ON/OFF/TRUE/FALSE, quoted or not. */
  private booleanValue(): boolean | null {
    const sql = this.s.sql;
    let start = this.valueStart;
    let end = this.valueEnd;
    switch (this.valueKind) {
      case Tok.Word:
        if (this.valueKw === Kw.on || this.valueKw === Kw.true) return true;
        if (this.valueKw === Kw.off || this.valueKw === Kw.false) return false;
        return null;
      case Tok.Number:
        break;
      case Tok.String: {
        const quote = sql.charCodeAt(start);
        if ((quote !== 0x27 && quote !== 0x22) || end - start < 2 || sql.charCodeAt(end - 1) !== quote) return null;
        start++;
        end--;
        if (equalsIgnoreCase(sql, start, end, 'on') || equalsIgnoreCase(sql, start, end, 'true')) return true;
        if (equalsIgnoreCase(sql, start, end, 'off') || equalsIgnoreCase(sql, start, end, 'false')) return false;
        break;
      }
      default:
        return null;
    }
    if (end - start !== 1) return null;
    const digit = sql.charCodeAt(start);
    return digit === 0x31 ? true : digit === 0x30 ? false : null;
  }
}

function categoryName(target: TargetId): SetTarget {
  switch (target) {
    case Target.Autocommit:
      return 'autocommit';
    case Target.Charset:
      return 'charset';
    case Target.Transaction:
      return 'transaction';
    default:
      return 'other';
  }
}

function isDmlKind(kind: StatementKind): boolean {
  return kind === 'insert' || kind === 'replace' || kind === 'update' || kind === 'delete';
}

/** Words that begin a statement MariaDB's ANALYZE runs (not TABLE: ANALYZE TABLE updates statistics). */
function isStatementLead(kw: number): boolean {
  switch (kw) {
    case Kw.select:
    case Kw.insert:
    case Kw.update:
    case Kw.delete:
    case Kw.replace:
    case Kw.with:
    case Kw.values:
      return true;
    default:
      return false;
  }
}

/** A data-modifying keyword: UPDATE unless part of FOR [NO KEY] UPDATE or ON [DUPLICATE KEY] UPDATE. */
function isDmlWord(kw: number, prevKw: number): boolean {
  switch (kw) {
    case Kw.insert:
    case Kw.delete:
    case Kw.merge:
      return prevKw !== Kw.on;
    case Kw.update:
      return prevKw !== Kw.for && prevKw !== Kw.key && prevKw !== Kw.on;
    default:
      return false;
  }
}

/** The session variables that select the connection character set. */
function isCharsetVariable(sql: string, start: number, end: number): boolean {
  return (
    startsWithIgnoreCase(sql, start, end, 'character_set_') ||
    equalsIgnoreCase(sql, start, end, 'collation_connection') ||
    equalsIgnoreCase(sql, start, end, 'client_encoding')
  );
}
