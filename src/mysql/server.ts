// Accepts MariaDB clients on TCP and, optionally, a unix socket.
import type { Socket, SocketHandler, TCPSocketListener, UnixSocketListener } from 'bun';
import { deepenListenBacklog } from '../net/listen-backlog.ts';
import { unlinkSync, existsSync } from 'node:fs';
import type { Address } from '../config/types.ts';
import { ListenerAdmission } from '../net/listener-admission.ts';
import { listenFailure } from '../net/listen-failure.ts';
import { errPacketFor } from './errors.ts';
import { ClientConnection } from './frontend.ts';
import type { MysqlServices } from './services.ts';
import { writeErr } from './wire/packets/err.ts';
import { PacketWriter } from './wire/writer.ts';

/** Socket handlers are defined once; per-connection state lives in `socket.data`. */
function handlersFor(getServices: () => MysqlServices, admission: ListenerAdmission): SocketHandler<ClientConnection> {
  return {
    open(socket) {
      const services = getServices();
      const ticket = admission.admit(services.config, services.log);
      if (ticket === null) {
        socket.end(admission.refusal);
        return;
      }
      const client = new ClientConnection(socket, services, ticket);
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
  private readonly admission = new ListenerAdmission((message) => {
    // Before the greeting: sequence 0 and no SQLSTATE, as mariadbd's own 1040.
    const w = new PacketWriter().begin();
    writeErr(w, errPacketFor('TOO_MANY_CONNECTIONS', message), false);
    w.end(0);
    return Uint8Array.from(w.finish()); // owned: the writer is not kept
  });

  constructor(services: MysqlServices) {
    this.services = services;
  }

  /** New connections get the new services; existing ones keep theirs. */
  setServices(services: MysqlServices): void {
    this.services = services;
  }

  /** Starts listening; returns the bound TCP address text (port 0 resolved). */
  listen(address: Address, socketPath: string | null): string {
    const handlers = handlersFor(() => this.services, this.admission);
    let bound: string;
    if (address.kind === 'tcp') {
      let listener: TCPSocketListener<ClientConnection>;
      try {
        listener = Bun.listen<ClientConnection>({ hostname: address.host, port: address.port, socket: handlers });
      } catch (error) {
        throw listenFailure('[mariadb] listen', address.text, error);
      }
      this.listeners.push(listener);
      deepenListenBacklog(listener.port);
      bound = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${listener.port}`;
    } else {
      this.listeners.push(this.listenUnix(address.path, handlers, '[mariadb] listen'));
      bound = address.text;
    }
    if (socketPath !== null) this.listeners.push(this.listenUnix(socketPath, handlers, '[mariadb] socket'));
    return bound;
  }

  private listenUnix(path: string, handlers: SocketHandler<ClientConnection>, key: string): UnixSocketListener<ClientConnection> {
    try {
      // A stale socket file from a crashed run would make listen fail.
      if (existsSync(path)) unlinkSync(path);
      return Bun.listen<ClientConnection>({ unix: path, socket: handlers });
    } catch (error) {
      throw listenFailure(key, `unix:${path}`, error);
    }
  }

  /** Stops accepting new connections; existing ones continue. */
  stopListening(): void {
    for (const listener of this.listeners) listener.stop(false);
    this.listeners = [];
  }
}

export type ClientSocket = Socket<ClientConnection>;
