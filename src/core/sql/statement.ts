/**
 * The public entry: `parseStatement(sql, dialect)` reads a statement once and
 * answers what batching, caching, routing and metrics ask of it.
 *
 * The eager pass (classify) is what every query pays for. The batch key, the
 * cache text, the tables and the insert shape each cost another pass over
 * the text, made on first use and memoised, so callers that never ask never pay.
 */
import { classify, type Classification } from './classify.ts';
import { NO_HINTS, type Hints } from './hints.ts';
import { analyzeInsert, type InsertAnalysis } from './insert-shape.ts';
import { batchKeyOf, cacheTextOf } from './normalize.ts';
import { analyzeDelete } from './delete-shape.ts';
import { scanConfigFor, type ParseOptions, type ScanConfig, type SqlDialect } from './scanner.ts';
import { NO_TABLES, tablesOf } from './tables.ts';
import type { DeleteShape, InsertShape, SetTarget, Statement, StatementKind, TablesTouched } from './types.ts';

/**
 * Reads `sql` in the given dialect. Never throws, whatever the input; time
 * is linear in `sql.length`. `options` carries session modes that change
 * lexing (MySQL NO_BACKSLASH_ESCAPES / ANSI_QUOTES, PostgreSQL
 * standard_conforming_strings); the defaults are the servers' defaults.
 */
export function parseStatement(sql: string, dialect: SqlDialect, options?: ParseOptions): Statement {
  const cfg = scanConfigFor(dialect, options);
  return new ParsedStatement(sql, cfg, classify(sql, cfg));
}

const NOT_ANALYZED: InsertAnalysis = Object.freeze({ shape: null, isInsertSelect: false });

export class ParsedStatement implements Statement {
  readonly sql: string;
  readonly dialect: SqlDialect;
  readonly kind: StatementKind;
  readonly hints: Hints;
  readonly hintWarnings: number;
  readonly hasTtlOnWrite: boolean;
  readonly isMultiStatement: boolean;
  readonly hasLockingRead: boolean;
  readonly hasInto: boolean;
  readonly hasSessionDependentRef: boolean;
  readonly hasReturning: boolean;
  readonly setTarget: SetTarget | null;
  readonly autocommitValue: boolean | null;
  readonly useDatabase: string | null;
  readonly savepointName: string | null;
  readonly transactionAccess: 'read_only' | 'read_write' | null;
  private readonly cfg: ScanConfig;
  private readonly writesData: boolean;
  private readonly mainStart: number;
  private readonly isPlainLead: boolean;
  private batchKeyMemo: string | null = null;
  private cacheTextMemo: string | null = null;
  private tablesMemo: TablesTouched | null = null;
  private insertMemo: InsertAnalysis | null = null;
  private deleteMemo: DeleteShape | null | undefined = undefined;

  constructor(sql: string, cfg: ScanConfig, c: Classification) {
    this.sql = sql;
    this.dialect = cfg.dialect;
    this.cfg = cfg;
    this.kind = c.kind;
    this.hints = c.hints === null ? NO_HINTS : c.hints.toHints();
    this.hintWarnings = c.hints === null ? 0 : c.hints.warnings;
    this.isMultiStatement = c.isMultiStatement;
    this.hasLockingRead = c.hasLockingRead;
    this.hasInto = c.hasInto;
    this.hasSessionDependentRef = c.hasSessionDependentRef;
    this.hasReturning = c.hasReturning;
    this.setTarget = c.setTarget;
    this.autocommitValue = c.autocommitValue;
    this.useDatabase = c.useDatabase;
    this.savepointName = c.savepointName;
    this.transactionAccess = c.transactionAccess;
    this.writesData = c.writesData;
    this.mainStart = c.mainStart;
    this.isPlainLead = c.isPlainLead;
    const ttl = this.hints.ttlSeconds;
    this.hasTtlOnWrite = ttl !== null && ttl > 0 && this.isWritable();
  }

  get isInsertSelect(): boolean {
    return this.insertAnalysis().isInsertSelect;
  }

  get insertShape(): InsertShape | null {
    return this.insertAnalysis().shape;
  }

  get deleteShape(): DeleteShape | null {
    if (this.deleteMemo === undefined) {
      this.deleteMemo = this.kind === 'delete' && this.isPlainLead && !this.isMultiStatement && !this.hasReturning ? analyzeDelete(this.sql, this.cfg, this.mainStart) : null;
    }
    return this.deleteMemo;
  }

  get tables(): TablesTouched {
    if (this.tablesMemo === null) {
      this.tablesMemo = this.kind === 'empty' ? NO_TABLES : tablesOf(this.sql, this.cfg);
    }
    return this.tablesMemo;
  }

  isWritable(): boolean {
    switch (this.kind) {
      case 'select':
        return this.hasInto || this.hasLockingRead || this.writesData;
      case 'insert':
      case 'replace':
      case 'update':
      case 'delete':
      case 'load_data':
      case 'call':
      case 'ddl':
      case 'do':
      case 'lock_tables':
      case 'listen': // PostgreSQL refuses LISTEN/NOTIFY on a hot standby
      case 'notify':
      case 'other': // unknown: the primary is always a correct place to run it
        return true;
      default:
        return this.writesData;
    }
  }

  isBatchable(): boolean {
    switch (this.kind) {
      case 'insert':
      case 'replace':
      case 'update':
      case 'delete':
        return !this.isMultiStatement && !this.hasSessionDependentRef && this.hints.batchMs !== 0;
      default:
        return false;
    }
  }

  batchKey(): string {
    if (this.batchKeyMemo === null) this.batchKeyMemo = batchKeyOf(this.sql, this.cfg);
    return this.batchKeyMemo;
  }

  isCacheable(): boolean {
    const ttl = this.hints.ttlSeconds;
    return (
      this.kind === 'select' &&
      ttl !== null &&
      ttl > 0 &&
      !this.hasLockingRead &&
      !this.hasInto &&
      !this.isMultiStatement &&
      !this.hasSessionDependentRef &&
      !this.writesData
    );
  }

  cacheText(): string {
    if (this.cacheTextMemo === null) this.cacheTextMemo = cacheTextOf(this.sql, this.cfg);
    return this.cacheTextMemo;
  }

  private insertAnalysis(): InsertAnalysis {
    if (this.insertMemo === null) {
      this.insertMemo =
        this.kind === 'insert' || this.kind === 'replace'
          ? analyzeInsert(this.sql, this.cfg, {
              mainStart: this.mainStart,
              canHaveShape: this.isPlainLead && !this.isMultiStatement,
              hasReturning: this.hasReturning,
            })
          : NOT_ANALYZED;
    }
    return this.insertMemo;
  }
}
