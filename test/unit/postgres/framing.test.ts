import { describe, expect, it } from 'bun:test';
import { ProxyError } from '../../../src/core/errors.ts';
import { MessageFramer, MessageScanner } from '../../../src/postgres/wire/framing.ts';
import { concat, pgCstr, pgMessage, pgQuery, pgStartup, pgStartupMessage, prng } from '../../support/bytes.ts';

function frameAll(framer: MessageFramer, chunks: Uint8Array[]): { type: number; raw: Uint8Array }[] {
  const out: { type: number; raw: Uint8Array }[] = [];
  for (const chunk of chunks) {
    framer.push(chunk);
    for (let f = framer.next(); f !== null; f = framer.next()) out.push({ type: f.type, raw: Uint8Array.from(f.raw) });
  }
  return out;
}

const startup = pgStartup({ user: 'root', database: 'test' });
const stream = concat(startup, pgQuery('SELECT 1'), pgMessage('P', [...pgCstr(''), ...pgCstr('SELECT $1'), 0, 0]), pgMessage('S'), pgMessage('X'));

describe('MessageFramer', () => {
  it('frames the untyped startup message, then typed messages, at every split point', () => {
    for (let split = 0; split <= stream.length; split++) {
      const frames = frameAll(new MessageFramer(1 << 20), [stream.subarray(0, split), stream.subarray(split)]);
      expect(frames.map((f) => f.type)).toEqual([0, 0x51, 0x50, 0x53, 0x58]);
      expect(concat(...frames.map((f) => f.raw))).toEqual(stream);
    }
  });

  it('frames a stream fed one byte at a time', () => {
    const chunks = Array.from(stream, (b) => Uint8Array.of(b));
    expect(concat(...frameAll(new MessageFramer(1 << 20), chunks).map((f) => f.raw))).toEqual(stream);
  });

  it('expects an untyped message again after an SSLRequest is refused', () => {
    const framer = new MessageFramer(1 << 20);
    framer.push(concat(pgStartupMessage(80877103), startup));
    expect(framer.next()!.body.length).toBe(4);
    framer.expectStartup();
    expect(framer.next()!.raw).toEqual(startup);
  });

  it('gives a rewound frame back on the next call', () => {
    const framer = new MessageFramer(1 << 20);
    framer.push(stream);
    framer.next();
    const q = framer.next()!;
    framer.rewind(q);
    expect(Uint8Array.from(framer.next()!.raw)).toEqual(Uint8Array.from(pgQuery('SELECT 1')));
  });

  it('refuses a message over the limit from its header alone', () => {
    const framer = new MessageFramer(1024);
    framer.push(startup);
    framer.next();
    framer.push(Uint8Array.from([0x51, 0x00, 0x01, 0x00, 0x00]));
    expect(() => framer.next()).toThrow(ProxyError);
    try {
      framer.next();
    } catch (error) {
      expect((error as ProxyError).code).toBe('PACKET_TOO_LARGE');
    }
  });

  it('refuses impossible lengths as protocol violations', () => {
    const tooShort = new MessageFramer(1024);
    tooShort.push(Uint8Array.from([0, 0, 0, 4]));
    expect(() => tooShort.next()).toThrow('invalid length of startup packet');
    const typed = new MessageFramer(1024);
    typed.push(startup);
    typed.next();
    typed.push(Uint8Array.from([0x51, 0, 0, 0, 3]));
    expect(() => typed.next()).toThrow('invalid message length');
  });
});

const server = concat(
  pgMessage('R', [0, 0, 0, 0]),
  pgMessage('S', [...pgCstr('client_encoding'), ...pgCstr('UTF8')]),
  pgMessage('K', [0, 0, 0, 7, 0, 0, 0, 9]),
  pgMessage('Z', [0x49]),
  pgMessage('T', new Array(40).fill(1)),
  pgMessage('D', new Array(300).fill(2)),
  pgMessage('C', pgCstr('SELECT 1')),
  pgMessage('Z', [0x54]),
);
const WANTED = [0x52, 0x4b, 0x5a, 0x43, 0x53];

function scanAll(chunks: Uint8Array[]): { type: string; body: number[] | null; first: number; end: number }[] {
  const scanner = new MessageScanner(WANTED);
  const out: { type: string; body: number[] | null; first: number; end: number }[] = [];
  let offset = 0;
  for (const chunk of chunks) {
    let pos = 0;
    for (;;) {
      const end = scanner.next(chunk, pos);
      if (end < 0) break;
      out.push({ type: String.fromCharCode(scanner.type), body: scanner.body === null ? null : [...scanner.body], first: scanner.firstBodyByte, end: offset + end });
      pos = end;
    }
    offset += chunk.length;
  }
  expect(scanner.isAtBoundary).toBe(true);
  return out;
}

describe('MessageScanner', () => {
  const whole = scanAll([server]);

  it('finds every message end and reads only the wanted bodies', () => {
    expect(whole.map((m) => m.type).join('')).toBe('RSKZTDCZ');
    expect(whole.find((m) => m.type === 'Z')!.body).toEqual([0x49]);
    expect(whole.find((m) => m.type === 'D')!.body).toBeNull();
    // Every message's first body byte, wanted or not: the ReadyForQuery status, a DataRow's first byte.
    expect(whole.filter((m) => m.type === 'Z').map((m) => m.first)).toEqual([0x49, 0x54]);
    expect(whole.find((m) => m.type === 'D')!.first).toBe(2);
    expect(whole[whole.length - 1]!.end).toBe(server.length);
  });

  it('gives the same messages, bodies and ends at every split point', () => {
    for (let split = 0; split <= server.length; split++) {
      expect(scanAll([server.subarray(0, split), server.subarray(split)])).toEqual(whole);
    }
  });

  it('gives the same answer for random chunkings (seeded)', () => {
    const seed = 12345;
    const random = prng(seed);
    for (let round = 0; round < 200; round++) {
      const chunks: Uint8Array[] = [];
      let pos = 0;
      while (pos < server.length) {
        const n = 1 + Math.floor(random() * 40);
        chunks.push(server.subarray(pos, pos + n));
        pos += n;
      }
      expect({ seed, round, messages: scanAll(chunks) }).toEqual({ seed, round, messages: whole });
    }
  });

  it('throws on a length below 4', () => {
    expect(() => new MessageScanner(WANTED).next(Uint8Array.from([0x5a, 0, 0, 0, 2]), 0)).toThrow(ProxyError);
  });
});
