// CancelRequest routing: https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-CANCELING-REQUESTS
import type { Socket } from 'bun';
import type { Address } from '../config/types.ts';
import type { Logger } from '../log.ts';

interface Registered {
  address: Address;
  /** The connection that registered the key; only it may remove it. */
  owner: object;
}

/**
 * The proxy relays each backend's own BackendKeyData to its client, so a
 * CancelRequest quotes a backend's key; this map says which backend address
 * issued it. A CancelRequest arrives on a new client connection: it is sent
 * on a new connection to that address, as PostgreSQL expects. One instance
 * per PostgreSQL listener; each client connection registers and removes its
 * own key.
 */
export class CancelKeys {
  private readonly keys = new Map<string, Registered>();
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  get size(): number {
    return this.keys.size;
  }

  register(processId: number, secretKey: number, address: Address, owner: object): void {
    this.keys.set(keyOf(processId, secretKey), { address, owner });
  }

  unregister(processId: number, secretKey: number, owner: object): void {
    const key = keyOf(processId, secretKey);
    if (this.keys.get(key)?.owner === owner) this.keys.delete(key);
  }

  /**
   * Sends `request` (the 16-byte CancelRequest, owned) to the backend that
   * issued the key. An unknown key is dropped silently, as PostgreSQL does:
   * the client learns nothing about other sessions.
   */
  cancel(processId: number, secretKey: number, request: Uint8Array): void {
    const found = this.keys.get(keyOf(processId, secretKey));
    if (found === undefined) {
      this.log.debug('cancel request for an unknown key', { processId });
      return;
    }
    const a = found.address;
    const socket = {
      open(s: Socket<undefined>) {
        s.write(request);
        s.end();
      },
      data() {},
      error: (_s: Socket<undefined>, error: Error) => this.log.warn('cancel request failed', { backend: a.text, error: error.message }),
      connectError: (_s: Socket<undefined>, error: Error) => this.log.warn('cancel request failed', { backend: a.text, error: error.message }),
    };
    const connecting = a.kind === 'unix' ? Bun.connect({ unix: a.path, socket }) : Bun.connect({ hostname: a.host, port: a.port, socket });
    connecting.catch((error: unknown) => this.log.warn('cancel request failed', { backend: a.text, error: String(error) }));
  }
}

function keyOf(processId: number, secretKey: number): string {
  return `${processId}:${secretKey}`;
}
