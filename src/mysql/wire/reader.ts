// https://mariadb.com/kb/en/protocol-data-types/ — a cursor over one packet payload.
import { ProxyError } from '../../core/errors.ts';

const utf8 = new TextDecoder();

/**
 * Reads wire types from a borrowed view. Reading past the end is a protocol
 * violation: the framer only hands out complete payloads, so a short read
 * means the peer sent a malformed packet.
 */
export class PacketReader {
  buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array = new Uint8Array(0), start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  reset(buf: Uint8Array, start: number, end: number): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) {
      throw new ProxyError('PROTOCOL_VIOLATION', `malformed packet: needed ${n} more bytes, ${this.end - this.pos} left`, { fatal: true });
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16le(): number {
    this.need(2);
    const b = this.buf;
    const v = b[this.pos]! | (b[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  u24le(): number {
    this.need(3);
    const b = this.buf;
    const v = b[this.pos]! | (b[this.pos + 1]! << 8) | (b[this.pos + 2]! << 16);
    this.pos += 3;
    return v;
  }

  u32le(): number {
    this.need(4);
    const b = this.buf;
    const v = (b[this.pos]! | (b[this.pos + 1]! << 8) | (b[this.pos + 2]! << 16)) + b[this.pos + 3]! * 0x1000000;
    this.pos += 4;
    return v;
  }

  /** 8-byte little-endian integer; exact below 2^53, which covers every row count and id we do arithmetic on. */
  u64le(): number {
    const low = this.u32le();
    const high = this.u32le();
    return high * 0x100000000 + low;
  }

  u64leBig(): bigint {
    const low = BigInt(this.u32le());
    const high = BigInt(this.u32le());
    return (high << 32n) | low;
  }

  /** Length-encoded integer; null for the 0xFB NULL marker. */
  lenencInt(): number | null {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfb) return null;
    if (first === 0xfc) return this.u16le();
    if (first === 0xfd) return this.u24le();
    if (first === 0xfe) return this.u64le();
    throw new ProxyError('PROTOCOL_VIOLATION', 'malformed packet: 0xFF is not a length-encoded integer', { fatal: true });
  }

  lenencBytes(): Uint8Array | null {
    const len = this.lenencInt();
    return len === null ? null : this.bytes(len);
  }

  lenencStr(): string | null {
    const bytes = this.lenencBytes();
    return bytes === null ? null : utf8.decode(bytes);
  }

  /** A view, never a copy. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const view = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return view;
  }

  rest(): Uint8Array {
    return this.bytes(this.end - this.pos);
  }

  /** NUL-terminated bytes (the NUL is consumed, not returned); to the end if there is no NUL. */
  cstrBytes(): Uint8Array {
    const start = this.pos;
    let i = start;
    while (i < this.end && this.buf[i] !== 0) i++;
    const view = this.buf.subarray(start, i);
    this.pos = i < this.end ? i + 1 : i;
    return view;
  }

  cstr(): string {
    return utf8.decode(this.cstrBytes());
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  string(n: number): string {
    return utf8.decode(this.bytes(n));
  }
}

export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}
