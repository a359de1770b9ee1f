// https://mariadb.com/kb/en/err_packet/
import { Header } from '../constants.ts';
import { PacketReader } from '../reader.ts';
import type { PacketWriter } from '../writer.ts';

export interface ErrPacket {
  code: number;
  sqlState: string;
  message: string;
}

export function readErr(payload: Uint8Array): ErrPacket {
  const r = new PacketReader(payload, 1);
  const code = r.u16le();
  let sqlState = 'HY000';
  if (r.remaining > 0 && payload[r.pos] === 0x23 /* '#' */) {
    r.skip(1);
    sqlState = r.string(5);
  }
  return { code, sqlState, message: r.string(r.remaining) };
}

/**
 * `hasSqlState` false is the form a server sends before the client has
 * announced CLIENT_PROTOCOL_41 (before its HandshakeResponse): no '#' marker
 * and no SQLSTATE, as mariadbd's own "Too many connections".
 */
export function writeErr(w: PacketWriter, err: ErrPacket, hasSqlState = true): void {
  w.u8(Header.Err).u16le(err.code);
  if (hasSqlState) w.u8(0x23).string(err.sqlState.slice(0, 5).padEnd(5, '0'));
  w.string(err.message);
}
