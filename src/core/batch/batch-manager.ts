import { AdaptiveDelay, type AdaptiveDelayOptions, type DelayAdjustment } from './adaptive-delay.ts';

/**
 * Group-commit write batching, protocol-blind.
 *
 * A write whose key has no batch in flight leaves at once, so a lone writer
 * never waits. Writes that arrive while a batch of their key runs gather for
 * the next one, which leaves when the previous batch completes or when the
 * current delay expires, whichever comes first; a full batch leaves at once.
 * The delay therefore only decides how many batches of one key may overlap:
 * the adaptive controller lengthens it under load, so batches grow instead.
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
}

export interface BatchManagerOptions extends AdaptiveDelayOptions {
  maxBatchSize: number;
  maxBatchBytes: number;
  timeoutMs: number;
}

interface Group<M> {
  readonly key: string;
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
    member.enqueuedAtMs = this.clock.now();
    member.state = 'queued';
    let group = this.groups.get(member.key);
    if (group === undefined) {
      group = { key: member.key, queue: [], queuedBytes: 0, inFlight: 0, timer: null, timerDueMs: 0 };
      this.groups.set(member.key, group);
    }
    group.queue.push(member);
    group.queuedBytes += member.bytes;
    this.countQueued(1);
    if (this.isStopping || group.inFlight === 0 || group.queue.length >= this.options.maxBatchSize || group.queuedBytes >= this.options.maxBatchBytes) {
      this.flush(group);
      return;
    }
    const waitMs = Math.min(this.delay.delayMs, member.maxWaitMs ?? Infinity);
    this.armTimer(group, member.enqueuedAtMs + waitMs);
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
      if (group.queue.length > 0) this.flush(group);
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
      this.armTimer(group, head.enqueuedAtMs + Math.min(this.delay.delayMs, head.maxWaitMs ?? Infinity));
    }
    const startedMs = this.clock.now();
    for (const member of batch) member.state = 'running';
    this.delay.recordWrites(batch.length);
    const site = batch[0]!.site;
    this.observer.batchStarted(site, batch.length, (startedMs - batch[0]!.enqueuedAtMs) / 1000);
    group.inFlight++;
    const run = this.runner
      .run(batch)
      .catch(() => undefined)
      .then(() => {
        for (const member of batch) member.state = 'done';
        this.observer.batchFinished(site, batch.length, (this.clock.now() - startedMs) / 1000);
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
