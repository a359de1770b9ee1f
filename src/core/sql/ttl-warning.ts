/**
 * Warns when a write carries a `ttl` hint, which only a SELECT can use: the
 * caller probably pasted a read's hint onto a write, or expects a write to be
 * cached. Counted on every occurrence (`onWarn`, wired to a metric), logged
 * once per call site, with a global cap on log lines per interval so a burst
 * of distinct call sites cannot flood the log.
 *
 * One instance per proxy; it owns its memory of logged call sites, which is
 * bounded (the oldest are forgotten first).
 */
import type { Statement } from './types.ts';

export interface TtlOnWriteWarnerOptions {
  /** Receives each log line. */
  log: (message: string) => void;
  /** Milliseconds; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Called on every write with a ttl hint, logged or not. */
  onWarn?: () => void;
  /** Length of the log rate-limit window. Default 60 000 ms. */
  intervalMs?: number;
  /** Log lines allowed per window. Default 10. */
  maxLogsPerInterval?: number;
  /** Call sites remembered as already logged. Default 1000. */
  maxSites?: number;
}

export class TtlOnWriteWarner {
  private readonly log: (message: string) => void;
  private readonly now: () => number;
  private readonly onWarn: () => void;
  private readonly intervalMs: number;
  private readonly maxLogsPerInterval: number;
  private readonly maxSites: number;
  /** Call sites already logged, oldest first (Map keeps insertion order). */
  private readonly loggedSites = new Map<string, true>();
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private logsInWindow = 0;
  /** Occurrences not logged because of the rate limit since the last line. */
  private suppressed = 0;

  constructor(options: TtlOnWriteWarnerOptions) {
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.onWarn = options.onWarn ?? noop;
    this.intervalMs = options.intervalMs ?? 60_000;
    this.maxLogsPerInterval = options.maxLogsPerInterval ?? 10;
    this.maxSites = Math.max(1, options.maxSites ?? 1000);
  }

  /** Looks at one statement; returns whether it carried a ttl hint on a write. */
  check(statement: Statement): boolean {
    if (!statement.hasTtlOnWrite) return false;
    this.onWarn();
    const site = callSite(statement);
    if (this.loggedSites.has(site)) return true;
    const now = this.now();
    if (now - this.windowStartMs >= this.intervalMs) {
      this.windowStartMs = now;
      this.logsInWindow = 0;
    }
    if (this.logsInWindow >= this.maxLogsPerInterval) {
      this.suppressed++;
      return true;
    }
    this.logsInWindow++;
    this.remember(site);
    let message =
      `ttl hint ignored on a write (${statement.kind}) at ${site}: ` +
      `ttl:${statement.hints.ttlSeconds} only caches SELECT statements`;
    if (this.suppressed > 0) {
      message += ` (${this.suppressed} more not logged by the rate limit)`;
      this.suppressed = 0;
    }
    this.log(message);
    return true;
  }

  private remember(site: string): void {
    if (this.loggedSites.size >= this.maxSites) {
      const oldest = this.loggedSites.keys().next();
      if (oldest.done !== true) this.loggedSites.delete(oldest.value);
    }
    this.loggedSites.set(site, true);
  }
}

/** `file:line` from the hints, else the statement template. */
function callSite(statement: Statement): string {
  const { file, line } = statement.hints;
  if (file !== null) return line !== null ? `${file}:${line}` : file;
  return statement.batchKey();
}

function noop(): void {}
