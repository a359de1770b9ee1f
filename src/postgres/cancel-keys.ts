// CancelRequest routing: https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-CANCELING-REQUESTS
import type { Socket, SocketHandler } from 'bun';
import type { Address, BackendTlsConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { backendTlsFailure, backendTlsOptions, upgradeToTls } from '../net/tls.ts';
import { SSL_REQUEST } from './wire/messages.ts';

interface Registered {
  address: Address;
  /** The group's backend_tls: a cancel takes the same kind of link as the session (a hostssl-only server refuses it otherwise). */
  tls: BackendTlsConfig;
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

  register(processId: number, secretKey: number, address: Address, tls: BackendTlsConfig, owner: object): void {
    this.keys.set(keyOf(processId, secretKey), { address, tls, owner });
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
    const tls = found.tls;
    const log = this.log;
    const warn = (error: string): void => log.warn('cancel request failed', { backend: a.text, error });
    let isUpgraded = false;
    const send = (s: Socket<undefined>): void => {
      s.write(request);
      s.end();
    };
    const tlsSocket: SocketHandler<undefined> = {
      data() {},
      handshake(s, isOk, error) {
        const failure = backendTlsFailure(tls, s as Socket<unknown>, isOk, error);
        if (failure === null) send(s);
        else {
          warn(failure);
          s.end();
        }
      },
      error: (_s, error) => warn(error.message),
    };
    const socket: SocketHandler<undefined> = {
      open(s) {
        if (tls.mode === 'disable') send(s);
        else s.write(SSL_REQUEST);
      },
      data(s, chunk) {
        if (isUpgraded || tls.mode === 'disable') return;
        // One byte answers the SSLRequest (anything more is refused, as libpq does).
        if (chunk[0] === 0x53 && chunk.length === 1) {
          isUpgraded = true; // before the upgrade: this raw handler then sees ciphertext
          try {
            upgradeToTls(s, { isServer: false, tls: backendTlsOptions(tls, a.kind === 'tcp' ? a.host : 'localhost'), handlers: tlsSocket, data: undefined });
          } catch (error) {
            warn(String(error));
            s.end();
          }
        } else if (chunk[0] === 0x4e && tls.mode === 'prefer') {
          send(s);
        } else {
          warn(`backend did not accept TLS for the cancel request (backend_tls = ${tls.mode})`);
          s.end();
        }
      },
      error: (_s, error) => warn(error.message),
      connectError: (_s, error) => warn(error.message),
    };
    const connecting = a.kind === 'unix' ? Bun.connect({ unix: a.path, socket }) : Bun.connect({ hostname: a.host, port: a.port, socket });
    connecting.catch((error: unknown) => warn(String(error)));
  }
}

function keyOf(processId: number, secretKey: number): string {
  return `${processId}:${secretKey}`;
}
