/**
 * Bounded label values for strings that come from clients: the `file`/`line`
 * of SQL hints, batch sites, and anything else not drawn from a closed set.
 * The first `max` distinct values are kept as they are; every later one is
 * labelled `other`, so a client cannot grow the metrics without limit.
 *
 * Lookups of known values allocate nothing. Values past the cap are not
 * remembered (that would be the unbounded growth the cap prevents), so each
 * one costs a failed Map lookup and nothing more.
 */

/** The label value that stands for every value past the cap. */
export const OTHER = 'other';

/** Longer client-supplied label values are cut to this many characters. */
export const MAX_LABEL_LENGTH = 128;

/** Admits up to `max` distinct strings as label values; the rest become `other`. */
export class BoundedLabels {
  private readonly admitted = new Map<string, string>();
  private max: number;

  constructor(max: number) {
    this.max = checkCap(max);
  }

  /** The label value for `value`: itself (cut to MAX_LABEL_LENGTH) while under the cap, else `other`. */
  label(value: string): string {
    const known = this.admitted.get(value);
    if (known !== undefined) return known;
    if (this.admitted.size >= this.max) return OTHER;
    const label = value.length > MAX_LABEL_LENGTH ? value.slice(0, MAX_LABEL_LENGTH) : value;
    this.admitted.set(value, label);
    return label;
  }

  /** Distinct values admitted so far. */
  get size(): number {
    return this.admitted.size;
  }

  /** A new cap applies to values not yet seen; admitted ones keep their labels. */
  setMax(max: number): void {
    this.max = checkCap(max);
  }
}

/**
 * A resolved call site: the `file` and `line` label values of one SQL hint
 * pair, and a dense `index` that metric code uses to cache label children
 * without building a string key per request.
 */
export interface CallSite {
  readonly file: string;
  readonly line: string;
  readonly index: number;
}

/** Ticks (see `CallSiteLabels.tick`) a site may go unused before a new site may take its place. */
export const IDLE_TICKS_BEFORE_EVICTION = 10;

/**
 * Caps distinct (file, line) pairs at `max`. A statement without hints gets
 * the `NONE` site (empty labels, i.e. the labels are absent in Prometheus);
 * pairs past the cap get the `OTHER` site (`file="other",line="other"`).
 *
 * Sites age: `tick()` (once a minute in the proxy) advances a clock, and when
 * the cap is full a new pair takes the place of a site unused for
 * IDLE_TICKS_BEFORE_EVICTION ticks. A burst of junk hints therefore crowds
 * out real call sites for minutes, not until restart. `onEvict` lets the
 * metrics drop the evicted site's series; its index is reused.
 */
export class CallSiteLabels {
  static readonly NONE: CallSite = Object.freeze({ file: '', line: '', index: 0 });
  static readonly OTHER: CallSite = Object.freeze({ file: OTHER, line: OTHER, index: 1 });

  /** file → line → site. A missing file or line is keyed as '' / -1. */
  private readonly sites = new Map<string, Map<number, CallSite>>();
  /** By index: the tick of the site's last use, and its keys for eviction. */
  private readonly lastUsed: number[] = [];
  private readonly keysByIndex: ({ file: string; line: number } | undefined)[] = [];
  private readonly freeIndexes: number[] = [];
  private count = 0;
  private max: number;
  private now = 0;
  /** The tick at which a full table was last found with nothing to evict: scan again only after the next tick. */
  private fullSince = -1;
  private readonly onEvict: (site: CallSite) => void;

  constructor(max: number, onEvict: (site: CallSite) => void = () => {}) {
    this.max = checkCap(max);
    this.onEvict = onEvict;
  }

  /** Advances the ageing clock by one step. */
  tick(): void {
    this.now++;
  }

  /** The site for a hint's `file` and `line`; either may be absent. */
  resolve(file: string | null | undefined, line: number | null | undefined): CallSite {
    const fileKey = file ?? '';
    const lineKey = line ?? -1;
    if (fileKey === '' && lineKey === -1) return CallSiteLabels.NONE;
    let lines = this.sites.get(fileKey);
    const known = lines?.get(lineKey);
    if (known !== undefined) {
      this.lastUsed[known.index] = this.now;
      return known;
    }
    if (this.count >= this.max && !this.evictIdle()) return CallSiteLabels.OTHER;
    if (lines === undefined) {
      lines = new Map();
      this.sites.set(fileKey, lines);
    }
    const index = this.freeIndexes.pop() ?? 2 + this.count;
    const site: CallSite = Object.freeze({
      file: fileKey.length > MAX_LABEL_LENGTH ? fileKey.slice(0, MAX_LABEL_LENGTH) : fileKey,
      line: lineKey === -1 ? '' : String(lineKey),
      index,
    });
    this.count++;
    lines.set(lineKey, site);
    this.lastUsed[index] = this.now;
    this.keysByIndex[index] = { file: fileKey, line: lineKey };
    return site;
  }

  /** Frees the least recently used site if it has been idle long enough. */
  private evictIdle(): boolean {
    if (this.fullSince === this.now) return false;
    let oldest = -1;
    for (let i = 2; i < this.keysByIndex.length; i++) {
      if (this.keysByIndex[i] !== undefined && (oldest < 0 || this.lastUsed[i]! < this.lastUsed[oldest]!)) oldest = i;
    }
    if (oldest < 0 || this.now - this.lastUsed[oldest]! < IDLE_TICKS_BEFORE_EVICTION) {
      this.fullSince = this.now;
      return false;
    }
    const keys = this.keysByIndex[oldest]!;
    const lines = this.sites.get(keys.file)!;
    const site = lines.get(keys.line)!;
    lines.delete(keys.line);
    if (lines.size === 0) this.sites.delete(keys.file);
    this.keysByIndex[oldest] = undefined;
    this.freeIndexes.push(oldest);
    this.count--;
    this.onEvict(site);
    return true;
  }

  /** Distinct sites admitted now (not counting NONE and OTHER). */
  get size(): number {
    return this.count;
  }

  /** Upper bound of `CallSite.index` + 1, for sizing per-site caches. */
  get indexLimit(): number {
    return Math.max(2 + this.count, this.keysByIndex.length);
  }

  /** A new cap applies to sites not yet seen; admitted ones keep their labels. */
  setMax(max: number): void {
    this.max = checkCap(max);
  }
}

function checkCap(max: number): number {
  if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`label cap must be a non-negative integer, got ${max}`);
  return max;
}
