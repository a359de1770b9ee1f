// https://mariadb.com/kb/en/com_stmt_execute/ — renders bound parameters of a
// COM_STMT_EXECUTE as SQL literals, so prepared INSERTs can join a multi-row INSERT.
import { FieldType } from './wire/constants.ts';

const UNSIGNED_FLAG = 0x80;
const utf8 = new TextEncoder();

/**
 * Character sets (collation ids) whose bytes 0x27 and 0x5C only ever mean
 * quote and backslash: ascii, latin1, utf8mb3, utf8mb4 and binary. In others
 * (sjis, gbk, big5, ...) they can be the second byte of a character, so a
 * quoted literal is not safe there and the caller falls back.
 */
export function isLiteralSafeCharset(collationId: number): boolean {
  return (
    collationId === 8 || collationId === 47 || collationId === 48 || collationId === 49 || collationId === 5 || collationId === 15 || collationId === 31 || collationId === 94 ||
    collationId === 11 || collationId === 65 || // ascii
    collationId === 33 || collationId === 83 || (collationId >= 192 && collationId <= 215) || collationId === 76 || // utf8mb3
    collationId === 45 || collationId === 46 || (collationId >= 224 && collationId <= 247) || (collationId >= 255 && collationId <= 323) || // utf8mb4
    collationId === 63 // binary
  );
}

/**
 * The parameters of an execute payload as literal SQL bytes, one per
 * parameter, or null when any value cannot be rendered exactly (an unknown
 * type, a non-finite float, a NUL in a string, a malformed payload).
 * `boundTypes` are the types of an earlier execute when this one omits them.
 */
export function renderParameters(payload: Uint8Array, paramCount: number, boundTypes: Uint8Array | null, hasBackslashEscapes: boolean): Uint8Array[] | null {
  const bitmapAt = 10;
  const bitmapLength = (paramCount + 7) >> 3;
  let at = bitmapAt + bitmapLength;
  if (payload.length < at + 1) return null;
  let types: Uint8Array | null = boundTypes;
  if (payload[at] === 1) {
    types = payload.subarray(at + 1, at + 1 + 2 * paramCount);
    at += 1 + 2 * paramCount;
  } else {
    at += 1;
  }
  if (types === null || types.length !== 2 * paramCount) return null;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const out: Uint8Array[] = [];
  for (let i = 0; i < paramCount; i++) {
    if (payload[bitmapAt + (i >> 3)]! & (1 << (i & 7))) {
      out.push(NULL_LITERAL);
      continue;
    }
    const type = types[2 * i]!;
    const isUnsigned = (types[2 * i + 1]! & UNSIGNED_FLAG) !== 0;
    const rendered = renderOne(view, payload, at, type, isUnsigned, hasBackslashEscapes);
    if (rendered === null) return null;
    out.push(rendered.literal);
    at = rendered.next;
  }
  return at === payload.length ? out : null;
}

const NULL_LITERAL = utf8.encode('NULL');

function renderOne(view: DataView, payload: Uint8Array, at: number, type: number, isUnsigned: boolean, hasBackslashEscapes: boolean): { literal: Uint8Array; next: number } | null {
  const fixed = (size: number, text: () => string): { literal: Uint8Array; next: number } | null =>
    at + size <= payload.length ? { literal: utf8.encode(text()), next: at + size } : null;
  switch (type) {
    case FieldType.Null:
      return { literal: NULL_LITERAL, next: at };
    case FieldType.Tiny:
      return fixed(1, () => String(isUnsigned ? view.getUint8(at) : view.getInt8(at)));
    case FieldType.Short:
    case FieldType.Year:
      return fixed(2, () => String(isUnsigned ? view.getUint16(at, true) : view.getInt16(at, true)));
    case FieldType.Long:
    case FieldType.Int24:
      return fixed(4, () => String(isUnsigned ? view.getUint32(at, true) : view.getInt32(at, true)));
    case FieldType.LongLong:
      return fixed(8, () => String(isUnsigned ? view.getBigUint64(at, true) : view.getBigInt64(at, true)));
    case FieldType.Float:
      return at + 4 <= payload.length ? floatLiteral(view.getFloat32(at, true), at + 4) : null;
    case FieldType.Double:
      return at + 8 <= payload.length ? floatLiteral(view.getFloat64(at, true), at + 8) : null;
    case FieldType.Date:
    case FieldType.DateTime:
    case FieldType.Timestamp:
      return temporal(payload, at, type === FieldType.Date);
    case FieldType.Time:
      return timeOfDay(payload, at);
    case FieldType.Decimal:
    case FieldType.NewDecimal: {
      const bytes = lenencBytes(payload, at);
      if (bytes === null || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(latin1(bytes.value))) return null;
      return { literal: Uint8Array.from(bytes.value), next: bytes.next };
    }
    case FieldType.VarChar:
    case FieldType.VarString:
    case FieldType.String:
    case FieldType.Enum:
    case FieldType.Set: {
      const bytes = lenencBytes(payload, at);
      if (bytes === null) return null;
      const literal = quoted(bytes.value, hasBackslashEscapes);
      return literal === null ? null : { literal, next: bytes.next };
    }
    case FieldType.TinyBlob:
    case FieldType.MediumBlob:
    case FieldType.LongBlob:
    case FieldType.Blob: {
      // Sent as binary data: a hex literal is a binary string, exactly as the parameter was.
      const bytes = lenencBytes(payload, at);
      if (bytes === null) return null;
      return { literal: utf8.encode(`X'${Buffer.from(bytes.value).toString('hex')}'`), next: bytes.next };
    }
    default:
      return null; // JSON, BIT, GEOMETRY, ...: left to the pipelined transaction
  }
}

function floatLiteral(value: number, next: number): { literal: Uint8Array; next: number } | null {
  if (!Number.isFinite(value)) return null;
  // The exponent keeps it a DOUBLE literal (a bare 1.5 would be DECIMAL); the shortest round-trip form is exact.
  const text = Object.is(value, -0) ? '-0e0' : String(value);
  return { literal: utf8.encode(text.includes('e') ? text : `${text}e0`), next };
}

function temporal(payload: Uint8Array, at: number, isDate: boolean): { literal: Uint8Array; next: number } | null {
  const length = payload[at];
  if (length === undefined || at + 1 + length > payload.length || (length !== 0 && length !== 4 && length !== 7 && length !== 11)) return null;
  const p = at + 1;
  const year = length >= 4 ? payload[p]! | (payload[p + 1]! << 8) : 0;
  const month = length >= 4 ? payload[p + 2]! : 0;
  const day = length >= 4 ? payload[p + 3]! : 0;
  const hour = length >= 7 ? payload[p + 4]! : 0;
  const minute = length >= 7 ? payload[p + 5]! : 0;
  const second = length >= 7 ? payload[p + 6]! : 0;
  const micro = length === 11 ? readU32(payload, p + 7) : 0;
  let text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
  if (!isDate) text += ` ${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${micro ? `.${pad(micro, 6)}` : ''}`;
  return { literal: utf8.encode(`'${text}'`), next: p + length };
}

function timeOfDay(payload: Uint8Array, at: number): { literal: Uint8Array; next: number } | null {
  const length = payload[at];
  if (length === undefined || at + 1 + length > payload.length || (length !== 0 && length !== 8 && length !== 12)) return null;
  const p = at + 1;
  if (length === 0) return { literal: utf8.encode("'00:00:00'"), next: p };
  const isNegative = payload[p] === 1;
  const hours = readU32(payload, p + 1) * 24 + payload[p + 5]!;
  const micro = length === 12 ? readU32(payload, p + 8) : 0;
  const text = `${isNegative ? '-' : ''}${pad(hours, 2)}:${pad(payload[p + 6]!, 2)}:${pad(payload[p + 7]!, 2)}${micro ? `.${pad(micro, 6)}` : ''}`;
  return { literal: utf8.encode(`'${text}'`), next: p + length };
}

/** A quoted string literal of raw bytes: quotes doubled, backslashes doubled where they escape. */
function quoted(bytes: Uint8Array, hasBackslashEscapes: boolean): Uint8Array | null {
  let extra = 0;
  for (const b of bytes) {
    if (b === 0) return null;
    if (b === 0x27 || (b === 0x5c && hasBackslashEscapes)) extra++;
  }
  const out = new Uint8Array(bytes.length + extra + 2);
  let o = 0;
  out[o++] = 0x27;
  for (const b of bytes) {
    if (b === 0x27 || (b === 0x5c && hasBackslashEscapes)) out[o++] = b;
    out[o++] = b;
  }
  out[o] = 0x27;
  return out;
}

function lenencBytes(payload: Uint8Array, at: number): { value: Uint8Array; next: number } | null {
  const first = payload[at];
  if (first === undefined) return null;
  let length: number;
  let p = at + 1;
  if (first < 0xfb) length = first;
  else if (first === 0xfc) length = payload[p]! | (payload[p + 1]! << 8), (p += 2);
  else if (first === 0xfd) length = payload[p]! | (payload[p + 1]! << 8) | (payload[p + 2]! << 16), (p += 3);
  else if (first === 0xfe) length = readU32(payload, p) + readU32(payload, p + 4) * 0x100000000, (p += 8);
  else return null;
  if (p + length > payload.length) return null;
  return { value: payload.subarray(p, p + length), next: p + length };
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * Byte offsets of the `?` placeholders in SQL text, skipping quoted strings,
 * identifiers and comments. Only for literal-safe character sets (see above).
 */
export function placeholderOffsets(sql: Uint8Array, start: number, end: number): number[] {
  const offsets: number[] = [];
  let i = start;
  while (i < end) {
    const c = sql[i]!;
    if (c === 0x3f) {
      offsets.push(i++);
    } else if (c === 0x27 || c === 0x22 || c === 0x60) {
      i++;
      while (i < end && sql[i] !== c) i += sql[i] === 0x5c && c !== 0x60 ? 2 : 1;
      i++;
    } else if (c === 0x2f && sql[i + 1] === 0x2a) {
      i += 2;
      while (i < end && !(sql[i] === 0x2a && sql[i + 1] === 0x2f)) i++;
      i += 2;
    } else if (c === 0x23 || (c === 0x2d && sql[i + 1] === 0x2d)) {
      while (i < end && sql[i] !== 0x0a) i++;
    } else {
      i++;
    }
  }
  return offsets;
}
