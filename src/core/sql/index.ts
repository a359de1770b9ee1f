/**
 * SQL reading for the core: hints, statement kind, flags and keys.
 * Protocol-blind: nothing here imports from src/mysql or src/postgres.
 */
export { parseStatement } from './statement.ts';
export { TtlOnWriteWarner, type TtlOnWriteWarnerOptions } from './ttl-warning.ts';
export { HINT_LIMITS } from './hints.ts';
export { STATEMENT_KINDS } from './types.ts';
export type {
  DeleteShape,
  Hints,
  InsertShape,
  RowValue,
  RowValueKind,
  ParseOptions,
  SetTarget,
  SqlDialect,
  Statement,
  StatementKind,
  TablesTouched,
} from './types.ts';
