// Accepts PostgreSQL clients on TCP and, optionally, a unix socket.
import type { Socket, SocketHandler, TCPSocketListener, UnixSocketListener } from 'bun';
import { unlinkSync, existsSync } from 'node:fs';
import type { Address } from '../config/types.ts';
import { ClientAdmission, refusalMessage, type AdmissionLimits, type AdmissionTicket } from '../net/admission.ts';
import { clientsForLimit, openFileLimit } from '../net/fd-limit.ts';
import { deepenListenBacklog } from '../net/listen-backlog.ts';
import { listenFailure } from '../net/listen-failure.ts';
import { errorResponseFor } from './errors.ts';
import { PgClientConnection } from './frontend.ts';
import type { PgServices } from './services.ts';
import { writeErrorResponse } from './wire/messages.ts';
import { MessageWriter } from './wire/writer.ts';

/** Refusals are logged at most this often, so a connect flood cannot flood the log too. */
const REFUSAL_LOG_INTERVAL_MS = 1_000;

/** Socket handlers are defined once; per-connection state lives in `socket.data`. */
function handlersFor(getServices: () => PgServices, admission: Admission): SocketHandler<PgClientConnection> {
  return {
    open(socket) {
      const services = getServices();
      const ticket = admission.admit(services);
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

/**
 * The listener's admission counters (max_client_connections,
 * max_pending_handshakes), and the ErrorResponse refused clients get.
 */
class Admission {
  private readonly counters: ClientAdmission;
  /** max_client_connections = 0: derived once from the open-file limit at start. */
  private readonly automaticMaxClients: number;
  private current: AdmissionLimits = { maxClients: 0, maxPendingHandshakes: 1 };
  refusal = new Uint8Array(0);
  private lastLoggedAtMs = 0;
  private refusedSinceLog = 0;

  constructor() {
    this.automaticMaxClients = clientsForLimit(openFileLimit());
    this.counters = new ClientAdmission(() => this.current);
  }

  admit(services: PgServices): AdmissionTicket | null {
    const config = services.config;
    // Above the descriptor limit accept() would fail and leave the client unanswered: clamp.
    const fdCap = this.automaticMaxClients > 0 ? this.automaticMaxClients : Number.MAX_SAFE_INTEGER;
    const configured = config.maxClientConnections;
    this.current = {
      maxClients: configured > 0 ? Math.min(configured, fdCap) : this.automaticMaxClients,
      maxPendingHandshakes: config.maxPendingHandshakes,
    };
    const result = this.counters.admit();
    if (typeof result !== 'string') return result;
    const message = refusalMessage(result, this.current);
    this.refusal = Uint8Array.from(writeErrorResponse(new MessageWriter(), errorResponseFor('TOO_MANY_CONNECTIONS', message)).finish()); // owned: reused until the next refusal
    this.refusedSinceLog++;
    const now = performance.now();
    if (now - this.lastLoggedAtMs >= REFUSAL_LOG_INTERVAL_MS) {
      services.log.warn('refusing connections', { reason: message, refused: this.refusedSinceLog, clients: this.counters.openClients, logging_in: this.counters.pendingHandshakes });
      this.lastLoggedAtMs = now;
      this.refusedSinceLog = 0;
    }
    return null;
  }
}

export class PgServer {
  private readonly admission = new Admission();
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
