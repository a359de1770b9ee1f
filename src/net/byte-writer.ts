// The growable buffer both protocols' message writers build on: bytes, UTF-8 text, and a view
// of what was written. Each protocol adds its framing and its integer encodings.

const utf8 = new TextEncoder();

/**
 * Bytes written into one reusable buffer that grows as needed. `finish()`
 * returns a view valid only until the writer is reused.
 */
export class ByteWriter {
  protected buf: Uint8Array;
  protected length = 0;

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize);
  }

  /** Starts over in the same buffer. */
  reset(): this {
    this.length = 0;
    return this;
  }

  /** Makes room for `extra` more bytes. */
  protected ensure(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buf.length) return;
    const next = new Uint8Array(Math.max(needed, Math.floor(this.buf.length * 1.5) + 64));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.grown();
  }

  /** Called after the buffer was replaced by a larger one. */
  protected grown(): void {}

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.length++] = v;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** A string as UTF-8, without any length prefix or terminator; returns the bytes written. */
  protected utf8(s: string): number {
    // Worst case 3 bytes per UTF-16 unit.
    this.ensure(s.length * 3);
    const { written } = utf8.encodeInto(s, this.buf.subarray(this.length));
    this.length += written;
    return written;
  }

  /** A NUL-terminated UTF-8 string. A NUL inside `s` would end it early, so callers pass text without one. */
  cstr(s: string): this {
    this.utf8(s);
    return this.u8(0);
  }

  get size(): number {
    return this.length;
  }

  /** Everything written so far: a view, valid until the next write. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** An owned copy of everything written so far. */
  toOwned(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
