import type { SessionView } from '../types.ts';

/**
 * The cache key: everything that can make two identical statement texts
 * answer differently or encode their answer differently. `encoding` is the
 * front end's own token for wire-format choices (text or binary protocol,
 * EOF deprecation, ...); `parameters` the bound values of a prepared
 * statement. Parts are joined with NUL, which no part can contain unescaped.
 */
export function cacheKey(session: SessionView, encoding: string, statementText: string, parameters = ''): string {
  return `${session.protocol}\u0000${session.group}\u0000${session.user}\u0000${session.database ?? ''}\u0000${session.charset}\u0000${encoding}\u0000${statementText.length}:${statementText}\u0000${parameters}`;
}

/** Whether a session may read from or write to the cache at all. */
export function isCacheableSession(session: SessionView): boolean {
  return !session.isInTransaction && session.isAutocommit && !session.hasUntrackedState;
}
