import type { Statement } from '../sql/index.ts';
import type { SessionState } from './session-state.ts';

/** How a statement's response ended, as the front end read it from the wire. */
export interface ResponseOutcome {
  /** No error in the response. */
  isOk: boolean;
  /** Statements the server reported as run (results / CommandCompletes). */
  statementsRun: number;
  /** It ran with bound parameter values (a prepared execution): values in its text are unknown to the proxy. */
  hasBoundValues?: boolean;
}

/**
 * PostgreSQL statements the classifier files under 'other' that change
 * session state the proxy does not follow (RESET, DISCARD, PREPARE, ...).
 * They only ever start a statement, so the first keyword decides.
 */
const UNTRACKED_POSTGRES_LEADS = new Set(['reset', 'discard', 'prepare', 'deallocate', 'load', 'declare']);

/**
 * Applies the session effects of one statement whose response has ended.
 * Transaction state is not touched: it comes from the server. A statement
 * the proxy cannot follow marks the session untracked, which keeps it out of
 * the cache and out of batches for the rest of its life (or until a reset).
 */
export function applyEffects(session: SessionState, statement: Statement, outcome: ResponseOutcome): void {
  if (!outcome.isOk) return;
  if (statement.isMultiStatement && outcome.statementsRun > 1) {
    // Later statements were not classified; they may have changed anything.
    session.hasUntrackedState = true;
    return;
  }
  switch (statement.kind) {
    case 'use':
      if (statement.useDatabase !== null) session.database = statement.useDatabase;
      return;
    case 'set':
      // A bound character set is a value the proxy never saw: the session is then not followed.
      if (statement.setTarget === 'charset' && outcome.hasBoundValues === true) session.hasUntrackedState = true;
      else if (statement.setTarget === 'charset') session.charset = statement.cacheText();
      else if (statement.setTarget !== 'autocommit') session.hasUntrackedState = true;
      return;
    case 'lock_tables':
      session.hasTableLocks = true;
      return;
    case 'unlock_tables':
      session.hasTableLocks = false;
      return;
    case 'call':
      // A procedure may set session variables the proxy cannot see.
      session.hasUntrackedState = true;
      return;
    case 'ddl':
      if (/^\s*create\s+(?:(?:global|local)\s+)?temp(?:orary)?\b/i.test(statement.cacheText())) session.hasUntrackedState = true;
      return;
    case 'listen':
      // Notifications may arrive at any time from now on: the connection cannot be lent to a batch.
      session.hasUntrackedState = true;
      return;
    case 'other':
      if (statement.dialect === 'postgres' && UNTRACKED_POSTGRES_LEADS.has(firstKeyword(statement.cacheText()))) session.hasUntrackedState = true;
      return;
  }
}

function firstKeyword(text: string): string {
  const match = /^\s*([a-z_]+)/i.exec(text);
  return match === null ? '' : match[1]!.toLowerCase();
}
