// The write side of a compressed link: what the proxy sends on it, deflated
// into compressed packets with the sequence ids the peer expects.
import type { Socket } from 'bun';
import { OutQueue } from '../net/out-queue.ts';
import { compressPackets, type CompressedPacketReader } from './wire/compression.ts';

/**
 * An OutQueue that wraps every write in compressed packets. Compressed
 * sequence ids run per command: a command starts at 0 (client to server),
 * and each side continues after the last compressed packet it received.
 * `reader` is the same link's read side, which knows that last id.
 */
export class CompressedOutQueue extends OutQueue {
  private readonly reader: CompressedPacketReader;
  /** True on the proxy's link to a server: writes there are whole packets, and a command (sequence id 0) restarts at 0. */
  private readonly isServerLink: boolean;
  private nextSeq = 0;
  private readsSeen = -1;

  constructor(socket: Socket<unknown>, onBackpressure: (isFull: boolean) => void, reader: CompressedPacketReader, isServerLink: boolean) {
    super(socket, onBackpressure);
    this.reader = reader;
    this.isServerLink = isServerLink;
  }

  override write(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    if (start >= end) return true;
    if (!this.isServerLink) return this.writeSegment(bytes, start, end, false);
    // Pipelined commands (the write batcher's) each get their own compressed packets starting at
    // id 0: MariaDB drops the rest of a compressed packet after the command it read from it.
    let isOpen = true;
    let segmentStart = start;
    let pos = start;
    while (pos + 4 <= end) {
      if (bytes[pos + 3] === 0 && pos > segmentStart) {
        isOpen = this.writeSegment(bytes, segmentStart, pos, bytes[segmentStart + 3] === 0) && isOpen;
        segmentStart = pos;
      }
      pos += 4 + (bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16));
    }
    return this.writeSegment(bytes, segmentStart, end, bytes[segmentStart + 3] === 0) && isOpen;
  }

  /** Packets that continue the current command (LOCAL INFILE data): never a command start, whatever their id. */
  writeContinuation(bytes: Uint8Array): boolean {
    return this.writeSegment(bytes, 0, bytes.length, false);
  }

  private writeSegment(bytes: Uint8Array, start: number, end: number, isCommand: boolean): boolean {
    if (isCommand) {
      this.nextSeq = 0;
    } else if (this.reader.packetsRead !== this.readsSeen) {
      this.nextSeq = (this.reader.lastSeq + 1) & 0xff;
    }
    this.readsSeen = this.reader.packetsRead;
    const { packets, nextSeq } = compressPackets(bytes, start, end, this.nextSeq);
    this.nextSeq = nextSeq;
    let isOpen = true;
    for (const packet of packets) isOpen = super.write(packet) && isOpen;
    return isOpen;
  }
}
