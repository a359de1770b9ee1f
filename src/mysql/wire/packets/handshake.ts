// https://mariadb.com/kb/en/connection/ — Initial handshake (HandshakeV10) and the client's HandshakeResponse41.
import { ProxyError } from '../../../core/errors.ts';
import { Cap, CAPS_MASKED, MARIADB_CAPS_MASKED } from '../constants.ts';
import { PacketReader } from '../reader.ts';

export interface InitialHandshake {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  capabilities: number;
  /** MariaDB extended capabilities (0 when the server is MySQL). */
  mariaDbCapabilities: number;
  charset: number;
  statusFlags: number;
  authPluginName: string;
}

/** Byte offsets of the fields the proxy rewrites, within the payload. */
interface HandshakeLayout {
  capsLowAt: number;
  capsHighAt: number;
  mariaDbCapsAt: number;
}

function layout(r: PacketReader, payloadStart: number): { hs: InitialHandshake; at: HandshakeLayout } {
  const protocolVersion = r.u8();
  if (protocolVersion !== 10) {
    throw new ProxyError('PROTOCOL_VIOLATION', `backend sent handshake protocol version ${protocolVersion}, expected 10`, { fatal: true });
  }
  const serverVersion = r.cstr();
  const connectionId = r.u32le();
  r.skip(8 + 1); // auth-plugin-data-part-1, filler
  const capsLowAt = r.pos - payloadStart;
  const capsLow = r.u16le();
  const charset = r.u8();
  const statusFlags = r.u16le();
  const capsHighAt = r.pos - payloadStart;
  const capsHigh = r.u16le();
  const capabilities = (capsLow | (capsHigh << 16)) >>> 0;
  const authDataLength = r.u8();
  r.skip(6);
  const mariaDbCapsAt = r.pos - payloadStart;
  const extended = r.u32le();
  // CLIENT_LONG_PASSWORD doubles as "CLIENT_MYSQL": when the server leaves it out, it is MariaDB with extended caps.
  const mariaDbCapabilities = capabilities & Cap.LongPassword ? 0 : extended;
  let authPluginName = '';
  if (capabilities & Cap.SecureConnection) r.skip(Math.max(13, authDataLength - 8));
  if (capabilities & Cap.PluginAuth) authPluginName = r.cstr();
  return {
    hs: { protocolVersion, serverVersion, connectionId, capabilities, mariaDbCapabilities, charset, statusFlags, authPluginName },
    at: { capsLowAt, capsHighAt, mariaDbCapsAt },
  };
}

export function readInitialHandshake(payload: Uint8Array): InitialHandshake {
  return layout(new PacketReader(payload), 0).hs;
}

/**
 * Copies the backend's handshake packet (header included) with the
 * capabilities the proxy cannot relay removed, and `offered` (capabilities of
 * the client link the proxy provides itself, such as CLIENT_SSL) added.
 * Returns the copy and the parsed handshake with the resulting capabilities.
 */
export function maskInitialHandshake(raw: Uint8Array, offered = 0): { packet: Uint8Array; handshake: InitialHandshake } {
  const packet = Uint8Array.from(raw); // owned: rewritten, then sent after the backend chunk is gone
  const { hs, at } = layout(new PacketReader(packet, 4), 4);
  const caps = ((hs.capabilities & ~CAPS_MASKED) | offered) >>> 0;
  packet[4 + at.capsLowAt] = caps & 0xff;
  packet[4 + at.capsLowAt + 1] = (caps >> 8) & 0xff;
  packet[4 + at.capsHighAt] = (caps >> 16) & 0xff;
  packet[4 + at.capsHighAt + 1] = (caps >>> 24) & 0xff;
  let mariaCaps = hs.mariaDbCapabilities;
  if (mariaCaps !== 0) {
    mariaCaps = (mariaCaps & ~MARIADB_CAPS_MASKED) >>> 0;
    const p = 4 + at.mariaDbCapsAt;
    packet[p] = mariaCaps & 0xff;
    packet[p + 1] = (mariaCaps >> 8) & 0xff;
    packet[p + 2] = (mariaCaps >> 16) & 0xff;
    packet[p + 3] = (mariaCaps >>> 24) & 0xff;
  }
  return { packet, handshake: { ...hs, capabilities: caps, mariaDbCapabilities: mariaCaps } };
}

export interface HandshakeResponse {
  capabilities: number;
  mariaDbCapabilities: number;
  maxPacketSize: number;
  charset: number;
  user: string;
  database: string | null;
  authPluginName: string | null;
  /** True for the short SSLRequest packet a client sends before TLS. */
  isSslRequest: boolean;
}

export function readHandshakeResponse(payload: Uint8Array): HandshakeResponse {
  const r = new PacketReader(payload);
  const capabilities = r.u32le();
  if (!(capabilities & Cap.Protocol41)) {
    throw new ProxyError('PROTOCOL_VIOLATION', 'client uses the pre-4.1 handshake, which is not supported', { fatal: true });
  }
  const maxPacketSize = r.u32le();
  const charset = r.u8();
  r.skip(19);
  const extended = r.u32le();
  const mariaDbCapabilities = capabilities & Cap.LongPassword ? 0 : extended;
  if (r.remaining === 0) {
    return { capabilities, mariaDbCapabilities, maxPacketSize, charset, user: '', database: null, authPluginName: null, isSslRequest: true };
  }
  const user = r.cstr();
  if (capabilities & Cap.PluginAuthLenencClientData) {
    r.lenencBytes();
  } else if (capabilities & Cap.SecureConnection) {
    r.skip(r.u8());
  } else {
    r.cstrBytes();
  }
  let database: string | null = null;
  if (capabilities & Cap.ConnectWithDb && r.remaining > 0) database = r.cstr() || null;
  let authPluginName: string | null = null;
  if (capabilities & Cap.PluginAuth && r.remaining > 0) authPluginName = r.cstr();
  return { capabilities, mariaDbCapabilities, maxPacketSize, charset, user, database, authPluginName, isSslRequest: false };
}

/** https://mariadb.com/kb/en/com_change_user/ — the fields the session tracks. */
export function readChangeUser(payload: Uint8Array, clientCapabilities: number): { user: string; database: string | null; charset: number | null } {
  const r = new PacketReader(payload, 1);
  const user = r.cstr();
  if (clientCapabilities & Cap.SecureConnection) r.skip(r.u8());
  else r.cstrBytes();
  const database = r.cstr() || null;
  const charset = r.remaining >= 2 ? r.u16le() : null;
  return { user, database, charset };
}

/**
 * Copies a client's HandshakeResponse (header included) with capabilities the
 * proxy did not offer cleared, so a client that asks for them anyway (TLS,
 * compression, query attributes) cannot switch the server to a framing the
 * proxy does not read. The auth data does not depend on these bits.
 * `linkCaps` are set instead when the proxy's own link to the server has them
 * (CLIENT_SSL towards a TLS backend). Returns the input itself when nothing
 * needs changing.
 */
export function maskHandshakeResponse(raw: Uint8Array, linkCaps = 0): Uint8Array {
  const at = 4;
  const caps = ((raw[at]! | (raw[at + 1]! << 8) | (raw[at + 2]! << 16)) + raw[at + 3]! * 0x1000000) >>> 0;
  const extAt = at + 4 + 4 + 1 + 19;
  const hasExtended = (caps & Cap.LongPassword) === 0 && raw.length >= extAt + 4;
  const ext = hasExtended ? ((raw[extAt]! | (raw[extAt + 1]! << 8) | (raw[extAt + 2]! << 16)) + raw[extAt + 3]! * 0x1000000) >>> 0 : 0;
  const masked = ((caps & ~CAPS_MASKED) | linkCaps) >>> 0;
  if (masked === caps && (ext & MARIADB_CAPS_MASKED) === 0) return raw;
  const out = Uint8Array.from(raw); // owned: rewritten copy of a borrowed frame
  out[at] = masked & 0xff;
  out[at + 1] = (masked >> 8) & 0xff;
  out[at + 2] = (masked >> 16) & 0xff;
  out[at + 3] = (masked >>> 24) & 0xff;
  if (hasExtended) {
    const maskedExt = (ext & ~MARIADB_CAPS_MASKED) >>> 0;
    out[extAt] = maskedExt & 0xff;
    out[extAt + 1] = (maskedExt >> 8) & 0xff;
    out[extAt + 2] = (maskedExt >> 16) & 0xff;
    out[extAt + 3] = (maskedExt >>> 24) & 0xff;
  }
  return out;
}

/**
 * https://mariadb.com/kb/en/connection/#sslrequest-packet — the proxy's own
 * SSLRequest to a backend: the first 32 payload bytes of the HandshakeResponse
 * it is about to relay (capabilities with CLIENT_SSL, max packet size,
 * charset, MariaDB extended capabilities), sequence id 1. MariaDB answers
 * "Bad handshake" when the capabilities of the two packets differ.
 */
export function sslRequestFrom(handshakeResponse: Uint8Array): Uint8Array {
  const packet = new Uint8Array(4 + 32);
  packet.set(handshakeResponse.subarray(4, 4 + 32), 4);
  packet[0] = 32;
  packet[3] = 1;
  return packet;
}
