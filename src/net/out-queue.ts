import type { Socket } from 'bun';

/**
 * Writes to a Bun socket without losing bytes. `socket.write()` is
 * unbuffered: it returns how many bytes the kernel took. The rest is kept
 * here (copied: the caller's view is borrowed) and flushed on `drain`.
 * While anything is pending, `onBackpressure(true)` lets the owner pause
 * whatever produces the bytes; `onBackpressure(false)` resumes it.
 */
export class OutQueue {
  private readonly socket: Socket<unknown>;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private isClosed = false;
  private readonly onBackpressure: (isFull: boolean) => void;

  constructor(socket: Socket<unknown>, onBackpressure: (isFull: boolean) => void) {
    this.socket = socket;
    this.onBackpressure = onBackpressure;
  }

  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  get isBlocked(): boolean {
    return this.pendingBytes > 0;
  }

  /** Writes bytes[start..end). Returns false when the socket is closed. */
  write(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    if (this.isClosed) return false;
    if (start >= end) return true;
    if (this.pendingBytes > 0) {
      this.keep(bytes, start, end);
      return true;
    }
    const written = this.socket.write(bytes, start, end - start);
    if (written < 0) {
      this.isClosed = true;
      return false;
    }
    if (written < end - start) {
      this.keep(bytes, start + written, end);
      this.onBackpressure(true);
    }
    return true;
  }

  private keep(bytes: Uint8Array, start: number, end: number): void {
    const copy = bytes.slice(start, end); // owned: the caller's view is borrowed
    this.pending.push(copy);
    this.pendingBytes += copy.length;
  }

  /** Call from the socket's `drain` handler. */
  drain(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const written = this.socket.write(head);
      if (written < 0) {
        this.isClosed = true;
        this.pending = [];
        this.pendingBytes = 0;
        return;
      }
      this.pendingBytes -= written;
      if (written < head.length) {
        this.pending[0] = head.subarray(written);
        return;
      }
      this.pending.shift();
    }
    this.onBackpressure(false);
  }

  /**
   * Takes over the bytes `previous` still holds, to send them first: used
   * when a connection switches its queue (to a compressed one) while the
   * socket is full. They are sent as they are: they were encoded for the
   * framing in force when they were written.
   */
  adoptPending(previous: OutQueue): void {
    this.pending = previous.pending.concat(this.pending);
    this.pendingBytes += previous.pendingBytes;
    previous.pending = [];
    previous.pendingBytes = 0;
  }

  close(): void {
    this.isClosed = true;
    this.pending = [];
    this.pendingBytes = 0;
  }
}
