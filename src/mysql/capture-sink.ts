import type { ProxyError } from '../core/errors.ts';
import type { ResponseSink } from './backend.ts';
import type { ResponseTracker } from './response-tracker.ts';

/** The outcome of a captured response: its bytes (owned) and tracker, or why it has none. */
export type Captured =
  | { ok: true; bytes: Uint8Array; tracker: ResponseTracker }
  | { ok: false; error: ProxyError };

/**
 * Collects a whole response into one owned buffer, for responses the proxy
 * consumes itself (the greeting, batch results, cache refreshes). Collection
 * is capped: past `maxBytes` the bytes are dropped and `isOverflowed` is set,
 * but the response is still followed to its end.
 */
export class CaptureSink implements ResponseSink {
  private buf: Uint8Array;
  private length = 0;
  private readonly maxBytes: number;
  isOverflowed = false;
  private readonly done: (result: Captured) => void;

  constructor(done: (result: Captured) => void, maxBytes = Number.MAX_SAFE_INTEGER, initialSize = 256) {
    this.done = done;
    this.maxBytes = maxBytes;
    this.buf = new Uint8Array(initialSize);
  }

  onResponseBytes(buf: Uint8Array, start: number, end: number): void {
    if (this.isOverflowed) return;
    this.append(buf, start, end);
  }

  /** Copies: the view is borrowed. */
  append(buf: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.length + n > this.maxBytes) {
      this.isOverflowed = true;
      this.buf = new Uint8Array(0);
      this.length = 0;
      return;
    }
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.length + n, this.buf.length * 2));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    this.buf.set(buf.subarray(start, end), this.length);
    this.length += n;
  }

  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  onResponseEnd(tracker: ResponseTracker): void {
    this.done({ ok: true, bytes: this.buf.subarray(0, this.length), tracker });
  }

  onResponseLost(error: ProxyError): void {
    this.done({ ok: false, error });
  }
}

