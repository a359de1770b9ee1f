// Accepts one protocol's clients on TCP and, optionally, a unix socket: admission, then one
// connection object per socket, which the socket handlers only route events to.
import type { Socket, SocketHandler } from 'bun';
import type { Address } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { AdmissionTicket } from './admission.ts';
import { ListenerAdmission, type AdmissionConfig } from './listener-admission.ts';
import { Listeners } from './listeners.ts';

/** What an accepted client connection offers its raw socket's handlers. */
export interface ListenedClient {
  start(): void;
  /** Bytes on the raw socket (after a TLS upgrade only ciphertext, which the connection ignores). */
  onRawData(chunk: Uint8Array): void;
  onClientDrain(): void;
  close(): void;
}

/** The part of a protocol's services the listener reads at each accept. */
export interface ListenerServices {
  readonly config: AdmissionConfig;
  readonly log: Logger;
}

export interface ClientListenerProtocol<C extends ListenedClient, S extends ListenerServices> {
  /** The config section, for bind errors: `[mariadb]`, `[postgres]`. */
  section: string;
  /** The protocol's whole "too many connections" answer, sent before anything else. */
  encodeRefusal(message: string): Uint8Array;
  /** The connection for an admitted socket. */
  connect(socket: Socket<C>, services: S, ticket: AdmissionTicket): C;
}

export class ClientListener<C extends ListenedClient, S extends ListenerServices> {
  private readonly protocol: ClientListenerProtocol<C, S>;
  private readonly admission: ListenerAdmission;
  private readonly listeners: Listeners<C>;
  private services: S;

  constructor(protocol: ClientListenerProtocol<C, S>, services: S) {
    this.protocol = protocol;
    this.admission = new ListenerAdmission((message) => protocol.encodeRefusal(message));
    this.listeners = new Listeners<C>(protocol.section);
    this.services = services;
  }

  /** New connections get the new services; existing ones keep theirs. */
  setServices(services: S): void {
    this.services = services;
  }

  /** Starts listening; returns the bound TCP address text (port 0 resolved). */
  listen(address: Address, socketPath: string | null): string {
    return this.listeners.listen(address, socketPath, this.handlers());
  }

  /** Stops accepting new connections; existing ones continue. */
  stopListening(): void {
    this.listeners.stop();
  }

  /** Socket handlers are made once; per-connection state lives in `socket.data`. */
  private handlers(): SocketHandler<C> {
    return {
      open: (socket) => {
        const services = this.services;
        const ticket = this.admission.admit(services.config, services.log);
        if (ticket === null) {
          socket.end(this.admission.refusal);
          return;
        }
        const client = this.protocol.connect(socket, services, ticket);
        (socket as { data: C }).data = client;
        socket.setNoDelay(true);
        client.start();
      },
      data(socket, chunk) {
        socket.data.onRawData(chunk);
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
}
