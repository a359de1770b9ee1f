// Accepts MariaDB clients on TCP and, optionally, a unix socket.
import type { Socket, SocketHandler, TCPSocketListener, UnixSocketListener } from 'bun';
import { unlinkSync, existsSync } from 'node:fs';
import type { Address } from '../config/types.ts';
import { ClientAdmission, refusalMessage, type AdmissionLimits, type AdmissionTicket } from '../net/admission.ts';
import { clientsForLimit, openFileLimit } from '../net/fd-limit.ts';
import { listenFailure } from '../net/listen-failure.ts';
import { errPacketFor } from './errors.ts';
import { ClientConnection } from './frontend.ts';
import type { MysqlServices } from './services.ts';
import { writeErr } from './wire/packets/err.ts';
import { PacketWriter } from './wire/writer.ts';

/** Refusals are logged at most this often, so a connect flood cannot flood the log too. */
const REFUSAL_LOG_INTERVAL_MS = 1_000;

/** Socket handlers are defined once; per-connection state lives in `socket.data`. */
function handlersFor(getServices: () => MysqlServices, admission: Admission): SocketHandler<ClientConnection> {
  return {
    open(socket) {
      const services = getServices();
      const ticket = admission.admit(services);
      if (ticket === null) {
        socket.end(admission.refusalPacket);
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

/** The listener's admission counters, plus the pre-handshake ERR 1040 that refused clients get. */
class Admission {
  private readonly counters: ClientAdmission;
  /** max_client_connections = 0: derived once from the open-file limit at start. */
  private readonly automaticMaxClients: number;
  private current: AdmissionLimits = { maxClients: 0, maxPendingHandshakes: 1 };
  refusalPacket = new Uint8Array(0);
  private lastLoggedAtMs = 0;
  private refusedSinceLog = 0;
  private hasWarnedClamp = false;

  constructor() {
    this.automaticMaxClients = clientsForLimit(openFileLimit());
    this.counters = new ClientAdmission(() => this.current);
  }

  admit(services: MysqlServices): AdmissionTicket | null {
    const config = services.config;
    // A cap above what the descriptors allow would let accept() fail with
    // EMFILE, and Bun then leaves the client in the backlog with no answer at
    // all: clamp it, so the client past the limit gets 1040 instead.
    const fdCap = this.automaticMaxClients > 0 ? this.automaticMaxClients : Number.MAX_SAFE_INTEGER;
    const configured = config.maxClientConnections;
    if (configured > fdCap && !this.hasWarnedClamp) {
      this.hasWarnedClamp = true;
      services.log.warn('max_client_connections is above what the open-file limit allows; serving fewer', { max_client_connections: configured, serving: fdCap, open_file_limit: openFileLimit()?.soft ?? 'unknown' });
    }
    this.current = {
      maxClients: configured > 0 ? Math.min(configured, fdCap) : this.automaticMaxClients,
      maxPendingHandshakes: config.maxPendingHandshakes,
    };
    const result = this.counters.admit();
    if (typeof result !== 'string') return result;
    const message = refusalMessage(result, this.current);
    // Before the greeting: sequence 0 and no SQLSTATE, as mariadbd's own 1040.
    const w = new PacketWriter().begin();
    writeErr(w, errPacketFor('TOO_MANY_CONNECTIONS', message), false);
    w.end(0);
    this.refusalPacket = Uint8Array.from(w.finish()); // owned: reused for every refusal until the next one
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

export class MysqlServer {
  private listeners: (TCPSocketListener<ClientConnection> | UnixSocketListener<ClientConnection>)[] = [];
  private services: MysqlServices;
  readonly clients = new Set<ClientConnection>();
  private readonly admission = new Admission();

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
