// https://mariadb.com/kb/en/0-packet/ — builds packets into one growable buffer per owner.
import { ByteWriter } from '../../net/byte-writer.ts';
import { MAX_PACKET_PAYLOAD, PACKET_HEADER_LENGTH } from './constants.ts';

const utf8 = new TextEncoder();

/**
 * Writes one or more packets into a reusable buffer. `begin()` reserves a
 * header, the body is written, `end(seq)` fills in length and sequence id.
 * Payloads longer than 16 MiB - 1 are split into continuation packets on
 * `end`. `finish()` returns a view valid only until the writer is reused.
 */
export class PacketWriter extends ByteWriter {
  private view: DataView;
  private packetStart = -1;

  constructor(initialSize = 256) {
    super(initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  override reset(): this {
    this.packetStart = -1;
    return super.reset();
  }

  protected override grown(): void {
    this.view = new DataView(this.buf.buffer);
  }

  begin(): this {
    this.ensure(PACKET_HEADER_LENGTH);
    this.packetStart = this.length;
    this.length += PACKET_HEADER_LENGTH;
    return this;
  }

  /** Closes the current packet with sequence id `seq`; returns the next sequence id. */
  end(seq: number): number {
    let start = this.packetStart;
    let payload = this.length - start - PACKET_HEADER_LENGTH;
    // A payload of exactly 0xFFFFFF or more needs continuation packets, the last possibly empty.
    while (payload >= MAX_PACKET_PAYLOAD) {
      this.writeHeader(start, MAX_PACKET_PAYLOAD, seq);
      seq = (seq + 1) & 0xff;
      const restStart = start + PACKET_HEADER_LENGTH + MAX_PACKET_PAYLOAD;
      this.ensure(PACKET_HEADER_LENGTH);
      this.buf.copyWithin(restStart + PACKET_HEADER_LENGTH, restStart, this.length);
      this.length += PACKET_HEADER_LENGTH;
      start = restStart;
      payload -= MAX_PACKET_PAYLOAD;
    }
    this.writeHeader(start, payload, seq);
    this.packetStart = -1;
    return (seq + 1) & 0xff;
  }

  private writeHeader(at: number, payload: number, seq: number): void {
    this.buf[at] = payload & 0xff;
    this.buf[at + 1] = (payload >> 8) & 0xff;
    this.buf[at + 2] = (payload >> 16) & 0xff;
    this.buf[at + 3] = seq & 0xff;
  }

  u16le(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
    return this;
  }

  u24le(v: number): this {
    this.ensure(3);
    this.buf[this.length] = v & 0xff;
    this.buf[this.length + 1] = (v >> 8) & 0xff;
    this.buf[this.length + 2] = (v >> 16) & 0xff;
    this.length += 3;
    return this;
  }

  u32le(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
    return this;
  }

  u64le(v: number | bigint): this {
    this.ensure(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
    return this;
  }

  lenencInt(v: number): this {
    if (v < 0xfb) return this.u8(v);
    if (v <= 0xffff) return this.u8(0xfc).u16le(v);
    if (v <= 0xffffff) return this.u8(0xfd).u24le(v);
    return this.u8(0xfe).u64le(v);
  }

  /** Writes a string as UTF-8 without any length prefix or terminator. */
  string(s: string): this {
    this.utf8(s);
    return this;
  }

  lenencStr(s: string): this {
    const bytes = utf8.encode(s);
    return this.lenencInt(bytes.length).bytes(bytes);
  }

}
