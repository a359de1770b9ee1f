/**
 * A listener that cannot bind, said in one line for the operator: which key,
 * which address and why in words (in use, permission denied), never a stack.
 * main.ts prints a StartupError's message alone.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use by another process',
  EACCES: 'permission denied (ports below 1024 need privileges; for unix sockets, check the directory)',
  EPERM: 'permission denied',
  EADDRNOTAVAIL: 'no local interface has this address',
  ENOENT: 'the directory does not exist',
};

export function listenFailure(key: string, address: string, error: unknown): StartupError {
  const code = (error as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' ? REASONS[code] : undefined;
  const text = error instanceof Error ? error.message : String(error);
  const why = known !== undefined ? `${known} (${code})` : typeof code === 'string' ? `${text} (${code})` : text;
  return new StartupError(`cannot listen on ${address} (${key}): ${why}`, { cause: error });
}
