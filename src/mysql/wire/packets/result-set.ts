// https://mariadb.com/kb/en/result-set-packets/ — text result sets the proxy answers itself.
import { Cap, FieldType, MariaDbCap } from '../constants.ts';
import type { PacketWriter } from '../writer.ts';
import { writeEofOrOk } from './ok.ts';

const UTF8MB4_GENERAL_CI = 45;

/**
 * Writes a complete text result set of string columns, starting at sequence
 * id `seq`. Returns the next sequence id.
 */
export function writeTextResultSet(
  w: PacketWriter,
  seq: number,
  columns: readonly string[],
  rows: readonly (readonly (string | null)[])[],
  capabilities: number,
  mariaDbCapabilities: number,
  statusFlags: number,
): number {
  w.begin().lenencInt(columns.length);
  seq = w.end(seq);
  for (const name of columns) {
    w.begin().lenencStr('def').lenencStr('').lenencStr('').lenencStr('').lenencStr(name).lenencStr(name);
    if (mariaDbCapabilities & MariaDbCap.ExtendedTypeInfo) w.lenencInt(0);
    w.lenencInt(0x0c).u16le(UTF8MB4_GENERAL_CI).u32le(1024).u8(FieldType.VarString).u16le(0).u8(0).u16le(0);
    seq = w.end(seq);
  }
  if (!(capabilities & Cap.DeprecateEof)) {
    w.begin();
    writeEofOrOk(w, statusFlags, capabilities);
    seq = w.end(seq);
  }
  for (const row of rows) {
    w.begin();
    for (const value of row) {
      if (value === null) w.u8(0xfb);
      else w.lenencStr(value);
    }
    seq = w.end(seq);
  }
  w.begin();
  writeEofOrOk(w, statusFlags, capabilities);
  return w.end(seq);
}
