// https://mariadb.com/kb/en/0-packet/#compressed-packet — the compressed
// protocol (CLIENT_COMPRESS, zlib). After the login, each link carries
// compressed packets: 3-byte compressed length, 1-byte compressed sequence id,
// 3-byte uncompressed length (0: the payload is stored as is), then the
// payload. Their payloads, joined, are the ordinary packet stream, and an
// ordinary packet may span compressed packets.
//
// The proxy reads the ordinary stream on both links, so it inflates what it
// receives and deflates what it sends, per link. Nothing here runs on a link
// without compression: the uncompressed relay path is untouched.
import { deflateSync, inflateSync } from 'node:zlib';
import { ProxyError } from '../../core/errors.ts';
import { CarryBuffer } from '../../net/carry-buffer.ts';

export const COMPRESSED_HEADER_LENGTH = 7;
/** Payloads shorter than this go out stored, as the servers do (MIN_COMPRESS_LENGTH). */
const MIN_COMPRESS_LENGTH = 50;
/** Largest uncompressed payload of one compressed packet. */
const MAX_COMPRESSED_PAYLOAD = 0xffffff;

/**
 * Reassembles compressed packets from a byte stream and returns their
 * payloads, inflated. One carry buffer, compacted in place. Remembers the
 * last compressed sequence id received: the sender's next one follows it.
 */
export class CompressedPacketReader extends CarryBuffer {
  private readonly maxPayload: number;
  /** Compressed sequence id of the last packet read, or -1 before any. */
  lastSeq = -1;
  /** Compressed packets read so far: tells the write side that the peer spoke since its last write. */
  packetsRead = 0;

  constructor(maxPayload: number) {
    super();
    this.maxPayload = maxPayload;
  }

  /**
   * Adds a chunk; returns the inflated payloads now complete, in order. A
   * stored payload is a view into the carry buffer: borrowed until the next push.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    this.append(chunk);
    const out: Uint8Array[] = [];
    const buf = this.carry;
    for (;;) {
      const avail = this.writePos - this.readPos;
      if (avail < COMPRESSED_HEADER_LENGTH) break;
      const p = this.readPos;
      const length = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16);
      const uncompressedLength = buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16);
      if (uncompressedLength > this.maxPayload + 4 || length > this.maxPayload + 4) {
        throw new ProxyError('PACKET_TOO_LARGE', `compressed packet of more than ${this.maxPayload} bytes exceeds max_packet_size`, { fatal: true });
      }
      if (avail < COMPRESSED_HEADER_LENGTH + length) break;
      this.lastSeq = buf[p + 3]!;
      this.packetsRead++;
      const payload = buf.subarray(p + COMPRESSED_HEADER_LENGTH, p + COMPRESSED_HEADER_LENGTH + length);
      this.readPos = p + COMPRESSED_HEADER_LENGTH + length;
      if (uncompressedLength === 0) {
        out.push(payload);
        continue;
      }
      let inflated: Uint8Array;
      try {
        inflated = inflateSync(payload);
      } catch (cause) {
        throw new ProxyError('PROTOCOL_VIOLATION', 'malformed compressed packet (zlib)', { fatal: true, cause });
      }
      if (inflated.length !== uncompressedLength) {
        throw new ProxyError('PROTOCOL_VIOLATION', `compressed packet inflated to ${inflated.length} bytes, header said ${uncompressedLength}`, { fatal: true });
      }
      out.push(inflated);
    }
    return out;
  }

}

/**
 * Wraps `bytes[start..end)` in compressed packets with sequence ids from
 * `seq` on; returns them (owned) and the next sequence id.
 */
export function compressPackets(bytes: Uint8Array, start: number, end: number, seq: number): { packets: Uint8Array[]; nextSeq: number } {
  const packets: Uint8Array[] = [];
  let pos = start;
  do {
    const take = Math.min(end - pos, MAX_COMPRESSED_PAYLOAD);
    const raw = bytes.subarray(pos, pos + take);
    let body: Uint8Array = raw;
    let uncompressedLength = 0;
    if (take >= MIN_COMPRESS_LENGTH) {
      const deflated = deflateSync(raw);
      // Incompressible data is sent stored, as the servers do.
      if (deflated.length < take) {
        body = deflated;
        uncompressedLength = take;
      }
    }
    const packet = new Uint8Array(COMPRESSED_HEADER_LENGTH + body.length);
    packet[0] = body.length & 0xff;
    packet[1] = (body.length >> 8) & 0xff;
    packet[2] = (body.length >> 16) & 0xff;
    packet[3] = seq & 0xff;
    packet[4] = uncompressedLength & 0xff;
    packet[5] = (uncompressedLength >> 8) & 0xff;
    packet[6] = (uncompressedLength >> 16) & 0xff;
    packet.set(body, COMPRESSED_HEADER_LENGTH);
    packets.push(packet);
    seq = (seq + 1) & 0xff;
    pos += take;
  } while (pos < end);
  return { packets, nextSeq: seq };
}
