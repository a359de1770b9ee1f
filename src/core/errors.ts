/**
 * Errors the proxy itself raises. Anything a client may see carries a stable
 * code; each protocol front end maps the code to its own error numbers.
 * Errors from the database are never wrapped in these: they are relayed as the
 * bytes the database sent.
 */
export type ProxyErrorCode =
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_LOST'
  | 'PACKET_TOO_LARGE'
  | 'PROTOCOL_VIOLATION'
  | 'UNSUPPORTED_COMMAND'
  | 'AUTH_FAILED'
  | 'TLS_REQUIRED'
  | 'BATCH_ABORTED'
  | 'BATCH_TIMEOUT'
  | 'SHUTTING_DOWN'
  | 'TOO_MANY_CONNECTIONS'
  | 'INTERNAL';

export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  /** Whether the client connection must be closed after the error is sent. */
  readonly fatal: boolean;

  constructor(code: ProxyErrorCode, message: string, options: { fatal?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
    this.fatal = options.fatal ?? false;
  }
}

export function isProxyError(value: unknown): value is ProxyError {
  return value instanceof ProxyError;
}
