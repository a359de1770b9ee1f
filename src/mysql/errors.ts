// Maps the proxy's own error codes to MariaDB error numbers and SQLSTATEs.
import type { ProxyErrorCode } from '../core/errors.ts';
import type { ErrPacket } from './wire/packets/err.ts';

export const MYSQL_ERRORS: Record<ProxyErrorCode, { code: number; sqlState: string }> = {
  BACKEND_UNAVAILABLE: { code: 2003, sqlState: 'HY000' }, // CR_CONN_HOST_ERROR
  BACKEND_LOST: { code: 2013, sqlState: 'HY000' }, // CR_SERVER_LOST
  PACKET_TOO_LARGE: { code: 1153, sqlState: '08S01' }, // ER_NET_PACKET_TOO_LARGE
  PROTOCOL_VIOLATION: { code: 1047, sqlState: '08S01' }, // ER_UNKNOWN_COM_ERROR
  UNSUPPORTED_COMMAND: { code: 1047, sqlState: '08S01' },
  AUTH_FAILED: { code: 1045, sqlState: '28000' }, // ER_ACCESS_DENIED_ERROR
  TLS_REQUIRED: { code: 1045, sqlState: '28000' }, // ER_ACCESS_DENIED_ERROR: a login refused before any auth; the message says why
  BATCH_ABORTED: { code: 1180, sqlState: 'HY000' }, // ER_ERROR_DURING_COMMIT
  BATCH_TIMEOUT: { code: 1969, sqlState: '70100' }, // ER_STATEMENT_TIMEOUT
  SHUTTING_DOWN: { code: 1053, sqlState: '08S01' }, // ER_SERVER_SHUTDOWN
  INTERNAL: { code: 1105, sqlState: 'HY000' }, // ER_UNKNOWN_ERROR
};

export function errPacketFor(code: ProxyErrorCode, message: string): ErrPacket {
  const mapped = MYSQL_ERRORS[code];
  return { code: mapped.code, sqlState: mapped.sqlState, message };
}
