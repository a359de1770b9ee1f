// The server-facing side of one client's connection: a Bun socket to MariaDB
// plus the queue of responses it still owes.
import type { Socket } from 'bun';
import type { Address, BackendTlsConfig } from '../config/types.ts';
import { ProxyError } from '../core/errors.ts';
import { BackendLink } from '../net/backend-link.ts';
import { backendTlsFailure, backendTlsOptions } from '../net/tls.ts';
import { connectFailure } from '../net/connect-failure.ts';
import { PacketScanner } from './wire/framing.ts';
import { sslRequestFrom } from './wire/packets/handshake.ts';
import { CompressedPacketReader } from './wire/compression.ts';
import { CompressedOutQueue } from './compressed-out-queue.ts';
import type { ResponseTracker } from './response-tracker.ts';

/** Receives one response as it streams in. */
export interface ResponseSink {
  /** Borrowed bytes of the response, in order; copy what must outlive the call. */
  onResponseBytes(buf: Uint8Array, start: number, end: number): void;
  /** The response is complete. */
  onResponseEnd(tracker: ResponseTracker): void;
  /** The backend connection was lost before the response completed. */
  onResponseLost(error: ProxyError): void;
}

/** Told about the connection's life outside any response. */
export interface BackendOwner {
  /** Bytes arrived while no response was expected (e.g. an ERR before the server closes). */
  onUnsolicited(buf: Uint8Array, start: number, end: number): void;
  /** The connection closed; `error` is set when it was not our doing. */
  onBackendClosed(error: ProxyError | null): void;
  /** The backend's socket cannot take more bytes (true) or drained (false). */
  onBackendBackpressure(isFull: boolean): void;
}

interface Expectation {
  tracker: ResponseTracker;
  sink: ResponseSink;
}

let nextBackendId = 1;

export class BackendConnection extends BackendLink {
  readonly id = nextBackendId++;
  /**
   * Bumped when the server forgets the session's prepared statements
   * (COM_CHANGE_USER, COM_RESET_CONNECTION), so caches of statement ids expire.
   */
  sessionEpoch = 0;
  private readonly expectations: Expectation[] = [];
  private readonly scanner = new PacketScanner();
  private owner: BackendOwner;
  /** Set once the link is compressed: the read side, inflating what the server sends. */
  private inflater: CompressedPacketReader | null = null;
  private tlsWait: { config: BackendTlsConfig; resolve: () => void; reject: (error: ProxyError) => void } | null = null;

  constructor(address: Address, owner: BackendOwner) {
    super(address);
    this.owner = owner;
  }

  protected onBackpressure(isFull: boolean): void {
    this.owner.onBackendBackpressure(isFull);
  }

  /** Hands the connection to another owner (e.g. a batch borrowing it). Returns the previous one. */
  setOwner(owner: BackendOwner): BackendOwner {
    const previous = this.owner;
    this.owner = owner;
    return previous;
  }

  /** True when no response is outstanding. */
  get isIdle(): boolean {
    return this.expectations.length === 0;
  }

  get pendingResponses(): number {
    return this.expectations.length;
  }

  /**
   * Asks the server for TLS, as `config.mode` says, before the client's
   * `handshakeResponse` is relayed; resolves once the session is up (true)
   * or when `prefer` found no TLS on offer (false). Rejects with
   * BACKEND_UNAVAILABLE when the mode cannot be met.
   */
  async startTls(isOffered: boolean, handshakeResponse: Uint8Array, config: BackendTlsConfig): Promise<boolean> {
    const a = this.address;
    if (!isOffered) {
      if (config.mode === 'prefer') return false;
      throw new ProxyError('BACKEND_UNAVAILABLE', `backend ${a.text} does not offer TLS (backend_tls = ${config.mode})`, { fatal: true });
    }
    const socket = this.socket;
    if (socket === null || this.out === null) throw new ProxyError('BACKEND_UNAVAILABLE', `connection to backend ${a.text} closed`, { fatal: true });
    const host = a.kind === 'tcp' ? a.host : 'localhost';
    let options;
    try {
      options = backendTlsOptions(config, host);
    } catch (cause) {
      throw new ProxyError('BACKEND_UNAVAILABLE', `cannot set up TLS to backend ${a.text}: ${(cause as Error).message}`, { fatal: true, cause });
    }
    this.out.write(sslRequestFrom(handshakeResponse));
    const done = new Promise<void>((resolve, reject) => {
      this.tlsWait = { config, resolve, reject };
    });
    this.upgradeSocket(socket, options);
    await done;
    return true;
  }

  onTlsHandshake(socket: Socket<this>, isOk: boolean, error: Error | null): void {
    const wait = this.tlsWait;
    if (wait === null) return;
    this.tlsWait = null;
    const failure = backendTlsFailure(wait.config, socket as Socket<unknown>, isOk, error);
    if (failure === null) {
      wait.resolve();
      return;
    }
    const proxyError = new ProxyError('BACKEND_UNAVAILABLE', `TLS to backend ${this.address.text} failed: ${failure}`, { fatal: true });
    wait.reject(proxyError);
    this.close(proxyError);
  }

  /** Registers the response that the next bytes from the server belong to (after any already expected). */
  expect(tracker: ResponseTracker, sink: ResponseSink): void {
    this.expectations.push({ tracker, sink });
  }

  /**
   * Writes client packets that continue the command in flight (LOCAL INFILE
   * data, auth replies). Only a compressed link cares: their sequence ids may
   * wrap to 0 without starting a command.
   */
  writeContinuation(bytes: Uint8Array): boolean {
    if (this.out instanceof CompressedOutQueue) return this.out.writeContinuation(bytes);
    return this.write(bytes);
  }

  /** Switches both directions to the compressed protocol (after the login's OK, when the client asked for it). */
  enableCompression(maxPayload: number): void {
    if (this.socket === null || this.inflater !== null) return;
    this.inflater = new CompressedPacketReader(maxPayload);
    this.out = new CompressedOutQueue(this.socket as Socket<unknown>, (isFull) => this.onBackpressure(isFull), this.inflater, true);
  }

  onData(chunk: Uint8Array): void {
    if (this.inflater === null) {
      this.scan(chunk);
      return;
    }
    try {
      for (const piece of this.inflater.push(chunk)) {
        this.scan(piece);
        if (this.isClosed) return;
      }
    } catch (error) {
      this.close(error instanceof ProxyError ? error : new ProxyError('INTERNAL', `backend stream error: ${String(error)}`, { cause: error }));
    }
  }

  private scan(chunk: Uint8Array): void {
    let pos = 0;
    try {
      while (pos < chunk.length) {
        const head = this.expectations[0];
        if (!head) {
          this.owner.onUnsolicited(chunk, pos, chunk.length);
          return;
        }
        const end = this.scanner.scan(chunk, pos, chunk.length, head.tracker);
        if (end < 0) {
          head.sink.onResponseBytes(chunk, pos, chunk.length);
          return;
        }
        head.sink.onResponseBytes(chunk, pos, end);
        this.expectations.shift();
        pos = end;
        head.sink.onResponseEnd(head.tracker);
      }
    } catch (error) {
      const failure = error instanceof ProxyError ? error : new ProxyError('INTERNAL', `backend stream error: ${String(error)}`, { cause: error });
      this.close(failure);
    }
  }

  onClose(error: Error | null): void {
    if (this.isClosed && this.expectations.length === 0) return;
    const reason = error ? `: ${error.message}` : '';
    const failure =
      this.socket === null
        ? connectFailure(this.address.text, error)
        : new ProxyError('BACKEND_LOST', `Lost connection to backend ${this.address.text}${reason}`, { fatal: true, cause: error ?? undefined });
    this.fail(failure, error !== null || this.expectations.length > 0);
  }

  /** Closes the connection; pending responses are told it was lost. Idempotent. */
  close(reason: ProxyError | null = null): void {
    if (this.isClosed) return;
    this.fail(reason ?? new ProxyError('BACKEND_LOST', `connection to backend ${this.address.text} closed`, { fatal: true }), reason !== null);
  }

  private fail(error: ProxyError, isUnexpected: boolean): void {
    const wasClosed = this.isClosed;
    this.isClosed = true;
    const wait = this.tlsWait;
    this.tlsWait = null;
    wait?.reject(error);
    this.out?.close();
    const socket = this.socket;
    this.socket = null;
    socket?.end();
    const pending = this.expectations.splice(0);
    for (const { sink } of pending) sink.onResponseLost(error);
    if (!wasClosed) this.owner.onBackendClosed(isUnexpected ? error : null);
  }
}
