import { describe, expect, it } from 'bun:test';
import { SeqShifter, shiftedPacket } from '../../../src/mysql/wire/seq-shift.ts';
import { concat, packet } from '../../support/bytes.ts';

const seqsOf = (stream: Uint8Array): number[] => {
  const seqs: number[] = [];
  for (let at = 0; at + 4 <= stream.length; at += 4 + (stream[at]! | (stream[at + 1]! << 8) | (stream[at + 2]! << 16))) seqs.push(stream[at + 3]!);
  return seqs;
};

describe('SeqShifter', () => {
  // An auth switch, more data and the OK, with an empty packet among them.
  const stream = concat(packet(2, [0xfe, ...new Array(40).fill(7)]), packet(4, []), packet(255, [0x01, 2, 3]), packet(6, [0, 0, 0, 2, 0, 0, 0]));

  it('shifts every packet\'s sequence id (mod 256) and leaves the payloads alone, at every split point', () => {
    for (let split = 0; split <= stream.length; split++) {
      const shifter = new SeqShifter(1);
      const out = concat(shifter.shift(stream, 0, split), shifter.shift(stream, split, stream.length));
      expect(seqsOf(out)).toEqual([3, 5, 0, 7]);
      const restored = new Uint8Array(out);
      for (const at of [3, 4 + 41 + 3, 4 + 41 + 4 + 3, 4 + 41 + 4 + 7 + 3]) restored[at] = stream[at]!;
      expect([...restored]).toEqual([...stream]);
    }
  });

  it('shifts backwards one byte at a time', () => {
    const shifter = new SeqShifter(-1);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) parts.push(shifter.shift(stream, i, i + 1));
    expect(seqsOf(concat(...parts))).toEqual([1, 3, 254, 5]);
  });

  it('copies instead of rewriting the borrowed input', () => {
    const before = [...stream];
    new SeqShifter(1).shift(stream, 0, stream.length);
    expect([...stream]).toEqual(before);
  });
});

describe('shiftedPacket', () => {
  it('returns a copy of one packet with its sequence id shifted', () => {
    const raw = packet(1, [1, 2, 3]);
    const out = shiftedPacket(raw, 1);
    expect([...out]).toEqual([3, 0, 0, 2, 1, 2, 3]);
    expect(raw[3]).toBe(1);
  });
});
