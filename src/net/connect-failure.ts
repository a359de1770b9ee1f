// What a failed backend connect is reported as: the backend's fault, or the proxy's own descriptor limit.
import type { Socket, SocketHandler } from 'bun';
import type { Address } from '../config/types.ts';
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

/**
 * Opens a socket to a backend `address` (TCP with TCP_NODELAY, or unix) with
 * `handlers` and `data`. Rejects with connectFailure's error.
 */
export async function connectTo<Data>(address: Address, handlers: SocketHandler<Data>, data: Data): Promise<Socket<Data>> {
  try {
    const socket =
      address.kind === 'unix'
        ? await Bun.connect<Data>({ unix: address.path, socket: handlers, data })
        : await Bun.connect<Data>({ hostname: address.host, port: address.port, socket: handlers, data });
    if (address.kind === 'tcp') socket.setNoDelay(true);
    return socket;
  } catch (cause) {
    throw connectFailure(address.text, cause);
  }
}
