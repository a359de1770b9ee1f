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

export function writeErr(w: PacketWriter, err: ErrPacket): void {
  w.u8(Header.Err).u16le(err.code).u8(0x23).string(err.sqlState.slice(0, 5).padEnd(5, '0')).string(err.message);
}
