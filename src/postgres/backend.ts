// The server-facing side of one client's connection: a Bun socket to PostgreSQL
// plus the queue of responses it still owes, one per sync point (ReadyForQuery).
import type { Socket, TLSOptions } from 'bun';
import type { Address, BackendTlsConfig } from '../config/types.ts';
import { ProxyError } from '../core/errors.ts';
import { BackendLink } from '../net/backend-link.ts';
import { backendTlsFailure, backendTlsOptions } from '../net/tls.ts';
import { BatchStatements } from './batch-sql.ts';
import { Backend } from './wire/constants.ts';
import { MessageScanner } from './wire/framing.ts';
import { SSL_REQUEST } from './wire/messages.ts';

/**
 * Receives one response: everything the server sends up to and including the
 * ReadyForQuery that ends it (a Query's, a Sync's, the startup's).
 */
export interface ResponseSink {
  /** Called for every message as it completes; `body` is set for the types the scanner reads (see WANTED). Borrowed. */
  onMessage(type: number, body: Uint8Array | null): void;
  /** Borrowed bytes of the response, in order; copy what must outlive the call. */
  onBytes(buf: Uint8Array, start: number, end: number): void;
  /** The ReadyForQuery arrived; `txStatus` is its I/T/E byte. */
  onEnd(txStatus: number): void;
  /** The connection was lost before the response ended. */
  onLost(error: ProxyError): void;
}

/** Told about the connection's life outside any response. */
export interface BackendOwner {
  /** A message outside every expected response (a NotificationResponse while idle, a FATAL before close). */
  onUnsolicitedMessage(type: number, body: Uint8Array | null): void;
  onUnsolicitedBytes(buf: Uint8Array, start: number, end: number): void;
  /** The connection closed; `error` is set when it was not our doing. */
  onBackendClosed(error: ProxyError | null): void;
  /** The backend's socket cannot take more bytes (true) or drained (false). */
  onBackendBackpressure(isFull: boolean): void;
}

/** Bodies the front end reads: auth codes, keys, errors, parameter changes (ReadyForQuery's status is `firstBodyByte`). */
const WANTED = [Backend.Authentication, Backend.BackendKeyData, Backend.ErrorResponse, Backend.ParameterStatus];


let nextBackendId = 1;

export class PgBackendConnection extends BackendLink {
  readonly id = nextBackendId++;
  private readonly sinks: ResponseSink[] = [];
  private readonly scanner = new MessageScanner(WANTED);
  private readonly owner: BackendOwner;
  /** The proxy's named statements for batched templates in this server session. */
  readonly batchStatements = new BatchStatements();
  /** The server's certificate (DER) once the link is TLS: channel binding can cross the proxy only if it is the proxy's own. */
  peerCertificate: Uint8Array | null = null;
  /** Set from the SSLRequest until the server's one-byte answer. */
  private sslAnswer: { resolve: (answer: number) => void } | null = null;
  private tlsWait: { config: BackendTlsConfig; resolve: () => void } | null = null;

  constructor(address: Address, owner: BackendOwner) {
    super(address);
    this.owner = owner;
  }

  protected onBackpressure(isFull: boolean): void {
    this.owner.onBackendBackpressure(isFull);
  }

  /** Responses still owed. */
  get pendingResponses(): number {
    return this.sinks.length;
  }

  /** True between two messages of the server's stream (an injected message would not corrupt it). */
  get isAtMessageBoundary(): boolean {
    return this.scanner.isAtBoundary;
  }

  /**
   * Asks the server for TLS as libpq's sslmode does: an SSLRequest, then the
   * handshake on 'S'. Resolves true once the session is up and verified, false
   * when `prefer` met a server answering 'N'. Rejects (and closes) with
   * BACKEND_UNAVAILABLE when the mode cannot be met; `config.mode` is not 'disable'.
   */
  async startTls(config: BackendTlsConfig): Promise<boolean> {
    const a = this.address;
    let options: TLSOptions;
    try {
      options = backendTlsOptions(config, a.kind === 'tcp' ? a.host : 'localhost');
    } catch (cause) {
      throw this.refuseTls(`cannot set up TLS to backend ${a.text}: ${(cause as Error).message}`);
    }
    if (this.out === null || this.socket === null) throw new ProxyError('BACKEND_UNAVAILABLE', `connection to backend ${a.text} closed`, { fatal: true });
    const answered = new Promise<number>((resolve) => {
      this.sslAnswer = { resolve };
    });
    this.out.write(SSL_REQUEST);
    const answer = await answered;
    if (this.isClosed) throw new ProxyError('BACKEND_UNAVAILABLE', `connection to backend ${a.text} closed during the SSLRequest`, { fatal: true });
    if (answer === 0x4e) {
      if (config.mode === 'prefer') return false;
      throw this.refuseTls(`backend ${a.text} does not accept TLS (it answered the SSLRequest with N; backend_tls = ${config.mode})`);
    }
    if (answer !== 0x53) throw this.refuseTls(`backend ${a.text} refused the SSLRequest (answer byte 0x${answer.toString(16)})`);
    const handshaken = new Promise<void>((resolve) => {
      this.tlsWait = { config, resolve };
    });
    this.upgradeSocket(this.socket, options);
    await handshaken;
    if (this.isClosed) throw new ProxyError('BACKEND_UNAVAILABLE', `connection to backend ${a.text} closed during the TLS handshake`, { fatal: true });
    return true;
  }

  onTlsHandshake(socket: Socket<this>, isOk: boolean, error: Error | null): void {
    const wait = this.tlsWait;
    if (wait === null) return;
    this.tlsWait = null;
    const failure = backendTlsFailure(wait.config, socket as Socket<unknown>, isOk, error);
    if (failure !== null) this.refuseTls(`TLS to backend ${this.address.text} failed: ${failure}`);
    else this.peerCertificate = socket.getPeerX509Certificate()?.raw ?? null;
    wait.resolve();
  }

  /** Closes the connection for a TLS failure (pending waits then see it closed) and returns the error to throw. */
  private refuseTls(message: string): ProxyError {
    const error = new ProxyError('BACKEND_UNAVAILABLE', message, { fatal: true });
    this.close(error);
    return error;
  }

  /**
   * The server's answer to the SSLRequest is one byte. Anything after it came
   * before the TLS handshake, so nothing vouches for it (the CVE-2021-23222
   * class): refused, as libpq does.
   */
  private onSslAnswer(chunk: Uint8Array): void {
    const wait = this.sslAnswer!;
    this.sslAnswer = null;
    if (chunk.length > 1 && (chunk[0] === 0x53 || chunk[0] === 0x4e)) {
      this.refuseTls(`backend ${this.address.text} sent unencrypted data after its SSL answer`);
    }
    wait.resolve(chunk[0]!);
  }

  /** Registers the response that ends at the next ReadyForQuery not yet claimed. */
  expect(sink: ResponseSink): void {
    this.sinks.push(sink);
  }

  onData(chunk: Uint8Array): void {
    if (this.sslAnswer !== null) {
      this.onSslAnswer(chunk);
      return;
    }
    const scanner = this.scanner;
    let pos = 0;
    let runStart = 0;
    try {
      for (;;) {
        const end = scanner.next(chunk, pos);
        if (end < 0) break;
        pos = end;
        const head = this.sinks[0];
        if (head === undefined) {
          this.owner.onUnsolicitedBytes(chunk, runStart, end);
          runStart = end;
          this.owner.onUnsolicitedMessage(scanner.type, scanner.body);
          continue;
        }
        head.onMessage(scanner.type, scanner.body);
        if (scanner.type === Backend.ReadyForQuery) {
          const status = scanner.firstBodyByte;
          head.onBytes(chunk, runStart, end);
          runStart = end;
          this.sinks.shift();
          head.onEnd(status);
          if (this.isClosed) return;
        }
      }
      if (runStart < chunk.length) {
        const head = this.sinks[0];
        if (head === undefined) this.owner.onUnsolicitedBytes(chunk, runStart, chunk.length);
        else head.onBytes(chunk, runStart, chunk.length);
      }
    } catch (error) {
      const failure = error instanceof ProxyError ? error : new ProxyError('INTERNAL', `backend stream error: ${String(error)}`, { cause: error });
      this.close(failure);
    }
  }

  onClose(error: Error | null): void {
    if (this.isClosed) return;
    const reason = error ? `: ${error.message}` : '';
    const failure =
      this.socket === null
        ? new ProxyError('BACKEND_UNAVAILABLE', `cannot connect to backend ${this.address.text}${reason}`, { fatal: true, cause: error ?? undefined })
        : new ProxyError('BACKEND_LOST', `lost connection to backend ${this.address.text}${reason}`, { fatal: true, cause: error ?? undefined });
    this.fail(failure, true);
  }

  /** Closes the connection; pending responses are told it was lost. Idempotent. */
  close(reason: ProxyError | null = null): void {
    if (this.isClosed) return;
    this.fail(reason ?? new ProxyError('BACKEND_LOST', `connection to backend ${this.address.text} closed`, { fatal: true }), reason !== null);
  }

  private fail(error: ProxyError, isUnexpected: boolean): void {
    this.isClosed = true;
    // A TLS negotiation in progress learns of the close from isClosed.
    this.sslAnswer?.resolve(0);
    this.sslAnswer = null;
    this.tlsWait?.resolve();
    this.tlsWait = null;
    this.out?.close();
    const socket = this.socket;
    this.socket = null;
    socket?.end();
    const pending = this.sinks.splice(0);
    for (const sink of pending) sink.onLost(error);
    this.owner.onBackendClosed(isUnexpected ? error : null);
  }
}
