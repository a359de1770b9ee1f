// TLS on Bun sockets: upgrading a plaintext socket mid-stream (MySQL's
// SSLRequest, PostgreSQL's SSLRequest) and the verification modes towards a
// backend. The one place that knows how Bun's upgradeTLS behaves.
//
// What Bun 1.4 does, found by a spike before this was written:
// - `socket.upgradeTLS({ isServer: true, tls, socket, data, initialData })`
//   works on a socket accepted by `Bun.listen`; `isServer` and `initialData`
//   are honoured but missing from bun-types, hence the cast below.
// - It returns `[raw, tls]`. The raw socket keeps its handlers and keeps
//   receiving the *ciphertext* (a "raw tap"), so the plaintext handlers must
//   ignore data once the connection is upgraded, and the flag that says so must
//   be set before the call: `initialData` is fed synchronously inside it.
// - Bytes that arrived in the same chunk as the SSLRequest (a client writes its
//   ClientHello right after it, without waiting) are already read; they must be
//   handed over as `initialData` or the TLS handshake stalls.
// - Client side, `rejectUnauthorized` checks the chain and the host name (IP
//   SANs too). The `handshake` handler's error names the first problem: the
//   chain's, else ERR_TLS_CERT_ALTNAME_INVALID for a name mismatch.
import type { Socket, SocketHandler, TLSOptions } from 'bun';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { BackendTlsConfig, ClientTlsConfig, ClientTlsMode } from '../config/types.ts';

/** A configured TLS file that cannot be used: names the key and path, so config checks can report it as such. */
export class TlsFileError extends Error {
  constructor(
    readonly key: 'tls_cert_file' | 'tls_key_file' | 'tls_ca_file' | 'backend_tls_ca_file',
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${key} ${path}: ${reason}`, options);
    this.name = 'TlsFileError';
  }
}

/** TLS material for accepting clients, read from the configured files. */
export interface ServerTls {
  readonly mode: ClientTlsMode;
  readonly options: TLSOptions;
  /** tls_ca_file is set: a TLS client without a certificate signed by it is refused. */
  readonly requiresClientCert: boolean;
  /** The DER of the (first) certificate presented: what a client's tls-server-end-point channel binding hashes. */
  readonly certificate: Uint8Array;
}

/**
 * Reads the certificate, key and client CA files. Null when TLS is not
 * offered (mode disable, or no certificate). Throws when a file cannot be
 * read, with the path in the message: the caller refuses to start or reload.
 */
export function loadServerTls(config: ClientTlsConfig): ServerTls | null {
  if (config.mode === 'disable' || config.certFile === null || config.keyFile === null) return null;
  const cert = readPem(config.certFile, 'tls_cert_file');
  const key = readPem(config.keyFile, 'tls_key_file');
  const ca = config.caFile === null ? undefined : readPem(config.caFile, 'tls_ca_file');
  let certificate: Uint8Array;
  try {
    // Only to check the files now: a bad PEM or a key that does not match would otherwise fail each client's handshake.
    createSecureContext({ cert, key, ca });
    certificate = new X509Certificate(cert).raw;
  } catch (cause) {
    const also = `with tls_key_file ${config.keyFile}${ca === undefined ? '' : ` and tls_ca_file ${config.caFile}`}`;
    throw new TlsFileError('tls_cert_file', config.certFile, `${(cause as Error).message} (${also})`, { cause });
  }
  const options: TLSOptions = ca === undefined ? { cert, key } : { cert, key, ca, requestCert: true, rejectUnauthorized: true };
  return { mode: config.mode, options, requiresClientCert: ca !== undefined, certificate };
}

/**
 * `tls` offering one ALPN protocol (RFC 7301). Bun wants the wire form, a
 * length-prefixed list: a plain string makes every handshake fail with
 * no_application_protocol (found by a spike). A client offering no ALPN is
 * still served; one offering only other protocols is refused.
 */
export function withAlpn(tls: ServerTls, protocol: string): ServerTls {
  const name = Buffer.from(protocol, 'latin1');
  const wire = Buffer.concat([Uint8Array.of(name.length), name]);
  return { ...tls, options: { ...tls.options, ALPNProtocols: wire } };
}

/** Client-side options for a backend in `config.mode` (not 'disable'). */
export function backendTlsOptions(config: BackendTlsConfig, host: string): TLSOptions {
  const ca = config.caFile === null ? undefined : readPem(config.caFile, 'backend_tls_ca_file');
  switch (config.mode) {
    case 'verify-full':
      // Bun checks the chain and that the certificate names serverName (DNS or IP SAN).
      return { ca, serverName: host, rejectUnauthorized: true };
    case 'verify-ca':
      // Checked by us after the handshake, which then ignores a host name mismatch (see backendTlsFailure).
      return { ca, rejectUnauthorized: false };
    default:
      return { rejectUnauthorized: false };
  }
}

/**
 * Why a finished backend handshake is not good enough for the mode, or null.
 * `error` is what Bun passed to the `handshake` handler.
 */
export function backendTlsFailure(config: BackendTlsConfig, socket: Socket<unknown>, isOk: boolean, error: Error | null): string | null {
  // Unverified on purpose: Bun may report isOk false for a chain it cannot verify even with
  // rejectUnauthorized off, yet the session is up (a failed handshake closes the socket instead).
  if (config.mode === 'prefer' || config.mode === 'require') return null;
  const code = (error as { code?: string } | null)?.code;
  if (isOk && (socket as unknown as { authorized?: boolean }).authorized === true) return null;
  // Bun checks the host name even without serverName; it reports a name mismatch only once the chain verified.
  if (config.mode === 'verify-ca' && code === 'ERR_TLS_CERT_ALTNAME_INVALID') return null;
  return `certificate not accepted (backend_tls = ${config.mode}): ${code ?? error?.message ?? 'not signed by backend_tls_ca_file'}`;
}

export interface UpgradeOptions<Data> {
  isServer: boolean;
  tls: TLSOptions;
  handlers: SocketHandler<Data>;
  data: Data;
  /** Bytes already read from the raw socket that belong to the TLS stream (owned copy). */
  initialData?: Uint8Array;
}

/** Upgrades a plaintext socket in place; returns the TLS socket to use from now on. */
export function upgradeToTls<Data>(socket: Socket<Data>, options: UpgradeOptions<Data>): Socket<Data> {
  const { isServer, tls, handlers, data, initialData } = options;
  const upgrade = socket.upgradeTLS as unknown as (o: unknown) => [Socket<Data>, Socket<Data>] | undefined;
  const pair = upgrade.call(socket, { isServer, tls, socket: handlers, data, initialData });
  if (pair === undefined) throw new Error('TLS upgrade failed');
  return pair[1];
}

function readPem(path: string, key: TlsFileError['key']): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TlsFileError(key, path, (cause as Error).message, { cause });
  }
}
