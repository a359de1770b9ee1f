// Neutral shapes shared by the core and both protocol front ends.

export type Protocol = 'mariadb' | 'postgres';

/**
 * What the core needs to know about a client session to decide whether a
 * statement may be cached or batched, and under which key. Each front end
 * keeps its own session object and exposes it through this view.
 */
export interface SessionView {
  readonly protocol: Protocol;
  /** Name of the backend group (shard) the session is bound to. */
  readonly group: string;
  readonly user: string;
  readonly database: string | null;
  /** The connection character set as the protocol names it (collation id for MySQL). */
  readonly charset: string;
  readonly isInTransaction: boolean;
  readonly isAutocommit: boolean;
  /**
   * True once the session changed state the proxy does not track (session
   * variables other than the character set, temporary tables via multi-statement
   * text, ...). Such a session is never batched or served from the cache.
   */
  readonly hasUntrackedState: boolean;
}
