/**
 * Latency statistics for benches. Latencies are milliseconds; percentiles use
 * the nearest-rank method on the full sample (no histogram approximation).
 */

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/**
 * Nearest-rank percentile (0 < p ≤ 100) of an ascending-sorted sample; NaN
 * for an empty one.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Percentile of an unsorted sample (copies and sorts it). */
export function percentile(samples: ArrayLike<number>, p: number): number {
  return percentileOfSorted(Float64Array.from(samples).sort(), p);
}

/** Mean, percentiles and max of a latency sample in milliseconds. */
export function summarizeLatencies(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    meanMs: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    p50Ms: percentileOfSorted(sorted, 50),
    p90Ms: percentileOfSorted(sorted, 90),
    p99Ms: percentileOfSorted(sorted, 99),
    p999Ms: percentileOfSorted(sorted, 99.9),
    maxMs: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1],
  };
}

/** `numerator / denominator`, or NaN when the denominator is 0 or not finite. */
export function ratio(numerator: number, denominator: number): number {
  return denominator === 0 || !Number.isFinite(denominator) ? Number.NaN : numerator / denominator;
}

/**
 * A growable Float64Array for per-operation samples: no boxing, amortised
 * doubling, so recording stays cheap inside the measured loop.
 */
export class SampleBuffer {
  private data: Float64Array;
  length = 0;

  constructor(initialCapacity = 16_384) {
    this.data = new Float64Array(initialCapacity);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  /** A view of the recorded samples (valid until the next push). */
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }

  /** Concatenates several buffers into one array. */
  static concat(buffers: SampleBuffer[]): Float64Array {
    const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    const result = new Float64Array(total);
    let offset = 0;
    for (const buffer of buffers) {
      result.set(buffer.view(), offset);
      offset += buffer.length;
    }
    return result;
  }
}
