// Maps the proxy's own error codes to PostgreSQL SQLSTATEs and severities.
// https://www.postgresql.org/docs/current/errcodes-appendix.html
import type { ProxyErrorCode } from '../core/errors.ts';
import type { ErrorResponse, Severity } from './wire/messages.ts';

export const POSTGRES_ERRORS: Record<ProxyErrorCode, { sqlState: string; severity: Severity }> = {
  BACKEND_UNAVAILABLE: { sqlState: '08006', severity: 'FATAL' }, // connection_failure
  BACKEND_LOST: { sqlState: '08006', severity: 'FATAL' }, // connection_failure
  PACKET_TOO_LARGE: { sqlState: '08P01', severity: 'FATAL' }, // protocol_violation
  PROTOCOL_VIOLATION: { sqlState: '08P01', severity: 'FATAL' }, // protocol_violation
  UNSUPPORTED_COMMAND: { sqlState: '0A000', severity: 'ERROR' }, // feature_not_supported
  AUTH_FAILED: { sqlState: '28P01', severity: 'FATAL' }, // invalid_password
  BATCH_ABORTED: { sqlState: '08007', severity: 'ERROR' }, // transaction_resolution_unknown: a batch's outcome could not be learned
  BATCH_TIMEOUT: { sqlState: '57014', severity: 'ERROR' }, // query_canceled
  SHUTTING_DOWN: { sqlState: '57P01', severity: 'FATAL' }, // admin_shutdown
  TLS_REQUIRED: { sqlState: '28000', severity: 'FATAL' }, // invalid_authorization_specification, as for a hostssl-only pg_hba
  TOO_MANY_CONNECTIONS: { sqlState: '53300', severity: 'FATAL' }, // too_many_connections
  INTERNAL: { sqlState: 'XX000', severity: 'FATAL' }, // internal_error; the connection closes after it
};

export function errorResponseFor(code: ProxyErrorCode, message: string): ErrorResponse {
  const mapped = POSTGRES_ERRORS[code];
  return { severity: mapped.severity, code: mapped.sqlState, message };
}
