// Knows where each command's response ends. https://mariadb.com/kb/en/result-set-packets/
import { ProxyError } from '../core/errors.ts';
import { Header, ServerStatus } from './wire/constants.ts';
import type { PacketSink } from './wire/framing.ts';
import { statusFlagsOf } from './wire/packets/ok.ts';

/** The shapes of server response a command can get. */
export type ResponseShape =
  | 'result' // COM_QUERY, COM_STMT_EXECUTE: OK | ERR | LOCAL INFILE | result sets, possibly several
  | 'fetch' // COM_STMT_FETCH: rows then EOF/OK, or ERR
  | 'prepare' // COM_STMT_PREPARE: OK + parameter and column definitions, or ERR
  | 'field-list' // COM_FIELD_LIST: column definitions then EOF, or ERR
  | 'single' // one packet: OK, ERR, EOF or a bare string (COM_STATISTICS)
  | 'auth'; // COM_CHANGE_USER and the connection handshake: until OK or ERR

type State =
  | 'first'
  | 'columns'
  | 'columns-eof'
  | 'rows'
  | 'infile'
  | 'prepare-params'
  | 'prepare-params-eof'
  | 'prepare-columns'
  | 'prepare-columns-eof'
  | 'done';

/** How the response ended, for the session and the callers. */
export type ResponseOutcome = 'ok' | 'err' | 'resultset' | 'other';

/**
 * A state machine over the logical packets of one response. It reads only
 * packet prefixes (see PacketScanner), so it never holds row data.
 */
export class ResponseTracker implements PacketSink {
  readonly shape: ResponseShape;
  private readonly isDeprecateEof: boolean;
  private readonly isExecute: boolean;
  private state: State = 'first';
  private remainingDefs = 0;
  private pendingColumns = 0;
  /** Status flags of the last OK/EOF seen; the session reads them at the end. */
  statusFlags = -1;
  outcome: ResponseOutcome = 'other';
  /** COM_STMT_PREPARE: the statement id and parameter count the server assigned. */
  preparedId = -1;
  preparedParams = 0;
  /** True while the client is expected to send packets as part of this exchange (LOCAL INFILE data, auth replies). */
  isAwaitingClient = false;
  /** Number of OK/ERR/result-set units seen (multi-statement responses have several). */
  results = 0;

  constructor(shape: ResponseShape, isDeprecateEof: boolean, isExecute = false) {
    this.shape = shape;
    this.isDeprecateEof = isDeprecateEof;
    this.isExecute = isExecute;
    if (shape === 'fetch') this.state = 'rows';
  }

  get isDone(): boolean {
    return this.state === 'done';
  }

  /** The client's empty packet ended the LOCAL INFILE data; the server's OK or ERR follows. */
  endInfile(): void {
    this.isAwaitingClient = false;
    this.state = 'first';
  }

  onPacket(buf: Uint8Array, pos: number, avail: number, payloadLength: number): boolean {
    const first = avail > 0 ? buf[pos]! : -1;
    switch (this.state) {
      case 'first':
        return this.onFirst(buf, pos, avail, payloadLength, first);
      case 'columns':
        if (--this.remainingDefs === 0) this.state = this.isDeprecateEof ? 'rows' : 'columns-eof';
        return false;
      case 'columns-eof': {
        if (first === Header.Err) return this.finish('err', -1);
        const status = statusFlagsOf(buf, pos, avail, payloadLength);
        this.statusFlags = status;
        // A cursor was opened: the rows come later with COM_STMT_FETCH.
        if (this.isExecute && status & ServerStatus.CursorExists) return this.finish('resultset', status);
        this.state = 'rows';
        return false;
      }
      case 'rows':
        if (first === Header.Err) return this.finish('err', -1);
        if (first === Header.Eof && payloadLength < 0xffffff && (this.isDeprecateEof || payloadLength < 9)) {
          return this.endOfResultSet(statusFlagsOf(buf, pos, avail, payloadLength));
        }
        return false;
      case 'prepare-params':
        if (--this.remainingDefs === 0) {
          if (!this.isDeprecateEof) this.state = 'prepare-params-eof';
          else return this.startPrepareColumns();
        }
        return false;
      case 'prepare-params-eof':
        return this.startPrepareColumns();
      case 'prepare-columns':
        if (--this.remainingDefs === 0) {
          if (!this.isDeprecateEof) this.state = 'prepare-columns-eof';
          else return this.finish('ok', this.statusFlags);
        }
        return false;
      case 'prepare-columns-eof':
        return this.finish('ok', this.statusFlags);
      case 'infile':
      case 'done':
        throw new ProxyError('PROTOCOL_VIOLATION', `backend sent a packet while ${this.state === 'done' ? 'idle' : 'awaiting LOCAL INFILE data'}`, { fatal: true });
    }
  }

  private onFirst(buf: Uint8Array, pos: number, avail: number, payloadLength: number, first: number): boolean {
    switch (this.shape) {
      case 'single':
        if (first === Header.Ok || (first === Header.Eof && payloadLength < 9)) return this.finish('ok', statusFlagsOf(buf, pos, avail, payloadLength));
        return this.finish(first === Header.Err ? 'err' : 'other', -1);
      case 'auth':
        if (first === Header.Ok) return this.finish('ok', statusFlagsOf(buf, pos, avail, payloadLength));
        if (first === Header.Err) return this.finish('err', -1);
        // AuthSwitchRequest or AuthMoreData: the client may answer; more server packets may follow.
        this.isAwaitingClient = true;
        return false;
      case 'field-list':
        if (first === Header.Err) return this.finish('err', -1);
        if (first === Header.Eof && payloadLength < 0xffffff) return this.finish('ok', statusFlagsOf(buf, pos, avail, payloadLength));
        return false;
      case 'prepare':
        if (first !== Header.Ok) return this.finish(first === Header.Err ? 'err' : 'other', -1);
        if (avail < 9) throw new ProxyError('PROTOCOL_VIOLATION', 'backend sent a short COM_STMT_PREPARE response', { fatal: true });
        this.preparedId = (buf[pos + 1]! | (buf[pos + 2]! << 8) | (buf[pos + 3]! << 16)) + buf[pos + 4]! * 0x1000000;
        this.pendingColumns = buf[pos + 5]! | (buf[pos + 6]! << 8);
        this.preparedParams = buf[pos + 7]! | (buf[pos + 8]! << 8);
        if (this.preparedParams > 0) {
          this.remainingDefs = this.preparedParams;
          this.state = 'prepare-params';
          return false;
        }
        return this.startPrepareColumns();
      case 'result':
      case 'fetch':
        break;
    }
    this.results++;
    if (first === Header.Ok) return this.endOfResult('ok', statusFlagsOf(buf, pos, avail, payloadLength));
    if (first === Header.Err) return this.finish('err', -1);
    if (first === Header.LocalInfile) {
      this.state = 'infile';
      this.isAwaitingClient = true;
      return false;
    }
    // A column count: a result set follows.
    this.remainingDefs = readLenencPrefix(buf, pos, avail);
    if (this.remainingDefs <= 0) throw new ProxyError('PROTOCOL_VIOLATION', 'backend sent a malformed result set header', { fatal: true });
    this.state = 'columns';
    return false;
  }

  private startPrepareColumns(): boolean {
    if (this.pendingColumns === 0) return this.finish('ok', this.statusFlags);
    this.remainingDefs = this.pendingColumns;
    this.state = 'prepare-columns';
    return false;
  }

  private endOfResultSet(status: number): boolean {
    return this.endOfResult('resultset', status);
  }

  private endOfResult(outcome: ResponseOutcome, status: number): boolean {
    if (status & ServerStatus.MoreResultsExists && this.shape === 'result') {
      this.statusFlags = status;
      this.outcome = outcome;
      this.state = 'first';
      return false;
    }
    return this.finish(outcome, status);
  }

  private finish(outcome: ResponseOutcome, status: number): boolean {
    // An ERR keeps whatever status an earlier result reported.
    if (status >= 0) this.statusFlags = status;
    this.outcome = outcome;
    this.state = 'done';
    this.isAwaitingClient = false;
    return true;
  }
}

function readLenencPrefix(buf: Uint8Array, pos: number, avail: number): number {
  const first = buf[pos]!;
  if (first < 0xfb) return first;
  if (first === 0xfc && avail >= 3) return buf[pos + 1]! | (buf[pos + 2]! << 8);
  if (first === 0xfd && avail >= 4) return buf[pos + 1]! | (buf[pos + 2]! << 8) | (buf[pos + 3]! << 16);
  return -1;
}
