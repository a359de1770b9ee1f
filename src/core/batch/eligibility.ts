import type { Statement } from '../sql/index.ts';
import type { SessionView } from '../types.ts';

/** Why a write goes straight to the backend instead of into a batch (metric label values). */
export type ExclusionReason = 'disabled' | 'hint_zero' | 'transaction' | 'autocommit_off' | 'lock_tables' | 'multi_statement' | 'not_batchable' | 'session_state' | 'pipelined';

export type BatchDecision = { batch: true; maxWaitMs: number | null } | { batch: false; reason: ExclusionReason | null };

/**
 * Decides whether a write may join a batch. Non-writes get reason null: they
 * are not writes excluded from batching, just not writes.
 */
export function decideBatching(statement: Statement, session: SessionView & { hasTableLocks?: boolean }, isEnabled: boolean): BatchDecision {
  if (!statement.isWritable()) return { batch: false, reason: null };
  const hint = statement.hints.batchMs;
  if (hint === 0) return { batch: false, reason: 'hint_zero' };
  if (!isEnabled && hint === null) return { batch: false, reason: 'disabled' };
  if (statement.isMultiStatement) return { batch: false, reason: 'multi_statement' };
  if (!statement.isBatchable()) return { batch: false, reason: 'not_batchable' };
  if (session.hasTableLocks) return { batch: false, reason: 'lock_tables' };
  if (session.isInTransaction) return { batch: false, reason: 'transaction' };
  if (!session.isAutocommit) return { batch: false, reason: 'autocommit_off' };
  if (session.hasUntrackedState) return { batch: false, reason: 'session_state' };
  return { batch: true, maxWaitMs: hint };
}

/**
 * Writes share a batch only when they would run with the same rights and in
 * the same context: same backend group, user, database and character set,
 * and the same statement template.
 */
export function batchGroupKey(session: SessionView, template: string): string {
  return `${session.protocol}\u0000${session.group}\u0000${session.user}\u0000${session.database ?? ''}\u0000${session.charset}\u0000${template}`;
}

/**
 * Keeps one copy of each batch key, so thousands of queued writes of one
 * template share a string instead of holding a copy each. Bounded: past
 * `maxEntries` it starts over (a missed sharing costs memory, never correctness).
 */
export class KeyInterner {
  private readonly keys = new Map<string, string>();
  private readonly maxEntries: number;

  constructor(maxEntries = 10_000) {
    this.maxEntries = maxEntries;
  }

  intern(key: string): string {
    const known = this.keys.get(key);
    if (known !== undefined) return known;
    if (this.keys.size >= this.maxEntries) this.keys.clear();
    this.keys.set(key, key);
    return key;
  }
}
