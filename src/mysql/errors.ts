// Maps the proxy's own error codes to MariaDB error numbers and SQLSTATEs.
import type { ProxyErrorCode } from '../core/errors.ts';
import type { ErrPacket } from './wire/packets/err.ts';

// Client-side numbers (CR_*: 2002 CR_CONNECTION_ERROR, 2003, 2006, 2013, ...)
// must never appear in an ERR packet: libmariadb answers such a packet with
// 2027 "Received malformed packet" and drops the message. A lost backend is
// therefore reported the way a direct connection reports it, by closing the
// socket (libmariadb then says 2013 itself); the numbers below are server ones.
export const MYSQL_ERRORS: Record<ProxyErrorCode, { code: number; sqlState: string }> = {
  BACKEND_UNAVAILABLE: { code: 1105, sqlState: 'HY000' }, // ER_UNKNOWN_ERROR, with the proxy's message
  BACKEND_LOST: { code: 1927, sqlState: '70100' }, // ER_CONNECTION_KILLED
  PACKET_TOO_LARGE: { code: 1153, sqlState: '08S01' }, // ER_NET_PACKET_TOO_LARGE
  PROTOCOL_VIOLATION: { code: 1047, sqlState: '08S01' }, // ER_UNKNOWN_COM_ERROR
  UNSUPPORTED_COMMAND: { code: 1047, sqlState: '08S01' },
  AUTH_FAILED: { code: 1045, sqlState: '28000' }, // ER_ACCESS_DENIED_ERROR
  TLS_REQUIRED: { code: 1045, sqlState: '28000' }, // ER_ACCESS_DENIED_ERROR: a login refused before any auth; the message says why
  BATCH_ABORTED: { code: 1180, sqlState: 'HY000' }, // ER_ERROR_DURING_COMMIT
  BATCH_TIMEOUT: { code: 1969, sqlState: '70100' }, // ER_STATEMENT_TIMEOUT
  SHUTTING_DOWN: { code: 1053, sqlState: '08S01' }, // ER_SERVER_SHUTDOWN
  TOO_MANY_CONNECTIONS: { code: 1040, sqlState: '08004' }, // ER_CON_COUNT_ERROR
  INTERNAL: { code: 1105, sqlState: 'HY000' }, // ER_UNKNOWN_ERROR
};

export function errPacketFor(code: ProxyErrorCode, message: string): ErrPacket {
  const mapped = MYSQL_ERRORS[code];
  return { code: mapped.code, sqlState: mapped.sqlState, message };
}
