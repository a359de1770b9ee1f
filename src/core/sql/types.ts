/**
 * The neutral description of one SQL text, as the core's decisions
 * (routing, batching, caching, metrics) consume it. Protocol-blind.
 */
import type { Hints } from './hints.ts';
import type { SqlDialect } from './scanner.ts';

export type { Hints } from './hints.ts';
export type { ParseOptions, SqlDialect } from './scanner.ts';

export type StatementKind =
  | 'select'
  | 'insert'
  | 'replace'
  | 'update'
  | 'delete'
  | 'load_data'
  | 'call'
  | 'ddl'
  | 'set'
  | 'use'
  | 'show'
  | 'describe'
  | 'explain'
  | 'do'
  | 'begin'
  | 'commit'
  | 'rollback'
  | 'savepoint'
  | 'release_savepoint'
  | 'lock_tables'
  | 'unlock_tables'
  | 'xa'
  | 'copy'
  | 'listen'
  | 'notify'
  | 'other'
  | 'empty';

/** Every statement kind, for exhaustive metric label sets. */
export const STATEMENT_KINDS: readonly StatementKind[] = Object.freeze([
  'select', 'insert', 'replace', 'update', 'delete', 'load_data', 'call', 'ddl', 'set', 'use', 'show',
  'describe', 'explain', 'do', 'begin', 'commit', 'rollback', 'savepoint', 'release_savepoint',
  'lock_tables', 'unlock_tables', 'xa', 'copy', 'listen', 'notify', 'other', 'empty',
] as const);

export type SetTarget = 'autocommit' | 'charset' | 'transaction' | 'other';

export interface InsertShape {
  /** As written, unquoted; `db.table` kept as 'db.table'. Not case-folded. */
  table: string;
  /** Unquoted column names, or null when the statement has no column list. */
  columns: string[] | null;
  /** Index in the SQL text of the `(` opening the first VALUES tuple. */
  valuesStart: number;
  /** Index just past the `)` closing the last VALUES tuple (the same tuple when rowCount is 1). */
  valuesEnd: number;
  /** Number of tuples after VALUES. */
  rowCount: number;
  /** The top-level values of the first tuple, in order. */
  firstRow: readonly RowValue[];
  isIgnore: boolean;
  /** An upsert clause: MySQL `ON DUPLICATE KEY UPDATE`, or PostgreSQL `ON CONFLICT`. */
  hasOnDuplicateKeyUpdate: boolean;
  hasReturning: boolean;
  /** A SELECT anywhere in the statement (e.g. a subquery inside a tuple). */
  hasSelect: boolean;
  /**
   * Anything other than comments and `;` after the last tuple: an upsert
   * clause, RETURNING, a MySQL row alias (`AS new`)... Merging rows is only
   * safe when this is false, because the suffix would be taken from one member.
   */
  hasTrailingClause: boolean;
}

/**
 * What one value of a VALUES tuple is, as far as merging rows cares: the
 * literals an AUTO_INCREMENT column reads as "generate an id" (`NULL`,
 * `DEFAULT`, `0`), a plain decimal integer (an explicit id), a placeholder,
 * or anything else.
 */
export type RowValueKind = 'null' | 'default' | 'zero' | 'integer' | 'placeholder' | 'expression';

export interface RowValue {
  /** Index in the SQL text of the value's first character, and just past its last. */
  start: number;
  end: number;
  kind: RowValueKind;
  /** For a placeholder: how many placeholders come before it in the tuple. */
  paramIndex: number;
}

/** `DELETE FROM table WHERE column = value`, nothing more (see delete-shape.ts). */
export interface DeleteShape {
  /** As written, unquoted; `db.table` kept as 'db.table'. */
  table: string;
  column: string;
  /** Index in the SQL text of the `=`. */
  operatorStart: number;
  /** Index in the SQL text of the value, and just past it. */
  valueStart: number;
  valueEnd: number;
  /** 'integer' or 'placeholder'. */
  valueKind: RowValueKind;
}

export interface TablesTouched {
  /** Tables read, in order of first appearance, without duplicates. */
  readonly read: readonly string[];
  /** Tables written (over-approximated: when in doubt a table counts as written). */
  readonly written: readonly string[];
}

export interface Statement {
  /** The original text, unchanged (comments kept: it is what goes to the database). */
  readonly sql: string;
  readonly dialect: SqlDialect;
  readonly kind: StatementKind;
  readonly hints: Hints;
  /** Known hint keys whose values were rejected (not a number, out of range). */
  readonly hintWarnings: number;
  /** A `ttl` hint above 0 on a statement that writes; see TtlOnWriteWarner. */
  readonly hasTtlOnWrite: boolean;
  readonly isMultiStatement: boolean;
  readonly hasLockingRead: boolean;
  /** SELECT ... INTO a variable, OUTFILE, DUMPFILE, or (PostgreSQL) a new table. */
  readonly hasInto: boolean;
  /**
   * References something whose value depends on the session that runs it:
   * LAST_INSERT_ID(), ROW_COUNT(), FOUND_ROWS(), CONNECTION_ID(), SQL_CALC_FOUND_ROWS,
   * GET_LOCK() and other named locks, LASTVAL(), PREVIOUS VALUE FOR, @user_vars,
   * session @@vars; PostgreSQL lastval(), currval(), pg_backend_pid(), advisory
   * locks, set_config(), current_setting(), txid_current().
   */
  readonly hasSessionDependentRef: boolean;
  readonly hasReturning: boolean;
  /** INSERT/REPLACE whose rows come from a query. Computed on first read. */
  readonly isInsertSelect: boolean;
  /**
   * For kind 'set': what it sets. 'autocommit' (SET autocommit=..), 'charset'
   * (SET NAMES, SET CHARACTER SET, SET character_set_*, collation_connection,
   * PostgreSQL client_encoding), 'transaction' (SET TRANSACTION ...), 'other'.
   * Several assignments of different targets give 'other'. null for other kinds.
   */
  readonly setTarget: SetTarget | null;
  /**
   * For a SET that assigns the session's autocommit 0/1/ON/OFF/TRUE/FALSE:
   * the new value (also when other variables are set alongside); null otherwise.
   */
  readonly autocommitValue: boolean | null;
  /** For kind 'use': the database name, unquoted. */
  readonly useDatabase: string | null;
  /** For SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK TO SAVEPOINT: the savepoint, unquoted. */
  readonly savepointName: string | null;
  /** For kind 'begin': READ ONLY or READ WRITE when stated. */
  readonly transactionAccess: 'read_only' | 'read_write' | null;
  /** Only for a plain INSERT/REPLACE ... VALUES. Computed on first read. */
  readonly insertShape: InsertShape | null;
  /** For a DELETE by one key with nothing else, its shape; else null. */
  readonly deleteShape: DeleteShape | null;
  /** Best effort, for simple statements. Computed on first read. */
  readonly tables: TablesTouched;
  /** May modify data or schema, or take locks: must run on the primary. */
  isWritable(): boolean;
  /** A single INSERT/REPLACE/UPDATE/DELETE with no session-dependent reference and no `batch:0` hint. */
  isBatchable(): boolean;
  /** The statement template: literals replaced by `?`, comments dropped, spacing canonical. Memoised. */
  batchKey(): string;
  /** A single SELECT with ttl > 0, no locking read, no INTO, nothing session-dependent or writing. */
  isCacheable(): boolean;
  /** The text without comments (hints included), whitespace folded, trailing `;` dropped: for cache keys. Memoised. */
  cacheText(): string;
}
