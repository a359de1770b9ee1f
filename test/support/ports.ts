/**
 * Free TCP ports for things a test starts. The shared databases on 3306 and
 * 5432 are the only fixed ports in the suite (STYLE.md §9).
 */

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago: the kernel picks
 * it for a port-0 listener, which is then closed. Another process can take the
 * port before the caller binds it, so starters that use this retry on a bind
 * failure (see `startMariaDb`, `startPostgres`).
 */
export function freePort(hostname = '127.0.0.1'): number {
  const listener = Bun.listen({
    hostname,
    port: 0,
    socket: { data() {} },
  });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/**
 * Whether something accepts TCP connections on `hostname:port` right now.
 * Resolves false on refusal or when `timeoutMs` passes without an answer.
 */
export async function isPortOpen(port: number, hostname = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  const attempt = Bun.connect({
    hostname,
    port,
    socket: { data() {}, error() {} },
  }).then(
    (socket) => {
      socket.end();
      return true;
    },
    () => false,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A server lost the race for the free port it was given (another process bound it first). */
export class PortInUseError extends Error {}

/**
 * Launches a server on a free port, retrying with a new port when it loses
 * the race for one (`launch` throws PortInUseError), at most `maxAttempts` times.
 */
export async function launchOnFreePort(launch: (port: number) => Promise<void>, maxAttempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await launch(freePort());
      return;
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt >= maxAttempts) throw error;
    }
  }
}
