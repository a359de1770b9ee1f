// https://www.postgresql.org/docs/current/sasl-authentication.html — the SASL
// messages the proxy reads or rewrites because it terminates TLS (channel binding).
import { AuthCode, Backend } from './constants.ts';

/** The SCRAM mechanisms that bind to the TLS channel (RFC 5802 "-PLUS"). */
const PLUS_SUFFIX = '-PLUS';

/**
 * The mechanism names of an AuthenticationSASL body (int32 10, then cstrs
 * closed by an empty one); null when the body is not AuthenticationSASL.
 */
export function readSaslMechanisms(body: Uint8Array): string[] | null {
  if (body.length < 5 || readI32(body, 0) !== AuthCode.SASL) return null;
  const names: string[] = [];
  let pos = 4;
  while (pos < body.length) {
    const end = body.indexOf(0, pos);
    if (end < 0 || end === pos) break;
    names.push(Buffer.from(body.buffer, body.byteOffset + pos, end - pos).toString('utf8'));
    pos = end + 1;
  }
  return names;
}

/**
 * A whole AuthenticationSASL message (type byte and length included) offering
 * `body`'s mechanisms without the channel-binding ones, or null when there are
 * none to remove (relay the original then). The proxy ends the client's TLS:
 * a client binding to the proxy's certificate could never match the hash the
 * server computes from its own, so it must not be offered the choice.
 */
export function withoutChannelBinding(body: Uint8Array): Uint8Array | null {
  const names = readSaslMechanisms(body);
  if (names === null || !names.some(isChannelBinding)) return null;
  const kept = names.filter((n) => !isChannelBinding(n));
  const encoded = kept.map((n) => Buffer.from(n, 'utf8'));
  const bodyLength = 4 + encoded.reduce((sum, n) => sum + n.length + 1, 0) + 1;
  const out = new Uint8Array(1 + 4 + bodyLength);
  const view = new DataView(out.buffer);
  out[0] = Backend.Authentication;
  view.setInt32(1, 4 + bodyLength);
  view.setInt32(5, AuthCode.SASL);
  let pos = 9;
  for (const n of encoded) {
    out.set(n, pos);
    pos += n.length + 1; // the cstr terminator is already 0
  }
  return out;
}

/**
 * Relays a server's startup byte stream with AuthenticationSASL rewritten by
 * `withoutChannelBinding`; every other message goes out as received. The
 * stream is framed again here, holding back an incomplete message (copied)
 * until the rest arrives: the startup is short and rare, so that costs
 * nothing that matters.
 */
export class ChannelBindingFilter {
  /** Bytes of a message not yet complete (owned copy). */
  private tail: Uint8Array | null = null;
  /** True once a -PLUS mechanism was removed from an offer. */
  hasHidden = false;

  /** Passes `buf[start..end)` (borrowed) on to `emit`, rewritten where needed, as ranges of borrowed views. */
  push(buf: Uint8Array, start: number, end: number, emit: (bytes: Uint8Array, start: number, end: number) => void): void {
    let bytes = buf.subarray(start, end);
    if (this.tail !== null) {
      const joined = new Uint8Array(this.tail.length + bytes.length);
      joined.set(this.tail);
      joined.set(bytes, this.tail.length);
      bytes = joined;
      this.tail = null;
    }
    let pos = 0;
    let runStart = 0;
    while (bytes.length - pos >= 5) {
      const next = pos + 1 + readI32(bytes, pos + 1);
      if (next > bytes.length || next <= pos + 4) break;
      if (bytes[pos] === Backend.Authentication) {
        const rewritten = withoutChannelBinding(bytes.subarray(pos + 5, next));
        if (rewritten !== null) {
          if (runStart < pos) emit(bytes, runStart, pos);
          emit(rewritten, 0, rewritten.length);
          this.hasHidden = true;
          runStart = next;
        }
      }
      pos = next;
    }
    if (runStart < pos) emit(bytes, runStart, pos);
    if (pos < bytes.length) this.tail = bytes.slice(pos); // owned: the caller's chunk is borrowed
  }
}

export function isChannelBinding(mechanism: string): boolean {
  return mechanism.endsWith(PLUS_SUFFIX);
}

export interface SaslInitialResponse {
  mechanism: string;
  /**
   * The GS2 channel-binding flag of the SCRAM client-first-message: 'n' (the
   * client does not bind), 'y' (it could, but believes the server cannot),
   * 'p' (it binds), or '' when the data is absent or not SCRAM.
   */
  gs2Flag: '' | 'n' | 'y' | 'p';
}

/** Reads a SASLInitialResponse body ('p': mechanism cstr, int32 length, data); null when malformed. */
export function readSaslInitialResponse(body: Uint8Array): SaslInitialResponse | null {
  const end = body.indexOf(0);
  if (end <= 0 || end + 5 > body.length) return null;
  const mechanism = Buffer.from(body.buffer, body.byteOffset, end).toString('utf8');
  const length = readI32(body, end + 1);
  const first = length > 0 && end + 5 < body.length ? body[end + 5]! : 0;
  const gs2Flag = first === 0x6e ? 'n' : first === 0x79 ? 'y' : first === 0x70 ? 'p' : '';
  return { mechanism, gs2Flag };
}

function readI32(buf: Uint8Array, at: number): number {
  return (buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!;
}
