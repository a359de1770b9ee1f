/**
 * Query hints: `key:value` words inside a `/* ... *\/` comment.
 *
 *   /* ttl:60 file:user.go line:42 *\/ SELECT ...
 *
 * - Words are separated by whitespace and may come in any order.
 * - Known keys: `ttl` (seconds to cache a SELECT), `batch` (maximum batching
 *   wait in ms for a write; 0 = never batch), `file` and `line` (the caller).
 *   Keys are case-insensitive.
 * - Unknown keys are ignored; a comment with no known key is not a hint.
 * - A value that is not a number where one is expected, or is out of range,
 *   is ignored and counted as a warning.
 * - When a key repeats, the first valid value wins.
 *
 * Executable comments (`/*! ... *\/`) are code, not comments, so they never
 * carry hints; neither do `--` and `#` line comments.
 */

export interface Hints {
  ttlSeconds: number | null;
  batchMs: number | null;
  file: string | null;
  line: number | null;
}

/** Accepted ranges. A value outside them is ignored with a warning. */
export const HINT_LIMITS = Object.freeze({
  /** One year. */
  maxTtlSeconds: 31_536_000,
  /** One minute: longer than any sensible batching wait, and than the batch timeout. */
  maxBatchMs: 60_000,
  maxLine: 2_147_483_647,
  maxFileLength: 255,
});

/** Shared by every statement without hints; frozen because it is shared. */
export const NO_HINTS: Readonly<Hints> = Object.freeze({ ttlSeconds: null, batchMs: null, file: null, line: null });

const KEY_TTL = 1;
const KEY_BATCH = 2;
const KEY_FILE = 3;
const KEY_LINE = 4;

/** Accumulates hints over the comments of one statement. One per parse; not shared. */
export class HintCollector {
  ttlSeconds: number | null = null;
  batchMs: number | null = null;
  file: string | null = null;
  line: number | null = null;
  /** Known keys whose values were rejected. */
  warnings = 0;
  /** Whether any comment held a known key. */
  isFound = false;

  /**
   * Reads the block comment token `sql[start, end)` (delimiters included).
   * Returns whether it held a known key, i.e. whether it is a hint comment.
   */
  readComment(sql: string, start: number, end: number): boolean {
    let to = end;
    if (end - start >= 4 && sql.charCodeAt(end - 1) === 0x2f && sql.charCodeAt(end - 2) === 0x2a) to = end - 2;
    let isHint = false;
    let p = start + 2;
    while (p < to) {
      let c = sql.charCodeAt(p);
      if (c === 32 || (c >= 9 && c <= 13)) {
        p++;
        continue;
      }
      const wordStart = p;
      let colon = -1;
      while (p < to) {
        c = sql.charCodeAt(p);
        if (c === 32 || (c >= 9 && c <= 13)) break;
        if (c === 0x3a && colon < 0) colon = p;
        p++;
      }
      if (colon > wordStart && this.readPair(sql, wordStart, colon, colon + 1, p)) isHint = true;
    }
    if (isHint) this.isFound = true;
    return isHint;
  }

  /** The hints found, or the shared empty object when there were none. */
  toHints(): Hints {
    if (!this.isFound) return NO_HINTS;
    return { ttlSeconds: this.ttlSeconds, batchMs: this.batchMs, file: this.file, line: this.line };
  }

  private readPair(sql: string, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): boolean {
    const key = keyOf(sql, keyStart, keyEnd);
    switch (key) {
      case KEY_TTL: {
        const n = parseCount(sql, valueStart, valueEnd, HINT_LIMITS.maxTtlSeconds);
        if (n < 0) this.warnings++;
        else if (this.ttlSeconds === null) this.ttlSeconds = n;
        return true;
      }
      case KEY_BATCH: {
        const n = parseCount(sql, valueStart, valueEnd, HINT_LIMITS.maxBatchMs);
        if (n < 0) this.warnings++;
        else if (this.batchMs === null) this.batchMs = n;
        return true;
      }
      case KEY_LINE: {
        const n = parseCount(sql, valueStart, valueEnd, HINT_LIMITS.maxLine);
        if (n < 0) this.warnings++;
        else if (this.line === null) this.line = n;
        return true;
      }
      case KEY_FILE: {
        const length = valueEnd - valueStart;
        if (length < 1 || length > HINT_LIMITS.maxFileLength) this.warnings++;
        else if (this.file === null) {
          // The value becomes a metrics label and log text: only what a source path is made of.
          const value = sql.slice(valueStart, valueEnd);
          if (FILE_VALUE.test(value)) this.file = value;
          else this.warnings++;
        }
        return true;
      }
      default:
        return false;
    }
  }
}

/** Letters and digits of any script, and the punctuation of paths and module names. */
const FILE_VALUE = /^[\p{L}\p{N}._\-/\\@+~#$:]+$/u;

function keyOf(sql: string, start: number, end: number): number {
  const length = end - start;
  if (length < 3 || length > 5) return 0;
  const c0 = sql.charCodeAt(start) | 0x20;
  const c1 = sql.charCodeAt(start + 1) | 0x20;
  const c2 = sql.charCodeAt(start + 2) | 0x20;
  if (length === 3) return c0 === 0x74 && c1 === 0x74 && c2 === 0x6c ? KEY_TTL : 0; // ttl
  const c3 = sql.charCodeAt(start + 3) | 0x20;
  if (length === 4) {
    if (c0 === 0x66 && c1 === 0x69 && c2 === 0x6c && c3 === 0x65) return KEY_FILE; // file
    if (c0 === 0x6c && c1 === 0x69 && c2 === 0x6e && c3 === 0x65) return KEY_LINE; // line
    return 0;
  }
  const c4 = sql.charCodeAt(start + 4) | 0x20;
  return c0 === 0x62 && c1 === 0x61 && c2 === 0x74 && c3 === 0x63 && c4 === 0x68 ? KEY_BATCH : 0; // batch
}

/** A non-negative decimal integer no greater than `max`, or -1. */
function parseCount(sql: string, start: number, end: number, max: number): number {
  if (end <= start || end - start > 12) return -1;
  let n = 0;
  for (let p = start; p < end; p++) {
    const c = sql.charCodeAt(p);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n <= max ? n : -1;
}
