// https://mariadb.com/kb/en/0-packet/ — sequence ids, rewritten where the two
// links of a connection disagree about them.
//
// An SSLRequest consumes sequence id 1 on the link where it is sent. When the
// client link has TLS and the server link does not (or the reverse), the
// packets of the login exchange carry ids one apart on the two links, and each
// relayed packet's id is shifted. Commands restart at 0 on both links, so only
// the login exchange is affected.

/**
 * Shifts the sequence id of every packet in a relayed byte stream by `delta`,
 * whatever the chunk boundaries. Copies each range it rewrites (the input is
 * borrowed); used only during the login exchange, a handful of small packets.
 */
export class SeqShifter {
  private readonly delta: number;
  /** Header bytes seen of the current packet (0 to 3), and its payload length so far. */
  private headerPos = 0;
  private length = 0;
  /** Payload bytes of the current packet still to come. */
  private remaining = 0;

  constructor(delta: number) {
    this.delta = delta;
  }

  /** Returns an owned copy of `buf[start..end)` with the sequence ids shifted. */
  shift(buf: Uint8Array, start: number, end: number): Uint8Array {
    const out = buf.slice(start, end); // owned: rewritten
    let i = 0;
    while (i < out.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, out.length - i);
        this.remaining -= take;
        i += take;
        continue;
      }
      if (this.headerPos < 3) {
        this.length |= out[i]! << (8 * this.headerPos);
        this.headerPos++;
        i++;
        continue;
      }
      out[i] = (out[i]! + this.delta) & 0xff;
      this.remaining = this.length;
      this.headerPos = 0;
      this.length = 0;
      i++;
    }
    return out;
  }
}

/** An owned copy of one whole packet (header included) with its sequence id shifted by `delta`. */
export function shiftedPacket(raw: Uint8Array, delta: number): Uint8Array {
  const out = Uint8Array.from(raw); // owned: rewritten copy of a borrowed frame
  out[3] = (out[3]! + delta) & 0xff;
  return out;
}
