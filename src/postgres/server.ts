// Accepts PostgreSQL clients on TCP and, optionally, a unix socket.
import type { Socket, SocketHandler } from 'bun';
import type { Address } from '../config/types.ts';
import { ListenerAdmission } from '../net/listener-admission.ts';
import { Listeners } from '../net/listeners.ts';
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
      // After a TLS upgrade this raw socket still sees the ciphertext; the TLS socket delivers the plaintext.
      const client = socket.data;
      if (client.isTls) return;
      if (client.phase === 'startup' && client.startDirectTls(chunk)) return;
      client.onClientData(chunk);
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
  private readonly listeners = new Listeners<PgClientConnection>('[postgres]');
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
    return this.listeners.listen(address, socketPath, handlersFor(() => this.services, this.admission));
  }

  /** Stops accepting new connections; existing ones continue. */
  stopListening(): void {
    this.listeners.stop();
  }
}

export type ClientSocket = Socket<PgClientConnection>;
