// Accepts MariaDB clients on TCP and, optionally, a unix socket.
import type { Socket, SocketHandler, TCPSocketListener, UnixSocketListener } from 'bun';
import { unlinkSync, existsSync } from 'node:fs';
import type { Address } from '../config/types.ts';
import { ClientConnection } from './frontend.ts';
import type { MysqlServices } from './services.ts';

/** Socket handlers are defined once; per-connection state lives in `socket.data`. */
function handlersFor(getServices: () => MysqlServices): SocketHandler<ClientConnection> {
  return {
    open(socket) {
      const client = new ClientConnection(socket, getServices());
      (socket as { data: ClientConnection }).data = client;
      socket.setNoDelay(true);
      client.start();
    },
    data(socket, chunk) {
      // After a TLS upgrade this raw socket still sees the ciphertext; the TLS socket delivers the plaintext.
      if (socket.data.isTls) return;
      socket.data.onClientData(chunk);
    },
    drain(socket) {
      socket.data.onClientDrain();
    },
    close(socket) {
      socket.data?.close();
    },
    error(socket) {
      socket.data?.close();
    },
    end(socket) {
      socket.data?.close();
    },
  };
}

export class MysqlServer {
  private listeners: (TCPSocketListener<ClientConnection> | UnixSocketListener<ClientConnection>)[] = [];
  private services: MysqlServices;
  readonly clients = new Set<ClientConnection>();

  constructor(services: MysqlServices) {
    this.services = services;
  }

  /** New connections get the new services; existing ones keep theirs. */
  setServices(services: MysqlServices): void {
    this.services = services;
  }

  /** Starts listening; returns the bound TCP address text (port 0 resolved). */
  listen(address: Address, socketPath: string | null): string {
    const handlers = handlersFor(() => this.services);
    let bound: string;
    if (address.kind === 'tcp') {
      const listener = Bun.listen<ClientConnection>({ hostname: address.host, port: address.port, socket: handlers });
      this.listeners.push(listener);
      bound = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${listener.port}`;
    } else {
      this.listeners.push(this.listenUnix(address.path, handlers));
      bound = address.text;
    }
    if (socketPath !== null) this.listeners.push(this.listenUnix(socketPath, handlers));
    return bound;
  }

  private listenUnix(path: string, handlers: SocketHandler<ClientConnection>): UnixSocketListener<ClientConnection> {
    // A stale socket file from a crashed run would make listen fail.
    if (existsSync(path)) unlinkSync(path);
    return Bun.listen<ClientConnection>({ unix: path, socket: handlers });
  }

  /** Stops accepting new connections; existing ones continue. */
  stopListening(): void {
    for (const listener of this.listeners) listener.stop(false);
    this.listeners = [];
  }
}

export type ClientSocket = Socket<ClientConnection>;
