// The socket side of a server-facing connection, shared by both protocols: connecting, writing
// through an OutQueue, counted pauses, and swapping in the TLS socket after an upgrade. What
// the bytes mean (framing, responses, the TLS negotiation itself) is the subclass's.
import type { Socket, TLSOptions } from 'bun';
import type { Address } from '../config/types.ts';
import { connectTo } from './connect-failure.ts';
import { OutQueue } from './out-queue.ts';
import { pauseReading, resumeReading } from './socket.ts';
import { backendSocketHandlers, type BackendSocketOwner } from './socket-handlers.ts';
import { upgradeToTls } from './tls.ts';

const HANDLERS = backendSocketHandlers<BackendSocketOwner>();

export abstract class BackendLink implements BackendSocketOwner {
  readonly address: Address;
  out: OutQueue | null = null;
  protected socket: Socket<this> | null = null;
  protected isClosed = false;
  private pausedBy = 0;
  /** True once the socket was upgraded to TLS; the raw socket's data is ciphertext from then on. */
  isTls = false;

  constructor(address: Address) {
    this.address = address;
  }

  get isOpen(): boolean {
    return !this.isClosed && this.socket !== null;
  }

  abstract onData(chunk: Uint8Array): void;
  abstract onClose(error: Error | null): void;
  abstract onTlsHandshake(socket: Socket<this>, isOk: boolean, error: Error | null): void;
  /** The server's socket cannot take more bytes (true) or drained (false). */
  protected abstract onBackpressure(isFull: boolean): void;

  /** Connects; a failure (named by `connectFailure`) marks the link closed and is thrown. */
  async connect(): Promise<void> {
    let socket: Socket<this>;
    try {
      socket = (await connectTo(this.address, HANDLERS.plain, this as BackendSocketOwner)) as Socket<this>;
    } catch (error) {
      this.isClosed = true;
      throw error;
    }
    if (this.isClosed) {
      socket.end();
      return;
    }
    this.socket = socket;
    this.out = this.queueFor(socket);
  }

  /** An OutQueue on `socket` that reports backpressure to this link. */
  protected queueFor(socket: Socket<this>): OutQueue {
    return new OutQueue(socket as Socket<unknown>, (isFull) => this.onBackpressure(isFull));
  }

  /** Writes raw bytes to the server. Returns false when the connection is gone. */
  write(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    return this.out !== null && this.out.write(bytes, start, end);
  }

  /** Stop reading from the server (the client cannot take more). Counted: each pause needs its resume. */
  pause(): void {
    if (this.pausedBy++ === 0 && this.socket) pauseReading(this.socket as Socket<unknown>);
  }

  resume(): void {
    if (this.pausedBy > 0 && --this.pausedBy === 0 && this.socket) resumeReading(this.socket as Socket<unknown>);
  }

  /**
   * Upgrades the connected socket to TLS as a client and writes through the
   * TLS socket from now on; `onTlsHandshake` hears how the handshake went.
   */
  protected upgradeSocket(socket: Socket<this>, options: TLSOptions): void {
    this.isTls = true; // before the upgrade: the raw socket's handler must already ignore ciphertext
    const tls = upgradeToTls(socket as Socket<BackendSocketOwner>, { isServer: false, tls: options, handlers: HANDLERS.tls, data: this }) as Socket<this>;
    // The TLS socket does not inherit TCP_NODELAY: without it, small commands wait for delayed ACKs.
    if (this.address.kind === 'tcp') tls.setNoDelay(true);
    this.socket = tls;
    this.out = this.queueFor(tls);
  }
}
