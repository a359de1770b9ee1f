import { describe, expect, it } from 'bun:test';
import { BatchManager, type BatchManagerOptions, type BatchMember, type BatchObserver } from '../../../../src/core/batch/batch-manager.ts';

interface Write extends BatchMember {
  id: number;
  outcome?: string;
}

const options: BatchManagerOptions = {
  initialDelayMs: 10_000, minDelayMs: 1, maxDelayMs: 10_000, writeThreshold: 1000, adaptiveStep: 1.5, intervalSeconds: 60,
  maxBatchSize: 3, maxBatchBytes: 1000, timeoutMs: 30_000, maxInFlight: 1, latencyBudgetMs: 10_000,
  policy: { probeIntervalMs: 0, probeWindowMs: 0, slowerRatio: 1.2, minSamples: 1, probesToLeave: 1 },
};

const quietObserver: BatchObserver = { queuedChanged() {}, batchStarted() {}, batchFinished() {}, delayChanged() {}, modeChanged() {}, ranAlone() {} };

/** A clock the test moves by hand. */
class ManualClock {
  nowMs = 0;
  now(): number {
    return this.nowMs;
  }
}

/** A runner whose batches finish only when the test says so. */
class ManualRunner {
  batches: Write[][] = [];
  private releases: (() => void)[] = [];
  abandoned: Write[] = [];
  run(members: Write[]): Promise<void> {
    this.batches.push(members);
    return new Promise((resolve) => this.releases.push(() => {
      for (const m of members) m.outcome = 'ran';
      resolve();
    }));
  }
  abandon(member: Write): void {
    member.outcome = 'abandoned';
    this.abandoned.push(member);
  }
  finishNext(): Promise<void> {
    this.releases.shift()!();
    return Bun.sleep(0);
  }
}

let nextId = 1;
function write(key = 'k', extra: Partial<Write> = {}): Write {
  return { id: nextId++, key, site: 'test', maxWaitMs: null, bytes: 10, enqueuedAtMs: 0, state: 'queued', ...extra };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not reached');
    await Bun.sleep(1);
  }
}

describe('BatchManager', () => {
  it('sends a write at once when its key has nothing in flight', () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>(options, runner, quietObserver);
    const w = write();
    m.enqueue(w);
    expect(runner.batches).toEqual([[w]]);
    expect(w.state).toBe('running');
  });

  it('gathers writes that arrive while a batch runs and sends them when it completes', async () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>(options, runner, quietObserver);
    m.enqueue(write());
    const b = write();
    const c = write();
    m.enqueue(b);
    m.enqueue(c);
    expect(runner.batches.length).toBe(1);
    await runner.finishNext();
    expect(runner.batches[1]).toEqual([b, c]);
  });

  it('sends a full batch at once, and later arrivals start the next batch', () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>(options, runner, quietObserver);
    m.enqueue(write());
    const queued = [write(), write(), write(), write()];
    for (const w of queued) m.enqueue(w);
    expect(runner.batches.length).toBe(2);
    expect(runner.batches[1]).toEqual(queued.slice(0, 3));
    expect(m.queuedCount).toBe(1);
  });

  it('caps a batch in bytes', () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>({ ...options, maxBatchSize: 100, maxBatchBytes: 25 }, runner, quietObserver);
    for (let i = 0; i < 4; i++) m.enqueue(write());
    expect(runner.batches.length).toBe(2);
    expect(runner.batches[1]!.length).toBe(2);
    expect(m.queuedCount).toBe(1);
  });

  it('batches different keys independently', () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>(options, runner, quietObserver);
    m.enqueue(write('a'));
    m.enqueue(write('b'));
    expect(runner.batches.length).toBe(2);
  });

  it('sends queued writes when the delay expires even if the previous batch still runs', async () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>({ ...options, initialDelayMs: 5, minDelayMs: 5, maxDelayMs: 5 }, runner, quietObserver);
    m.enqueue(write());
    const late = write();
    m.enqueue(late);
    await until(() => runner.batches.length === 2);
    expect(runner.batches[1]).toEqual([late]);
  });

  it('caps the wait of a write at its batch:N hint', async () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>(options, runner, quietObserver);
    m.enqueue(write());
    m.enqueue(write('k', { maxWaitMs: 2 }));
    await until(() => runner.batches.length === 2);
  });

  it('removes a cancelled write so it never runs', async () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>(options, runner, quietObserver);
    m.enqueue(write());
    const leaving = write();
    const staying = write();
    m.enqueue(leaving);
    m.enqueue(staying);
    expect(m.cancel(leaving)).toBe(true);
    await runner.finishNext();
    expect(runner.batches[1]).toEqual([staying]);
    expect(leaving.state).toBe('cancelled');
    expect(m.cancel(staying)).toBe(false);
  });

  it('abandons a write that waited longer than the timeout and never runs it', async () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>({ ...options, timeoutMs: 20 }, runner, quietObserver);
    m.enqueue(write());
    const waiting = write();
    m.enqueue(waiting);
    await until(() => runner.abandoned.length === 1);
    expect(waiting.outcome).toBe('abandoned');
    await runner.finishNext();
    expect(runner.batches.length).toBe(1);
  });

  it('drain sends every queued write at once and waits for all batches', async () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>(options, runner, quietObserver);
    const all = [write(), write(), write()];
    for (const w of all) m.enqueue(w);
    const drained = m.drain();
    expect(runner.batches.length).toBe(2);
    let isDone = false;
    void drained.then(() => (isDone = true));
    await runner.finishNext();
    expect(isDone).toBe(false);
    await runner.finishNext();
    await drained;
    expect(all.every((w) => w.outcome === 'ran')).toBe(true);
  });

  it('reports batch sizes to the observer', async () => {
    const sizes: number[] = [];
    const runner = new ManualRunner();
    const m = new BatchManager<Write>(options, runner, { ...quietObserver, batchStarted: (_s, size) => sizes.push(size) });
    m.enqueue(write());
    m.enqueue(write());
    m.enqueue(write());
    await runner.finishNext();
    expect(sizes).toEqual([1, 2]);
  });

  it('overlaps batches after the minimum delay while fewer than maxInFlight run; at the bound, writes gather', async () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>({ ...options, maxInFlight: 2, minDelayMs: 1 }, runner, quietObserver);
    const [a, b, c, d] = [write(), write(), write(), write()];
    m.enqueue(a);
    m.enqueue(b);
    m.enqueue(c);
    expect(runner.batches).toEqual([[a]]);
    await until(() => runner.batches.length === 2);
    expect(runner.batches[1]).toEqual([b, c]);
    m.enqueue(d);
    await Bun.sleep(20);
    expect(runner.batches.length).toBe(2);
    await runner.finishNext();
    expect(runner.batches[2]).toEqual([d]);
  });

  it('lets writes that waited their whole delay leave past maxInFlight, up to twice it', async () => {
    const runner = new ManualRunner();
    const m = new BatchManager<Write>({ ...options, maxBatchSize: 1000, maxInFlight: 1, initialDelayMs: 1, minDelayMs: 1, maxDelayMs: 1 }, runner, quietObserver);
    m.enqueue(write());
    m.enqueue(write());
    await until(() => runner.batches.length === 2);
    const third = write();
    m.enqueue(third);
    await Bun.sleep(20);
    expect(runner.batches.length).toBe(2);
    await runner.finishNext();
    expect(runner.batches[2]).toEqual([third]);
  });

  it('cuts the wait to the latency budget less what a batch of the key takes to run', async () => {
    const clock = new ManualClock();
    const runner = new ManualRunner();
    const m = new BatchManager<Write>({ ...options, latencyBudgetMs: 30 }, runner, quietObserver, clock);
    // Teach the key that its batches take 30 ms: no budget is left for waiting.
    m.enqueue(write());
    m.enqueue(write());
    m.enqueue(write());
    await runner.finishNext();
    clock.nowMs = 30;
    await runner.finishNext();
    m.enqueue(write());
    m.enqueue(write());
    await until(() => runner.batches.length === 4);
  });

  it('runs the writes of a key alone when batching measured slower, and batches again when it pays', async () => {
    const clock = new ManualClock();
    const runner = new ManualRunner();
    const modes: string[] = [];
    let alone = 0;
    const policy = { probeIntervalMs: 100, probeWindowMs: 10, slowerRatio: 1.2, minSamples: 2, probesToLeave: 1 };
    const observer = { ...quietObserver, modeChanged: (_s: string, c: { mode: string }) => modes.push(c.mode), ranAlone: () => alone++ };
    const m = new BatchManager<Write>({ ...options, maxBatchSize: 2, policy }, runner, observer, clock);
    // Steady batching: each write's result comes 10 ms after it arrived.
    for (let i = 0; i < 4; i++) {
      m.enqueue(write());
      clock.nowMs += 10;
      await runner.finishNext();
    }
    // The probe runs writes alone: 2 ms each. Batching is 5x slower: the key goes alone.
    clock.nowMs = 100;
    for (let i = 0; i < 3; i++) {
      m.enqueue(write());
      clock.nowMs += 2;
      await runner.finishNext();
    }
    clock.nowMs = 111;
    m.enqueue(write());
    expect(modes).toEqual(['alone']);
    expect(alone).toBeGreaterThanOrEqual(4);
    await runner.finishNext();
    // Alone writes now take 20 ms; the next batching probe answers in 5 ms: batching pays again.
    for (let i = 0; i < 2; i++) {
      m.enqueue(write());
      clock.nowMs += 20;
      await runner.finishNext();
    }
    clock.nowMs = 211;
    for (let i = 0; i < 3; i++) {
      m.enqueue(write());
      clock.nowMs += 5;
      await runner.finishNext();
    }
    clock.nowMs = 230;
    m.enqueue(write());
    expect(modes).toEqual(['alone', 'batch']);
  });
});
