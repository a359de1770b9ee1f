// https://www.postgresql.org/docs/current/protocol-message-types.html — builds messages into one growable buffer.
import { ByteWriter } from '../../net/byte-writer.ts';

/**
 * Writes one or more messages into a reusable buffer. `begin(type)` writes
 * the type byte and reserves the length, the body follows, `end()` fills in
 * the length. `finish()` returns a view valid only until the writer is reused.
 */
export class MessageWriter extends ByteWriter {
  private messageStart = -1;

  override reset(): this {
    this.messageStart = -1;
    return super.reset();
  }

  begin(type: number): this {
    this.ensure(5);
    this.buf[this.length] = type;
    this.messageStart = this.length + 1;
    this.length += 5;
    return this;
  }

  /** Fills in the length of the message started by `begin` (it counts itself, not the type byte). */
  end(): this {
    this.setI32(this.messageStart, this.length - this.messageStart);
    this.messageStart = -1;
    return this;
  }

  i16(v: number): this {
    this.ensure(2);
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  i32(v: number): this {
    this.ensure(4);
    this.setI32(this.length, v);
    this.length += 4;
    return this;
  }

  /** An Int32 length followed by the UTF-8 bytes (a DataRow column). */
  lenStr(s: string): this {
    this.ensure(4);
    const lenAt = this.length;
    this.length += 4;
    this.setI32(lenAt, this.utf8(s));
    return this;
  }

  private setI32(at: number, v: number): void {
    this.buf[at] = (v >>> 24) & 0xff;
    this.buf[at + 1] = (v >>> 16) & 0xff;
    this.buf[at + 2] = (v >>> 8) & 0xff;
    this.buf[at + 3] = v & 0xff;
  }
}
