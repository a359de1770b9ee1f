import { statusRows, parseStatusCommand, type AnsweredBy } from '../../admin/status.ts';
import { batchGroupKey, decideBatching, type ExclusionReason } from '../batch/eligibility.ts';
import { cacheKey, isCacheableSession } from '../cache/key.ts';
import type { CacheEntry } from '../cache/lru-store.ts';
import type { QueryCache } from '../cache/query-cache.ts';
import type { Statement } from '../sql/index.ts';
import { applyEffects, type ResponseOutcome } from './effects.ts';
import type { SessionState } from './session-state.ts';
import { CacheCapture } from './capture.ts';

/** Where a forwarded statement goes. One primary per group today; the router adds replicas. */
export interface Target {
  kind: 'primary';
  group: string;
}

/**
 * What the front end must do with one statement. It carries the plan out in
 * its own protocol and reports back: `answered`, `finishCapture`,
 * `afterResponse`.
 */
export type Plan =
  /** Answer SHOW TQDB STATUS with these rows (columns: STATUS_COLUMNS). */
  | { kind: 'status'; rows: string[][] }
  /** Send the cached response bytes as the answer. When `refresh` is set, also re-run the statement to refresh it. */
  | { kind: 'cache-hit'; bytes: Uint8Array; refresh: CacheCapture | null }
  /** An identical statement is in flight: wait for it; null means run it yourself (`forward`, no capture). */
  | { kind: 'wait'; result: Promise<CacheEntry | null> }
  /** Forward to `target` and capture the response into `capture` on the way. */
  | { kind: 'lead'; target: Target; capture: CacheCapture }
  /** Hand the write to the protocol's batcher under `key`. */
  | { kind: 'batch'; key: string; maxWaitMs: number | null }
  /** Send the statement to `target` and relay its answer. */
  | { kind: 'forward'; target: Target };

/** What the engine needs from the rest of the proxy. Built per protocol, per config generation. */
export interface EngineServices {
  readonly cache: QueryCache | null;
  /** Whether this protocol has a write batcher at all. */
  readonly hasBatcher: boolean;
  /** `writebatch_enabled`: batch every eligible write, not only hinted ones. */
  readonly isBatchingEnabled: boolean;
  onWriteExcluded(reason: ExclusionReason): void;
  internBatchKey(key: string): string;
}

/**
 * The request the front end asks about: the statement plus what the wire
 * adds to its identity. `encoding` is the front end's token for wire-format
 * choices (text or binary results, which messages the answer includes);
 * `parameters` the bound values with their formats.
 */
export interface PlanRequest {
  statement: Statement;
  encoding: string;
  parameters: string;
  /**
   * False when the front end could not put a proxy-made answer in the right
   * place now (earlier responses still owed on a pipelined connection), or
   * when the statement's form is one the front end cannot cache or batch.
   */
  canAnswerHere: boolean;
  /** Whether the front end can batch this form of the statement now. */
  canBatch: boolean;
  /**
   * Why not, when `canBatch` is false for a write that could otherwise be
   * batched: counted as its exclusion reason. `pipelined`: answers are still
   * owed to the client, so a batched answer could not be put in place.
   * Default `not_batchable` (a form the front end cannot batch).
   */
  batchBlocker?: 'pipelined' | 'not_batchable';
}

/**
 * The protocol-neutral decision engine of one client session: status, cache,
 * single-flight, batching or forwarding, and the session effects once a
 * response ends. One per client connection; it owns the connection's
 * SHOW TQDB STATUS record. It never touches a socket: every decision is a
 * value the front end carries out, so it is unit-tested with no sockets.
 */
export class SessionEngine {
  private services: EngineServices;
  answeredBy: AnsweredBy = 'none';
  cacheAgeSeconds: number | null = null;
  lastBatchSize: number | null = null;
  /** The batch key of the last batched template, and the session it was made for. */
  private batchMemo: { template: string; user: string; database: string | null; charset: string; key: string } | null = null;
  /** The plan of most statements, made once per group: plans are read-only values, so no statement allocates one. */
  private forwardPlan: { readonly kind: 'forward'; readonly target: Target } | null = null;

  constructor(services: EngineServices) {
    this.services = services;
  }

  /** A reload hands open sessions the new generation's services. */
  setServices(services: EngineServices): void {
    this.services = services;
    this.batchMemo = null;
  }

  /** Decides what to do with one statement of `session`. */
  plan(request: PlanRequest, session: SessionState): Plan {
    const { statement } = request;
    const status = statement.kind === 'show' ? parseStatusCommand(statement.cacheText()) : null;
    // The proxy's own answer must follow the answers still owed before it; otherwise the server answers (with an error).
    if (status !== null && request.canAnswerHere) return { kind: 'status', rows: this.statusRows(status.like, session) };
    const cache = this.services.cache;
    if (cache !== null && request.canAnswerHere && statement.isCacheable() && isCacheableSession(session)) {
      const key = cacheKey(session, request.encoding, statement.cacheText(), request.parameters);
      const ttlSeconds = statement.hints.ttlSeconds!;
      const found = cache.lookup(key, session.protocol);
      if (found.state !== 'miss') {
        this.answeredBy = found.state === 'fresh' ? 'cache' : 'cache (stale)';
        this.cacheAgeSeconds = found.ageSeconds;
        const refresh = found.shouldRefresh ? new CacheCapture(cache, key, ttlSeconds, found.entry) : null;
        return { kind: 'cache-hit', bytes: found.entry.bytes, refresh };
      }
      if (cache.leadMiss(key, session.protocol)) return { kind: 'lead', target: this.forward(session).target, capture: new CacheCapture(cache, key, ttlSeconds, null) };
      const waiting = cache.waitForLeader(key);
      if (waiting !== null) return { kind: 'wait', result: waiting };
    }
    // A read is never a batch candidate (nor a write excluded from one): skip the decision.
    if (this.services.hasBatcher && statement.isWritable()) {
      const decision = decideBatching(statement, session, this.services.isBatchingEnabled);
      if (decision.batch && request.canBatch) return { kind: 'batch', key: this.batchKey(statement, session), maxWaitMs: decision.maxWaitMs };
      // Every write that is not batched says why, the front end's own reasons included.
      const reason = decision.batch ? (request.batchBlocker ?? 'not_batchable') : decision.reason;
      if (reason !== null) this.services.onWriteExcluded(reason);
    }
    return this.forward(session);
  }

  private forward(session: SessionState): { readonly kind: 'forward'; readonly target: Target } {
    let plan = this.forwardPlan;
    if (plan === null || plan.target.group !== session.group) {
      plan = Object.freeze({ kind: 'forward', target: Object.freeze({ kind: 'primary', group: session.group }) } as const);
      this.forwardPlan = plan;
    }
    return plan;
  }

  /** A waiter's leader answered: the front end sends `entry.bytes`. */
  answeredFromWait(): void {
    this.answeredBy = 'cache';
    this.cacheAgeSeconds = 0;
  }

  /** The statement went to the backend (forward, lead, or a wait that fell through). */
  forwarded(target: Target): void {
    this.answeredBy = target.kind;
  }

  /** A batched write was answered as a member of a batch of `size`. */
  answeredByBatch(size: number): void {
    this.answeredBy = 'write-batch';
    this.lastBatchSize = size;
  }

  /** The response to `statement` ended: applies its effects on the session. */
  afterResponse(session: SessionState, statement: Statement, outcome: ResponseOutcome): void {
    applyEffects(session, statement, outcome);
  }

  private statusRows(like: string | null, session: SessionState): string[][] {
    return statusRows(like, {
      shard: session.group,
      answeredBy: this.answeredBy,
      cacheAgeSeconds: this.cacheAgeSeconds,
      lastBatchSize: this.lastBatchSize,
      isInTransaction: session.isInTransaction,
    });
  }

  private batchKey(statement: Statement, session: SessionState): string {
    const template = statement.batchKey();
    // Consecutive writes of one connection mostly share a template and session: reuse the key.
    let memo = this.batchMemo;
    if (memo === null || memo.template !== template || memo.user !== session.user || memo.database !== session.database || memo.charset !== session.charset) {
      memo = { template, user: session.user, database: session.database, charset: session.charset, key: this.services.internBatchKey(batchGroupKey(session, template)) };
      this.batchMemo = memo;
    }
    return memo.key;
  }
}
