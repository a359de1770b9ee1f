/**
 * Whether batching pays for one batch key (a statement template in one
 * session context), decided from what the proxy measures.
 *
 * Batching saves the database statements and commits, but a write that waits
 * for a batch and then runs behind the other members can take longer than it
 * would alone: a database that handles the template well in parallel (UPDATEs
 * by primary key on an idle table, say) may answer sooner without the proxy's
 * help. For clients that wait for each answer before sending the next write,
 * the mode with the lower mean latency also has the higher throughput.
 *
 * So the policy compares the mean latency, from arrival at the proxy to the
 * result, of the key's writes in its current mode with the mean of a short
 * probe of the other mode, run every `probeIntervalMs`:
 *  - in `batch` mode, when writes run alone are faster by more than
 *    `slowerRatio` in `probesToLeave` probes in a row, the key switches to `alone`
 *    (straight pass-through);
 *  - in `alone` mode, a batching probe that is no slower switches it back.
 * Batching wins ties because it also saves database work.
 */
export type WriteMode = 'batch' | 'alone';

export interface TemplatePolicyOptions {
  /** How often the other mode is probed; 0 disables the policy (always batch). */
  probeIntervalMs: number;
  /** How long a probe lasts. */
  probeWindowMs: number;
  /** Batching must be slower than running alone by this factor before the key goes alone. */
  slowerRatio: number;
  /** Writes a window needs before its mean counts. */
  minSamples: number;
  /** Probes in a row that must find running alone faster before the key leaves batching. */
  probesToLeave: number;
}

const FIRST_PROBE_AFTER_MS = 1000;

export const DEFAULT_POLICY_OPTIONS: TemplatePolicyOptions = {
  probeIntervalMs: 5000,
  probeWindowMs: 250,
  slowerRatio: 1.25,
  minSamples: 20,
  probesToLeave: 2,
};

/** Mean latency over one window. */
class LatencyWindow {
  sumMs = 0;
  writes = 0;

  add(latencyMs: number, writes: number): void {
    this.sumMs += latencyMs * writes;
    this.writes += writes;
  }

  get meanMs(): number {
    return this.writes === 0 ? 0 : this.sumMs / this.writes;
  }

  reset(): void {
    this.sumMs = 0;
    this.writes = 0;
  }
}

export interface ModeChange {
  mode: WriteMode;
  batchedMeanMs: number;
  aloneMeanMs: number;
}

export class TemplatePolicy {
  private readonly options: TemplatePolicyOptions;
  private steadyMode: WriteMode = 'batch';
  /** The steady mode's latency since the last probe ended, and the probe's. */
  private readonly steady = new LatencyWindow();
  private readonly probe = new LatencyWindow();
  private probeStartsMs: number;
  private probeEndsMs = 0;
  /** Probes in a row that found running alone faster. */
  private alonePreferredInRow = 0;
  /** Smoothed time a batch of this key takes to run (sent to last result), for the latency budget. */
  private runMs = 0;

  constructor(options: TemplatePolicyOptions, nowMs: number) {
    this.options = options;
    // A new key learns its mode soon: a template that does not pay should not cost a whole interval first.
    this.probeStartsMs = nowMs + Math.min(options.probeIntervalMs, FIRST_PROBE_AFTER_MS);
  }

  get mode(): WriteMode {
    return this.steadyMode;
  }

  /** What a batch of this key usually takes to run, in ms (0 until one ran). */
  get expectedRunMs(): number {
    return this.runMs;
  }

  private isProbing(nowMs: number): boolean {
    return nowMs >= this.probeStartsMs && nowMs < this.probeEndsMs;
  }

  /**
   * The mode a write arriving now runs in. Also closes a probe whose window
   * has passed: the returned change, if any, is the key's new steady mode.
   */
  modeAt(nowMs: number): { mode: WriteMode; change: ModeChange | null } {
    if (this.options.probeIntervalMs <= 0) return { mode: 'batch', change: null };
    if (nowMs >= this.probeStartsMs && this.probeEndsMs <= this.probeStartsMs) {
      this.probeEndsMs = nowMs + this.options.probeWindowMs;
      this.probe.reset();
    }
    if (this.isProbing(nowMs)) return { mode: other(this.steadyMode), change: null };
    if (this.probeEndsMs > this.probeStartsMs) {
      const change = this.endProbe(nowMs);
      return { mode: this.steadyMode, change };
    }
    return { mode: this.steadyMode, change: null };
  }

  /** Records writes that arrived in `mode` and got their results `latencyMs` after arriving. */
  record(mode: WriteMode, latencyMs: number, writes: number): void {
    if (mode === this.steadyMode) this.steady.add(latencyMs, writes);
    else this.probe.add(latencyMs, writes);
  }

  /** Records how long a batch took to run. */
  recordRun(runMs: number): void {
    this.runMs = this.runMs === 0 ? runMs : this.runMs * 0.9 + runMs * 0.1;
  }

  private endProbe(nowMs: number): ModeChange | null {
    const { minSamples, slowerRatio, probeIntervalMs } = this.options;
    const current = this.steady;
    const probed = this.probe;
    let change: ModeChange | null = null;
    if (current.writes >= minSamples && probed.writes >= minSamples) {
      const batched = this.steadyMode === 'batch' ? current : probed;
      const alone = this.steadyMode === 'batch' ? probed : current;
      const verdict: WriteMode = batched.meanMs > alone.meanMs * slowerRatio ? 'alone' : batched.meanMs <= alone.meanMs ? 'batch' : this.steadyMode;
      // Leaving batching takes several probes in a row (one slow moment must not cost its savings); returning takes one.
      this.alonePreferredInRow = verdict === 'alone' ? this.alonePreferredInRow + 1 : 0;
      const next: WriteMode = verdict === 'alone' && this.steadyMode === 'batch' && this.alonePreferredInRow < this.options.probesToLeave ? 'batch' : verdict;
      if (next !== this.steadyMode) {
        this.steadyMode = next;
        change = { mode: next, batchedMeanMs: batched.meanMs, aloneMeanMs: alone.meanMs };
      }
    }
    current.reset();
    probed.reset();
    this.probeStartsMs = nowMs + probeIntervalMs;
    return change;
  }
}

function other(mode: WriteMode): WriteMode {
  return mode === 'batch' ? 'alone' : 'batch';
}
