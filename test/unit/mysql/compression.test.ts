import { describe, expect, it } from 'bun:test';
import { deflateSync } from 'node:zlib';
import { CompressedPacketReader, compressPackets } from '../../../src/mysql/wire/compression.ts';
import { concat } from '../../support/bytes.ts';

/** A compressed packet built independently of the code under test. */
function compressed(seq: number, body: Uint8Array, isDeflated: boolean): Uint8Array {
  const payload = isDeflated ? new Uint8Array(deflateSync(body)) : body;
  const ulen = isDeflated ? body.length : 0;
  return concat(new Uint8Array([payload.length & 0xff, (payload.length >> 8) & 0xff, payload.length >> 16, seq, ulen & 0xff, (ulen >> 8) & 0xff, ulen >> 16]), payload);
}

const text = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => 97 + ((i * seed) % 7));

describe('CompressedPacketReader', () => {
  const a = text(300, 3);
  const b = text(20, 5);
  const stream = concat(compressed(0, a, true), compressed(1, b, false), compressed(2, text(1000, 1), true));

  it('returns the payloads, inflated, in order, at every split point', () => {
    for (let split = 0; split <= stream.length; split++) {
      const reader = new CompressedPacketReader(1 << 20);
      const out = [...reader.push(stream.subarray(0, split)).map((p) => Uint8Array.from(p)), ...reader.push(stream.subarray(split))];
      expect([...concat(...out)]).toEqual([...concat(a, b, text(1000, 1))]);
      expect(reader.lastSeq).toBe(2);
      expect(reader.packetsRead).toBe(3);
    }
  });

  it('rejects a payload that does not inflate to the announced length', () => {
    const bad = compressed(0, a, true);
    bad[4] = (bad[4]! + 1) & 0xff;
    expect(() => new CompressedPacketReader(1 << 20).push(bad)).toThrow(/header said/);
  });

  it('rejects a compressed packet larger than max_packet_size', () => {
    const big = compressed(0, text(5000, 3), true);
    expect(() => new CompressedPacketReader(1024).push(big)).toThrow(/max_packet_size/);
  });
});

describe('compressPackets', () => {
  it('round-trips through the reader with consecutive sequence ids, short payloads stored', () => {
    const big = text(100_000, 3);
    const { packets, nextSeq } = compressPackets(big, 10, big.length, 254);
    const small = compressPackets(big, 0, 10, nextSeq);
    expect(small.packets[0]![4]).toBe(0); // stored: uncompressed length 0
    const reader = new CompressedPacketReader(1 << 20);
    const out = reader.push(concat(...packets, ...small.packets));
    expect([...concat(...out)]).toEqual([...big.subarray(10), ...big.subarray(0, 10)]);
    expect(nextSeq).toBe(255);
    expect(reader.lastSeq).toBe(255);
    expect(small.nextSeq).toBe(0);
  });

  it('splits more than 16 MiB into several compressed packets', () => {
    const huge = new Uint8Array(0xffffff + 100).fill(65);
    const { packets, nextSeq } = compressPackets(huge, 0, huge.length, 0);
    expect(packets.length).toBe(2);
    expect(nextSeq).toBe(2);
    const total = new CompressedPacketReader(1 << 25).push(concat(...packets)).reduce((n, p) => n + p.length, 0);
    expect(total).toBe(huge.length);
  });
});
