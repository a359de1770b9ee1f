import { describe, expect, it } from 'bun:test';
import {
  maskHandshakeResponse,
  maskInitialHandshake,
  readHandshakeResponse,
  readInitialHandshake,
  sslRequestFrom,
} from '../../../src/mysql/wire/packets/handshake.ts';
import { packet } from '../../support/bytes.ts';

const u32 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
const cstr = (s: string): number[] => [...new TextEncoder().encode(s), 0];
const readU32 = (b: Uint8Array, at: number): number => ((b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000) >>> 0;

const SSL = 0x800;
const COMPRESS = 0x20;
const PROTOCOL_41 = 0x200;
const SECURE = 0x8000;
const PLUGIN_AUTH = 0x80000;
const CONNECT_WITH_DB = 0x8;
const DEPRECATE_EOF = 0x1000000;
const ZSTD = 0x4000000;

/** A MariaDB HandshakeV10 (no CLIENT_MYSQL bit, extended capabilities in the reserved bytes). */
function greeting(caps: number, mariaCaps: number): Uint8Array {
  return packet(0, [
    10, ...cstr('10.11.19-MariaDB'), ...u32(77), 1, 2, 3, 4, 5, 6, 7, 8, 0,
    caps & 0xff, (caps >> 8) & 0xff, 45, 2, 0, (caps >> 16) & 0xff, (caps >>> 24) & 0xff,
    21, 0, 0, 0, 0, 0, 0, ...u32(mariaCaps),
    ...[9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 0], ...cstr('mysql_native_password'),
  ]);
}

function response(caps: number, mariaCaps: number): Uint8Array {
  return packet(1, [
    ...u32(caps), ...u32(16 << 20), 45, ...new Array(19).fill(0), ...u32(mariaCaps),
    ...cstr('root'), 20, ...new Array(20).fill(7), ...cstr('test'), ...cstr('mysql_native_password'),
  ]);
}

describe('maskInitialHandshake', () => {
  it('hides the server\'s TLS and zstd from the client and keeps everything else, zlib compression included', () => {
    const caps = (PROTOCOL_41 | SECURE | PLUGIN_AUTH | SSL | COMPRESS | ZSTD | DEPRECATE_EOF) >>> 0;
    const raw = greeting(caps, 0x1 | 0x4 | 0x8 | 0x10);
    const { packet: masked, handshake } = maskInitialHandshake(raw);
    expect(handshake.connectionId).toBe(77);
    expect(handshake.authPluginName).toBe('mysql_native_password');
    expect(handshake.capabilities & (SSL | ZSTD)).toBe(0);
    expect(handshake.capabilities & (COMPRESS | DEPRECATE_EOF)).toBe(COMPRESS | DEPRECATE_EOF);
    // MariaDB progress (0x1) and cache-metadata (0x10) are hidden; bulk operations (0x4) and extended type info (0x8) kept.
    expect(handshake.mariaDbCapabilities).toBe(0x4 | 0x8);
    expect(masked.length).toBe(raw.length);
    // The input is not modified in place: its capability bytes (after version, id, scramble, filler) still offer TLS.
    const capsLowAt = 4 + 1 + '10.11.19-MariaDB'.length + 1 + 4 + 8 + 1;
    expect((raw[capsLowAt]! | (raw[capsLowAt + 1]! << 8)) & SSL).toBe(SSL);
    expect(maskInitialHandshake(masked).handshake.capabilities).toBe(handshake.capabilities);
  });

  it('offers CLIENT_SSL when the proxy has a certificate, whatever the server offers', () => {
    const raw = greeting((PROTOCOL_41 | SECURE | PLUGIN_AUTH) >>> 0, 0);
    const { packet: masked, handshake } = maskInitialHandshake(raw, SSL);
    expect(handshake.capabilities & SSL).toBe(SSL);
    expect(readInitialHandshake(masked.subarray(4)).capabilities & SSL).toBe(SSL);
  });
});

describe('sslRequestFrom', () => {
  it('copies the first 32 payload bytes of the HandshakeResponse with sequence id 1', () => {
    const raw = response((PROTOCOL_41 | SECURE | PLUGIN_AUTH | SSL) >>> 0, 0x8);
    const request = sslRequestFrom(raw);
    expect([...request.subarray(0, 4)]).toEqual([32, 0, 0, 1]);
    expect([...request.subarray(4)]).toEqual([...raw.subarray(4, 36)]);
    expect(readHandshakeResponse(request.subarray(4)).isSslRequest).toBe(true);
  });
});

describe('maskHandshakeResponse', () => {
  it('clears capabilities the proxy did not offer and leaves the rest of the packet byte for byte', () => {
    const caps = (PROTOCOL_41 | SECURE | PLUGIN_AUTH | CONNECT_WITH_DB | COMPRESS | SSL | ZSTD) >>> 0;
    const raw = response(caps, 0x1 | 0x8);
    const masked = maskHandshakeResponse(raw);
    expect(readU32(masked, 4) & (SSL | ZSTD)).toBe(0);
    expect(readU32(masked, 4) & (CONNECT_WITH_DB | COMPRESS)).toBe(CONNECT_WITH_DB | COMPRESS);
    expect(readU32(masked, 4 + 28)).toBe(0x8);
    expect([...masked.subarray(8, 32)]).toEqual([...raw.subarray(8, 32)]);
    expect([...masked.subarray(36)]).toEqual([...raw.subarray(36)]);
    const parsed = readHandshakeResponse(masked.subarray(4));
    expect(parsed.user).toBe('root');
    expect(parsed.database).toBe('test');
    expect(parsed.authPluginName).toBe('mysql_native_password');
  });

  it('sets CLIENT_SSL for a TLS server link, leaving the rest as is', () => {
    const raw = response((PROTOCOL_41 | SECURE | PLUGIN_AUTH) >>> 0, 0x8);
    const masked = maskHandshakeResponse(raw, SSL);
    expect(readU32(masked, 4)).toBe((PROTOCOL_41 | SECURE | PLUGIN_AUTH | SSL) >>> 0);
    expect([...masked.subarray(8)]).toEqual([...raw.subarray(8)]);
  });

  it('returns the packet itself when nothing needs clearing', () => {
    const raw = response((PROTOCOL_41 | SECURE | PLUGIN_AUTH | 0x1) >>> 0, 0);
    expect(maskHandshakeResponse(raw)).toBe(raw);
  });
});

describe('ERR packets before the greeting (issue #10, finding 4)', () => {
  it('have no # SQLSTATE marker, as mariadbd\'s own "Too many connections"', async () => {
    const { writeErr } = await import('../../../src/mysql/wire/packets/err.ts');
    const { PacketWriter } = await import('../../../src/mysql/wire/writer.ts');
    const w = new PacketWriter().begin();
    writeErr(w, { code: 1040, sqlState: '08004', message: 'Too many connections' }, false);
    w.end(0);
    const bytes = Buffer.from(w.finish());
    // 3-byte length, seq 0, 0xff, errno LE, message: nothing in between.
    expect([...bytes.subarray(0, 7)]).toEqual([23, 0, 0, 0, 0xff, 0x10, 0x04]);
    expect(bytes.subarray(7).toString()).toBe('Too many connections');
  });
});
