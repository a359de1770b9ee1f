import { describe, expect, it } from 'bun:test';
import { AdaptiveDelay, type AdaptiveDelayOptions } from '../../../../src/core/batch/adaptive-delay.ts';

const options: AdaptiveDelayOptions = { initialDelayMs: 10, minDelayMs: 1, maxDelayMs: 100, writeThreshold: 1000, adaptiveStep: 1.5, intervalSeconds: 60 };

/** Runs one interval of `opsPerSecond` and returns the tick's result. */
function interval(delay: AdaptiveDelay, startMs: number, opsPerSecond: number, seconds = 60): ReturnType<AdaptiveDelay['tick']> {
  delay.recordWrites(opsPerSecond * seconds);
  return delay.tick(startMs + seconds * 1000);
}

describe('AdaptiveDelay', () => {
  it('starts at the initial delay', () => {
    expect(new AdaptiveDelay(options, 0).delayMs).toBe(10);
  });

  it('grows by the step when throughput is above the threshold', () => {
    const d = new AdaptiveDelay(options, 0);
    expect(interval(d, 0, 2000)).toBe('up');
    expect(d.delayMs).toBe(15);
    expect(d.opsPerSecond).toBe(2000);
  });

  it('shrinks by the step when throughput is below half the threshold', () => {
    const d = new AdaptiveDelay(options, 0);
    expect(interval(d, 0, 100)).toBe('down');
    expect(d.delayMs).toBeCloseTo(10 / 1.5, 10);
  });

  it('stays unchanged between half the threshold and the threshold', () => {
    const d = new AdaptiveDelay(options, 0);
    expect(interval(d, 0, 700)).toBe('none');
    expect(d.delayMs).toBe(10);
  });

  it('never exceeds the maximum', () => {
    const d = new AdaptiveDelay(options, 0);
    let t = 0;
    for (let i = 0; i < 20; i++, t += 60_000) interval(d, t, 5000);
    expect(d.delayMs).toBe(100);
    expect(interval(d, t, 5000)).toBe('none');
  });

  it('never goes below the minimum, so it never gets stuck at 0', () => {
    const d = new AdaptiveDelay(options, 0);
    let t = 0;
    for (let i = 0; i < 20; i++, t += 60_000) interval(d, t, 0);
    expect(d.delayMs).toBe(1);
    expect(d.delayMs).toBeGreaterThan(0);
  });

  it('keeps adjusting while idle: ticks with no writes count as zero throughput', () => {
    const d = new AdaptiveDelay(options, 0);
    interval(d, 0, 5000);
    expect(d.delayMs).toBe(15);
    expect(d.tick(120_000)).toBe('down');
    expect(d.opsPerSecond).toBe(0);
    expect(d.delayMs).toBe(10);
  });

  it('does nothing before the interval has elapsed', () => {
    const d = new AdaptiveDelay(options, 0);
    d.recordWrites(1_000_000);
    expect(d.tick(59_999)).toBeNull();
    expect(d.delayMs).toBe(10);
    expect(d.tick(60_000)).toBe('up');
  });

  it('measures throughput over the real elapsed time of a late tick', () => {
    const d = new AdaptiveDelay({ ...options, intervalSeconds: 1 }, 0);
    d.recordWrites(3000);
    d.tick(2000);
    expect(d.opsPerSecond).toBe(1500);
  });

  it('clamps an initial delay outside the bounds', () => {
    expect(new AdaptiveDelay({ ...options, initialDelayMs: 500 }, 0).delayMs).toBe(100);
  });
});
