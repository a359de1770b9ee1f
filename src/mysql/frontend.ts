// The client-facing side of one MariaDB connection: handshake relay, command
// dispatch and response relay. What to do with a statement (status, cache,
// batch, forward) is the session engine's plan; this file carries it out in
// MariaDB terms.
import type { Socket, TLSOptions } from 'bun';
import { STATUS_COLUMNS } from '../admin/status.ts';
import { ProxyError, isProxyError } from '../core/errors.ts';
import { SessionEngine, SessionState, type CacheCapture, type Plan, type Target } from '../core/session/index.ts';
import { parseStatement, type Statement } from '../core/sql/index.ts';
import { OutQueue } from '../net/out-queue.ts';
import { clientTlsHandlers } from '../net/socket-handlers.ts';
import { pauseReading, resumeReading } from '../net/socket.ts';
import { upgradeToTls } from '../net/tls.ts';
import { BackendConnection, type BackendOwner, type ResponseSink } from './backend.ts';
import { CaptureSink, type Captured } from './capture-sink.ts';
import { errPacketFor } from './errors.ts';
import { ResponseTracker, type ResponseShape } from './response-tracker.ts';
import type { MysqlServices } from './services.ts';
import { decodeSqlText } from './sql-text.ts';
import { boundTypesOf, queryPacket, rewriteExecute } from './batch-sql.ts';
import type { BatchClient, MysqlWrite } from './write-batcher.ts';
import { isLiteralSafeCharset } from './param-literals.ts';
import { Cap, CAPS_MASKED, Com, Header, MARIADB_CAPS_MASKED, ServerStatus } from './wire/constants.ts';
import { PacketFramer, type Frame } from './wire/framing.ts';
import { writeErr, type ErrPacket } from './wire/packets/err.ts';
import {
  maskHandshakeResponse,
  maskInitialHandshake,
  readChangeUser,
  readHandshakeResponse,
  readInitialHandshake,
  type InitialHandshake,
} from './wire/packets/handshake.ts';
import { writeTextResultSet } from './wire/packets/result-set.ts';
import { PacketWriter } from './wire/writer.ts';
import { SeqShifter, shiftedPacket } from './wire/seq-shift.ts';
import { CompressedPacketReader } from './wire/compression.ts';
import { CompressedOutQueue } from './compressed-out-queue.ts';
import { decodeUtf8 } from './wire/reader.ts';
import type { AdmissionTicket } from '../net/admission.ts';
import { Deadline } from '../net/deadline.ts';

export type FrontendPhase = 'connecting' | 'handshake' | 'auth' | 'command' | 'tunnel' | 'closing' | 'closed';

/** Pipelined client bytes buffered while a command runs before the client is paused. */
const MAX_PIPELINED_BYTES = 1024 * 1024;

/**
 * Largest packet a client may send before it has logged in. A HandshakeResponse
 * with connection attributes and an auth switch reply are a few hundred bytes;
 * 16 KiB leaves room for Kerberos tokens while keeping what a client that
 * never logs in can make the proxy hold small.
 */
export const MAX_PREAUTH_PACKET_BYTES = 16 * 1024;
/** Bytes a client may have buffered before login (e.g. sent before the greeting): a packet and its header. */
const MAX_PREAUTH_BUFFERED_BYTES = MAX_PREAUTH_PACKET_BYTES + 4;

/** What a command in flight needs when its response ends. */
interface CommandInFlight {
  command: number;
  statement: Statement | null;
  startedAt: number;
  /** COM_INIT_DB / COM_CHANGE_USER: what the session becomes on success. */
  database?: string | null;
  changeUser?: { user: string; database: string | null; charset: number | null };
  /** COM_STMT_PREPARE: the statement being prepared, and its text as sent (owned copy). */
  prepared?: Statement;
  preparedBytes?: Uint8Array;
  /** True once any response byte reached the client (an ERR can no longer be injected cleanly). */
  hasRelayed: boolean;
  /** Called when the response has ended or was lost (a batch of one waits on it). */
  onDone?: () => void;
}

export interface PreparedStatementInfo {
  statement: Statement;
  /** The statement text as prepared (decoded), and as sent. */
  sqlText: string;
  sqlBytes: Uint8Array;
  paramCount: number;
  /** Parameter types from the last execute that sent them (owned copy). */
  boundTypes: Uint8Array | null;
  /**
   * The types this client's own backend statement has bound. They differ from
   * `boundTypes` when the execute that sent new types ran elsewhere (in a batch
   * on another member's connection, or answered from the cache): libmariadb
   * sends types only when they change, so the next execute that reaches our
   * backend must carry them itself.
   */
  backendTypes: Uint8Array | null;
  /** COM_STMT_SEND_LONG_DATA since the last execute: its data lives on this connection only. */
  hasLongData: boolean;
}

/** Responses the proxy asks for on its own behalf and does not relay. */
const DISCARD: ResponseSink = { onResponseBytes() {}, onResponseEnd() {}, onResponseLost() {} };

let nextClientId = 1;

export class ClientConnection implements ResponseSink, BackendOwner, BatchClient {
  readonly id = nextClientId++;
  phase: FrontendPhase = 'connecting';
  /** The session as the core sees it; its transaction and autocommit state copied from the server's status flags. */
  readonly session: SessionState;
  /** Plans each COM_QUERY and COM_STMT_EXECUTE; owns this connection's SHOW TQDB STATUS record. */
  private readonly engine: SessionEngine;
  /** Where forwarded statements go: the primary of the session's group. */
  private readonly primary: Target;
  /** The client's capabilities as the server sees them (the proxy's mask applied). */
  private clientCapabilities = 0;
  /** The server's status flags from the last response that carried them. */
  private statusFlags: number = ServerStatus.Autocommit;
  private socket: Socket<ClientConnection>;
  /** Replaced (empty) when the socket is upgraded to TLS. */
  private out: OutQueue;
  private readonly framer: PacketFramer;
  private readonly services: MysqlServices;
  private readonly writer = new PacketWriter();
  private backend: BackendConnection | null = null;
  /** The backend's greeting as sent to the client (capabilities masked). */
  handshake: InitialHandshake | null = null;
  private mariaDbCapabilities = 0;
  /** The response being relayed to this client, if any. */
  private current: ResponseTracker | null = null;
  private inFlight: CommandInFlight | null = null;
  /** True while the core works on a command asynchronously (cache, batch): later packets wait. */
  private isWaitingOnCore = false;
  private isClientPaused = false;
  readonly prepared = new Map<number, PreparedStatementInfo>();
  /** A write of this client queued or running in a batch. */
  private waitingWrite: MysqlWrite | null = null;
  /** When the waiting write's command arrived (the batch manager restamps `enqueuedAtMs` on its own clock). */
  private writeStartedAt = 0;
  /** True while a batch runs on this client's backend connection. */
  private isLending = false;
  /**
   * The LAST_INSERT_ID() this session has and its backend session does not:
   * a batch ran its INSERT on another connection, or ran other members'
   * INSERTs on this one. Sent as `DO LAST_INSERT_ID(n)` before the next statement.
   */
  private owedInsertId: number | null = null;
  /** Set while this client's relayed response is also being captured for the cache (single-flight leader). */
  private capture: CacheCapture | null = null;
  /** True once the client's socket was upgraded to TLS; the raw socket's data is ciphertext from then on. */
  isTls = false;
  /**
   * Client-link sequence id minus server-link sequence id during the login
   * exchange: each link where an SSLRequest was sent is one ahead.
   */
  private authSeqShift = 0;
  /** Shifts the server's login packets towards the client while authSeqShift is not 0. */
  private authShifter: SeqShifter | null = null;
  /** The server's own greeting offered CLIENT_SSL. */
  private isBackendTlsOffered = false;
  /** Set while the server link's TLS handshake runs, between the client's HandshakeResponse and its relay. */
  private isAwaitingBackendTls = false;
  /** Sequence id of an ERR the proxy sends in answer to the client's HandshakeResponse. */
  private authErrorSeq = 2;
  /** Set once the client link is compressed: the read side, inflating what the client sends. */
  private inflater: CompressedPacketReader | null = null;
  /** Backend connect + greeting, then login: a client never waits on either without bound. */
  private readonly deadline = new Deadline();
  private readonly ticket: AdmissionTicket;

  constructor(socket: Socket<ClientConnection>, services: MysqlServices, ticket: AdmissionTicket) {
    this.socket = socket;
    this.services = services;
    this.ticket = ticket;
    this.session = new SessionState('mariadb', services.config.defaultGroup);
    this.engine = new SessionEngine(services.engine);
    this.primary = { kind: 'primary', group: this.session.group };
    this.framer = new PacketFramer(Math.min(MAX_PREAUTH_PACKET_BYTES, services.config.maxPacketSize));
    this.framer.limitName = 'the limit for packets before login';
    this.out = new OutQueue(socket as Socket<unknown>, (isFull) => {
      if (isFull) this.backend?.pause();
      else this.backend?.resume();
    });
  }

  // ---- lifecycle -------------------------------------------------------

  start(): void {
    this.services.onClientOpen(this);
    if (this.services.log.isDebug) this.services.log.debug('client connected', { client: this.id, address: this.remoteAddress });
    const config = this.services.config;
    const group = config.groups.get(this.session.group)!;
    const backend = new BackendConnection(group.primary, this);
    this.backend = backend;
    backend.expect(new ResponseTracker('single', false), new CaptureSink((result) => this.onGreeting(result)));
    this.deadline.arm(config.backendConnectTimeoutMs, () => {
      this.refuseBeforeGreeting(
        new ProxyError('BACKEND_UNAVAILABLE', `cannot connect to backend ${group.primary.text}: no greeting within ${config.backendConnectTimeoutMs} ms (backend_connect_timeout_ms)`),
      );
    });
    backend.connect().catch((error: unknown) => {
      this.refuseBeforeGreeting(isProxyError(error) ? error : new ProxyError('BACKEND_UNAVAILABLE', String(error)));
    });
  }

  /** The backend never greeted: one ERR in the pre-handshake form, then close. */
  private refuseBeforeGreeting(error: ProxyError): void {
    if (this.phase !== 'connecting') return;
    this.services.onBackendError('connect');
    this.services.log.warn('backend unavailable', { client: this.id, code: error.code, error: error.message });
    this.sendError(0, errPacketFor(error.code, error.message));
    this.close();
  }

  private get remoteAddress(): string {
    return (this.socket as { remoteAddress?: string }).remoteAddress ?? 'unix';
  }

  private onGreeting(result: Captured): void {
    if (!result.ok) return; // onBackendClosed reports it
    if (this.phase !== 'connecting') return;
    this.deadline.arm(this.services.config.handshakeTimeoutMs, () => this.onHandshakeTimeout());
    const bytes = result.bytes;
    if (bytes[4] === Header.Err) {
      // The server refused us before the handshake (too many connections, host blocked): relay verbatim.
      this.out.write(bytes);
      this.close();
      return;
    }
    try {
      const { packet, handshake } = maskInitialHandshake(bytes, this.services.tls !== null ? Cap.Ssl : 0);
      this.handshake = handshake;
      // The greeting as the server sent it says whether the server link can have TLS.
      this.isBackendTlsOffered = (readInitialHandshake(bytes.subarray(4)).capabilities & Cap.Ssl) !== 0;
      this.out.write(packet);
      this.enter('handshake');
      this.pump();
    } catch (error) {
      this.fail(error);
    }
  }

  private enter(phase: FrontendPhase): void {
    if (this.services.log.isDebug) this.services.log.debug('client phase', { client: this.id, from: this.phase, to: phase });
    this.phase = phase;
  }

  /** Like mariadbd at connect_timeout: a client still logging in is dropped without a word. */
  private onHandshakeTimeout(): void {
    if (!this.isOpen || this.phase === 'command') return;
    this.services.log.info('client did not log in in time, closing', { client: this.id, phase: this.phase, timeout_ms: this.services.config.handshakeTimeoutMs });
    this.close();
  }

  /** Closes the client and its backend. Idempotent. */
  close(): void {
    if (this.phase === 'closed') return;
    const wasOpen = this.phase !== 'closing';
    if (this.services.log.isDebug) this.services.log.debug('client closed', { client: this.id, address: this.remoteAddress, phase: this.phase });
    this.phase = 'closed';
    this.deadline.clear();
    this.ticket.release();
    this.services.onClientClose(this, wasOpen);
    if (this.waitingWrite !== null) this.services.cancelWrite?.(this.waitingWrite);
    // A batch running on our backend connection finishes first; returnBackend closes it.
    if (!this.isLending) this.backend?.close();
    this.out.close();
    this.socket.end();
  }

  /** Stop after the current command: used by graceful shutdown. */
  get isIdle(): boolean {
    return this.inFlight === null && !this.isWaitingOnCore;
  }

  // ---- client side -----------------------------------------------------

  onRawData(chunk: Uint8Array): void {
    // After a TLS upgrade the raw socket still sees the ciphertext; the TLS socket delivers the plaintext.
    if (this.isTls) return;
    this.onClientData(chunk);
  }

  onClientData(chunk: Uint8Array): void {
    if (this.inflater === null) {
      this.onPlainClientData(chunk);
      return;
    }
    let pieces: Uint8Array[];
    try {
      pieces = this.inflater.push(chunk);
    } catch (error) {
      this.fail(error);
      return;
    }
    for (const piece of pieces) this.onPlainClientData(piece);
  }

  /** Client bytes of the ordinary (uncompressed) packet stream. */
  private onPlainClientData(chunk: Uint8Array): void {
    if (this.phase === 'tunnel') {
      this.backend?.write(chunk);
      return;
    }
    if (this.phase === 'closed' || this.phase === 'closing') return;
    try {
      this.framer.push(chunk);
      if (this.phase !== 'command' && this.framer.buffered > MAX_PREAUTH_BUFFERED_BYTES) {
        // Before login nothing legitimate is this big; a client pushing more is not logging in.
        throw new ProxyError('PACKET_TOO_LARGE', `more than ${MAX_PREAUTH_PACKET_BYTES} bytes sent before login`, { fatal: true });
      }
      this.pump();
    } catch (error) {
      this.fail(error);
    }
  }

  onClientDrain(): void {
    this.out.drain();
  }

  /** Processes buffered client packets as far as the current state allows. */
  private pump(): void {
    for (;;) {
      if (this.phase === 'closed' || this.phase === 'closing' || this.phase === 'connecting') return;
      if (this.current !== null || this.isWaitingOnCore) {
        if (this.current === null || !this.current.isAwaitingClient) break;
        const frame = this.framer.next();
        if (frame === null) break;
        if (this.authShifter !== null && this.inFlight?.command === -1) this.backend!.write(shiftedPacket(frame.raw, -this.authSeqShift));
        else this.backend!.writeContinuation(frame.raw);
        // An empty packet ends LOCAL INFILE data; auth replies are single packets.
        if (this.current.shape === 'result' && frame.payload.length === 0) this.current.endInfile();
        continue;
      }
      const frame = this.framer.next();
      if (frame === null) break;
      if (this.phase === 'handshake') this.onHandshakeResponse(frame);
      else this.dispatch(frame);
    }
    this.applyClientBackpressure();
  }

  private applyClientBackpressure(): void {
    // Only pipelined bytes count: an idle connection must keep reading to complete a large packet.
    const isBusy = this.current !== null || this.isWaitingOnCore;
    const shouldPause = isBusy && this.framer.buffered > MAX_PIPELINED_BYTES;
    if (shouldPause !== this.isClientPaused) {
      this.isClientPaused = shouldPause;
      if (shouldPause) pauseReading(this.socket as Socket<unknown>);
      else resumeReading(this.socket as Socket<unknown>);
    }
  }

  private onHandshakeResponse(frame: Frame): void {
    const response = readHandshakeResponse(frame.payload);
    const tls = this.services.tls;
    if (response.isSslRequest) {
      if (tls === null || this.isTls) {
        throw new ProxyError('PROTOCOL_VIOLATION', 'TLS is not offered by this proxy (no tls_cert_file); connect without SSL', { fatal: true });
      }
      this.startClientTls(tls.options);
      return;
    }
    if (tls !== null && tls.mode === 'require' && !this.isTls) {
      this.services.onClientTlsRefused('plaintext');
      throw new ProxyError('TLS_REQUIRED', 'Connections without TLS are refused by this proxy (tls_mode = require); connect with SSL', { fatal: true });
    }
    const s = this.session;
    s.user = response.user;
    s.database = response.database;
    s.charset = String(response.charset);
    this.clientCapabilities = (response.capabilities & ~CAPS_MASKED) >>> 0;
    this.mariaDbCapabilities = response.mariaDbCapabilities & ~MARIADB_CAPS_MASKED;
    this.enter('auth');
    this.authErrorSeq = (frame.seq + 1) & 0xff;
    const backendTls = this.services.config.groups.get(s.group)!.tls;
    const isBackendTls = backendTls.mode !== 'disable' && this.isBackendTlsOffered;
    const packet = maskHandshakeResponse(frame.raw, isBackendTls ? Cap.Ssl : 0);
    if (backendTls.mode === 'disable') {
      this.relayHandshakeResponse(packet);
      return;
    }
    // The server wants the SSLRequest to carry the capabilities of the HandshakeResponse that
    // follows it, so the server link goes TLS only now. Later client packets wait in the framer.
    const owned = packet === frame.raw ? Uint8Array.from(packet) : packet; // owned: relayed after the TLS handshake
    this.isWaitingOnCore = true;
    this.isAwaitingBackendTls = true;
    this.backend!.startTls(this.isBackendTlsOffered, owned, backendTls).then(
      (isTls) => {
        this.isAwaitingBackendTls = false;
        this.isWaitingOnCore = false;
        if (!this.isOpen) return;
        if (isTls) this.authSeqShift -= 1;
        this.relayHandshakeResponse(owned);
        this.pump();
      },
      (error: unknown) => {
        this.isAwaitingBackendTls = false;
        this.isWaitingOnCore = false;
        if (!this.isOpen) return; // onBackendClosed told the client
        this.onBackendTlsFailed(isProxyError(error) ? error : new ProxyError('BACKEND_UNAVAILABLE', String(error)));
      },
    );
  }

  private relayHandshakeResponse(packet: Uint8Array): void {
    if (this.authSeqShift !== 0) {
      packet = shiftedPacket(packet, -this.authSeqShift);
      this.authShifter = new SeqShifter(this.authSeqShift);
    }
    this.relay(packet, 'auth', { command: -1, statement: null, startedAt: 0, hasRelayed: false });
  }

  private onBackendTlsFailed(error: ProxyError): void {
    this.services.onBackendError('connect');
    this.services.log.warn('backend TLS failed', { client: this.id, error: error.message });
    this.sendError(this.authErrorSeq, errPacketFor('BACKEND_UNAVAILABLE', error.message));
    this.close();
  }

  /**
   * The client sent an SSLRequest: upgrade its socket in place. Whatever it
   * sent after the SSLRequest (its ClientHello, often in the same chunk) is
   * already in the framer and goes to the TLS layer as initial data.
   */
  private startClientTls(options: TLSOptions): void {
    const rest = this.framer.takeRest();
    const initialData = rest.length > 0 ? Uint8Array.from(rest) : undefined; // owned: the framer's view is reused
    this.isTls = true; // before the upgrade: the raw socket's handler must already ignore ciphertext
    this.authSeqShift += 1;
    const tls = upgradeToTls(this.socket, { isServer: true, tls: options, handlers: CLIENT_TLS_HANDLERS, data: this, initialData });
    tls.setNoDelay(true); // the TLS socket does not inherit it: without it, replies wait for delayed ACKs
    this.socket = tls;
    this.out = new OutQueue(tls as Socket<unknown>, (isFull) => {
      if (isFull) this.backend?.pause();
      else this.backend?.resume();
    });
  }

  /**
   * The client asked for CLIENT_COMPRESS and the login succeeded: from the
   * next byte on, both links are compressed (the server saw the same flag).
   */
  private enableCompression(): void {
    const inflater = new CompressedPacketReader(this.services.config.maxPacketSize);
    this.inflater = inflater;
    const out = new CompressedOutQueue(this.socket as Socket<unknown>, (isFull) => {
      if (isFull) this.backend?.pause();
      else this.backend?.resume();
    }, inflater, false);
    out.adoptPending(this.out); // the login's OK, if the socket was full: it goes first, uncompressed
    this.out = out;
    this.backend?.enableCompression(this.services.config.maxPacketSize);
  }

  /** The client's TLS handshake finished; a client certificate was checked by Bun when tls_ca_file is set. */
  onClientTlsHandshake(isOk: boolean, error: Error | null): void {
    if (isOk && error === null) return;
    if (isOk && !this.services.tls?.requiresClientCert) return; // no client certificate asked for: its absence is fine
    this.services.onClientTlsRefused('handshake');
    this.services.log.info('client TLS handshake refused', { client: this.id, error: error?.message ?? 'handshake failed' });
    this.close();
  }

  // ---- commands --------------------------------------------------------

  private dispatch(frame: Frame): void {
    const payload = frame.payload;
    if (payload.length === 0) throw new ProxyError('PROTOCOL_VIOLATION', 'empty command packet', { fatal: true });
    if (this.backend === null || !this.backend.isOpen) {
      // As a direct connection to a gone server: the socket closes, the client library reports 2013.
      this.close();
      return;
    }
    const command = payload[0]!;
    const startedAt = performance.now();
    const inFlight: CommandInFlight = { command, statement: null, startedAt, hasRelayed: false };
    switch (command) {
      case Com.Query: {
        const sqlText = decodeSqlText(payload, 1);
        const statement = parseStatement(sqlText, 'mysql', this.parseOptions);
        inFlight.statement = statement;
        this.services.inspectHints(statement);
        // Commands run one at a time on this link, so an answer of the proxy's own is always in its place.
        const encoding = this.isDeprecateEof ? 'text+deof' : 'text';
        this.carryOut(this.engine.plan({ statement, encoding, parameters: '', canAnswerHere: true, canBatch: true }, this.session), frame, inFlight, sqlText, null);
        return;
      }
      case Com.StmtExecute: {
        const info = this.prepared.get(readU32(payload, 1));
        if (info === undefined) {
          this.engine.forwarded(this.primary);
          this.relay(frame.raw, 'result', inFlight, true);
          return;
        }
        const statement = info.statement;
        inFlight.statement = statement;
        info.boundTypes = boundTypesOf(payload, info.paramCount) ?? info.boundTypes;
        const hadLongData = info.hasLongData;
        info.hasLongData = false;
        // A cursor (flags not 0) or long data ties the execution to this connection: neither cached nor batched.
        const isPlain = payload[5] === 0;
        // The bound values are a key part only for a statement that may be cached: built only then.
        const parameters = isPlain && statement.isCacheable() ? executeParameters(payload, info.paramCount, info.boundTypes) : '';
        const encoding = this.isDeprecateEof ? 'binary+deof' : 'binary';
        const plan = this.engine.plan({ statement, encoding, parameters, canAnswerHere: isPlain, canBatch: isPlain && !hadLongData }, this.session);
        this.carryOut(plan, frame, inFlight, info.sqlText, info);
        return;
      }
      case Com.StmtPrepare:
        inFlight.prepared = parseStatement(decodeSqlText(payload, 1), 'mysql', this.parseOptions);
        this.services.inspectHints(inFlight.prepared);
        inFlight.preparedBytes = payload.slice(1); // owned: kept for the statement's life
        this.relay(frame.raw, 'prepare', inFlight);
        return;
      case Com.StmtFetch:
        this.relay(frame.raw, 'fetch', inFlight);
        return;
      case Com.StmtClose:
        this.prepared.delete(readU32(payload, 1));
        this.backend.write(frame.raw);
        return;
      case Com.StmtSendLongData: {
        const info = this.prepared.get(readU32(payload, 1));
        if (info !== undefined) info.hasLongData = true;
        this.backend.write(frame.raw);
        return;
      }
      case Com.Quit:
        this.backend.write(frame.raw);
        this.close();
        return;
      case Com.InitDb:
        inFlight.database = decodeUtf8(payload.subarray(1));
        this.relay(frame.raw, 'single', inFlight);
        return;
      case Com.ChangeUser:
        inFlight.changeUser = readChangeUser(payload, this.clientCapabilities);
        this.owedInsertId = null;
        this.relay(frame.raw, 'auth', inFlight);
        return;
      case Com.FieldList:
        this.relay(frame.raw, 'field-list', inFlight);
        return;
      case Com.ProcessInfo:
        this.relay(frame.raw, 'result', inFlight);
        return;
      case Com.StmtBulkExecute: {
        // Already a batch: relayed as it came, never split or joined. Its response is shaped like an
        // execute's (one aggregate OK, a result set for RETURNING or unit results, or ERR).
        const info = this.prepared.get(readU32(payload, 1));
        // It binds types in its own layout; a later execute that omits types must not be read with stale ones.
        if (info !== undefined) info.boundTypes = null;
        this.relay(frame.raw, 'result', inFlight);
        return;
      }
      case Com.BinlogDump:
      case Com.BinlogDumpGtid:
      case Com.TableDump:
        // Replication streams never end in a response boundary: become a plain byte tunnel.
        if (this.inflater !== null) {
          // The tunnel relays raw chunks; re-framing a compressed stream packet by packet is not built.
          throw new ProxyError('UNSUPPORTED_COMMAND', 'Replication over a compressed connection is not supported by this proxy; connect without compression', { fatal: true });
        }
        this.services.log.info('client switched to tunnel mode', { client: this.id, command });
        this.enter('tunnel');
        this.backend.setOwner(this);
        this.backend.write(frame.raw);
        this.backend.write(this.framer.takeRest());
        return;
      default:
        // COM_PING, COM_STATISTICS, COM_RESET_CONNECTION, COM_SET_OPTION, COM_PROCESS_KILL,
        // COM_STMT_RESET, COM_REFRESH, COM_DEBUG, ... and anything unknown: one response packet.
        if (command === Com.ResetConnection) this.owedInsertId = null;
        this.relay(frame.raw, 'single', inFlight);
    }
  }

  /** How the server reads string literals in this session (its status flags say). */
  private get parseOptions(): { noBackslashEscapes: boolean } {
    return { noBackslashEscapes: (this.statusFlags & ServerStatus.NoBackslashEscapes) !== 0 };
  }

  private get isDeprecateEof(): boolean {
    return (this.clientCapabilities & Cap.DeprecateEof) !== 0;
  }

  /** Sends a command to the backend and relays its response to this client. */
  private relay(raw: Uint8Array, shape: ResponseShape, inFlight: CommandInFlight, isExecute = false): void {
    const backend = this.backend!;
    if (this.owedInsertId !== null && (inFlight.command === Com.Query || inFlight.command === Com.StmtExecute)) {
      // Give the backend session this session's LAST_INSERT_ID() first, in the same write.
      backend.expect(new ResponseTracker('result', this.isDeprecateEof), DISCARD);
      backend.write(queryPacket(`DO LAST_INSERT_ID(${this.owedInsertId})`));
      this.owedInsertId = null;
    }
    const tracker = new ResponseTracker(shape, this.isDeprecateEof, isExecute);
    if (shape === 'auth' && inFlight.command === -1) tracker.isAwaitingClient = false;
    this.current = tracker;
    this.inFlight = inFlight;
    backend.expect(tracker, this);
    backend.write(isExecute ? this.ownExecutePacket(raw) : raw);
  }

  /**
   * A COM_STMT_EXECUTE of this client as it must reach this client's own
   * backend: as sent, unless the backend's statement lacks the bound types
   * the execute relies on (see `backendTypes`), which it then carries.
   */
  ownExecutePacket(packet: Uint8Array): Uint8Array {
    const payload = packet.subarray(4);
    const id = readU32(payload, 1);
    const info = this.prepared.get(id);
    if (info === undefined || info.paramCount === 0 || info.boundTypes === null) return packet;
    const flagAt = 10 + ((info.paramCount + 7) >> 3);
    if (payload[flagAt] === 1) {
      // Dispatch took `boundTypes` from this very packet.
      info.backendTypes = info.boundTypes;
      return packet;
    }
    if (info.backendTypes === info.boundTypes) return packet;
    const rewritten = rewriteExecute(payload, id, info.paramCount, info.boundTypes);
    if (rewritten === null) return packet;
    rewritten[3] = packet[3]!;
    info.backendTypes = info.boundTypes;
    return rewritten;
  }

  // ---- carrying out the engine's plan ------------------------------------

  /**
   * Carries out the session engine's plan for a COM_QUERY (`prepared` null)
   * or a COM_STMT_EXECUTE of `prepared`, whose text is `sqlText`.
   */
  private carryOut(plan: Plan, frame: Frame, inFlight: CommandInFlight, sqlText: string, prepared: PreparedStatementInfo | null): void {
    const isExecute = prepared !== null;
    switch (plan.kind) {
      case 'status':
        if (!isExecute) {
          this.answerStatus(frame.seq, inFlight, plan.rows);
          return;
        }
        // Not reached: the server refuses to prepare SHOW TQDB STATUS. Its rows are text, not an execute's answer.
        this.engine.forwarded(this.primary);
        this.relay(frame.raw, 'result', inFlight, true);
        return;
      case 'cache-hit':
        this.out.write(plan.bytes);
        this.observe(inFlight, true);
        if (plan.refresh !== null) this.refresh(Uint8Array.from(frame.raw), plan.refresh, isExecute); // owned: sent after this returns
        return;
      case 'wait': {
        const raw = Uint8Array.from(frame.raw); // owned: the frame is borrowed, we may relay it later
        this.isWaitingOnCore = true;
        void plan.result.then((entry) => {
          this.isWaitingOnCore = false;
          if (!this.isOpen) return;
          if (entry !== null) {
            this.engine.answeredFromWait();
            this.out.write(entry.bytes);
            this.observe(inFlight, true);
          } else {
            this.engine.forwarded(this.primary);
            this.relay(raw, 'result', inFlight, isExecute);
          }
          this.pump();
        });
        return;
      }
      case 'lead':
        this.engine.forwarded(plan.target);
        this.capture = plan.capture; // relayed as usual, captured on the way
        this.relay(frame.raw, 'result', inFlight, isExecute);
        return;
      case 'batch':
        this.enqueueWrite(plan.key, plan.maxWaitMs, frame, inFlight, sqlText, prepared);
        return;
      case 'forward':
        this.engine.forwarded(plan.target);
        this.relay(frame.raw, 'result', inFlight, isExecute);
        return;
    }
  }

  private observe(inFlight: CommandInFlight, isCached: boolean): void {
    this.services.observeQuery(inFlight.statement, isCached, (performance.now() - inFlight.startedAt) / 1000);
  }

  /** Refreshes a stale entry on this client's connection; its next command waits until the refresh is done. */
  private refresh(raw: Uint8Array, capture: CacheCapture, isExecute: boolean): void {
    const backend = this.backend;
    if (backend === null || !backend.isOpen) {
      capture.abort();
      return;
    }
    this.isWaitingOnCore = true;
    const sink: ResponseSink = {
      onResponseBytes: (buf, start, end) => capture.append(buf, start, end),
      onResponseEnd: (tracker) => {
        capture.finish(tracker.outcome !== 'err');
        this.isWaitingOnCore = false;
        this.pump();
      },
      onResponseLost: () => {
        capture.abort();
        this.isWaitingOnCore = false;
      },
    };
    backend.expect(new ResponseTracker('result', this.isDeprecateEof, isExecute), sink);
    backend.write(isExecute ? this.ownExecutePacket(raw) : raw);
  }

  /** Hands a write the engine chose to batch to the protocol's batcher; later packets wait for its answer. */
  private enqueueWrite(key: string, maxWaitMs: number | null, frame: Frame, inFlight: CommandInFlight, sqlText: string, prepared: PreparedStatementInfo | null): void {
    const statement = inFlight.statement!;
    const charset = this.session.charset;
    const write: MysqlWrite = {
      key,
      site: this.services.batchSite(statement),
      maxWaitMs,
      bytes: frame.raw.length,
      enqueuedAtMs: inFlight.startedAt,
      state: 'queued',
      client: this,
      statement,
      packet: Uint8Array.from(frame.raw), // owned: the frame is borrowed, the batch runs later
      sqlText,
      prepared:
        prepared === null ? null : { statementId: readU32(frame.payload, 1), paramCount: prepared.paramCount, boundTypes: prepared.boundTypes, sqlBytes: prepared.sqlBytes },
      // Only a prepared write's parameters are ever rendered as literals.
      isLiteralSafe: prepared !== null && /^\d+$/.test(charset) && isLiteralSafeCharset(Number(charset)),
      hasBackslashEscapes: (this.statusFlags & ServerStatus.NoBackslashEscapes) === 0,
      statusFlags: this.statusFlags,
      isDeprecateEof: this.isDeprecateEof,
      isInsert: statement.kind === 'insert' || statement.kind === 'replace',
      database: this.session.database,
    };
    this.waitingWrite = write;
    this.isWaitingOnCore = true;
    this.writeStartedAt = inFlight.startedAt;
    this.services.enqueueWrite!(write);
  }

  get isOpen(): boolean {
    return this.phase !== 'closed' && this.phase !== 'closing';
  }

  get pendingInsertId(): number | null {
    return this.owedInsertId;
  }

  lendBackend(): BackendConnection | null {
    const backend = this.backend;
    if (!this.isOpen || this.isLending || backend === null || !backend.isOpen || !backend.isIdle || this.current !== null) return null;
    this.isLending = true;
    return backend;
  }

  returnBackend(): void {
    this.isLending = false;
    if (this.phase === 'closed') this.backend?.close();
  }

  deliverBatched(write: MysqlWrite, packet: Uint8Array, batchSize: number, insertId: number | null = null): void {
    if (this.waitingWrite !== write) return;
    this.waitingWrite = null;
    this.isWaitingOnCore = false;
    if (!this.isOpen) return;
    // Before pump() reads the next command: that one must already see it.
    if (insertId !== null) this.owedInsertId = insertId;
    this.out.write(packet);
    this.engine.answeredByBatch(batchSize);
    this.services.observeQuery(write.statement, false, (performance.now() - this.writeStartedAt) / 1000);
    this.pump();
  }

  runDirect(write: MysqlWrite, isBatchOfOne = false, insertId: number | null = null): Promise<void> {
    if (this.waitingWrite !== write) return Promise.resolve();
    this.waitingWrite = null;
    this.isWaitingOnCore = false;
    if (!this.isOpen) return Promise.resolve();
    if (this.backend === null || !this.backend.isOpen) {
      this.close(); // as direct: no ERR, the client library reports the lost connection
      return Promise.resolve();
    }
    if (insertId !== null) this.owedInsertId = insertId;
    if (isBatchOfOne) this.engine.answeredByBatch(1);
    else this.engine.forwarded(this.primary);
    const command = write.packet[4]!;
    return new Promise((resolve) => {
      const inFlight: CommandInFlight = { command, statement: write.statement, startedAt: this.writeStartedAt, hasRelayed: false, onDone: resolve };
      this.relay(write.packet, 'result', inFlight, command === Com.StmtExecute);
    });
  }

  // ---- ResponseSink: relaying the backend's answer -----------------------

  onResponseBytes(buf: Uint8Array, start: number, end: number): void {
    if (this.inFlight) this.inFlight.hasRelayed = true;
    if (this.authShifter !== null) {
      this.out.write(this.authShifter.shift(buf, start, end));
      return;
    }
    this.out.write(buf, start, end);
    this.capture?.append(buf, start, end);
  }

  onResponseEnd(tracker: ResponseTracker): void {
    const inFlight = this.inFlight;
    this.current = null;
    this.inFlight = null;
    if (this.capture !== null) {
      this.capture.finish(tracker.outcome !== 'err');
      this.capture = null;
    }
    if (inFlight === null) return;
    inFlight.onDone?.();
    this.applyStatus(tracker.statusFlags);
    if (inFlight.command === -1) {
      this.onAuthEnd(tracker);
    } else {
      this.afterCommand(inFlight, tracker);
    }
    if (this.phase === 'command' || this.phase === 'handshake') this.pump();
  }

  onResponseLost(error: ProxyError): void {
    this.capture?.abort();
    this.capture = null;
    const inFlight = this.inFlight;
    this.current = null;
    this.inFlight = null;
    inFlight?.onDone?.();
    this.services.onBackendError('lost');
    this.services.log.info('backend lost during a command, closing the client', { client: this.id, error: error.message });
    // No ERR of our own: a direct client sees the socket close and its library
    // reports 2013 "Lost connection"; an injected packet mid-response would be malformed.
    this.close();
  }

  private onAuthEnd(tracker: ResponseTracker): void {
    this.authShifter = null; // commands restart their sequence ids at 0 on both links
    if (tracker.outcome === 'ok' && (this.clientCapabilities & Cap.Compress) !== 0) this.enableCompression();
    if (tracker.outcome === 'ok') {
      this.deadline.clear();
      this.ticket.authenticated();
      this.framer.setMaxPayload(this.services.config.maxPacketSize);
      this.framer.limitName = 'max_packet_size';
      this.enter('command');
      this.services.log.debug('client authenticated', { client: this.id, user: this.session.user });
    } else {
      this.close();
    }
  }

  private afterCommand(inFlight: CommandInFlight, tracker: ResponseTracker): void {
    const s = this.session;
    const isOk = tracker.outcome !== 'err';
    switch (inFlight.command) {
      case Com.Query:
      case Com.StmtExecute: {
        const statement = inFlight.statement;
        // A prepared SET, CALL or CREATE TEMPORARY TABLE changes the session as its text form does.
        if (statement !== null) this.engine.afterResponse(this.session, statement, { isOk, statementsRun: tracker.results, hasBoundValues: inFlight.command === Com.StmtExecute });
        this.observe(inFlight, false);
        return;
      }
      case Com.StmtPrepare:
        if (tracker.outcome === 'ok' && inFlight.prepared) {
          this.prepared.set(tracker.preparedId, {
            statement: inFlight.prepared,
            sqlText: inFlight.prepared.sql,
            sqlBytes: inFlight.preparedBytes ?? new Uint8Array(0),
            paramCount: tracker.preparedParams,
            boundTypes: null,
            backendTypes: null,
            hasLongData: false,
          });
        }
        return;
      case Com.InitDb:
        if (isOk && inFlight.database !== undefined) s.database = inFlight.database;
        return;
      case Com.ChangeUser:
        this.prepared.clear();
        if (this.backend) this.backend.sessionEpoch++;
        if (tracker.outcome === 'ok' && inFlight.changeUser) {
          s.user = inFlight.changeUser.user;
          s.database = inFlight.changeUser.database;
          if (inFlight.changeUser.charset !== null) s.charset = String(inFlight.changeUser.charset);
          s.resetState();
        } else {
          // A failed COM_CHANGE_USER leaves the connection unauthenticated: the server closes it.
          this.close();
        }
        return;
      case Com.ResetConnection:
        if (isOk) {
          this.prepared.clear();
          if (this.backend) this.backend.sessionEpoch++;
          s.resetState();
        }
        return;
    }
  }

  /** Applies the status flags of a response's final OK or EOF packet (negative: it had none). */
  private applyStatus(statusFlags: number): void {
    if (statusFlags < 0) return;
    this.statusFlags = statusFlags;
    this.session.isServerInTransaction = (statusFlags & ServerStatus.InTrans) !== 0;
    this.session.isAutocommit = (statusFlags & ServerStatus.Autocommit) !== 0;
  }

  // ---- answers the proxy writes itself ---------------------------------

  private answerStatus(seq: number, inFlight: CommandInFlight, rows: string[][]): void {
    const w = this.writer.reset();
    writeTextResultSet(w, (seq + 1) & 0xff, STATUS_COLUMNS, rows, this.clientCapabilities, this.mariaDbCapabilities, this.statusFlags);
    this.out.write(w.finish());
    this.observe(inFlight, false);
  }

  /**
   * Writes an ERR packet with sequence id `seq`. Before the greeting reached
   * the client it is the pre-handshake form: sequence 0 and no SQLSTATE.
   */
  sendError(seq: number, err: ErrPacket): void {
    const isPreHandshake = this.handshake === null;
    const w = this.writer.reset().begin();
    writeErr(w, err, !isPreHandshake);
    w.end(isPreHandshake ? 0 : seq);
    this.out.write(w.finish());
  }

  /** Top-level error handling: a ProxyError goes to the client; anything else is a bug, logged and hidden. */
  private fail(error: unknown): void {
    if (isProxyError(error)) {
      this.services.log.warn('client error', { client: this.id, code: error.code, error: error.message });
      this.sendError(this.phase === 'handshake' ? 2 + (this.isTls ? 1 : 0) : 1, errPacketFor(error.code, error.message));
      if (error.fatal) this.close();
      return;
    }
    this.services.log.error('internal error', { client: this.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    this.sendError(1, errPacketFor('INTERNAL', `internal proxy error (connection ${this.id}); see the proxy log`));
    this.close();
  }

  // ---- BackendOwner ----------------------------------------------------

  onUnsolicited(buf: Uint8Array, start: number, end: number): void {
    // E.g. the server's ERR before it closes an idle connection: the client would have seen it directly too.
    this.out.write(buf, start, end);
  }

  onBackendClosed(error: ProxyError | null): void {
    if (error !== null) {
      this.services.log.info('backend closed', { client: this.id, error: error.message });
      if (this.phase === 'connecting') {
        this.refuseBeforeGreeting(error);
      } else if (this.isAwaitingBackendTls) {
        this.isAwaitingBackendTls = false;
        this.onBackendTlsFailed(error);
        return;
      }
    }
    if (this.inFlight === null) this.close();
  }

  onBackendBackpressure(isFull: boolean): void {
    if (isFull) pauseReading(this.socket as Socket<unknown>);
    else if (!this.isClientPaused) resumeReading(this.socket as Socket<unknown>);
  }
}

/** The bound parameters of a COM_STMT_EXECUTE as a key part: null bitmap, types and values. */
function executeParameters(payload: Uint8Array, paramCount: number, boundTypes: Uint8Array | null): string {
  if (paramCount === 0) return '';
  const bitmapEnd = 10 + ((paramCount + 7) >> 3);
  const hasTypes = payload[bitmapEnd] === 1;
  const valuesAt = bitmapEnd + 1 + (hasTypes ? 2 * paramCount : 0);
  const types = hasTypes ? payload.subarray(bitmapEnd + 1, valuesAt) : (boundTypes ?? new Uint8Array(0));
  const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  return `${latin1(payload.subarray(10, bitmapEnd))}\u0000${latin1(types)}\u0000${latin1(payload.subarray(valuesAt))}`;
}

function readU32(payload: Uint8Array, at: number): number {
  return (payload[at]! | (payload[at + 1]! << 8) | (payload[at + 2]! << 16)) + payload[at + 3]! * 0x1000000;
}

const CLIENT_TLS_HANDLERS = clientTlsHandlers<ClientConnection>();
