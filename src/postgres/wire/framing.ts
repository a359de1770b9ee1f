// https://www.postgresql.org/docs/current/protocol-overview.html#PROTOCOL-MESSAGE-CONCEPTS —
// the untyped startup-phase message (int32 length, then body), then type byte + int32 length.
import { ProxyError } from '../../core/errors.ts';
import { HEADER_LENGTH, MAX_STARTUP_LENGTH } from './constants.ts';
import { CarryBuffer } from '../../net/carry-buffer.ts';

/** A complete client message. Views are borrowed: valid until the next `push`. */
export interface Frame {
  /** The type byte; 0 for an untyped startup-phase message. */
  type: number;
  /** The message exactly as received, header included: what a relay forwards. */
  raw: Uint8Array;
  /** The body after the header. */
  body: Uint8Array;
}

/**
 * Reassembles whole client messages from a byte stream. The first message
 * (and the one after an SSLRequest/GSSENCRequest is refused) has no type
 * byte; `expectStartup()` switches back to that form. One carry buffer,
 * compacted in place and grown only when a message needs it.
 */
export class MessageFramer extends CarryBuffer {
  private readonly maxLength: number;
  private isStartup = true;

  constructor(maxLength: number, initialSize = 16 * 1024) {
    super(initialSize);
    this.maxLength = maxLength;
  }

  /** The next message is untyped (startup, SSLRequest, GSSENCRequest, CancelRequest). */
  expectStartup(): void {
    this.isStartup = true;
  }

  push(chunk: Uint8Array): void {
    this.append(chunk);
  }

  /**
   * Puts back the frame `next` just returned (nothing may have been pushed
   * since), so a message that must wait is read again later without a copy.
   */
  rewind(frame: Frame): void {
    this.readPos -= frame.raw.length;
    if (frame.type === 0) this.isStartup = true;
  }

  /**
   * Puts back every message from `raw` (a frame handed out since the last
   * push) on: a group of messages that must wait is read again later.
   */
  rewindTo(raw: Uint8Array): void {
    if (raw.buffer !== this.carry.buffer) throw new Error('rewindTo: the frame is not from the current carry buffer');
    this.readPos = raw.byteOffset - this.carry.byteOffset;
  }

  /**
   * The next complete message, or null when more bytes are needed. Throws a
   * fatal PROTOCOL_VIOLATION for an impossible length and PACKET_TOO_LARGE as
   * soon as a header announces more than the limit (before buffering it).
   */
  next(): Frame | null {
    const buf = this.carry;
    const pos = this.readPos;
    const available = this.writePos - pos;
    if (this.isStartup) {
      if (available < 4) return null;
      const len = readLength(buf, pos);
      if (len < 8 || len > MAX_STARTUP_LENGTH) throw new ProxyError('PROTOCOL_VIOLATION', `invalid length of startup packet (${len})`, { fatal: true });
      if (available < len) return null;
      this.readPos = pos + len;
      this.isStartup = false;
      return { type: 0, raw: buf.subarray(pos, pos + len), body: buf.subarray(pos + 4, pos + len) };
    }
    if (available < HEADER_LENGTH) return null;
    const len = readLength(buf, pos + 1);
    if (len < 4) throw new ProxyError('PROTOCOL_VIOLATION', `invalid message length ${len} for message type 0x${buf[pos]!.toString(16)}`, { fatal: true });
    if (len > this.maxLength) {
      throw new ProxyError('PACKET_TOO_LARGE', `message of ${len} bytes exceeds the proxy's max_packet_size of ${this.maxLength} bytes`, { fatal: true });
    }
    if (available < len + 1) return null;
    this.readPos = pos + 1 + len;
    return { type: buf[pos]!, raw: buf.subarray(pos, pos + 1 + len), body: buf.subarray(pos + HEADER_LENGTH, pos + 1 + len) };
  }
}

/**
 * Finds message boundaries in the server's stream without reassembling it:
 * the relay forwards the original chunk ranges. Only the bodies of message
 * types the caller asks for are made available (a view into the chunk when
 * the message is whole in it, else a copy in a small carry buffer), so
 * DataRows and CopyData are never copied.
 */
export class MessageScanner {
  /** Type of the message that `next` last completed. */
  type = 0;
  /** Its body when the type is wanted, else null. Borrowed: valid until the next call. */
  body: Uint8Array | null = null;
  /** Its body's first byte (-1 for an empty body), for every type: ReadyForQuery's status needs no view. */
  firstBodyByte = -1;
  /** True while the stream stands between two messages. */
  get isAtBoundary(): boolean {
    return this.headerFill === 0 && this.bodyLeft === 0;
  }

  private readonly header = new Uint8Array(HEADER_LENGTH);
  private headerFill = 0;
  private bodyLeft = 0;
  private bodyCarry = new Uint8Array(256);
  private bodyFill = 0;
  private isWanted = false;
  private readonly wanted: Uint8Array;

  /** `wantedTypes`: message types whose bodies the caller reads. */
  constructor(wantedTypes: readonly number[]) {
    this.wanted = new Uint8Array(256);
    for (const t of wantedTypes) this.wanted[t] = 1;
  }

  /**
   * Advances over `chunk` from `pos`. Returns the index just past the next
   * message that ends inside the chunk (then `type` and `body` describe it),
   * or -1 when the chunk ends inside a message.
   */
  next(chunk: Uint8Array, pos: number): number {
    const end = chunk.length;
    if (this.headerFill === 0 && this.bodyLeft === 0 && end - pos >= HEADER_LENGTH) {
      // Fast path: a whole header in the chunk.
      const len = readLength(chunk, pos + 1);
      if (len < 4) throw new ProxyError('PROTOCOL_VIOLATION', `server sent an invalid message length ${len}`, { fatal: true });
      const type = chunk[pos]!;
      const msgEnd = pos + 1 + len;
      if (msgEnd <= end) {
        this.type = type;
        this.body = this.wanted[type] === 1 ? chunk.subarray(pos + HEADER_LENGTH, msgEnd) : null;
        this.firstBodyByte = len > 4 ? chunk[pos + HEADER_LENGTH]! : -1;
        return msgEnd;
      }
      this.startBody(type, len - 4);
      this.takeBody(chunk, pos + HEADER_LENGTH, end);
      return -1;
    }
    while (this.headerFill < HEADER_LENGTH && this.bodyLeft === 0) {
      if (pos >= end) return -1;
      this.header[this.headerFill++] = chunk[pos++]!;
      if (this.headerFill === HEADER_LENGTH) {
        const len = readLength(this.header, 1);
        if (len < 4) throw new ProxyError('PROTOCOL_VIOLATION', `server sent an invalid message length ${len}`, { fatal: true });
        this.startBody(this.header[0]!, len - 4);
        if (this.bodyLeft === 0) return this.complete(pos);
      }
    }
    const take = Math.min(this.bodyLeft, end - pos);
    this.takeBody(chunk, pos, pos + take);
    pos += take;
    if (this.bodyLeft > 0) return -1;
    return this.complete(pos);
  }

  private startBody(type: number, bodyLength: number): void {
    this.type = type;
    this.headerFill = HEADER_LENGTH;
    this.bodyLeft = bodyLength;
    this.isWanted = this.wanted[type] === 1;
    this.bodyFill = 0;
    this.firstBodyByte = -1;
    if (this.isWanted && bodyLength > this.bodyCarry.length) this.bodyCarry = new Uint8Array(Math.max(bodyLength, this.bodyCarry.length * 2));
  }

  private takeBody(chunk: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (this.bodyFill === 0 && n > 0) this.firstBodyByte = chunk[from]!;
    if (this.isWanted) this.bodyCarry.set(chunk.subarray(from, to), this.bodyFill);
    this.bodyFill += n;
    this.bodyLeft -= n;
  }

  private complete(pos: number): number {
    this.body = this.isWanted ? this.bodyCarry.subarray(0, this.bodyFill) : null;
    this.headerFill = 0;
    this.bodyLeft = 0;
    return pos;
  }
}

function readLength(buf: Uint8Array, at: number): number {
  // Unsigned: a length with the top bit set is absurd, not negative.
  return buf[at]! * 0x1000000 + ((buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!);
}
