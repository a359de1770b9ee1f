import { describe, expect, it } from 'bun:test';
import { BoundedLabels, CallSiteLabels, MAX_LABEL_LENGTH, OTHER } from '../../../src/metrics/call-sites.ts';

describe('CallSiteLabels', () => {
  it('gives a statement without hints the NONE site with empty labels', () => {
    const sites = new CallSiteLabels(10);
    expect(sites.resolve(null, null)).toBe(CallSiteLabels.NONE);
    expect(sites.resolve(undefined, undefined)).toEqual({ file: '', line: '', index: 0 });
    expect(sites.size).toBe(0);
  });

  it('keeps file and line as label values while under the cap', () => {
    const sites = new CallSiteLabels(10);
    expect(sites.resolve('orders.go', 42)).toMatchObject({ file: 'orders.go', line: '42' });
    expect(sites.resolve('orders.go', null)).toMatchObject({ file: 'orders.go', line: '' });
    expect(sites.resolve(null, 7)).toMatchObject({ file: '', line: '7' });
    expect(sites.size).toBe(3);
  });

  it('returns the same object for the same pair, so callers can cache by it', () => {
    const sites = new CallSiteLabels(10);
    const first = sites.resolve('a.ts', 1);
    expect(sites.resolve('a.ts', 1)).toBe(first);
    expect(sites.resolve('a.ts', 2)).not.toBe(first);
  });

  it('labels pairs past the cap as other, and keeps the admitted ones', () => {
    const sites = new CallSiteLabels(2);
    const a = sites.resolve('a.ts', 1);
    const b = sites.resolve('b.ts', 1);
    expect(sites.resolve('c.ts', 1)).toBe(CallSiteLabels.OTHER);
    expect(sites.resolve('a.ts', 2)).toEqual({ file: OTHER, line: OTHER, index: 1 });
    expect(sites.resolve('a.ts', 1)).toBe(a);
    expect(sites.resolve('b.ts', 1)).toBe(b);
    expect(sites.size).toBe(2);
  });

  it('does not remember overflowing pairs, so memory stays bounded', () => {
    const sites = new CallSiteLabels(1);
    sites.resolve('kept.ts', 1);
    for (let i = 0; i < 10_000; i++) sites.resolve(`flood-${i}.ts`, i);
    expect(sites.size).toBe(1);
    expect(sites.indexLimit).toBe(3);
  });

  it('labels everything but NONE as other with a cap of 0', () => {
    const sites = new CallSiteLabels(0);
    expect(sites.resolve('a.ts', 1)).toBe(CallSiteLabels.OTHER);
    expect(sites.resolve(null, null)).toBe(CallSiteLabels.NONE);
  });

  it('gives admitted sites dense indexes after NONE and OTHER', () => {
    const sites = new CallSiteLabels(5);
    expect([sites.resolve('a', 1).index, sites.resolve('b', 1).index, sites.resolve('a', 2).index]).toEqual([2, 3, 4]);
  });

  it('cuts long file names', () => {
    const sites = new CallSiteLabels(5);
    expect(sites.resolve('x'.repeat(1000), 1).file).toHaveLength(MAX_LABEL_LENGTH);
  });

  it('applies a raised cap to new pairs', () => {
    const sites = new CallSiteLabels(1);
    sites.resolve('a', 1);
    expect(sites.resolve('b', 1)).toBe(CallSiteLabels.OTHER);
    sites.setMax(2);
    expect(sites.resolve('b', 1).file).toBe('b');
  });

  it('rejects a negative or fractional cap', () => {
    expect(() => new CallSiteLabels(-1)).toThrow(RangeError);
    expect(() => new CallSiteLabels(1.5)).toThrow(RangeError);
  });
});

describe('BoundedLabels', () => {
  it('admits values up to the cap and labels the rest other', () => {
    const labels = new BoundedLabels(2);
    expect(labels.label('x')).toBe('x');
    expect(labels.label('y')).toBe('y');
    expect(labels.label('z')).toBe(OTHER);
    expect(labels.label('x')).toBe('x');
    expect(labels.size).toBe(2);
  });

  it('cuts long values', () => {
    expect(new BoundedLabels(1).label('v'.repeat(500))).toHaveLength(MAX_LABEL_LENGTH);
  });
});
