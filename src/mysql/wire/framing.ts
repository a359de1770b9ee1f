// https://mariadb.com/kb/en/0-packet/ — 3-byte payload length, 1-byte sequence id;
// a payload of 0xFFFFFF continues in the next packet.
import { ProxyError } from '../../core/errors.ts';
import { MAX_PACKET_PAYLOAD, PACKET_HEADER_LENGTH } from './constants.ts';
import { CarryBuffer } from '../../net/carry-buffer.ts';

/** A complete logical packet. Views are borrowed: valid until the next `push`. */
export interface Frame {
  /** Sequence id of the first physical packet. */
  seq: number;
  /** Sequence id of the last physical packet (differs only for continued payloads). */
  lastSeq: number;
  /** The logical payload (continuation headers removed). */
  payload: Uint8Array;
  /** The packet exactly as received, headers included: what a relay forwards. */
  raw: Uint8Array;
}

/**
 * Reassembles whole logical packets from a byte stream, for the directions
 * where the proxy must read complete packets (client commands, handshakes).
 * One carry buffer, compacted in place and grown only when a packet needs it.
 */
export class PacketFramer extends CarryBuffer {
  private maxPayload: number;

  constructor(maxPayload: number, initialSize = 16 * 1024) {
    super(initialSize);
    this.maxPayload = maxPayload;
  }

  /** What the limit is called in errors: the config key, or the fixed pre-login cap. */
  limitName = 'max_packet_size';

  /** Changes the limit for packets not yet framed (a small one before login, the configured one after). */
  setMaxPayload(maxPayload: number): void {
    this.maxPayload = maxPayload;
  }

  get maxPayloadBytes(): number {
    return this.maxPayload;
  }

  push(chunk: Uint8Array): void {
    this.append(chunk);
  }

  /** Hands out every buffered byte, framed or not (switching to a raw tunnel). Borrowed view. */
  takeRest(): Uint8Array {
    const rest = this.carry.subarray(this.readPos, this.writePos);
    this.readPos = this.writePos;
    return rest;
  }

  /**
   * The next complete logical packet, or null when more bytes are needed.
   * Throws PACKET_TOO_LARGE as soon as a header announces more than the limit.
   */
  next(): Frame | null {
    const buf = this.carry;
    let pos = this.readPos;
    let total = 0;
    let physical = 0;
    let lastSeq = 0;
    for (;;) {
      if (this.writePos - pos < PACKET_HEADER_LENGTH) return null;
      const len = buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16);
      lastSeq = buf[pos + 3]!;
      total += len;
      if (total > this.maxPayload) {
        throw new ProxyError('PACKET_TOO_LARGE', `packet of more than ${this.maxPayload} bytes exceeds ${this.limitName}`, { fatal: true });
      }
      if (this.writePos - pos - PACKET_HEADER_LENGTH < len) return null;
      pos += PACKET_HEADER_LENGTH + len;
      physical++;
      if (len < MAX_PACKET_PAYLOAD) break;
    }
    const start = this.readPos;
    this.readPos = pos;
    const raw = buf.subarray(start, pos);
    const seq = buf[start + 3]!;
    if (physical === 1) {
      return { seq, lastSeq, payload: buf.subarray(start + PACKET_HEADER_LENGTH, pos), raw };
    }
    // Rare: a payload of 16 MiB or more. Join the pieces into an owned buffer.
    const payload = new Uint8Array(total);
    let src = start;
    let dst = 0;
    while (src < pos) {
      const len = buf[src]! | (buf[src + 1]! << 8) | (buf[src + 2]! << 16);
      payload.set(buf.subarray(src + PACKET_HEADER_LENGTH, src + PACKET_HEADER_LENGTH + len), dst);
      dst += len;
      src += PACKET_HEADER_LENGTH + len;
    }
    return { seq, lastSeq, payload, raw };
  }
}

/** Receives each logical packet seen by a {@link PacketScanner}. */
export interface PacketSink {
  /**
   * `buf[pos .. pos+avail)` holds the first `avail` bytes of the payload
   * (all of it when it is short). Borrowed. Returns true when this packet
   * ends the exchange being scanned, which stops the scan right after it.
   */
  onPacket(buf: Uint8Array, pos: number, avail: number, payloadLength: number, seq: number): boolean;
}

/** How many payload bytes a response decision can need: an OK packet's header fields fit in 32. */
export const SCAN_PREFIX_BYTES = 32;

/**
 * Finds packet boundaries in a relayed stream without buffering payloads:
 * only each packet's first bytes are kept, so a 1 GiB row streams through.
 */
export class PacketScanner {
  private readonly header = new Uint8Array(PACKET_HEADER_LENGTH);
  private headerLen = 0;
  /** Payload bytes of the current physical packet still to come. */
  private remaining = 0;
  private inPayload = false;
  /** Logical packet state: continuation packets add to it. */
  private logicalLength = 0;
  private logicalSeq = 0;
  private isContinuing = false;
  private readonly prefix = new Uint8Array(SCAN_PREFIX_BYTES);
  private prefixLen = 0;

  reset(): void {
    this.headerLen = 0;
    this.remaining = 0;
    this.inPayload = false;
    this.logicalLength = 0;
    this.isContinuing = false;
    this.prefixLen = 0;
  }

  /** True when the scanner is between packets. */
  get isAtBoundary(): boolean {
    return this.headerLen === 0 && !this.inPayload && !this.isContinuing;
  }

  /**
   * Scans `buf[start..end)`. Returns the offset just past the packet for
   * which the sink returned true, or -1 when the whole range was consumed.
   */
  scan(buf: Uint8Array, start: number, end: number, sink: PacketSink): number {
    let pos = start;
    while (pos < end) {
      if (!this.inPayload) {
        // Fast path: a whole header, and possibly the whole packet, in this chunk.
        let len: number;
        let seq: number;
        if (this.headerLen === 0 && end - pos >= PACKET_HEADER_LENGTH) {
          len = buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16);
          seq = buf[pos + 3]!;
          pos += PACKET_HEADER_LENGTH;
          if (!this.isContinuing && len < MAX_PACKET_PAYLOAD && end - pos >= len) {
            const done = sink.onPacket(buf, pos, len < SCAN_PREFIX_BYTES ? len : SCAN_PREFIX_BYTES, len, seq);
            pos += len;
            if (done) return pos;
            continue;
          }
        } else {
          this.header[this.headerLen++] = buf[pos++]!;
          if (this.headerLen < PACKET_HEADER_LENGTH) continue;
          const h = this.header;
          len = h[0]! | (h[1]! << 8) | (h[2]! << 16);
          seq = h[3]!;
          this.headerLen = 0;
        }
        if (!this.isContinuing) {
          this.logicalLength = 0;
          this.logicalSeq = seq;
          this.prefixLen = 0;
        }
        this.logicalLength += len;
        this.isContinuing = len === MAX_PACKET_PAYLOAD;
        this.remaining = len;
        this.inPayload = true;
      }
      const take = Math.min(this.remaining, end - pos);
      if (this.prefixLen < SCAN_PREFIX_BYTES && take > 0) {
        const copy = Math.min(take, SCAN_PREFIX_BYTES - this.prefixLen);
        this.prefix.set(buf.subarray(pos, pos + copy), this.prefixLen);
        this.prefixLen += copy;
      }
      pos += take;
      this.remaining -= take;
      if (this.remaining > 0) continue;
      this.inPayload = false;
      if (this.isContinuing) continue;
      if (sink.onPacket(this.prefix, 0, this.prefixLen, this.logicalLength, this.logicalSeq)) return pos;
    }
    return -1;
  }
}
