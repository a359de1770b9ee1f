// The backend verification modes of src/net/tls.ts against a local Bun TLS
// listener: which certificate each mode accepts.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { TCPSocketListener } from 'bun';
import type { BackendTlsMode } from '../../../src/config/types.ts';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { backendTlsFailure, backendTlsOptions, loadServerTls, TlsFileError, withAlpn } from '../../../src/net/tls.ts';
import { makeCertificates, type Certificates } from '../../support/tls.ts';

let certs: Certificates;
const listeners: TCPSocketListener<undefined>[] = [];

beforeAll(async () => {
  certs = await makeCertificates();
});

afterAll(async () => {
  for (const l of listeners) l.stop(true);
  await certs?.remove();
});

async function serve(certFile: string, keyFile: string): Promise<number> {
  const listener = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    tls: { cert: await Bun.file(certFile).text(), key: await Bun.file(keyFile).text() },
    socket: { data() {}, error() {} },
  });
  listeners.push(listener);
  return listener.port;
}

/** Connects as a backend link in `mode` would; resolves with backendTlsFailure's verdict. */
function verdict(port: number, mode: BackendTlsMode, caFile: string | null): Promise<string | null> {
  const config = { mode, caFile };
  return new Promise((resolve) => {
    let isSettled = false;
    const settle = (value: string | null) => {
      if (!isSettled) resolve(value);
      isSettled = true;
    };
    Bun.connect({
      hostname: '127.0.0.1',
      port,
      tls: backendTlsOptions(config, '127.0.0.1'),
      socket: {
        data() {},
        handshake(socket, isOk, error) {
          settle(backendTlsFailure(config, socket, isOk, error));
          socket.end();
        },
        error(_socket, error) {
          settle(`error: ${error.message}`);
        },
        close() {
          settle('closed before the handshake');
        },
      },
    }).catch((error: Error) => settle(`connect: ${error.message}`));
  });
}

describe('backend TLS verification modes', () => {
  it('accepts a certificate for the right host from the right CA in every mode', async () => {
    const port = await serve(certs.certFile, certs.keyFile);
    for (const mode of ['prefer', 'require', 'verify-ca', 'verify-full'] as const) expect(await verdict(port, mode, certs.caFile)).toBeNull();
  });

  it('accepts a certificate for another host under verify-ca only', async () => {
    const port = await serve(certs.wrongNameCertFile, certs.wrongNameKeyFile);
    expect(await verdict(port, 'require', null)).toBeNull();
    expect(await verdict(port, 'verify-ca', certs.caFile)).toBeNull();
    expect(await verdict(port, 'verify-full', certs.caFile)).not.toBeNull();
    // The name mismatch must not hide a chain that does not verify.
    expect(await verdict(port, 'verify-ca', certs.otherCaFile)).not.toBeNull();
  });

  it('refuses a certificate another CA signed under verify-ca and verify-full, not under require', async () => {
    const port = await serve(certs.certFile, certs.keyFile);
    expect(await verdict(port, 'require', null)).toBeNull();
    expect(await verdict(port, 'verify-ca', certs.otherCaFile)).toContain('certificate not accepted');
    expect(await verdict(port, 'verify-full', certs.otherCaFile)).not.toBeNull();
  });
});

describe('server TLS material', () => {
  const config = () => ({ mode: 'allow' as const, certFile: certs.certFile, keyFile: certs.keyFile, caFile: null });

  it('carries the DER of the presented certificate (what tls-server-end-point hashes)', () => {
    const tls = loadServerTls(config())!;
    expect(Buffer.from(tls.certificate).equals(new X509Certificate(readFileSync(certs.certFile)).raw)).toBe(true);
  });

  it('offers ALPN in the length-prefixed wire form Bun needs, without changing the rest', () => {
    const tls = loadServerTls(config())!;
    const alpn = withAlpn(tls, 'postgresql');
    expect(Buffer.from(alpn.options.ALPNProtocols as Uint8Array)).toEqual(Buffer.from('\x0apostgresql', 'latin1'));
    expect(alpn.options.cert).toBe(tls.options.cert);
    expect(tls.options.ALPNProtocols).toBeUndefined();
  });

  it('names the key of a file that cannot be read, and of a key that does not match its certificate', () => {
    const thrown = (f: () => unknown): unknown => {
      try {
        f();
      } catch (error) {
        return error;
      }
      return null;
    };
    const missing = thrown(() => loadServerTls({ ...config(), caFile: '/nonexistent/ca.pem' }));
    expect(missing).toBeInstanceOf(TlsFileError);
    expect((missing as TlsFileError).key).toBe('tls_ca_file');
    const mismatched = thrown(() => loadServerTls({ ...config(), keyFile: certs.clientKeyFile }));
    expect((mismatched as TlsFileError).key).toBe('tls_cert_file');
  });
});

