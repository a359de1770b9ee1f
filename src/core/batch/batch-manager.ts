import { AdaptiveDelay, type AdaptiveDelayOptions, type DelayAdjustment } from './adaptive-delay.ts';
import { TemplatePolicy, type ModeChange, type TemplatePolicyOptions, type WriteMode } from './template-policy.ts';

/**
 * Group-commit write batching, protocol-blind.
 *
 * A write whose key has no batch running leaves at once, so a lone writer
 * never waits. Other writes gather for the next batch, which leaves when a
 * batch of the key completes, or when the first of them has waited its wait:
 *  - while fewer than `maxInFlight` batches run, the wait is the minimum
 *    delay, a brief linger that gathers the writes arriving together (the
 *    answers of a batch just finished) but keeps a database that commits
 *    slowly busy with several batches;
 *  - at `maxInFlight`, the wait is the adaptive delay, and a batch leaves
 *    then only while fewer than twice that many run (the hard bound).
 * A full batch leaves at once. Batches thus grow with the load instead of
 * the number of batches in flight.
 *
 * The wait is the adaptive delay (longer under load, so batches grow), cut
 * to the latency budget: a write should have its result within
 * `latencyBudgetMs`, so it waits no longer than that minus what a batch of
 * its key usually takes to run.
 *
 * Each key has a TemplatePolicy that measures whether batching pays; a key
 * whose writes are faster alone runs them alone, straight through.
 */

export type MemberState = 'queued' | 'running' | 'done' | 'cancelled';

export interface BatchMember {
  readonly key: string;
  /** Metrics label: the call site or a short template id (already capped). */
  readonly site: string;
  /** From the `batch:N` hint: the longest this write may wait, in ms. */
  readonly maxWaitMs: number | null;
  /** Bytes this write adds to a batch, for the size cap below max_allowed_packet. */
  readonly bytes: number;
  enqueuedAtMs: number;
  state: MemberState;
}

export interface BatchRunner<M extends BatchMember> {
  /** Runs one batch and settles every member of it. Must not reject. */
  run(members: M[]): Promise<void>;
  /** Settles a member the manager gave up on before it ran. */
  abandon(member: M, reason: 'timeout' | 'shutdown'): void;
}

export interface BatchObserver {
  /** The number of queued (not yet sent) writes changed. */
  queuedChanged(queued: number): void;
  batchStarted(site: string, size: number, waitedSeconds: number): void;
  batchFinished(site: string, size: number, seconds: number): void;
  delayChanged(adjustment: DelayAdjustment, delayMs: number, opsPerSecond: number): void;
  /** A key switched between batching and running its writes alone. */
  modeChanged(site: string, change: ModeChange): void;
  /** A write ran alone because batching does not pay for its key. */
  ranAlone(): void;
}

export interface BatchManagerOptions extends AdaptiveDelayOptions {
  maxBatchSize: number;
  maxBatchBytes: number;
  timeoutMs: number;
  /** Batches of one key that may run at once. */
  maxInFlight: number;
  /** The latency a write should see at most: its wait is cut so the batch can still run within it. */
  latencyBudgetMs: number;
  policy: TemplatePolicyOptions;
}

interface Group<M> {
  readonly key: string;
  readonly policy: TemplatePolicy;
  queue: M[];
  queuedBytes: number;
  inFlight: number;
  timer: ReturnType<typeof setTimeout> | null;
  timerDueMs: number;
}

export interface Clock {
  now(): number;
}

const systemClock: Clock = { now: () => performance.now() };

export class BatchManager<M extends BatchMember> {
  private readonly options: BatchManagerOptions;
  private readonly runner: BatchRunner<M>;
  private readonly observer: BatchObserver;
  private readonly clock: Clock;
  readonly delay: AdaptiveDelay;
  private readonly groups = new Map<string, Group<M>>();
  /** Policies outlive their groups (a group ends whenever its key goes idle). Bounded: past 10k keys they start over. */
  private readonly policies = new Map<string, TemplatePolicy>();
  private readonly running = new Set<Promise<void>>();
  private readonly adjustTimer: ReturnType<typeof setInterval>;
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  private isStopping = false;
  private queued = 0;

  constructor(options: BatchManagerOptions, runner: BatchRunner<M>, observer: BatchObserver, clock: Clock = systemClock) {
    this.options = options;
    this.runner = runner;
    this.observer = observer;
    this.clock = clock;
    this.delay = new AdaptiveDelay(options, clock.now());
    observer.delayChanged('none', this.delay.delayMs, 0);
    // The controller ticks while idle too, so the delay falls back when load stops.
    this.adjustTimer = setInterval(() => this.adjust(), Math.min(this.delay.intervalMs, 1000));
    this.adjustTimer.unref();
    this.sweepTimer = setInterval(() => this.expireQueued(), Math.max(10, Math.min(options.timeoutMs / 4, 1000)));
    this.sweepTimer.unref();
  }

  get queuedCount(): number {
    return this.queued;
  }

  private countQueued(delta: number): void {
    this.queued += delta;
    this.observer.queuedChanged(this.queued);
  }

  /** Queues a write; it runs at once when its key is idle. */
  enqueue(member: M): void {
    const now = this.clock.now();
    member.enqueuedAtMs = now;
    member.state = 'queued';
    let group = this.groups.get(member.key);
    if (group === undefined) {
      group = { key: member.key, policy: this.policyFor(member.key, now), queue: [], queuedBytes: 0, inFlight: 0, timer: null, timerDueMs: 0 };
      this.groups.set(member.key, group);
    }
    const { mode, change } = group.policy.modeAt(now);
    if (change !== null) this.observer.modeChanged(member.site, change);
    if (mode === 'alone' && !this.isStopping) {
      this.observer.ranAlone();
      this.start(group, [member], 'alone');
      return;
    }
    group.queue.push(member);
    group.queuedBytes += member.bytes;
    this.countQueued(1);
    if (this.isStopping || group.inFlight === 0 || group.queue.length >= this.options.maxBatchSize || group.queuedBytes >= this.options.maxBatchBytes) {
      this.flush(group);
      return;
    }
    this.armTimer(group, now + this.waitMs(group, member));
  }

  private policyFor(key: string, nowMs: number): TemplatePolicy {
    let policy = this.policies.get(key);
    if (policy === undefined) {
      if (this.policies.size >= 10_000) this.policies.clear();
      policy = new TemplatePolicy(this.options.policy, nowMs);
      this.policies.set(key, policy);
    }
    return policy;
  }

  /** How long `member` may wait for more writes before its batch leaves anyway. */
  private waitMs(group: Group<M>, member: M): number {
    // With a slot free, linger only briefly: long enough to gather the writes that arrive
    // together (the answers of a batch just finished), short enough to keep the slot busy.
    const delayMs = group.inFlight < this.options.maxInFlight ? this.options.minDelayMs : this.delay.delayMs;
    const budgetMs = Math.max(0, this.options.latencyBudgetMs - group.policy.expectedRunMs);
    return Math.min(delayMs, member.maxWaitMs ?? Infinity, budgetMs);
  }

  /** Removes a write that has not started (its client left). Returns true if it was removed. */
  cancel(member: M): boolean {
    if (member.state !== 'queued') return false;
    const group = this.groups.get(member.key);
    if (group === undefined) return false;
    const index = group.queue.indexOf(member);
    if (index < 0) return false;
    group.queue.splice(index, 1);
    group.queuedBytes -= member.bytes;
    this.countQueued(-1);
    member.state = 'cancelled';
    this.settleGroup(group);
    return true;
  }

  /** Shutdown: sends every queued write now and waits until all batches are done. */
  async drain(): Promise<void> {
    this.isStopping = true;
    for (const group of [...this.groups.values()]) while (group.queue.length > 0) this.flush(group);
    while (this.running.size > 0) await Promise.all([...this.running]);
    clearInterval(this.adjustTimer);
    clearInterval(this.sweepTimer);
  }

  private armTimer(group: Group<M>, dueMs: number): void {
    if (group.timer !== null && group.timerDueMs <= dueMs) return;
    if (group.timer !== null) clearTimeout(group.timer);
    group.timerDueMs = dueMs;
    group.timer = setTimeout(() => {
      group.timer = null;
      // A write that waited its whole delay leaves even with maxInFlight batches running,
      // so its latency stays within the delay plus one batch; twice the bound is the hard cap.
      if (group.queue.length > 0 && group.inFlight < 2 * this.options.maxInFlight) this.flush(group);
    }, Math.max(0, dueMs - this.clock.now()));
  }

  private flush(group: Group<M>): void {
    if (group.timer !== null) {
      clearTimeout(group.timer);
      group.timer = null;
    }
    const batch: M[] = [];
    let bytes = 0;
    while (group.queue.length > 0 && batch.length < this.options.maxBatchSize) {
      const next = group.queue[0]!;
      if (batch.length > 0 && bytes + next.bytes > this.options.maxBatchBytes) break;
      group.queue.shift();
      bytes += next.bytes;
      batch.push(next);
    }
    group.queuedBytes -= bytes;
    if (batch.length === 0) return;
    this.countQueued(-batch.length);
    // What is left waits for this batch or for the delay, like a new arrival.
    if (group.queue.length > 0) {
      const head = group.queue[0]!;
      this.armTimer(group, head.enqueuedAtMs + this.waitMs(group, head));
    }
    this.start(group, batch, 'batch');
  }

  private start(group: Group<M>, batch: M[], mode: WriteMode): void {
    const startedMs = this.clock.now();
    for (const member of batch) member.state = 'running';
    const site = batch[0]!.site;
    const isBatch = mode === 'batch';
    if (isBatch) {
      this.delay.recordWrites(batch.length);
      this.observer.batchStarted(site, batch.length, (startedMs - batch[0]!.enqueuedAtMs) / 1000);
    }
    group.inFlight++;
    const run = this.runner
      .run(batch)
      .catch(() => undefined)
      .then(() => {
        const finishedMs = this.clock.now();
        let waitedMs = 0;
        for (const member of batch) {
          member.state = 'done';
          waitedMs += finishedMs - member.enqueuedAtMs;
        }
        group.policy.record(mode, waitedMs / batch.length, batch.length);
        if (batch.length > 1) group.policy.recordRun(finishedMs - startedMs);
        if (isBatch) this.observer.batchFinished(site, batch.length, (finishedMs - startedMs) / 1000);
        group.inFlight--;
        this.running.delete(run);
        if (group.queue.length > 0) this.flush(group);
        else this.settleGroup(group);
      });
    this.running.add(run);
  }

  private settleGroup(group: Group<M>): void {
    if (group.queue.length === 0 && group.inFlight === 0) {
      if (group.timer !== null) clearTimeout(group.timer);
      this.groups.delete(group.key);
    }
  }

  private adjust(): void {
    const adjustment = this.delay.tick(this.clock.now());
    if (adjustment !== null) this.observer.delayChanged(adjustment, this.delay.delayMs, this.delay.opsPerSecond);
  }

  private expireQueued(): void {
    const now = this.clock.now();
    for (const group of [...this.groups.values()]) {
      while (group.queue.length > 0 && now - group.queue[0]!.enqueuedAtMs > this.options.timeoutMs) {
        const member = group.queue.shift()!;
        group.queuedBytes -= member.bytes;
        this.countQueued(-1);
        member.state = 'cancelled';
        this.runner.abandon(member, 'timeout');
      }
      this.settleGroup(group);
    }
  }
}
