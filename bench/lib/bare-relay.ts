/**
 * A bare Bun byte relay: each client socket is piped to its own backend
 * socket with no framing, parsing or bookkeeping. The bench runs it beside
 * the proxy as the floor for any Bun-native hop on this machine, so the
 * proxy's ratio can be read against what one extra hop costs at all.
 *
 *   bun bench/lib/bare-relay.ts <listen-port> <backend-host> <backend-port>
 *
 * Prints `listening <port>` once ready. Backpressure is respected both ways.
 */
import type { Socket } from 'bun';

interface Side {
  peer: Socket<Side> | null;
  /** Bytes not yet taken by this socket's kernel buffer (copied). */
  pending: Uint8Array[];
  /** Bytes from the client that arrived before the backend was connected. */
  early: Uint8Array[];
}

function send(to: Socket<Side>, bytes: Uint8Array, from: Socket<Side>): void {
  if (to.data.pending.length > 0) {
    to.data.pending.push(Uint8Array.from(bytes));
    return;
  }
  const written = to.write(bytes);
  if (written < bytes.length) {
    to.data.pending.push(bytes.slice(Math.max(0, written)));
    (from as unknown as { pause(): void }).pause();
  }
}

function drain(socket: Socket<Side>): void {
  while (socket.data.pending.length > 0) {
    const head = socket.data.pending[0]!;
    const written = socket.write(head);
    if (written < head.length) {
      socket.data.pending[0] = head.subarray(Math.max(0, written));
      return;
    }
    socket.data.pending.shift();
  }
  if (socket.data.peer) (socket.data.peer as unknown as { resume(): void }).resume();
}

const [listenPort, backendHost, backendPort] = [Number(process.argv[2] ?? 0), process.argv[3] ?? '127.0.0.1', Number(process.argv[4] ?? 3306)];

const listener = Bun.listen<Side>({
  hostname: '127.0.0.1',
  port: listenPort,
  socket: {
    async open(client) {
      client.data = { peer: null, pending: [], early: [] };
      client.setNoDelay(true);
      try {
        const backend = await Bun.connect<Side>({
          hostname: backendHost,
          port: backendPort,
          data: { peer: client, pending: [], early: [] },
          socket: {
            data: (b, chunk) => send(b.data.peer!, chunk, b),
            drain,
            close: (b) => void b.data.peer?.end(),
            error: (b) => void b.data.peer?.end(),
          },
        });
        backend.setNoDelay(true);
        client.data.peer = backend;
        for (const bytes of client.data.early) send(backend, bytes, client);
        client.data.early = [];
      } catch {
        client.end();
      }
    },
    data(client, chunk) {
      if (client.data.peer) send(client.data.peer, chunk, client);
      else client.data.early.push(Uint8Array.from(chunk));
    },
    drain,
    close: (client) => void client.data.peer?.end(),
    error: (client) => void client.data.peer?.end(),
  },
});
console.log(`listening ${listener.port}`);
