/**
 * The one carry buffer a stream framer keeps: bytes received but not yet
 * framed, between `readPos` and `writePos`. Appending compacts in place and
 * doubles the buffer only when the live bytes no longer fit, so framing
 * allocates nothing per chunk in the steady state. Protocol-blind: the
 * framers of both protocols (and the compressed-packet reader) extend it and
 * read their frames straight from `carry`.
 */
export class CarryBuffer {
  protected carry: Uint8Array;
  protected readPos = 0;
  protected writePos = 0;

  constructor(initialSize = 16 * 1024) {
    this.carry = new Uint8Array(initialSize);
  }

  /** Bytes received and not yet handed out. */
  get buffered(): number {
    return this.writePos - this.readPos;
  }

  /** Appends a chunk (copied: the caller's chunk is borrowed). */
  protected append(chunk: Uint8Array): void {
    if (this.readPos === this.writePos) {
      this.readPos = 0;
      this.writePos = 0;
    }
    if (this.writePos + chunk.length > this.carry.length) {
      const live = this.writePos - this.readPos;
      if (live + chunk.length <= this.carry.length && this.readPos > 0) {
        this.carry.copyWithin(0, this.readPos, this.writePos);
      } else {
        const next = new Uint8Array(Math.max(live + chunk.length, this.carry.length * 2));
        next.set(this.carry.subarray(this.readPos, this.writePos));
        this.carry = next;
      }
      this.readPos = 0;
      this.writePos = live;
    }
    this.carry.set(chunk, this.writePos);
    this.writePos += chunk.length;
  }
}
