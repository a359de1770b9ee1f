import type { Protocol, SessionView } from '../types.ts';

/**
 * A client session's state as the core tracks it, with one owner: the front
 * end's connection object. Transaction state is written only from what the
 * server reports (PostgreSQL ReadyForQuery I/T/E, MySQL status flags); the
 * rest by the engine's `applyEffects` and by the front end's own commands
 * (startup, COM_CHANGE_USER, ...).
 */
export class SessionState implements SessionView {
  readonly protocol: Protocol;
  group: string;
  user = '';
  database: string | null = null;
  charset = '';
  /** From the server: inside an explicit transaction block (or a failed one). */
  isServerInTransaction = false;
  isAutocommit = true;
  hasUntrackedState = false;
  /** Explicit LOCK TABLES, which MySQL's status flags do not show. */
  hasTableLocks = false;

  constructor(protocol: Protocol, group: string) {
    this.protocol = protocol;
    this.group = group;
  }

  get isInTransaction(): boolean {
    return this.isServerInTransaction || this.hasTableLocks;
  }

  /** A session reset (COM_CHANGE_USER, COM_RESET_CONNECTION) forgets what the proxy could not follow. */
  resetState(): void {
    this.hasUntrackedState = false;
    this.hasTableLocks = false;
  }
}
