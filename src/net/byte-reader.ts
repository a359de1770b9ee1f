// The cursor both protocols' message readers build on: a borrowed view, a position, and reads
// that never run past the end. Each protocol adds its integer encodings and strings.
import { ProxyError } from '../core/errors.ts';

const utf8 = new TextDecoder();

export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/**
 * Reads from a borrowed view. The framers hand out only complete messages,
 * so running out of bytes means the peer sent a malformed one: a fatal
 * PROTOCOL_VIOLATION with the protocol's own wording (`shortReadMessage`).
 */
export abstract class ByteReader {
  buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array = new Uint8Array(0), start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  reset(buf: Uint8Array, start = 0, end = buf.length): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** What a read past the end says, in the protocol's terms. */
  protected abstract shortReadMessage(needed: number): string;

  protected need(n: number): void {
    if (this.end - this.pos < n) throw new ProxyError('PROTOCOL_VIOLATION', this.shortReadMessage(n), { fatal: true });
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  /** `n` bytes as a borrowed view, never a copy. */
  bytes(n: number): Uint8Array {
    if (n < 0) throw new ProxyError('PROTOCOL_VIOLATION', this.shortReadMessage(n), { fatal: true });
    this.need(n);
    const view = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return view;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}
