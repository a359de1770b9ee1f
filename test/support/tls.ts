/**
 * Certificates for TLS tests, made with openssl in a scratch directory:
 * a CA, a server certificate it signed (SAN localhost and 127.0.0.1, so
 * verify-full and --ssl-verify-server-cert pass on 127.0.0.1), a client
 * certificate it signed, a certificate it signed for another host name, and
 * an unrelated CA for "wrong CA" cases.
 *
 *     await using certs = await makeCertificates();
 *     startMariaDb({ tls: certs });
 */
import { join } from 'node:path';
import { runCommand } from './process.ts';
import { makeScratchDir, removeDir } from './tmp.ts';

export interface Certificates {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** A CA that signed none of the above. */
  readonly otherCaFile: string;
  /** Signed by the CA for another host only (DNS:db.example.invalid): passes verify-ca, fails verify-full. */
  readonly wrongNameCertFile: string;
  readonly wrongNameKeyFile: string;
  /** A second certificate for localhost and 127.0.0.1, signed by the CA: a proxy that does not share the server's certificate. */
  readonly otherServerCertFile: string;
  readonly otherServerKeyFile: string;
  remove(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function openssl(args: string[]): Promise<void> {
  await runCommand(['openssl', ...args]);
}

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=tqdb test ${name}`]);
  return { cert, key };
}

async function makeSigned(dir: string, name: string, ca: { cert: string; key: string }, subject: string, extensions: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await Bun.write(ext, `${extensions}\n`);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  return { cert, key };
}

export async function makeCertificates(): Promise<Certificates> {
  const dir = makeScratchDir('tqdb-tls-');
  try {
    const ca = await makeCa(dir, 'ca');
    const other = await makeCa(dir, 'other-ca');
    const server = await makeSigned(dir, 'server', ca, '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
    const client = await makeSigned(dir, 'client', ca, '/CN=tqdb test client', 'extendedKeyUsage=clientAuth');
    const wrongName = await makeSigned(dir, 'wrong-name', ca, '/CN=db.example.invalid', 'subjectAltName=DNS:db.example.invalid');
    const otherServer = await makeSigned(dir, 'other-server', ca, '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
    const remove = () => removeDir(dir);
    return {
      dir,
      caFile: ca.cert,
      certFile: server.cert,
      keyFile: server.key,
      clientCertFile: client.cert,
      clientKeyFile: client.key,
      otherCaFile: other.cert,
      wrongNameCertFile: wrongName.cert,
      wrongNameKeyFile: wrongName.key,
      otherServerCertFile: otherServer.cert,
      otherServerKeyFile: otherServer.key,
      remove,
      [Symbol.asyncDispose]: remove,
    };
  } catch (error) {
    await removeDir(dir);
    throw error;
  }
}
