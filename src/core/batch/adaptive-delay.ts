/**
 * The batching delay, adapted to load (the seed's algorithm, made correct).
 *
 * Every `intervalSeconds` the batched-write throughput of the interval just
 * ended is compared with the threshold: above it the delay grows by `step`
 * (up to max), below half of it the delay shrinks by `step` (down to min),
 * in between it stays. Idle intervals count as zero throughput, so the delay
 * keeps falling while nothing happens; min ≥ 1 keeps it from reaching 0.
 */
export interface AdaptiveDelayOptions {
  initialDelayMs: number;
  minDelayMs: number;
  maxDelayMs: number;
  writeThreshold: number;
  adaptiveStep: number;
  intervalSeconds: number;
}

export type DelayAdjustment = 'up' | 'down' | 'none';

export class AdaptiveDelay {
  private readonly options: AdaptiveDelayOptions;
  private delay: number;
  private writesInInterval = 0;
  private intervalStartMs: number;
  private lastOpsPerSecond = 0;

  constructor(options: AdaptiveDelayOptions, nowMs: number) {
    this.options = options;
    this.delay = Math.min(Math.max(options.initialDelayMs, options.minDelayMs), options.maxDelayMs);
    this.intervalStartMs = nowMs;
  }

  get delayMs(): number {
    return this.delay;
  }

  /** Throughput of the last completed interval, in batched writes per second. */
  get opsPerSecond(): number {
    return this.lastOpsPerSecond;
  }

  get intervalMs(): number {
    return this.options.intervalSeconds * 1000;
  }

  /** Counts writes that went out in a batch. */
  recordWrites(count: number): void {
    this.writesInInterval += count;
  }

  /**
   * Closes the interval if it has run its length, and adjusts the delay.
   * Call it from a timer; calling it early does nothing and returns null.
   */
  tick(nowMs: number): DelayAdjustment | null {
    const elapsedMs = nowMs - this.intervalStartMs;
    if (elapsedMs < this.intervalMs) return null;
    this.lastOpsPerSecond = (this.writesInInterval * 1000) / elapsedMs;
    this.writesInInterval = 0;
    this.intervalStartMs = nowMs;
    const { writeThreshold, adaptiveStep, minDelayMs, maxDelayMs } = this.options;
    if (this.lastOpsPerSecond > writeThreshold) {
      const next = Math.min(this.delay * adaptiveStep, maxDelayMs);
      if (next === this.delay) return 'none';
      this.delay = next;
      return 'up';
    }
    if (this.lastOpsPerSecond < writeThreshold / 2) {
      const next = Math.max(this.delay / adaptiveStep, minDelayMs);
      if (next === this.delay) return 'none';
      this.delay = next;
      return 'down';
    }
    return 'none';
  }
}
