// https://mariadb.com/kb/en/protocol-data-types/ — a cursor over one packet payload.
import { ProxyError } from '../../core/errors.ts';
import { ByteReader, decodeUtf8 } from '../../net/byte-reader.ts';

/**
 * Reads wire types from a borrowed view. Reading past the end is a protocol
 * violation: the framer only hands out complete payloads, so a short read
 * means the peer sent a malformed packet.
 */
export class PacketReader extends ByteReader {
  protected shortReadMessage(needed: number): string {
    return needed < 0 ? 'malformed packet: negative length' : `malformed packet: needed ${needed} more bytes, ${this.end - this.pos} left`;
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
    return bytes === null ? null : decodeUtf8(bytes);
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
    return decodeUtf8(this.cstrBytes());
  }


  string(n: number): string {
    return decodeUtf8(this.bytes(n));
  }
}

export { decodeUtf8 };
