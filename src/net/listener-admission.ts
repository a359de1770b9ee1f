/**
 * A listener's admission policy: its ClientAdmission counters, the limits
 * read from the live config at each accept, the open-file clamp, and the
 * rate-limited log of refusals. Shared by both protocol listeners; each
 * supplies only how its "too many connections" answer is encoded.
 */
import type { Logger } from '../log.ts';
import { ClientAdmission, refusalMessage, type AdmissionLimits, type AdmissionTicket } from './admission.ts';
import { clientsForLimit, openFileLimit } from './fd-limit.ts';

const REFUSAL_LOG_INTERVAL_MS = 1_000;

export interface AdmissionConfig {
  readonly maxClientConnections: number;
  readonly maxPendingHandshakes: number;
}

export class ListenerAdmission {
  private readonly counters: ClientAdmission;
  /** max_client_connections = 0: derived once from the open-file limit at start. */
  private readonly automaticMaxClients: number;
  private readonly encodeRefusal: (message: string) => Uint8Array;
  private current: AdmissionLimits = { maxClients: 0, maxPendingHandshakes: 1 };
  /** The answer for the client just refused (owned: reused until the next refusal). */
  refusal: Uint8Array = new Uint8Array(0);
  private lastLoggedAtMs = 0;
  private refusedSinceLog = 0;
  private hasWarnedClamp = false;

  /** `encodeRefusal` builds the protocol's whole "too many connections" answer for a message. */
  constructor(encodeRefusal: (message: string) => Uint8Array) {
    this.encodeRefusal = encodeRefusal;
    this.automaticMaxClients = clientsForLimit(openFileLimit());
    this.counters = new ClientAdmission(() => this.current);
  }

  /** A ticket for the new connection, or null with `refusal` set to its answer. */
  admit(config: AdmissionConfig, log: Logger): AdmissionTicket | null {
    // A cap above what the descriptors allow would let accept() fail with
    // EMFILE, and Bun then leaves the client in the backlog with no answer at
    // all: clamp it, so the client past the limit gets a refusal instead.
    const fdCap = this.automaticMaxClients > 0 ? this.automaticMaxClients : Number.MAX_SAFE_INTEGER;
    const configured = config.maxClientConnections;
    if (configured > fdCap && !this.hasWarnedClamp) {
      this.hasWarnedClamp = true;
      log.warn('max_client_connections is above what the open-file limit allows; serving fewer', { max_client_connections: configured, serving: fdCap, open_file_limit: openFileLimit()?.soft ?? 'unknown' });
    }
    this.current = {
      maxClients: configured > 0 ? Math.min(configured, fdCap) : this.automaticMaxClients,
      maxPendingHandshakes: config.maxPendingHandshakes,
    };
    const result = this.counters.admit();
    if (typeof result !== 'string') return result;
    const message = refusalMessage(result, this.current);
    this.refusal = this.encodeRefusal(message);
    this.refusedSinceLog++;
    const now = performance.now();
    if (now - this.lastLoggedAtMs >= REFUSAL_LOG_INTERVAL_MS) {
      log.warn('refusing connections', { reason: message, refused: this.refusedSinceLog, clients: this.counters.openClients, logging_in: this.counters.pendingHandshakes });
      this.lastLoggedAtMs = now;
      this.refusedSinceLog = 0;
    }
    return null;
  }
}
