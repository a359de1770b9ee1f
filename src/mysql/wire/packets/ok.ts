// https://mariadb.com/kb/en/ok_packet/ and https://mariadb.com/kb/en/eof_packet/
import { Cap, Header, SessionTrack } from '../constants.ts';
import { PacketReader, decodeUtf8 } from '../reader.ts';
import type { PacketWriter } from '../writer.ts';

export interface OkPacket {
  affectedRows: number;
  lastInsertId: number;
  statusFlags: number;
  warnings: number;
  info: string;
  /** The schema from SESSION_TRACK_SCHEMA, when the server reported a change. */
  trackedSchema: string | null;
}

/** Reads an OK packet (header 0x00, or 0xFE when it ends a result set under DEPRECATE_EOF). */
export function readOk(payload: Uint8Array, capabilities: number): OkPacket {
  const r = new PacketReader(payload, 1);
  const affectedRows = r.lenencInt() ?? 0;
  const lastInsertId = r.lenencInt() ?? 0;
  const statusFlags = r.remaining >= 2 ? r.u16le() : 0;
  const warnings = r.remaining >= 2 ? r.u16le() : 0;
  let info = '';
  let trackedSchema: string | null = null;
  if (r.remaining > 0) {
    if (capabilities & Cap.SessionTrack) {
      info = r.lenencStr() ?? '';
      if (statusFlags & 0x4000 && r.remaining > 0) trackedSchema = readTrackedSchema(r);
    } else {
      info = decodeUtf8(r.rest());
    }
  }
  return { affectedRows, lastInsertId, statusFlags, warnings, info, trackedSchema };
}

function readTrackedSchema(r: PacketReader): string | null {
  const total = r.lenencInt() ?? 0;
  const end = Math.min(r.pos + total, r.end);
  let schema: string | null = null;
  while (r.pos < end) {
    const type = r.u8();
    const data = r.lenencBytes();
    if (type === SessionTrack.Schema && data) schema = new PacketReader(data).lenencStr();
  }
  return schema;
}

/**
 * Status flags of an OK or EOF packet from its first bytes, without decoding
 * the rest. Works on the scanner's 32-byte prefix.
 */
export function statusFlagsOf(buf: Uint8Array, pos: number, avail: number, payloadLength: number): number {
  if (buf[pos] === Header.Eof && payloadLength < 9) {
    return avail >= 5 ? buf[pos + 3]! | (buf[pos + 4]! << 8) : 0;
  }
  let p = pos + 1;
  const end = pos + avail;
  for (let field = 0; field < 2; field++) {
    if (p >= end) return 0;
    const first = buf[p]!;
    p += first < 0xfb ? 1 : first === 0xfc ? 3 : first === 0xfd ? 4 : 9;
  }
  return p + 2 <= end ? buf[p]! | (buf[p + 1]! << 8) : 0;
}

/** Writes an OK packet body (the caller frames it). */
export function writeOk(w: PacketWriter, ok: { affectedRows: number; lastInsertId: number; statusFlags: number; warnings: number; info?: string }, capabilities: number): void {
  w.u8(Header.Ok).lenencInt(ok.affectedRows).lenencInt(ok.lastInsertId).u16le(ok.statusFlags).u16le(ok.warnings);
  if (ok.info) {
    if (capabilities & Cap.SessionTrack) w.lenencStr(ok.info);
    else w.string(ok.info);
  }
}

/** Writes the packet that ends a result set: EOF, or an OK with header 0xFE under DEPRECATE_EOF. */
export function writeEofOrOk(w: PacketWriter, statusFlags: number, capabilities: number): void {
  if (capabilities & Cap.DeprecateEof) {
    w.u8(Header.Eof).lenencInt(0).lenencInt(0).u16le(statusFlags).u16le(0);
  } else {
    w.u8(Header.Eof).u16le(0).u16le(statusFlags);
  }
}
