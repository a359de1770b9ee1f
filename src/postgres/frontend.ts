// The client-facing side of one PostgreSQL connection: startup and auth relay,
// message dispatch, response relay and session tracking.
// https://www.postgresql.org/docs/current/protocol-flow.html
import type { Socket, TLSOptions } from 'bun';
import { STATUS_COLUMNS, isStatusCommand } from '../admin/status.ts';
import { ProxyError, isProxyError } from '../core/errors.ts';
import { SessionEngine, SessionState, type CacheCapture, type Plan, type Target } from '../core/session/index.ts';
import { parseStatement, type Statement } from '../core/sql/index.ts';
import { OutQueue } from '../net/out-queue.ts';
import { clientTlsHandlers } from '../net/socket-handlers.ts';
import type { AdmissionTicket } from '../net/admission.ts';
import { Deadline } from '../net/deadline.ts';
import { pauseReading, resumeReading } from '../net/socket.ts';
import { upgradeToTls } from '../net/tls.ts';
import { PgBackendConnection, type BackendOwner, type ResponseSink } from './backend.ts';
import { EMPTY_BIND_TAIL, NO_PARAM_TYPES } from './batch-sql.ts';
import type { PgBatchClient, PgWrite } from './write-batcher.ts';
import { errorResponseFor } from './errors.ts';
import type { PgServices } from './services.ts';
import { AuthCode, Backend, Frontend, TxStatus } from './wire/constants.ts';
import { MessageFramer, type Frame } from './wire/framing.ts';
import {
  ACCEPT_ENCRYPTION,
  REFUSE_ENCRYPTION,
  readAuthenticationCode,
  readBackendKeyData,
  readBind,
  readErrorFields,
  readExecute,
  readParameterStatus,
  readParse,
  readQuery,
  readStartup,
  readTarget,
  writeErrorResponse,
  writeReadyForQuery,
  writeDataRows,
  writeRowDescription,
  writeTextResultSet,
  type ErrorResponse,
} from './wire/messages.ts';
import { MessageWriter } from './wire/writer.ts';
import { ChannelBindingFilter, readSaslInitialResponse } from './wire/sasl.ts';

export type FrontendPhase = 'startup' | 'connecting' | 'auth' | 'ready' | 'closing' | 'closed';

/** Client bytes buffered while the connection waits (cache leader, idle point) before the client is paused. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

let nextClientId = 1;

/** One response being relayed to the client (a Query's, a Sync's or a FunctionCall's). */
class RelaySegment implements ResponseSink {
  private hasError = false;
  private commands = 0;

  constructor(
    private readonly client: PgClientConnection,
    /** Statements this response answers (a Query's, or the Executes before a Sync). */
    private readonly statements: readonly Statement[],
    private readonly startedAt: number,
    private readonly capture: CacheCapture | null,
    /** Statements the response's Parse messages create: confirmed when it ends without error. */
    private readonly parsedNames: readonly string[] = [],
    /** Told when the response has ended or was lost (a batched write run alone waits on it). */
    private readonly onDone: (() => void) | null = null,
  ) {}

  onMessage(type: number, body: Uint8Array | null): void {
    if (type === Backend.ErrorResponse) {
      this.hasError = true;
      this.client.noteServerError(body!);
    } else if (type === Backend.CommandComplete) {
      this.commands++;
    } else if (type === Backend.ParameterStatus) {
      this.client.onParameterStatus(body!);
      // An asynchronous message is no part of the statement's answer.
      this.capture?.abort();
    } else if (type === Backend.NotificationResponse) {
      this.capture?.abort();
    }
  }

  onBytes(buf: Uint8Array, start: number, end: number): void {
    this.client.relayToClient(buf, start, end);
    this.capture?.append(buf, start, end);
  }

  onEnd(txStatus: number): void {
    this.capture?.finish(!this.hasError);
    if (!this.hasError && this.parsedNames.length > 0) this.client.confirmParsed(this.parsedNames);
    this.onDone?.();
    this.client.onResponseEnd(txStatus, this.statements, !this.hasError, this.commands, this.startedAt);
  }

  onLost(error: ProxyError): void {
    this.capture?.abort();
    this.onDone?.();
    this.client.onResponseLost(error);
  }
}

/** A stale cache entry refreshed on the client's own connection: captured, not relayed. */
class RefreshSegment implements ResponseSink {
  private hasError = false;

  constructor(
    private readonly client: PgClientConnection,
    private readonly capture: CacheCapture,
  ) {}

  onMessage(type: number, body: Uint8Array | null): void {
    if (type === Backend.ErrorResponse) this.hasError = true;
    else if (type === Backend.ParameterStatus) this.client.onParameterStatus(body!);
    if (type === Backend.ParameterStatus || type === Backend.NotificationResponse) this.capture.abort();
  }

  onBytes(buf: Uint8Array, start: number, end: number): void {
    this.capture.append(buf, start, end);
  }

  onEnd(txStatus: number): void {
    this.capture.finish(!this.hasError);
    this.client.onRefreshEnd(txStatus);
  }

  onLost(error: ProxyError): void {
    this.capture.abort();
    this.client.onResponseLost(error);
  }
}

/** An answer the proxy asked for on its own behalf (a replayed Parse): not relayed. */
class DiscardSegment implements ResponseSink {
  constructor(private readonly client: PgClientConnection) {}

  onMessage(type: number, body: Uint8Array | null): void {
    if (type === Backend.ParameterStatus) this.client.onParameterStatus(body!);
  }

  onBytes(): void {}

  onEnd(txStatus: number): void {
    this.client.onRefreshEnd(txStatus);
  }

  onLost(error: ProxyError): void {
    this.client.onResponseLost(error);
  }
}

/**
 * The startup response: authentication exchange, ParameterStatus, BackendKeyData, ReadyForQuery.
 * With `filter`, the server's SASL offer reaches the client without its
 * channel-binding mechanisms (see ChannelBindingFilter).
 */
class StartupSegment implements ResponseSink {
  private readonly relay = (buf: Uint8Array, start: number, end: number): void => this.client.relayToClient(buf, start, end);

  constructor(
    private readonly client: PgClientConnection,
    private readonly filter: ChannelBindingFilter | null,
  ) {}

  onMessage(type: number, body: Uint8Array | null): void {
    if (type === Backend.Authentication) this.client.onAuthentication(readAuthenticationCode(body!));
    else if (type === Backend.BackendKeyData) this.client.onBackendKeyData(body!);
    else if (type === Backend.ParameterStatus) this.client.onParameterStatus(body!);
    else if (type === Backend.ErrorResponse) this.client.noteServerError(body!);
  }

  onBytes(buf: Uint8Array, start: number, end: number): void {
    if (this.filter === null) this.client.relayToClient(buf, start, end);
    else this.filter.push(buf, start, end, this.relay);
  }

  onEnd(txStatus: number): void {
    this.client.onStartupEnd(txStatus);
  }

  onLost(error: ProxyError): void {
    this.client.onResponseLost(error);
  }
}

export class PgClientConnection implements BackendOwner, PgBatchClient {
  readonly id = nextClientId++;
  phase: FrontendPhase = 'startup';
  readonly session: SessionState;
  readonly engine: SessionEngine;
  /** Replaced by the TLS socket when the client's SSLRequest is accepted. */
  private socket: Socket<PgClientConnection>;
  /** Replaced (empty) when the socket is upgraded to TLS. */
  private out: OutQueue;
  private readonly framer: MessageFramer;
  /** True once the client's socket was upgraded to TLS; the raw socket's data is ciphertext from then on. */
  isTls = false;
  /** TLS began without an SSLRequest (direct TLS): ALPN "postgresql" is then required. */
  private isDirectTls = false;
  /** Direct TLS must start with the connection's first byte. */
  private hasSeenData = false;
  /** Accepted on a unix socket (Bun gives those no remote address): libpq never asks for TLS there. */
  private readonly isUnixSocket: boolean;
  /** Set while the startup response is relayed without channel binding: its hasHidden says the client's SASLInitialResponse is checked. */
  private channelBindingFilter: ChannelBindingFilter | null = null;
  private readonly services: PgServices;
  private readonly writer = new MessageWriter();
  private backend: PgBackendConnection | null = null;
  private isClientPaused = false;
  /** True while the core works on a message asynchronously (a cache leader): later messages wait. */
  private isWaitingOnCore = false;
  /** True while a message that needs every earlier answer delivered waits for the backend to catch up. */
  private isWaitingForIdle = false;
  /** Extended-protocol messages sent since the last Sync: the backend owes them no ReadyForQuery yet. */
  private hasUnsynced = false;
  /** Statements prepared by name ('' is the unnamed one), for metrics, effects and cache keys. */
  private readonly statements = new Map<string, PreparedStatement>();
  /** The extended-protocol messages since the last Sync (reused: reset when a group opens). */
  private readonly group: ExtendedGroup = {
    shape: '',
    isCacheable: false,
    statement: null,
    paramTypes: '',
    paramTypeBytes: NO_PARAM_TYPES,
    bindTail: EMPTY_BIND_TAIL,
    parseRaw: null,
    firstRaw: null,
    parsedNames: [],
    isStatusOnly: false,
    statusShape: '',
    statusStatement: null,
  };
  private readonly portals = new Map<string, Statement | null>();
  /** Statements executed since the last Sync. */
  private executed: Statement[] = [];
  private syncStartedAt = 0;
  /** Client messages forwarded but not yet written: one backend write per run of adjacent messages. */
  private runFirst: Uint8Array | null = null;
  private runEnd = 0;
  /** The backend's own cancel key, registered with the proxy's key map. */
  private cancelKey: { processId: number; secretKey: number } | null = null;
  /** The last ErrorResponse was FATAL: the server has told the client why it closes. */
  private hasServerFatal = false;
  private isAuthenticated = false;
  /** This client's write while it is queued or running in a batch. */
  private waitingWrite: PgWrite | null = null;
  /** True while a batch runs on this client's backend connection. */
  private isLending = false;
  /** An unnamed Parse the server has not seen yet (see `replayParse`); owned. */
  private unnamedReplay: Uint8Array | null = null;
  /** Where forwarded statements go: this session's group primary (one per connection, not one per statement). */
  private readonly primary: Target;

  /** One deadline at a time: backend connect, then login (handshake_timeout_ms). */
  private readonly deadline = new Deadline();
  /** This connection's places under max_client_connections and max_pending_handshakes. */
  private readonly ticket: AdmissionTicket;

  constructor(socket: Socket<PgClientConnection>, services: PgServices, ticket: AdmissionTicket) {
    this.socket = socket;
    this.services = services;
    this.ticket = ticket;
    this.session = new SessionState('postgres', services.config.defaultGroup);
    this.engine = new SessionEngine(services.engine);
    this.primary = { kind: 'primary', group: this.session.group };
    this.framer = new MessageFramer(services.config.maxPacketSize);
    this.out = this.outQueueFor(socket);
    this.isUnixSocket = (socket as { remoteAddress?: string }).remoteAddress === undefined;
  }

  private outQueueFor(socket: Socket<PgClientConnection>): OutQueue {
    return new OutQueue(socket as Socket<unknown>, (isFull) => {
      if (isFull) this.backend?.pause();
      else this.backend?.resume();
    });
  }

  // ---- lifecycle -------------------------------------------------------

  start(): void {
    this.services.onClientOpen(this);
    this.deadline.arm(this.services.config.handshakeTimeoutMs, () => this.onHandshakeTimeout());
  }

  /** Like PostgreSQL at authentication_timeout: a client still logging in is dropped. */
  private onHandshakeTimeout(): void {
    if (!this.isOpen || this.phase === 'ready') return;
    this.services.log.info('client did not log in in time, closing', { client: this.id, phase: this.phase, timeout_ms: this.services.config.handshakeTimeoutMs });
    this.close();
  }

  private enter(phase: FrontendPhase): void {
    if (this.services.log.isDebug) this.services.log.debug('client phase', { client: this.id, from: this.phase, to: phase });
    this.phase = phase;
  }

  get isOpen(): boolean {
    return this.phase !== 'closed' && this.phase !== 'closing';
  }

  /** No response owed and nothing half-sent: the connection can be closed without cutting an answer. */
  get isIdle(): boolean {
    if (this.phase !== 'ready') return this.phase !== 'auth' && this.phase !== 'connecting';
    return !this.isWaitingOnCore && !this.hasUnsynced && (this.backend === null || this.backend.pendingResponses === 0);
  }

  /** Closes the client and its backend. Idempotent. */
  close(): void {
    if (this.phase === 'closed') return;
    const wasOpen = this.phase !== 'closing';
    this.phase = 'closed';
    this.deadline.clear();
    this.ticket.release();
    if (this.cancelKey !== null) this.services.cancelKeys.unregister(this.cancelKey.processId, this.cancelKey.secretKey, this);
    this.services.onClientClose(this, wasOpen);
    if (this.waitingWrite !== null) this.services.cancelWrite?.(this.waitingWrite);
    const backend = this.backend;
    if (backend !== null && backend.isOpen && this.isAuthenticated && backend.pendingResponses === 0 && !this.isLending) {
      // A polite goodbye, so the server logs no "unexpected EOF".
      backend.write(TERMINATE);
    }
    // A batch running on our backend connection finishes first; returnBackend closes it.
    if (!this.isLending) backend?.close();
    this.out.close();
    this.socket.end();
  }

  /** Graceful shutdown of an idle connection: PostgreSQL's own 57P01 FATAL, then close. */
  shutdown(): void {
    if (!this.isOpen) return;
    if (this.phase === 'ready' && (this.backend === null || this.backend.isAtMessageBoundary)) {
      this.sendError(errorResponseFor('SHUTTING_DOWN', 'terminating connection due to administrator command (tqdbproxy is shutting down)'));
    }
    this.close();
  }

  // ---- client side -----------------------------------------------------

  onRawData(chunk: Uint8Array): void {
    // After a TLS upgrade the raw socket still sees the ciphertext; the TLS socket delivers the plaintext.
    if (this.isTls) return;
    if (this.phase === 'startup' && this.startDirectTls(chunk)) return;
    this.onClientData(chunk);
  }

  onClientData(chunk: Uint8Array): void {
    if (!this.isOpen) return;
    try {
      this.framer.push(chunk);
      this.pump();
    } catch (error) {
      this.fail(error);
    }
  }

  onClientDrain(): void {
    this.out.drain();
  }

  /** Processes buffered client messages as far as the current state allows. */
  private pump(): void {
    try {
      for (;;) {
        if (!this.isOpen || this.phase === 'connecting' || this.isWaitingOnCore || this.isWaitingForIdle) break;
        const frame = this.framer.next();
        if (frame === null) break;
        switch (this.phase) {
          case 'startup':
            this.onStartupMessage(frame);
            break;
          case 'auth':
            this.onAuthMessage(frame);
            break;
          case 'ready':
            this.onMessage(frame);
            break;
        }
      }
      this.flushRun();
    } catch (error) {
      this.flushRun();
      this.fail(error);
      return;
    }
    this.applyClientBackpressure();
  }

  private applyClientBackpressure(): void {
    const isWaiting = this.isWaitingOnCore || this.isWaitingForIdle || this.phase === 'connecting';
    const shouldPause = isWaiting && this.framer.buffered > MAX_BUFFERED_BYTES;
    if (shouldPause !== this.isClientPaused) {
      this.isClientPaused = shouldPause;
      if (shouldPause) pauseReading(this.socket as Socket<unknown>);
      else resumeReading(this.socket as Socket<unknown>);
    }
  }

  private onStartupMessage(frame: Frame): void {
    const startup = readStartup(frame.body);
    switch (startup.kind) {
      case 'ssl': {
        const tls = this.services.tls;
        if (this.isTls) throw new ProxyError('PROTOCOL_VIOLATION', 'SSLRequest received inside TLS', { fatal: true });
        if (tls === null) {
          // No certificate: 'N' tells the client to go on in plain text (or give up, per its sslmode).
          this.out.write(REFUSE_ENCRYPTION);
          this.framer.expectStartup();
          return;
        }
        if (this.framer.buffered > 0) {
          // The client must wait for 'S' before its ClientHello. Bytes already here came before any TLS, so nothing
          // vouches for them: they could be a man in the middle's (CVE-2021-23214). PostgreSQL's own refusal.
          this.services.onClientTlsRefused('unencrypted_data');
          throw new ProxyError('PROTOCOL_VIOLATION', 'received unencrypted data after SSL request', { fatal: true });
        }
        this.out.write(ACCEPT_ENCRYPTION);
        this.startClientTls(tls.options);
        return;
      }
      case 'gssenc':
        // No GSSAPI encryption in the proxy: 'N' tells the client to go on (with TLS, or in plain text).
        this.out.write(REFUSE_ENCRYPTION);
        this.framer.expectStartup();
        return;
      case 'cancel':
        this.services.cancelKeys.cancel(startup.processId, startup.secretKey, Uint8Array.from(frame.raw)); // owned: sent after a connect
        this.close();
        return;
      case 'startup': {
        const tls = this.services.tls;
        // A unix socket is exempt, as PostgreSQL's hostssl lines never match a "local" connection.
        if (tls !== null && tls.mode === 'require' && !this.isTls && !this.isUnixSocket) {
          this.services.onClientTlsRefused('plaintext');
          // As a hostssl-only pg_hba.conf answers a plaintext login: 28000.
          throw new ProxyError('TLS_REQUIRED', 'connection without TLS refused by tqdbproxy (tls_mode = require): connect with sslmode=require or stricter', { fatal: true });
        }
        const user = startup.parameters.get('user') ?? '';
        this.session.user = user;
        this.session.database = startup.parameters.get('database') ?? user;
        this.connectBackend(Uint8Array.from(frame.raw)); // owned: sent once the backend is connected
        return;
      }
    }
  }

  private connectBackend(startupMessage: Uint8Array): void {
    this.enter('connecting');
    const group = this.services.config.groups.get(this.session.group)!;
    const backend = new PgBackendConnection(group.primary, this);
    this.backend = backend;
    const timeoutMs = this.services.config.backendConnectTimeoutMs;
    this.deadline.arm(timeoutMs, () => {
      if (this.phase !== 'connecting') return;
      this.services.onBackendError('connect');
      const message = `cannot connect to backend ${group.primary.text}: no connection within ${timeoutMs} ms (backend_connect_timeout_ms)`;
      this.services.log.warn('backend unavailable', { client: this.id, error: message });
      this.sendError(errorResponseFor('BACKEND_UNAVAILABLE', message));
      this.close();
    });
    const tls = group.tls;
    backend
      .connect()
      // Inside backend_connect_timeout_ms: the SSLRequest and the handshake are part of reaching the server.
      .then(() => (tls.mode === 'disable' || !this.isOpen ? false : backend.startTls(tls)))
      .then(() => {
        if (!this.isOpen) {
          backend.close();
          return;
        }
        this.deadline.arm(this.services.config.handshakeTimeoutMs, () => this.onHandshakeTimeout());
        // Only a server on TLS offers -PLUS: a plaintext server link relays its offer untouched.
        this.channelBindingFilter = backend.isTls && !this.canChannelBindingCross(backend) ? new ChannelBindingFilter() : null;
        backend.expect(new StartupSegment(this, this.channelBindingFilter));
        backend.write(startupMessage);
        this.enter('auth');
        this.pump();
      })
      .catch((error: unknown) => {
        if (!this.isOpen) return;
        this.services.onBackendError('connect');
        const proxyError = isProxyError(error) ? error : new ProxyError('BACKEND_UNAVAILABLE', String(error), { fatal: true });
        this.services.log.warn('backend unavailable', { client: this.id, error: proxyError.message });
        this.sendError(errorResponseFor('BACKEND_UNAVAILABLE', proxyError.message));
        this.close();
      });
  }

  /**
   * A client binding to the proxy's certificate (tls-server-end-point) could
   * only match the server's hash if both links present the same certificate:
   * then SCRAM-SHA-256-PLUS is relayed and binds end to end.
   */
  private canChannelBindingCross(backend: PgBackendConnection): boolean {
    const own = this.services.tls?.certificate;
    const peer = backend.peerCertificate;
    return this.isTls && own !== undefined && peer !== null && Buffer.from(own).equals(peer);
  }

  /** During authentication the client only answers the server's challenges ('p') or gives up ('X'). */
  private onAuthMessage(frame: Frame): void {
    if (frame.type === Frontend.Password) {
      if (this.channelBindingFilter?.hasHidden === true) this.checkSaslInitialResponse(frame);
      this.backend!.write(frame.raw);
      return;
    }
    if (frame.type === Frontend.Terminate) {
      this.close();
      return;
    }
    throw new ProxyError('PROTOCOL_VIOLATION', `expected password response, got message type ${frame.type}`, { fatal: true });
  }

  /**
   * The first 'p' after a SASL offer whose -PLUS the proxy hid. A client on
   * TLS that could bind says so ('y': "I can, the server cannot"); a server on
   * TLS takes that for a downgrade attack and refuses with a message about
   * itself. libpq sends 'y' for channel_binding=prefer (its default): say
   * what to change instead.
   */
  private checkSaslInitialResponse(frame: Frame): void {
    this.channelBindingFilter!.hasHidden = false; // only the first 'p' after the offer is a SASLInitialResponse
    const initial = readSaslInitialResponse(frame.body);
    if (initial === null || initial.gs2Flag !== 'y') return;
    throw new ProxyError(
      'PROTOCOL_VIOLATION',
      'SCRAM channel binding cannot cross tqdbproxy: it ends the client\'s TLS, so the client would bind to the proxy\'s certificate and the server to its own. ' +
        "Connect with channel_binding=disable, or give [postgres] tls_cert_file and tls_key_file the server's own certificate and key (channel binding then works end to end)",
      { fatal: true },
    );
  }

  /**
   * The client's SSLRequest was accepted ('S' sent): upgrade its socket in
   * place. The client waits for 'S' before its ClientHello, so nothing is
   * buffered here (that was refused above) and no initial data is handed over.
   */
  private startClientTls(options: TLSOptions): void {
    this.isTls = true; // before the upgrade: the raw socket's handler must already ignore ciphertext
    const tls = upgradeToTls(this.socket, { isServer: true, tls: options, handlers: CLIENT_TLS_HANDLERS, data: this });
    tls.setNoDelay(true); // the TLS socket does not inherit it: without it, replies wait for delayed ACKs
    this.socket = tls;
    this.out = this.outQueueFor(tls);
    this.framer.expectStartup();
  }

  /**
   * PostgreSQL 17's direct TLS (libpq sslnegotiation=direct): the client
   * opens with a ClientHello instead of an SSLRequest. A startup-phase message
   * cannot begin with 0x16 (its length would be over 369 MB), so the first
   * byte tells them apart. True when the socket was upgraded; `chunk` is then
   * the first of the TLS stream.
   */
  startDirectTls(chunk: Uint8Array): boolean {
    const tls = this.services.tls;
    const isFirst = !this.hasSeenData;
    this.hasSeenData = true;
    if (tls === null || !isFirst || chunk[0] !== TLS_HANDSHAKE_RECORD) return false;
    this.isDirectTls = true;
    this.isTls = true; // before the upgrade: the raw socket's handler must already ignore ciphertext
    const initialData = Uint8Array.from(chunk); // owned: the chunk is borrowed, the TLS layer reads it later
    const socket = upgradeToTls(this.socket, { isServer: true, tls: tls.options, handlers: CLIENT_TLS_HANDLERS, data: this, initialData });
    socket.setNoDelay(true);
    this.socket = socket;
    this.out = this.outQueueFor(socket);
    return true;
  }

  /** The client's TLS handshake finished; a client certificate was checked by Bun when tls_ca_file is set. */
  onClientTlsHandshake(isOk: boolean, error: Error | null, alpn: string | false | null): void {
    if (this.isDirectTls && isOk && alpn !== 'postgresql') {
      // As PostgreSQL 17: without ALPN a direct TLS client could be speaking another protocol to us.
      this.services.onClientTlsRefused('handshake');
      this.services.log.info('client TLS handshake refused', { client: this.id, error: 'direct TLS connection without ALPN "postgresql"' });
      this.close();
      return;
    }
    if (isOk && error === null) return;
    if (isOk && !this.services.tls?.requiresClientCert) return; // no client certificate asked for: its absence is fine
    this.services.onClientTlsRefused('handshake');
    this.services.log.info('client TLS handshake refused', { client: this.id, error: error?.message ?? 'handshake failed' });
    this.close();
  }

  // ---- messages after startup ----------------------------------------------

  private onMessage(frame: Frame): void {
    const backend = this.backend;
    if (backend === null || !backend.isOpen) throw new ProxyError('BACKEND_LOST', 'lost connection to backend; reconnect', { fatal: true });
    if (this.unnamedReplay !== null && !this.hasUnsynced) this.settleUnnamedReplay(frame);
    switch (frame.type) {
      case Frontend.Query:
        this.onQuery(frame);
        return;
      case Frontend.Parse: {
        const { name, sql, paramTypes } = readParse(frame.body);
        const statement = parseStatement(sql, 'postgres');
        this.services.inspectHints(statement);
        // owned: kept for the statement's life (cache keys, batched pipelines)
        this.statements.set(name, { statement, paramTypes: latin1(paramTypes), paramTypeBytes: Uint8Array.from(paramTypes), isConfirmed: false });
        const group = this.openGroup(frame);
        group.shape += 'P';
        group.parseRaw = frame.raw;
        group.parsedNames.push(name);
        group.statement = statement;
        this.noteStatus(group, statement, 'P');
        group.paramTypes = latin1(paramTypes);
        group.paramTypeBytes = this.statements.get(name)!.paramTypeBytes;
        this.forward(frame, null);
        return;
      }
      case Frontend.Bind: {
        const bind = readBind(frame.body);
        const prepared = this.statements.get(bind.statement);
        this.portals.set(bind.portal, prepared?.statement ?? null);
        const group = this.openGroup(frame);
        group.shape += 'B';
        this.noteStatus(group, prepared?.statement ?? null, 'B');
        if (bind.portal !== '' || prepared === undefined || (!prepared.isConfirmed && !group.parsedNames.includes(bind.statement))) group.isCacheable = false;
        else {
          group.statement = prepared.statement;
          group.paramTypes = prepared.paramTypes;
          group.paramTypeBytes = prepared.paramTypeBytes;
          group.bindTail = bind.parameters;
        }
        this.forward(frame, null);
        return;
      }
      case Frontend.Execute: {
        const execute = readExecute(frame.body);
        const statement = this.portals.get(execute.portal);
        if (statement) this.executed.push(statement);
        const group = this.openGroup(frame);
        group.shape += 'E';
        this.noteStatus(group, statement ?? null, 'E');
        // A row limit ends in PortalSuspended and leaves the portal open: not one whole answer.
        if (execute.portal !== '' || execute.maxRows !== 0) group.isCacheable = false;
        this.forward(frame, null);
        return;
      }
      case Frontend.Describe: {
        const target = readTarget(frame.body);
        const group = this.openGroup(frame);
        group.shape += 'D';
        if (target.kind !== 0x50 || target.name !== '') group.isCacheable = false;
        const described = target.kind === 0x53 ? this.statements.get(target.name)?.statement : this.portals.get(target.name);
        this.noteStatus(group, described ?? null, target.kind === 0x53 ? 'S' : 'D');
        this.forward(frame, null);
        return;
      }
      case Frontend.Close: {
        const target = readTarget(frame.body);
        if (target.kind === 0x53) this.statements.delete(target.name);
        else this.portals.delete(target.name);
        const closing = this.openGroup(frame);
        closing.isCacheable = false;
        closing.isStatusOnly = false;
        this.forward(frame, null);
        return;
      }
      case Frontend.Flush:
        // The client wants answers before its Sync: they cannot come from one cached response.
        const flushed = this.openGroup(frame);
        flushed.isCacheable = false;
        flushed.isStatusOnly = false;
        this.forward(frame, null);
        return;
      case Frontend.Sync:
        this.onSync(frame);
        return;
      case Frontend.FunctionCall:
        this.forward(frame, new RelaySegment(this, [], performance.now(), null));
        return;
      case Frontend.CopyData:
      case Frontend.CopyDone:
      case Frontend.CopyFail:
        // Part of a COPY FROM STDIN the server is already answering.
        this.forward(frame, null);
        return;
      case Frontend.Terminate:
        this.flushRun();
        this.isAuthenticated = false; // the Terminate below is the goodbye
        backend.write(frame.raw);
        this.close();
        return;
      default:
        throw new ProxyError('PROTOCOL_VIOLATION', `invalid frontend message type ${frame.type}`, { fatal: true });
    }
  }

  /** The extended-protocol group the frame belongs to, opened by its first message after a Sync. */
  private openGroup(frame: Frame): ExtendedGroup {
    if (!this.hasUnsynced) {
      this.hasUnsynced = true;
      this.syncStartedAt = performance.now();
      const g = this.group;
      g.shape = '';
      g.isCacheable = true;
      g.statement = null;
      g.paramTypes = '';
      g.paramTypeBytes = NO_PARAM_TYPES;
      g.bindTail = EMPTY_BIND_TAIL;
      g.parseRaw = null;
      g.parsedNames = [];
      g.isStatusOnly = true;
      g.statusShape = '';
      g.statusStatement = null;
      // Only a group whose messages all wait unsent in one run can be answered instead of sent.
      g.firstRaw = this.runFirst === null ? frame.raw : null;
    }
    return this.group;
  }

  private onSync(frame: Frame): void {
    const startedAt = this.hasUnsynced ? this.syncStartedAt : performance.now();
    const executed = this.executed;
    this.executed = [];
    const group = this.group;
    const hadGroup = this.hasUnsynced;
    this.hasUnsynced = false;
    // The unnamed portal does not survive the end of the implicit transaction.
    this.portals.delete('');
    const parsedNames = hadGroup ? group.parsedNames : [];
    const statement = group.statement;
    const engine = this.services.engine;
    if (hadGroup && group.isStatusOnly && group.firstRaw !== null && this.runFirst === group.firstRaw) {
      if (this.backend!.pendingResponses > 0) {
        // Its answer must follow every answer still owed: read the whole group again then.
        this.runFirst = null;
        this.framer.rewindTo(group.firstRaw);
        this.isWaitingForIdle = true;
        return;
      }
      this.runFirst = null; // answered here: none of it goes to the server
      this.answerStatusGroup(group.statusShape, group.statusStatement!, startedAt);
      return;
    }
    if (
      hadGroup &&
      group.isCacheable &&
      statement !== null &&
      ((engine.cache !== null && statement.isCacheable()) || (engine.hasBatcher && statement.isWritable())) &&
      /^P?BD?E$/.test(group.shape) &&
      group.firstRaw !== null &&
      this.runFirst === group.firstRaw &&
      this.backend!.pendingResponses === 0
    ) {
      const plan = this.engine.plan(
        { statement, encoding: `extended:${group.shape}:${group.paramTypes}`, parameters: latin1(group.bindTail), canAnswerHere: true, canBatch: true },
        this.session,
      );
      if (plan.kind !== 'forward') {
        this.carryOutExtended(plan, frame, statement, startedAt, parsedNames);
        return;
      }
    } else if (hadGroup && statement !== null && engine.hasBatcher && statement.isWritable()) {
      // Not batched as sent: the engine counts why (owed answers, or a form the pipeline cannot carry).
      const canCarry = group.isCacheable && /^P?BD?E$/.test(group.shape);
      this.engine.plan({ statement, encoding: '', parameters: '', canAnswerHere: false, canBatch: false, batchBlocker: canCarry ? 'pipelined' : 'not_batchable' }, this.session);
    }
    this.forward(frame, new RelaySegment(this, executed, startedAt, null, parsedNames));
    this.engine.forwarded(this.primary);
  }

  /** Keeps `isStatusOnly` true while every statement the group names is SHOW TQDB STATUS. */
  private noteStatus(group: ExtendedGroup, statement: Statement | null, letter: string): void {
    if (statement === null || statement.kind !== 'show' || !isStatusCommand(statement.cacheText())) {
      group.isStatusOnly = false;
      return;
    }
    group.statusShape += letter;
    group.statusStatement = statement;
  }

  /**
   * SHOW TQDB STATUS sent with the extended protocol (drivers that prepare
   * everything): the answer each message of the group asks for, then
   * ReadyForQuery. The statement never reaches the server, so a later Bind
   * of its name is answered here too (its group is status-only again).
   */
  private answerStatusGroup(shape: string, statement: Statement, startedAt: number): void {
    const plan = this.engine.plan({ statement, encoding: 'extended', parameters: '', canAnswerHere: true, canBatch: false }, this.session);
    const rows = plan.kind === 'status' ? plan.rows : [];
    const w = this.writer.reset();
    for (const letter of shape) {
      switch (letter) {
        case 'P':
          w.begin(Backend.ParseComplete).end();
          break;
        case 'B':
          w.begin(Backend.BindComplete).end();
          break;
        case 'S':
          w.begin(Backend.ParameterDescription).i16(0).end();
          writeRowDescription(w, STATUS_COLUMNS);
          break;
        case 'D':
          writeRowDescription(w, STATUS_COLUMNS);
          break;
        case 'E':
          writeDataRows(w, rows);
          w.begin(Backend.CommandComplete).cstr('SHOW').end();
          break;
      }
    }
    writeReadyForQuery(w, this.txStatus);
    this.out.write(w.finish());
    this.services.observeQuery(statement, false, (performance.now() - startedAt) / 1000);
  }

  /** Cache plans for a Parse/Bind/Describe/Execute/Sync group that waits unsent in the current run. */
  private carryOutExtended(plan: Plan, sync: Frame, statement: Statement, startedAt: number, parsedNames: string[]): void {
    const backend = this.backend!;
    const groupStart = this.runFirst!;
    const groupRaw = new Uint8Array(groupStart.buffer, groupStart.byteOffset, sync.raw.byteOffset + sync.raw.length - groupStart.byteOffset);
    const parseRaw = this.group.parseRaw;
    switch (plan.kind) {
      case 'cache-hit':
        this.runFirst = null; // answered here: the group is not sent as it is
        this.out.write(plan.bytes);
        this.services.observeQuery(statement, true, (performance.now() - startedAt) / 1000);
        if (plan.refresh !== null) {
          backend.expect(new RefreshSegment(this, plan.refresh));
          backend.write(groupRaw);
        } else if (parseRaw !== null) {
          this.replayParse(parseRaw, false);
        }
        this.confirmParsed(parsedNames);
        return;
      case 'lead':
        this.engine.forwarded(plan.target);
        this.forward(sync, new RelaySegment(this, [statement], startedAt, plan.capture, parsedNames));
        return;
      case 'wait': {
        this.runFirst = null;
        const owned = Uint8Array.from(groupRaw); // owned: the frames are borrowed, they may be sent later
        const ownedParse = parseRaw === null ? null : owned.subarray(parseRaw.byteOffset - groupStart.byteOffset, parseRaw.byteOffset - groupStart.byteOffset + parseRaw.length);
        this.isWaitingOnCore = true;
        void plan.result.then((entry) => {
          this.isWaitingOnCore = false;
          if (!this.isOpen) return;
          if (this.backend === null || !this.backend.isOpen) {
            this.sendError(errorResponseFor('BACKEND_LOST', 'lost connection to backend'));
            this.close();
            return;
          }
          if (entry !== null) {
            this.engine.answeredFromWait();
            this.out.write(entry.bytes);
            this.services.observeQuery(statement, true, (performance.now() - startedAt) / 1000);
            if (ownedParse !== null) this.replayParse(ownedParse, true);
            this.confirmParsed(parsedNames);
          } else {
            this.engine.forwarded(this.primary);
            this.backend.expect(new RelaySegment(this, [statement], startedAt, null, parsedNames));
            this.backend.write(owned);
          }
          this.pump();
        });
        return;
      }
      case 'batch': {
        this.runFirst = null; // the batch runs the statement; the group is not sent as it is
        const group = this.group;
        const original = Uint8Array.from(groupRaw); // owned: the write runs later, maybe alone
        this.enqueueWrite({
          key: plan.key,
          site: this.services.batchSite(statement),
          maxWaitMs: plan.maxWaitMs,
          bytes: groupRaw.length,
          enqueuedAtMs: startedAt,
          state: 'queued',
          client: this,
          statement,
          original,
          sql: statement.sql,
          paramTypes: group.paramTypeBytes,
          bindTail: Uint8Array.from(group.bindTail), // owned: borrowed from the frame
          shape: group.shape,
          parsedNames,
          parseRaw: parseRaw === null ? null : original.subarray(parseRaw.byteOffset - groupStart.byteOffset, parseRaw.byteOffset - groupStart.byteOffset + parseRaw.length),
        });
        return;
      }
      case 'status':
      case 'forward':
        // Not planned for a cacheable SELECT or a write of this shape.
        throw new ProxyError('INTERNAL', `unexpected ${plan.kind} plan for an extended-protocol group`, { fatal: true });
    }
  }

  /**
   * A cached or batched answer replaced a group that began with Parse: the
   * statement the client now believes in must exist at its own server
   * session too. A named one is parsed there now. The unnamed one is kept
   * back (`unnamedReplay`): most drivers send a fresh unnamed Parse with
   * every query, which replaces it, so it is sent only when the next group
   * could use it. `isOwned`: `parseRaw` is the proxy's copy, not a frame's view.
   */
  private replayParse(parseRaw: Uint8Array, isOwned: boolean): void {
    if (parseRaw[5] === 0) {
      this.unnamedReplay = isOwned ? parseRaw : Uint8Array.from(parseRaw); // owned: sent later, if at all
      return;
    }
    this.sendParse(parseRaw);
  }

  /** Parses a statement at the server ahead of the client's next messages; its answer is not the client's. */
  private sendParse(parseRaw: Uint8Array): void {
    this.backend!.expect(new DiscardSegment(this));
    this.backend!.write(parseRaw);
    this.backend!.write(SYNC);
  }

  /**
   * The first message of a group decides a kept-back unnamed Parse: an
   * unnamed Parse replaces the statement and a Query destroys it (as at the
   * server), so it is dropped unsent; any other message may use it, so it is
   * sent first. Messages that name no statement leave it waiting.
   */
  private settleUnnamedReplay(frame: Frame): void {
    const type = frame.type;
    if (type === Frontend.Sync || type === Frontend.FunctionCall || type === Frontend.CopyData || type === Frontend.CopyDone || type === Frontend.CopyFail || type === Frontend.Terminate) return;
    const replay = this.unnamedReplay!;
    this.unnamedReplay = null;
    if (type === Frontend.Query || (type === Frontend.Parse && frame.body[0] === 0)) return;
    this.flushRun();
    this.sendParse(replay);
  }

  /** Statements parsed in a group whose answer ended without error exist at the server. */
  confirmParsed(names: readonly string[]): void {
    for (const name of names) {
      const entry = this.statements.get(name);
      if (entry !== undefined) entry.isConfirmed = true;
    }
  }

  /** Sends a client message on (in one write with its neighbours); `sink` receives the response it ends with. */
  private forward(frame: Frame, sink: ResponseSink | null): void {
    const raw = frame.raw;
    const run = this.runFirst;
    if (run !== null && (run.buffer !== raw.buffer || this.runEnd !== raw.byteOffset)) this.flushRun();
    if (this.runFirst === null) this.runFirst = raw;
    this.runEnd = raw.byteOffset + raw.length;
    if (sink !== null) this.backend!.expect(sink);
  }

  private flushRun(): void {
    const first = this.runFirst;
    if (first === null) return;
    this.runFirst = null;
    this.backend?.write(new Uint8Array(first.buffer, first.byteOffset, this.runEnd - first.byteOffset));
  }

  private onQuery(frame: Frame): void {
    const startedAt = performance.now();
    const statement = parseStatement(readQuery(frame.body), 'postgres');
    this.services.inspectHints(statement);
    const mayAnswerHere = (statement.kind === 'show' && isStatusCommand(statement.cacheText())) || (this.services.engine.cache !== null && statement.isCacheable());
    if (mayAnswerHere && !this.isBackendCaughtUp) {
      // Its answer may come from the proxy, after every answer still owed: read it again then.
      this.framer.rewind(frame);
      this.isWaitingForIdle = true;
      return;
    }
    const canBatch = this.services.engine.hasBatcher && statement.isWritable() && this.isBackendCaughtUp;
    const plan = this.engine.plan({ statement, encoding: 'simple', parameters: '', canAnswerHere: mayAnswerHere, canBatch, batchBlocker: 'pipelined' }, this.session);
    this.carryOut(plan, frame, statement, startedAt);
  }

  private get isBackendCaughtUp(): boolean {
    return this.runFirst === null && !this.hasUnsynced && this.backend !== null && this.backend.pendingResponses === 0;
  }

  private carryOut(plan: Plan, frame: Frame, statement: Statement, startedAt: number): void {
    switch (plan.kind) {
      case 'status': {
        const w = this.writer.reset();
        writeTextResultSet(w, STATUS_COLUMNS, plan.rows, 'SHOW');
        writeReadyForQuery(w, this.txStatus);
        this.out.write(w.finish());
        this.services.observeQuery(statement, false, (performance.now() - startedAt) / 1000);
        return;
      }
      case 'cache-hit':
        this.out.write(plan.bytes);
        this.services.observeQuery(statement, true, (performance.now() - startedAt) / 1000);
        if (plan.refresh !== null) {
          this.backend!.expect(new RefreshSegment(this, plan.refresh));
          this.backend!.write(frame.raw);
        }
        return;
      case 'wait': {
        const raw = Uint8Array.from(frame.raw); // owned: the frame is borrowed, it may be sent later
        this.isWaitingOnCore = true;
        void plan.result.then((entry) => {
          this.isWaitingOnCore = false;
          if (!this.isOpen) return;
          if (entry !== null) {
            this.engine.answeredFromWait();
            this.out.write(entry.bytes);
            this.services.observeQuery(statement, true, (performance.now() - startedAt) / 1000);
          } else if (this.backend !== null && this.backend.isOpen) {
            this.engine.forwarded(this.primary);
            this.backend.expect(new RelaySegment(this, [statement], startedAt, null));
            this.backend.write(raw);
          } else {
            this.sendError(errorResponseFor('BACKEND_LOST', 'lost connection to backend'));
            this.close();
            return;
          }
          this.pump();
        });
        return;
      }
      case 'lead':
        this.engine.forwarded(plan.target);
        this.forward(frame, new RelaySegment(this, [statement], startedAt, plan.capture));
        return;
      case 'batch':
        this.enqueueWrite({
          key: plan.key,
          site: this.services.batchSite(statement),
          maxWaitMs: plan.maxWaitMs,
          bytes: frame.raw.length,
          enqueuedAtMs: startedAt,
          state: 'queued',
          client: this,
          statement,
          original: Uint8Array.from(frame.raw), // owned: the write runs later, maybe alone
          sql: statement.sql,
          paramTypes: NO_PARAM_TYPES,
          bindTail: EMPTY_BIND_TAIL,
          shape: 'Q',
          parsedNames: [],
          parseRaw: null,
        });
        return;
      case 'forward':
        this.engine.forwarded(plan.target);
        this.forward(frame, new RelaySegment(this, [statement], startedAt, null));
        return;
    }
  }

  /** The last ReadyForQuery status from the server: the proxy's own ReadyForQuery repeats it. */
  private txStatus: number = TxStatus.Idle;

  // ---- write batching ----------------------------------------------------

  private enqueueWrite(write: PgWrite): void {
    this.waitingWrite = write;
    this.isWaitingOnCore = true;
    this.services.enqueueWrite!(write);
  }

  /** Takes the write back if it is still this client's; false when it was settled or cancelled already. */
  private takeWrite(write: PgWrite): boolean {
    if (this.waitingWrite !== write) return false;
    this.waitingWrite = null;
    this.isWaitingOnCore = false;
    return this.isOpen;
  }

  lendBackend(): PgBackendConnection | null {
    const backend = this.backend;
    if (!this.isOpen || this.isLending || backend === null || !backend.isOpen || !this.isBackendCaughtUp || this.phase !== 'ready') return null;
    this.isLending = true;
    return backend;
  }

  returnBackend(): void {
    this.isLending = false;
    if (this.phase === 'closed') this.backend?.close();
    else this.afterResponse();
  }

  deliverBatched(write: PgWrite, answer: Uint8Array, batchSize: number): void {
    if (!this.takeWrite(write)) return;
    this.out.write(answer);
    this.engine.answeredByBatch(batchSize);
    this.services.observeQuery(write.statement, false, (performance.now() - write.enqueuedAtMs) / 1000);
    this.afterBatchedParse(write);
    this.pump();
  }

  runDirect(write: PgWrite, isBatchOfOne: boolean): Promise<void> {
    if (!this.takeWrite(write)) return Promise.resolve();
    const backend = this.backend;
    if (backend === null || !backend.isOpen) {
      this.sendError(errorResponseFor('BACKEND_LOST', 'lost connection to backend'));
      this.close();
      return Promise.resolve();
    }
    if (isBatchOfOne) this.engine.answeredByBatch(1);
    else this.engine.forwarded(this.primary);
    return new Promise((resolve) => {
      backend.expect(new RelaySegment(this, [write.statement], write.enqueuedAtMs, null, write.parsedNames, resolve));
      backend.write(write.original);
    });
  }

  failBatched(write: PgWrite, error: ProxyError): void {
    if (!this.takeWrite(write)) return;
    this.services.log.warn('batched write failed', { client: this.id, code: error.code, error: error.message });
    const w = this.writer.reset();
    writeErrorResponse(w, { ...errorResponseFor(error.code, error.message), severity: 'ERROR' });
    writeReadyForQuery(w, this.txStatus);
    this.out.write(w.finish());
    this.afterBatchedParse(write);
    this.pump();
  }

  /** A batched group that began with Parse: the statement is made on this client's own connection too. */
  private afterBatchedParse(write: PgWrite): void {
    if (write.parseRaw === null || this.backend === null || !this.backend.isOpen) return;
    this.replayParse(write.parseRaw, true);
    this.confirmParsed(write.parsedNames);
  }

  // ---- the backend's answers ------------------------------------------------

  relayToClient(buf: Uint8Array, start: number, end: number): void {
    this.out.write(buf, start, end);
  }

  onResponseEnd(txStatus: number, statements: readonly Statement[], isOk: boolean, commands: number, startedAt: number): void {
    this.applyTxStatus(txStatus);
    const seconds = (performance.now() - startedAt) / 1000;
    for (const statement of statements) {
      this.engine.afterResponse(this.session, statement, { isOk, statementsRun: commands });
      this.services.observeQuery(statement, false, seconds);
    }
    this.afterResponse();
  }

  onRefreshEnd(txStatus: number): void {
    this.applyTxStatus(txStatus);
    this.afterResponse();
  }

  private afterResponse(): void {
    if (this.isWaitingForIdle && this.backend !== null && this.backend.pendingResponses === 0) {
      this.isWaitingForIdle = false;
      this.pump();
    }
  }

  private applyTxStatus(txStatus: number): void {
    this.txStatus = txStatus;
    this.session.isServerInTransaction = txStatus !== TxStatus.Idle;
  }

  onResponseLost(error: ProxyError): void {
    this.reportLostBackend(error);
  }

  onAuthentication(code: number): void {
    if (code === AuthCode.Ok) this.isAuthenticated = true;
  }

  onBackendKeyData(body: Uint8Array): void {
    const key = readBackendKeyData(body);
    if (this.cancelKey !== null) this.services.cancelKeys.unregister(this.cancelKey.processId, this.cancelKey.secretKey, this);
    this.cancelKey = key;
    // The client gets the backend's own key (relayed as is); the proxy maps it to that backend's address.
    this.services.cancelKeys.register(key.processId, key.secretKey, this.backend!.address, this.services.config.groups.get(this.session.group)!.tls, this);
  }

  onParameterStatus(body: Uint8Array): void {
    const { name, value } = readParameterStatus(body);
    if (name === 'client_encoding') this.session.charset = value;
  }

  noteServerError(body: Uint8Array): void {
    this.hasServerFatal = readErrorFields(body).severity === 'FATAL' || this.hasServerFatal;
  }

  onStartupEnd(txStatus: number): void {
    this.deadline.clear();
    this.channelBindingFilter = null;
    this.ticket.authenticated();
    this.applyTxStatus(txStatus);
    this.enter('ready');
    this.services.log.debug('client authenticated', { client: this.id, user: this.session.user });
    this.pump();
  }

  // ---- BackendOwner ----------------------------------------------------

  onUnsolicitedMessage(type: number, body: Uint8Array | null): void {
    if (type === Backend.ParameterStatus) this.onParameterStatus(body!);
    else if (type === Backend.ErrorResponse) this.noteServerError(body!);
  }

  onUnsolicitedBytes(buf: Uint8Array, start: number, end: number): void {
    // NotificationResponse while idle, or the server's FATAL before it closes: the client would have seen them directly too.
    this.out.write(buf, start, end);
  }

  onBackendClosed(error: ProxyError | null): void {
    if (error !== null) this.reportLostBackend(error);
    else this.close();
  }

  onBackendBackpressure(isFull: boolean): void {
    if (isFull) pauseReading(this.socket as Socket<unknown>);
    else if (!this.isClientPaused) resumeReading(this.socket as Socket<unknown>);
  }

  /** The backend went away: tell the client why (unless the server already did, or a message is half-relayed), then close. */
  private reportLostBackend(error: ProxyError): void {
    if (!this.isOpen) return;
    const backend = this.backend;
    this.services.onBackendError(this.phase === 'connecting' ? 'connect' : 'lost');
    this.services.log.info('backend closed', { client: this.id, error: error.message });
    if (!this.hasServerFatal && (backend === null || backend.isAtMessageBoundary)) {
      const code = this.services.isShuttingDown ? 'SHUTTING_DOWN' : error.code === 'BACKEND_UNAVAILABLE' ? 'BACKEND_UNAVAILABLE' : 'BACKEND_LOST';
      this.sendError(errorResponseFor(code, error.message));
    }
    this.close();
  }

  // ---- answers the proxy writes itself ---------------------------------

  private sendError(e: ErrorResponse): void {
    const w = this.writer.reset();
    writeErrorResponse(w, e);
    this.out.write(w.finish());
  }

  /** Top-level error handling: a ProxyError goes to the client; anything else is a bug, logged and hidden. */
  private fail(error: unknown): void {
    if (!this.isOpen) return;
    const atBoundary = this.backend === null || this.backend.isAtMessageBoundary;
    if (isProxyError(error)) {
      this.services.log.warn('client error', { client: this.id, code: error.code, error: error.message });
      if (atBoundary) this.sendError(errorResponseFor(error.code, error.message));
      if (error.fatal) this.close();
      return;
    }
    this.services.log.error('internal error', { client: this.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    if (atBoundary) this.sendError(errorResponseFor('INTERNAL', `internal proxy error (connection ${this.id}); see the proxy log`));
    this.close();
  }
}

interface PreparedStatement {
  statement: Statement;
  /** Parse's parameter types (latin1 of the wire bytes): part of the cache key. */
  paramTypes: string;
  paramTypeBytes: Uint8Array;
  /** The server answered its Parse without error: a Bind to it alone cannot fail for want of it. */
  isConfirmed: boolean;
}

/** What the cache needs to know about the extended-protocol messages since the last Sync. */
interface ExtendedGroup {
  /** Message letters in order: P(arse), B(ind), D(escribe portal), E(xecute). */
  shape: string;
  /** False once a message makes the answer more than one statement's whole result. */
  isCacheable: boolean;
  statement: Statement | null;
  paramTypes: string;
  /** Bind's parameter formats, values and result formats (borrowed: valid while the group waits unsent in the run). */
  bindTail: Uint8Array;
  paramTypeBytes: Uint8Array;
  /** The group's Parse frame (borrowed: valid while the group waits unsent in the run). */
  parseRaw: Uint8Array | null;
  /** The group's first frame, when the run of unsent messages starts with it. */
  firstRaw: Uint8Array | null;
  parsedNames: string[];
  /** Every statement the group names is SHOW TQDB STATUS: the proxy answers the group itself. */
  isStatusOnly: boolean;
  /** The answer the status group needs, message by message: P, B, S (describe statement), D (describe portal), E, C (close). */
  statusShape: string;
  statusStatement: Statement | null;
}


/** The first byte of a TLS record carrying a handshake message (a ClientHello here). */
const TLS_HANDSHAKE_RECORD = 0x16;

const CLIENT_TLS_HANDLERS = clientTlsHandlers<PgClientConnection>();

/** Sync, built once. */
const SYNC: Uint8Array = Uint8Array.of(Frontend.Sync, 0, 0, 0, 4);

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Terminate, built once. */
const TERMINATE: Uint8Array = Uint8Array.of(Frontend.Terminate, 0, 0, 0, 4);
