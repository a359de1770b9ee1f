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

/**
 * Caps distinct (file, line) pairs at `max`. A statement without hints gets
 * the `NONE` site (empty labels, i.e. the labels are absent in Prometheus);
 * pairs past the cap get the `OTHER` site (`file="other",line="other"`).
 */
export class CallSiteLabels {
  static readonly NONE: CallSite = Object.freeze({ file: '', line: '', index: 0 });
  static readonly OTHER: CallSite = Object.freeze({ file: OTHER, line: OTHER, index: 1 });

  /** file → line → site. A missing file or line is keyed as '' / -1. */
  private readonly sites = new Map<string, Map<number, CallSite>>();
  private count = 0;
  private max: number;

  constructor(max: number) {
    this.max = checkCap(max);
  }

  /** The site for a hint's `file` and `line`; either may be absent. */
  resolve(file: string | null | undefined, line: number | null | undefined): CallSite {
    const fileKey = file ?? '';
    const lineKey = line ?? -1;
    if (fileKey === '' && lineKey === -1) return CallSiteLabels.NONE;
    let lines = this.sites.get(fileKey);
    const known = lines?.get(lineKey);
    if (known !== undefined) return known;
    if (this.count >= this.max) return CallSiteLabels.OTHER;
    if (lines === undefined) {
      lines = new Map();
      this.sites.set(fileKey, lines);
    }
    const site: CallSite = Object.freeze({
      file: fileKey.length > MAX_LABEL_LENGTH ? fileKey.slice(0, MAX_LABEL_LENGTH) : fileKey,
      line: lineKey === -1 ? '' : String(lineKey),
      index: 2 + this.count,
    });
    this.count++;
    lines.set(lineKey, site);
    return site;
  }

  /** Distinct sites admitted so far (not counting NONE and OTHER). */
  get size(): number {
    return this.count;
  }

  /** Upper bound of `CallSite.index` + 1, for sizing per-site caches. */
  get indexLimit(): number {
    return 2 + this.count;
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
