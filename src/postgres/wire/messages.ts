// https://www.postgresql.org/docs/current/protocol-message-formats.html — the messages the proxy
// reads (startup, Query, Parse, Bind, ...) or writes itself (ErrorResponse, its own result sets).
import { ProxyError } from '../../core/errors.ts';
import { Backend, ErrorField, StartupCode, TEXT_OID, TxStatus } from './constants.ts';
import { MessageReader, readI32 } from './reader.ts';
import { MessageWriter } from './writer.ts';

/**
 * Codec scratch: one cursor shared by the read functions below, reset for
 * each call and never kept across one, so reading a message allocates no
 * cursor (JS runs one call at a time).
 */
const scratch = new MessageReader();

export type StartupMessage =
  | { kind: 'startup'; protocol: number; parameters: Map<string, string> }
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  /** The 16 bytes as received, relayed unchanged to the backend that owns the key. */
  | { kind: 'cancel'; processId: number; secretKey: number };

/** Reads an untyped startup-phase message body (after its int32 length). */
export function readStartup(body: Uint8Array): StartupMessage {
  // Not the scratch cursor: startup is rare and its parameters are read in a loop.
  const r = new MessageReader().reset(body);
  const code = r.i32();
  switch (code) {
    case StartupCode.SSLRequest:
      return { kind: 'ssl' };
    case StartupCode.GSSENCRequest:
      return { kind: 'gssenc' };
    case StartupCode.CancelRequest: {
      if (body.length !== 12) throw new ProxyError('PROTOCOL_VIOLATION', 'invalid length of cancel request', { fatal: true });
      return { kind: 'cancel', processId: r.i32(), secretKey: r.i32() };
    }
  }
  if (code >>> 16 !== 3) {
    throw new ProxyError('PROTOCOL_VIOLATION', `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: server supports 3.0`, { fatal: true });
  }
  const parameters = new Map<string, string>();
  for (;;) {
    if (r.remaining === 0) throw new ProxyError('PROTOCOL_VIOLATION', 'invalid startup packet layout: expected terminator as last byte', { fatal: true });
    const name = r.cstr();
    if (name === '') break;
    parameters.set(name, r.cstr());
  }
  return { kind: 'startup', protocol: code, parameters };
}

/** Fields of a Parse message the proxy needs: the statement name and its SQL. */
export interface ParseMessage {
  name: string;
  sql: string;
  /** The parameter type count and OIDs as sent (borrowed view): they change how values are read. */
  paramTypes: Uint8Array;
}

export function readParse(body: Uint8Array): ParseMessage {
  const r = scratch.reset(body);
  const name = r.cstr();
  const sql = r.cstr();
  return { name, sql, paramTypes: body.subarray(r.pos) };
}

/**
 * Bind: the portal and statement names, and the rest of the body (formats,
 * values, result formats) as a borrowed view: exactly what makes two
 * executions of one statement differ, so it is the cache key's parameter part.
 */
export interface BindMessage {
  portal: string;
  statement: string;
  parameters: Uint8Array;
}

export function readBind(body: Uint8Array): BindMessage {
  const r = scratch.reset(body);
  const portal = r.cstr();
  const statement = r.cstr();
  return { portal, statement, parameters: body.subarray(r.pos) };
}

/** Describe and Close: 'S' (statement) or 'P' (portal), then the name. */
export function readTarget(body: Uint8Array): { kind: number; name: string } {
  const r = scratch.reset(body);
  return { kind: r.u8(), name: r.cstr() };
}

/** Execute: the portal and the row limit (0 = all rows). */
export function readExecute(body: Uint8Array): { portal: string; maxRows: number } {
  const r = scratch.reset(body);
  return { portal: r.cstr(), maxRows: r.i32() };
}

/** The SQL of a Query message. */
export function readQuery(body: Uint8Array): string {
  return scratch.reset(body).cstr();
}

/** BackendKeyData: the key a CancelRequest must quote. */
export function readBackendKeyData(body: Uint8Array): { processId: number; secretKey: number } {
  return { processId: readI32(body, 0), secretKey: readI32(body, 4) };
}

/** The code of an Authentication request ('R'): 0 is AuthenticationOk. */
export function readAuthenticationCode(body: Uint8Array): number {
  return readI32(body, 0);
}

/** ParameterStatus: name and value. */
export function readParameterStatus(body: Uint8Array): { name: string; value: string } {
  const r = scratch.reset(body);
  return { name: r.cstr(), value: r.cstr() };
}

/** The SQLSTATE and the non-localised severity of an ErrorResponse or NoticeResponse. */
export function readErrorFields(body: Uint8Array): { code: string; severity: string; message: string } {
  const r = scratch.reset(body);
  let code = '';
  let severity = '';
  let localised = '';
  let message = '';
  while (r.remaining > 0) {
    const field = r.u8();
    if (field === 0) break;
    const value = r.cstr();
    if (field === ErrorField.Code) code = value;
    else if (field === ErrorField.SeverityV) severity = value;
    else if (field === ErrorField.Severity) localised = value;
    else if (field === ErrorField.Message) message = value;
  }
  return { code, severity: severity || localised, message };
}

export type Severity = 'ERROR' | 'FATAL';

export interface ErrorResponse {
  severity: Severity;
  /** A real five-character SQLSTATE. */
  code: string;
  message: string;
}

/** ErrorResponse with severity (both S and V), SQLSTATE and message. */
export function writeErrorResponse(w: MessageWriter, e: ErrorResponse): MessageWriter {
  w.begin(Backend.ErrorResponse);
  w.u8(ErrorField.Severity).cstr(e.severity);
  w.u8(ErrorField.SeverityV).cstr(e.severity);
  w.u8(ErrorField.Code).cstr(e.code);
  w.u8(ErrorField.Message).cstr(e.message.replaceAll('\u0000', ' '));
  w.u8(0);
  return w.end();
}

export function writeReadyForQuery(w: MessageWriter, status: number): MessageWriter {
  return w.begin(Backend.ReadyForQuery).u8(status).end();
}

/** ReadyForQuery 'I', built once: the proxy's own answers end idle. */
export const READY_FOR_QUERY_IDLE: Uint8Array = Uint8Array.from(writeReadyForQuery(new MessageWriter(6), TxStatus.Idle).finish());

/** The single-byte 'N' that refuses SSLRequest and GSSENCRequest. */
export const REFUSE_ENCRYPTION: Uint8Array = Uint8Array.of(0x4e);

/** The single-byte 'S' that accepts an SSLRequest: the TLS handshake follows on the same socket. */
export const ACCEPT_ENCRYPTION: Uint8Array = Uint8Array.of(0x53);

/** SSLRequest (length 8, code 80877103), built once: the proxy sends it to servers as libpq does. */
export const SSL_REQUEST: Uint8Array = Uint8Array.of(0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f);

/**
 * A text result set the proxy answers itself (SHOW TQDB STATUS): RowDescription
 * with text columns, DataRows, CommandComplete `SHOW` — PostgreSQL's own tag
 * for SHOW. `describe` false omits the RowDescription (extended protocol
 * Execute after a Describe already answered it).
 */
export function writeTextResultSet(w: MessageWriter, columns: readonly string[], rows: readonly (readonly string[])[], tag: string): MessageWriter {
  writeRowDescription(w, columns);
  writeDataRows(w, rows);
  return w.begin(Backend.CommandComplete).cstr(tag).end();
}

/** DataRows of text values. */
export function writeDataRows(w: MessageWriter, rows: readonly (readonly string[])[]): MessageWriter {
  for (const row of rows) {
    w.begin(Backend.DataRow).i16(row.length);
    for (const value of row) w.lenStr(value);
    w.end();
  }
  return w;
}

export function writeRowDescription(w: MessageWriter, columns: readonly string[]): MessageWriter {
  w.begin(Backend.RowDescription).i16(columns.length);
  for (const name of columns) w.cstr(name).i32(0).i16(0).i32(TEXT_OID).i16(-1).i32(-1).i16(0);
  return w.end();
}
