/**
 * A raw PostgreSQL-protocol socket for fault tests: send any bytes, collect
 * what comes back, see when the proxy closes. Messages are built with
 * test/support/bytes.ts, never with the proxy's own writer.
 */
import type { Socket } from 'bun';
import { pgMessages, pgStartup } from './bytes.ts';
import { waitUntil } from './wait.ts';

export interface RawPgClient {
  socket: Socket<undefined>;
  received(): Uint8Array;
  /** Typed messages received so far (after any single-byte SSL answer). */
  messages(from?: number): { type: string; body: Uint8Array }[];
  closed: Promise<void>;
  isClosed(): boolean;
  /** Sends a StartupMessage as root to `test` and waits for the first ReadyForQuery. */
  login(): Promise<void>;
  waitForMessage(type: string, description: string, timeoutMs?: number): Promise<void>;
}

export async function rawPgClient(port: number): Promise<RawPgClient> {
  const chunks: Uint8Array[] = [];
  let received = new Uint8Array(0);
  let isClosed = false;
  let onClose = (): void => {};
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data(_s, chunk) {
        chunks.push(Uint8Array.from(chunk));
        received = Buffer.concat(chunks);
      },
      close() {
        isClosed = true;
        onClose();
      },
      error() {
        isClosed = true;
        onClose();
      },
    },
  });
  const client: RawPgClient = {
    socket,
    received: () => received,
    messages: (from = 0) => pgMessages(received.subarray(from)),
    closed,
    isClosed: () => isClosed,
    async login() {
      socket.write(pgStartup({ user: 'root', database: 'test' }));
      await client.waitForMessage('Z', 'the first ReadyForQuery');
    },
    async waitForMessage(type, description, timeoutMs = 10_000) {
      await waitUntil(() => client.messages().some((m) => m.type === type) || (isClosed ? Promise.reject(new Error(`closed before ${description}`)) : false), {
        timeoutMs,
        description,
      });
    },
  };
  return client;
}
