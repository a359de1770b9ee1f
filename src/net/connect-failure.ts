// What a failed backend connect is reported as: the backend's fault, or the proxy's own descriptor limit.
import { ProxyError } from '../core/errors.ts';
import { isOutOfFileDescriptors, openFileLimit } from './fd-limit.ts';

/**
 * The error for a connect to `address` that failed with `cause`. Bun reports
 * EMFILE from socket() as a refused connection, so a descriptor probe
 * decides: at the limit it is the proxy that is out of resources, and saying
 * "cannot connect to backend" would send the DBA to a healthy server.
 */
export function connectFailure(address: string, cause: unknown): ProxyError {
  const code = (cause as { code?: unknown } | null)?.code;
  // Only the refusals Bun may have made up are checked against a descriptor probe.
  const isAmbiguous = code === undefined || code === 'ECONNREFUSED';
  if (code === 'EMFILE' || code === 'ENFILE' || (isAmbiguous && isOutOfFileDescriptors())) {
    const limit = openFileLimit();
    return new ProxyError(
      'TOO_MANY_CONNECTIONS',
      `Too many connections: the proxy is out of file descriptors (EMFILE, open-file limit ${limit?.soft ?? 'unknown'}); raise ulimit -n or lower max_client_connections`,
      { fatal: true, cause },
    );
  }
  const reason = cause instanceof Error ? `: ${cause.message}${typeof code === 'string' ? ` (${code})` : ''}` : cause == null ? '' : `: ${String(cause)}`;
  return new ProxyError('BACKEND_UNAVAILABLE', `cannot connect to backend ${address}${reason}`, { fatal: true, cause });
}
