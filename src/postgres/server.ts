// Accepts PostgreSQL clients on TCP and, optionally, a unix socket.
import type { Socket, SocketHandler, TCPSocketListener, UnixSocketListener } from 'bun';
import { unlinkSync, existsSync } from 'node:fs';
import type { Address } from '../config/types.ts';
import { ListenerAdmission } from '../net/listener-admission.ts';
import { deepenListenBacklog } from '../net/listen-backlog.ts';
import { listenFailure } from '../net/listen-failure.ts';
import { errorResponseFor } from './errors.ts';
import { PgClientConnection } from './frontend.ts';
import type { PgServices } from './services.ts';
import { writeErrorResponse } from './wire/messages.ts';
import { MessageWriter } from './wire/writer.ts';

/** Socket handlers are defined once; per-connection state lives in `socket.data`. */
function handlersFor(getServices: () => PgServices, admission: ListenerAdmission): SocketHandler<PgClientConnection> {
  return {
    open(socket) {
      const services = getServices();
      const ticket = admission.admit(services.config, services.log);
      if (ticket === null) {
        // PostgreSQL's own answer when it is full: FATAL 53300, before anything else.
        socket.end(admission.refusal);
        return;
      }
      const client = new PgClientConnection(socket, services, ticket);
      (socket as { data: PgClientConnection }).data = client;
      socket.setNoDelay(true);
      client.start();
    },
    data(socket, chunk) {
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

export class PgServer {
  private readonly admission = new ListenerAdmission((message) =>
    Uint8Array.from(writeErrorResponse(new MessageWriter(), errorResponseFor('TOO_MANY_CONNECTIONS', message)).finish()), // owned: the writer is not kept
  );
  private listeners: (TCPSocketListener<PgClientConnection> | UnixSocketListener<PgClientConnection>)[] = [];
  private services: PgServices;
  readonly clients = new Set<PgClientConnection>();

  constructor(services: PgServices) {
    this.services = services;
  }

  /** New connections get the new services; existing ones keep theirs. */
  setServices(services: PgServices): void {
    this.services = services;
  }

  /** Starts listening; returns the bound TCP address text (port 0 resolved). */
  listen(address: Address, socketPath: string | null): string {
    const handlers = handlersFor(() => this.services, this.admission);
    let bound: string;
    if (address.kind === 'tcp') {
      let listener: TCPSocketListener<PgClientConnection>;
      try {
        listener = Bun.listen<PgClientConnection>({ hostname: address.host, port: address.port, socket: handlers });
      } catch (error) {
        throw listenFailure('[postgres] listen', address.text, error);
      }
      this.listeners.push(listener);
      deepenListenBacklog(listener.port);
      bound = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${listener.port}`;
    } else {
      this.listeners.push(this.listenUnix(address.path, handlers));
      bound = address.text;
    }
    if (socketPath !== null) this.listeners.push(this.listenUnix(socketPath, handlers));
    return bound;
  }

  private listenUnix(path: string, handlers: SocketHandler<PgClientConnection>): UnixSocketListener<PgClientConnection> {
    try {
      // A stale socket file from a crashed run would make listen fail.
      if (existsSync(path)) unlinkSync(path);
      return Bun.listen<PgClientConnection>({ unix: path, socket: handlers });
    } catch (error) {
      throw listenFailure('[postgres] listen', `unix:${path}`, error);
    }
  }

  /** Stops accepting new connections; existing ones continue. */
  stopListening(): void {
    for (const listener of this.listeners) listener.stop(false);
    this.listeners = [];
  }
}

export type ClientSocket = Socket<PgClientConnection>;
