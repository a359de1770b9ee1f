import { describe, expect, it } from 'bun:test';
import { ProxyError } from '../../../src/core/errors.ts';
import { PacketFramer, PacketScanner, type PacketSink } from '../../../src/mysql/wire/framing.ts';
import { concat, packet, packets, prng } from '../../support/bytes.ts';

function framesOf(framer: PacketFramer): { seq: number; payload: number[]; raw: number }[] {
  const out = [];
  for (let f = framer.next(); f !== null; f = framer.next()) out.push({ seq: f.seq, payload: [...f.payload], raw: f.raw.length });
  return out;
}

describe('PacketFramer', () => {
  const stream = concat(packet(0, [3, 0x53, 0x45]), packet(1, []), packet(2, [1, 2, 3, 4, 5]));

  it('yields every packet when the stream is split at any single point', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new PacketFramer(1 << 20, 4);
      framer.push(stream.subarray(0, cut));
      const first = framesOf(framer);
      framer.push(stream.subarray(cut));
      const all = [...first, ...framesOf(framer)];
      expect(all.map((f) => f.seq)).toEqual([0, 1, 2]);
      expect(all[2]!.payload).toEqual([1, 2, 3, 4, 5]);
      expect(all[1]!.payload).toEqual([]);
    }
  });

  it('yields every packet when fed one byte at a time', () => {
    const framer = new PacketFramer(1 << 20, 2);
    const seen: number[][] = [];
    for (const byte of stream) {
      framer.push(Uint8Array.of(byte));
      for (const f of framesOf(framer)) seen.push(f.payload);
    }
    expect(seen).toEqual([[3, 0x53, 0x45], [], [1, 2, 3, 4, 5]]);
  });

  it('joins a payload of 16 MiB and more from its continuation packets', () => {
    const payload = new Uint8Array(0xffffff + 10).map((_, i) => i & 0xff);
    const wire = packets(5, payload);
    const framer = new PacketFramer(64 << 20);
    framer.push(wire.subarray(0, 1000));
    expect(framer.next()).toBeNull();
    framer.push(wire.subarray(1000));
    const frame = framer.next()!;
    expect(frame.seq).toBe(5);
    expect(frame.lastSeq).toBe(6);
    expect(frame.payload.length).toBe(payload.length);
    expect(frame.payload[0xffffff + 9]).toBe((0xffffff + 9) & 0xff);
    expect(frame.raw.length).toBe(wire.length);
  });

  it('handles a payload of exactly 16 MiB - 1, which ends with an empty packet', () => {
    const payload = new Uint8Array(0xffffff).fill(7);
    const wire = packets(0, payload);
    expect(wire.length).toBe(0xffffff + 8);
    const framer = new PacketFramer(64 << 20);
    framer.push(wire);
    const frame = framer.next()!;
    expect(frame.payload.length).toBe(0xffffff);
    expect(framer.next()).toBeNull();
  });

  it('rejects a packet larger than the limit as soon as its header arrives', () => {
    const framer = new PacketFramer(100);
    framer.push(Uint8Array.of(101, 0, 0, 0));
    let caught: unknown;
    try {
      framer.next();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ProxyError);
    expect((caught as ProxyError).code).toBe('PACKET_TOO_LARGE');
  });

  it('gives back the original bytes when frames are joined (random split property)', () => {
    const seed = Date.now() & 0xffff;
    const rand = prng(seed);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) parts.push(packet(i & 0xff, new Uint8Array(Math.floor(rand() * 300)).map(() => Math.floor(rand() * 256))));
    const wire = concat(...parts);
    const framer = new PacketFramer(1 << 20, 8);
    const raws: Uint8Array[] = [];
    let at = 0;
    while (at < wire.length) {
      const n = 1 + Math.floor(rand() * 700);
      framer.push(wire.subarray(at, at + n));
      at += n;
      for (let f = framer.next(); f !== null; f = framer.next()) raws.push(Uint8Array.from(f.raw));
    }
    expect(raws.length, `seed ${seed}`).toBe(200);
    expect(Buffer.from(concat(...raws)).equals(Buffer.from(wire)), `seed ${seed}`).toBe(true);
  });
});

class Recorder implements PacketSink {
  packets: { first: number; length: number; seq: number }[] = [];
  stopAt = -1;
  onPacket(buf: Uint8Array, pos: number, avail: number, length: number, seq: number): boolean {
    this.packets.push({ first: avail > 0 ? buf[pos]! : -1, length, seq });
    return this.packets.length === this.stopAt;
  }
}

describe('PacketScanner', () => {
  const stream = concat(packet(1, [0xaa, 1]), packet(2, new Uint8Array(100).fill(0xbb)), packet(3, []), packet(4, [0xcc]));

  it('reports every packet with its first byte and length at any split point', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const scanner = new PacketScanner();
      const rec = new Recorder();
      expect(scanner.scan(stream, 0, cut, rec)).toBe(-1);
      expect(scanner.scan(stream, cut, stream.length, rec)).toBe(-1);
      expect(rec.packets).toEqual([
        { first: 0xaa, length: 2, seq: 1 },
        { first: 0xbb, length: 100, seq: 2 },
        { first: -1, length: 0, seq: 3 },
        { first: 0xcc, length: 1, seq: 4 },
      ]);
    }
  });

  it('stops right after the packet the sink marks as last', () => {
    const scanner = new PacketScanner();
    const rec = new Recorder();
    rec.stopAt = 2;
    expect(scanner.scan(stream, 0, stream.length, rec)).toBe(6 + 104);
    expect(scanner.isAtBoundary).toBe(true);
  });

  it('reports a continued 16 MiB payload once, with its total length', () => {
    const payload = new Uint8Array(0xffffff + 3).fill(0x11);
    payload[0] = 0x42;
    const wire = packets(9, payload);
    const scanner = new PacketScanner();
    const rec = new Recorder();
    for (let at = 0; at < wire.length; at += 1 << 20) scanner.scan(wire, at, Math.min(wire.length, at + (1 << 20)), rec);
    expect(rec.packets).toEqual([{ first: 0x42, length: 0xffffff + 3, seq: 9 }]);
  });
});
