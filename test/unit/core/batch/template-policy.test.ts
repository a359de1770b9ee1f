import { describe, expect, it } from 'bun:test';
import { TemplatePolicy, type TemplatePolicyOptions } from '../../../../src/core/batch/template-policy.ts';

const options: TemplatePolicyOptions = { probeIntervalMs: 100, probeWindowMs: 10, slowerRatio: 1.2, minSamples: 5, probesToLeave: 2 };

/**
 * Runs one probe cycle whose probe starts at `probeAtMs`: steady writes just
 * before it at `steadyMs` each, probe writes at `probeMs`; returns the mode after.
 */
function cycle(policy: TemplatePolicy, probeAtMs: number, steadyMs: number, probeMs: number, probeWrites = 10): string {
  const steady = policy.modeAt(probeAtMs - 1);
  policy.record(steady.mode, steadyMs, 10);
  const probe = policy.modeAt(probeAtMs);
  expect(probe.mode).not.toBe(steady.mode);
  policy.record(probe.mode, probeMs, probeWrites);
  return policy.modeAt(probeAtMs + 11).mode;
}

describe('TemplatePolicy', () => {
  it('always batches when probing is off', () => {
    const policy = new TemplatePolicy({ ...options, probeIntervalMs: 0 }, 0);
    for (const t of [0, 1000, 5000]) expect(policy.modeAt(t).mode).toBe('batch');
  });

  it('probes running alone for a window after the interval, then returns to its steady mode', () => {
    const policy = new TemplatePolicy(options, 0);
    expect(policy.modeAt(50).mode).toBe('batch');
    expect(policy.modeAt(100).mode).toBe('alone');
    expect(policy.modeAt(109).mode).toBe('alone');
    expect(policy.modeAt(110).mode).toBe('batch');
  });

  it('goes alone when batching is slower than running alone by more than the ratio, in two probes in a row', () => {
    const policy = new TemplatePolicy(options, 0);
    expect(cycle(policy, 100, 10, 5)).toBe('batch');
    expect(cycle(policy, 211, 10, 5)).toBe('alone');
    expect(policy.mode).toBe('alone');
  });

  it('starts counting again after a probe that found batching fast enough', () => {
    const policy = new TemplatePolicy(options, 0);
    expect(cycle(policy, 100, 10, 5)).toBe('batch');
    expect(cycle(policy, 211, 10, 10)).toBe('batch');
    expect(cycle(policy, 322, 10, 5)).toBe('batch');
  });

  it('keeps batching when it is slower by less than the ratio (batching also saves database work)', () => {
    const policy = new TemplatePolicy(options, 0);
    expect(cycle(policy, 100, 11, 10)).toBe('batch');
  });

  it('decides nothing from a probe with too few writes', () => {
    const policy = new TemplatePolicy(options, 0);
    expect(cycle(policy, 100, 10, 1, 2)).toBe('batch');
  });

  it('batches again once a batching probe is no slower than running alone', () => {
    const policy = new TemplatePolicy(options, 0);
    cycle(policy, 100, 10, 5);
    expect(cycle(policy, 211, 10, 5)).toBe('alone');
    // Alone at 11 ms vs batched at 12: within the ratio, stays alone (no flapping).
    expect(cycle(policy, 322, 11, 12)).toBe('alone');
    expect(cycle(policy, 433, 11, 9)).toBe('batch');
  });

  it('reports each switch with the means it compared', () => {
    const policy = new TemplatePolicy(options, 0);
    cycle(policy, 100, 10, 4);
    policy.modeAt(210);
    policy.record('batch', 10, 10);
    policy.modeAt(211);
    policy.record('alone', 4, 10);
    expect(policy.modeAt(222).change).toEqual({ mode: 'alone', batchedMeanMs: 10, aloneMeanMs: 4 });
  });

  it('learns a new key within a second even with a long interval', () => {
    const policy = new TemplatePolicy({ ...options, probeIntervalMs: 60_000 }, 0);
    expect(policy.modeAt(999).mode).toBe('batch');
    expect(policy.modeAt(1000).mode).toBe('alone');
  });
});
