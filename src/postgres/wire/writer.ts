// https://www.postgresql.org/docs/current/protocol-message-types.html — builds messages into one growable buffer.

const utf8 = new TextEncoder();

/**
 * Writes one or more messages into a reusable buffer. `begin(type)` writes
 * the type byte and reserves the length, the body follows, `end()` fills in
 * the length. `finish()` returns a view valid only until the writer is reused.
 */
export class MessageWriter {
  private buf: Uint8Array;
  private length = 0;
  private messageStart = -1;

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize);
  }

  reset(): this {
    this.length = 0;
    this.messageStart = -1;
    return this;
  }

  private ensure(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buf.length) return;
    const next = new Uint8Array(Math.max(needed, Math.floor(this.buf.length * 1.5) + 64));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  begin(type: number): this {
    this.ensure(5);
    this.buf[this.length] = type;
    this.messageStart = this.length + 1;
    this.length += 5;
    return this;
  }

  /** Fills in the length of the message started by `begin` (it counts itself, not the type byte). */
  end(): this {
    const len = this.length - this.messageStart;
    const at = this.messageStart;
    this.buf[at] = len >>> 24;
    this.buf[at + 1] = (len >>> 16) & 0xff;
    this.buf[at + 2] = (len >>> 8) & 0xff;
    this.buf[at + 3] = len & 0xff;
    this.messageStart = -1;
    return this;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.length++] = v;
    return this;
  }

  i16(v: number): this {
    this.ensure(2);
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  i32(v: number): this {
    this.ensure(4);
    this.buf[this.length++] = (v >>> 24) & 0xff;
    this.buf[this.length++] = (v >>> 16) & 0xff;
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  /** A NUL-terminated UTF-8 string. A NUL inside `s` would end it early, so callers pass text without one. */
  cstr(s: string): this {
    this.ensure(s.length * 3 + 1);
    const { written } = utf8.encodeInto(s, this.buf.subarray(this.length));
    this.length += written;
    this.buf[this.length++] = 0;
    return this;
  }

  /** An Int32 length followed by the UTF-8 bytes (a DataRow column). */
  lenStr(s: string): this {
    this.ensure(s.length * 3 + 4);
    const lenAt = this.length;
    this.length += 4;
    const { written } = utf8.encodeInto(s, this.buf.subarray(this.length));
    this.length += written;
    this.buf[lenAt] = written >>> 24;
    this.buf[lenAt + 1] = (written >>> 16) & 0xff;
    this.buf[lenAt + 2] = (written >>> 8) & 0xff;
    this.buf[lenAt + 3] = written & 0xff;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
