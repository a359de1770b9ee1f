/**
 * Admission of client connections, shared by the protocol listeners: a cap on
 * connections served at once and a separate, smaller cap on connections that
 * have not logged in yet. Refusing at accept is the only bound a client that
 * never logs in respects; each refused client gets the protocol's
 * "too many connections" answer from the listener.
 *
 * One ClientAdmission per listener owns both counters; each admitted
 * connection holds a ticket and gives its places back through it, once.
 */
export type Refusal = 'clients' | 'handshakes';

export interface AdmissionLimits {
  /** Connections served at once (0 = no cap). */
  readonly maxClients: number;
  readonly maxPendingHandshakes: number;
}

/** What an admitted connection holds: give back the handshake place at login, everything at close. */
export interface AdmissionTicket {
  authenticated(): void;
  release(): void;
}

export class ClientAdmission {
  private clients = 0;
  private handshakes = 0;
  private readonly limits: () => AdmissionLimits;

  /** `limits` is read at each accept, so a reload applies to the next connection. */
  constructor(limits: () => AdmissionLimits) {
    this.limits = limits;
  }

  get openClients(): number {
    return this.clients;
  }

  get pendingHandshakes(): number {
    return this.handshakes;
  }

  /** A ticket, or why the connection must be refused. */
  admit(): AdmissionTicket | Refusal {
    const { maxClients, maxPendingHandshakes } = this.limits();
    if (maxClients > 0 && this.clients >= maxClients) return 'clients';
    if (this.handshakes >= maxPendingHandshakes) return 'handshakes';
    this.clients++;
    this.handshakes++;
    let isHandshaking = true;
    let isReleased = false;
    return {
      authenticated: () => {
        if (!isHandshaking || isReleased) return;
        isHandshaking = false;
        this.handshakes--;
      },
      release: () => {
        if (isReleased) return;
        isReleased = true;
        this.clients--;
        if (isHandshaking) this.handshakes--;
        isHandshaking = false;
      },
    };
  }
}

/** The DBA-facing reason for a refusal, naming the key to raise. */
export function refusalMessage(refusal: Refusal, limits: AdmissionLimits): string {
  return refusal === 'clients'
    ? `Too many connections (the proxy serves at most ${limits.maxClients} clients: max_client_connections, bounded by the open-file limit)`
    : `Too many connections (${limits.maxPendingHandshakes} clients are already logging in: max_pending_handshakes)`;
}
