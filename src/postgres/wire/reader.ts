// https://www.postgresql.org/docs/current/protocol-message-types.html — a cursor over one message body.
import { ProxyError } from '../../core/errors.ts';
import { ByteReader, decodeUtf8 } from '../../net/byte-reader.ts';

/**
 * Reads the wire types of a message body: Int8/16/32 (network order), String
 * (NUL-terminated) and Byten. `bytes()` returns a view, never a copy. A body
 * too short for what it claims is malformed: the framer already delivered it
 * whole, so running out of bytes here is a protocol violation.
 */
export class MessageReader extends ByteReader {
  protected shortReadMessage(needed: number): string {
    return needed < 0 ? 'invalid message format: negative length' : 'invalid message format: message shorter than its fields';
  }

  i16(): number {
    this.need(2);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v & 0x8000 ? v - 0x10000 : v;
  }

  i32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  /** A NUL-terminated string, decoded as UTF-8. */
  cstr(): string {
    const start = this.pos;
    // The unnamed statement and portal are the common case: no decoder call for them.
    if (start < this.end && this.buf[start] === 0) {
      this.pos = start + 1;
      return '';
    }
    const nul = this.buf.indexOf(0, start);
    if (nul < 0 || nul >= this.end) throw new ProxyError('PROTOCOL_VIOLATION', 'invalid message format: unterminated string', { fatal: true });
    this.pos = nul + 1;
    return decodeUtf8(this.buf.subarray(start, nul));
  }

  /** A NUL-terminated string as a borrowed view of its bytes (without the NUL). */
  cstrBytes(): Uint8Array {
    const start = this.pos;
    const nul = this.buf.indexOf(0, start);
    if (nul < 0 || nul >= this.end) throw new ProxyError('PROTOCOL_VIOLATION', 'invalid message format: unterminated string', { fatal: true });
    this.pos = nul + 1;
    return this.buf.subarray(start, nul);
  }
}

export function readI32(buf: Uint8Array, at: number): number {
  return (buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!;
}

export { decodeUtf8 };
