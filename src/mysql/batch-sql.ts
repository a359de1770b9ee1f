// How a neutral batch becomes MariaDB statements, and how their answers are
// turned back into each client's own packet.
import { Com, Header, ServerStatus } from './wire/constants.ts';
import { PacketReader } from './wire/reader.ts';
import { PacketWriter } from './wire/writer.ts';

const utf8 = new TextEncoder();

/** A COM_QUERY packet (header included, sequence id 0) for proxy-issued SQL. */
export function queryPacket(sql: string | Uint8Array): Uint8Array {
  const w = new PacketWriter(typeof sql === 'string' ? sql.length * 3 + 8 : sql.length + 8).begin().u8(Com.Query);
  if (typeof sql === 'string') w.string(sql);
  else w.bytes(sql);
  w.end(0);
  return w.toOwned();
}

/** A COM_STMT_PREPARE packet for `sql`. */
export function preparePacket(sql: Uint8Array): Uint8Array {
  const w = new PacketWriter(sql.length + 8).begin().u8(Com.StmtPrepare).bytes(sql);
  w.end(0);
  return w.toOwned();
}

/** A COM_STMT_CLOSE packet (the server sends no response). */
export function closeStatementPacket(statementId: number): Uint8Array {
  const w = new PacketWriter(9).begin().u8(Com.StmtClose).u32le(statementId);
  w.end(0);
  return w.toOwned();
}

/**
 * Converts a string index of decoded statement text into a byte offset in
 * the payload it was decoded from (see decodeSqlText: a leading U+0000 marks
 * byte-for-byte decoding).
 */
export function byteOffsetOf(text: string, sqlBytes: Uint8Array, index: number): number {
  if (text.charCodeAt(0) === 0) return index - 1;
  if (sqlBytes.length === text.length) return index; // ASCII
  return utf8.encode(text.slice(0, index)).length;
}

/** The first packet's payload in captured response bytes. */
export function firstPayload(bytes: Uint8Array): Uint8Array {
  const len = bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16);
  return bytes.subarray(4, 4 + len);
}

export function isErrResponse(bytes: Uint8Array): boolean {
  return bytes.length > 4 && bytes[4] === Header.Err;
}

export function errCodeOf(bytes: Uint8Array): number {
  return bytes[5]! | (bytes[6]! << 8);
}

/** Status flags and affected rows / insert id of an OK response. */
export function readOkHeader(bytes: Uint8Array): { affectedRows: number; lastInsertId: number; statusFlags: number; warnings: number; statusAt: number } {
  const r = new PacketReader(bytes, 5, bytes.length);
  const affectedRows = r.lenencInt() ?? 0;
  const lastInsertId = r.lenencInt() ?? 0;
  const statusAt = r.pos;
  const statusFlags = r.u16le();
  const warnings = r.u16le();
  return { affectedRows, lastInsertId, statusFlags, warnings, statusAt };
}

/** The status flags a batched write reports: the client's own session, which is in autocommit and idle. */
export function memberStatusFlags(sessionFlags: number): number {
  return (sessionFlags | ServerStatus.Autocommit) & ~(ServerStatus.InTrans | ServerStatus.MoreResultsExists | ServerStatus.InTransReadonly);
}

/**
 * Copies a captured single-packet OK or ERR response for one member: sequence
 * id 1 (the answer to its command), and for an OK the member's status flags.
 */
export function rewriteForMember(bytes: Uint8Array, sessionFlags: number): Uint8Array {
  const len = 4 + (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16));
  const copy = bytes.slice(0, len); // owned: delivered after the batch's buffers are gone
  copy[3] = 1;
  if (copy[4] === Header.Ok) {
    const { statusAt } = readOkHeader(copy);
    const flags = memberStatusFlags(sessionFlags);
    copy[statusAt] = flags & 0xff;
    copy[statusAt + 1] = flags >> 8;
  }
  return copy;
}

/** An OK packet for one member of a merged statement: 0 or 1 affected rows (one row or key each). */
export function memberOk(affectedRows: 0 | 1, insertId: number, warnings: number, sessionFlags: number): Uint8Array {
  // Sized exactly and written in place: one allocation per member on the batch's hot path.
  const idLength = insertId < 0xfb ? 1 : insertId <= 0xffff ? 3 : insertId <= 0xffffff ? 4 : 9;
  const payloadLength = 1 + 1 + idLength + 2 + 2;
  const out = new Uint8Array(4 + payloadLength);
  out[0] = payloadLength;
  out[3] = 1;
  out[4] = Header.Ok;
  out[5] = affectedRows;
  let at = 6;
  if (idLength === 1) {
    out[at++] = insertId;
  } else {
    out[at++] = idLength === 3 ? 0xfc : idLength === 4 ? 0xfd : 0xfe;
    let rest = insertId;
    for (let i = 1; i < idLength; i++) {
      out[at++] = rest % 256;
      rest = Math.floor(rest / 256);
    }
  }
  const flags = memberStatusFlags(sessionFlags);
  out[at++] = flags & 0xff;
  out[at++] = flags >> 8;
  out[at++] = warnings & 0xff;
  out[at] = (warnings >> 8) & 0xff;
  return out;
}

/**
 * Reads the rows of a captured text result set (proxy-issued metadata
 * queries). Values are strings or null.
 */
export function readTextRows(bytes: Uint8Array, isDeprecateEof: boolean): (string | null)[][] {
  const packets: Uint8Array[] = [];
  for (let at = 0; at + 4 <= bytes.length; ) {
    const len = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
    packets.push(bytes.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  if (packets.length === 0 || packets[0]![0] === Header.Err || packets[0]![0] === Header.Ok) return [];
  const columns = new PacketReader(packets[0]!).lenencInt() ?? 0;
  let i = 1 + columns + (isDeprecateEof ? 0 : 1);
  const rows: (string | null)[][] = [];
  for (; i < packets.length; i++) {
    const p = packets[i]!;
    if ((p[0] === Header.Eof && p.length < 0xffffff) || p[0] === Header.Err) break;
    const r = new PacketReader(p);
    const row: (string | null)[] = [];
    for (let c = 0; c < columns; c++) row.push(r.lenencStr());
    rows.push(row);
  }
  return rows;
}

/** Quotes a string for use as a SQL string literal (standard quoting, backslashes doubled). */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * Rewrites a COM_STMT_EXECUTE payload to run statement `statementId` on
 * another connection, always carrying the parameter types (that connection
 * has none bound). Returns the new packet, header included, or null when the
 * payload is not what the proxy can rewrite.
 */
export function rewriteExecute(payload: Uint8Array, statementId: number, paramCount: number, boundTypes: Uint8Array | null): Uint8Array | null {
  const bitmapLength = (paramCount + 7) >> 3;
  const fixed = 1 + 4 + 1 + 4;
  if (payload.length < fixed) return null;
  const w = new PacketWriter(payload.length + 2 * paramCount + 8).begin();
  w.u8(Com.StmtExecute).u32le(statementId).bytes(payload.subarray(5, fixed));
  if (paramCount === 0) {
    w.end(0);
    return w.toOwned();
  }
  if (payload.length < fixed + bitmapLength + 1) return null;
  w.bytes(payload.subarray(fixed, fixed + bitmapLength));
  const hasTypes = payload[fixed + bitmapLength] === 1;
  let valuesAt = fixed + bitmapLength + 1;
  let types: Uint8Array | null;
  if (hasTypes) {
    types = payload.subarray(valuesAt, valuesAt + 2 * paramCount);
    valuesAt += 2 * paramCount;
  } else {
    types = boundTypes;
  }
  if (types === null || types.length !== 2 * paramCount) return null;
  w.u8(1).bytes(types).bytes(payload.subarray(valuesAt));
  w.end(0);
  return w.toOwned();
}

/** The parameter types carried by a COM_STMT_EXECUTE payload, if it sends them (copied). */
export function boundTypesOf(payload: Uint8Array, paramCount: number): Uint8Array | null {
  if (paramCount === 0) return null;
  const at = 10 + ((paramCount + 7) >> 3);
  if (payload.length <= at || payload[at] !== 1) return null;
  return payload.slice(at + 1, at + 1 + 2 * paramCount); // owned: kept across commands
}
