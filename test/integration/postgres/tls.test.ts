// TLS on both PostgreSQL links (issue #11, PostgreSQL part). The backend is a
// throwaway PostgreSQL with ssl=on whose pg_hba.conf admits the test users
// over hostssl only, so every login of theirs that works went over TLS to the
// server; pg_stat_ssl, read through the proxy, says so too.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { chmodSync, chownSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket as NetSocket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import postgres from 'postgres';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { runClient, runCommand } from '../../support/process.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { makeCertificates, type Certificates } from '../../support/tls.ts';
import { makeScratchDir, removeDir } from '../../support/tmp.ts';
import { waitUntil } from '../../support/wait.ts';

const SCRAM = { user: 'tqdb_tls_scram', password: 'tls-scr@m' };
/** Trusted, but over hostssl only. */
const TLS_USER = 'tqdb_tls_only';

let certs: Certificates;
let pgDir = '';
let server: PostgresServer;
/** TLS to clients with the proxy's own certificate (not the server's), verify-full to the server. */
let proxy: ProxyProcess;
/** The same with the server's own certificate and key: channel binding can cross. */
let sameCert: ProxyProcess;
/** tls_mode = require towards clients, backend_tls = require. */
let strict: ProxyProcess;
/** TLS to clients, plaintext to the server (the client link alone is encrypted). */
let clientOnly: ProxyProcess;

const pgPort = (p: ProxyProcess): number => p.listeners.postgres!.port;

function clientTls(cert: string, key: string, extra = ''): string {
  return `[postgres]\ntls_cert_file = ${cert}\ntls_key_file = ${key}\n${extra}`;
}

function backendTls(mode: string, extra = ''): string {
  return `[postgres.main]\nprimary = 127.0.0.1:${server.port}\nbackend_tls = ${mode}\nbackend_tls_ca_file = ${certs.caFile}\n${extra}`;
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([runCommand(['id', '-u', 'postgres']), runCommand(['id', '-g', 'postgres'])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

beforeAll(async () => {
  certs = await makeCertificates();
  // The server runs as the postgres OS user: it must own its key, mode 0600.
  pgDir = makeScratchDir('tqdb-pg-tls-');
  chmodSync(pgDir, 0o755);
  const owner = await postgresUser();
  const files = { cert: join(pgDir, 'server.pem'), key: join(pgDir, 'server.key'), hba: join(pgDir, 'pg_hba.conf') };
  copyFileSync(certs.certFile, files.cert);
  copyFileSync(certs.keyFile, files.key);
  writeFileSync(
    files.hba,
    [
      'local all all trust',
      // The harness's readiness check connects as root without TLS.
      'hostnossl all root 127.0.0.1/32 trust',
      `hostssl all ${SCRAM.user} 127.0.0.0/8 scram-sha-256`,
      `host all ${SCRAM.user} 127.0.0.0/8 scram-sha-256`,
      'hostssl all all 127.0.0.0/8 trust',
      '',
    ].join('\n'),
  );
  for (const f of Object.values(files)) chownSync(f, owner.uid, owner.gid);
  chmodSync(files.key, 0o600);
  server = await startPostgres({
    settings: { ssl: 'on', ssl_cert_file: files.cert, ssl_key_file: files.key, hba_file: files.hba, listen_addresses: '127.0.0.1,127.0.0.2' },
  });
  const admin = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'root', database: 'test' });
  await admin.connect();
  await admin.query("SET password_encryption = 'scram-sha-256'");
  await admin.query(`CREATE ROLE ${SCRAM.user} LOGIN PASSWORD '${SCRAM.password}'`);
  await admin.query(`CREATE ROLE ${TLS_USER} LOGIN`);
  await admin.end();
  const start = (ini: string) => startProxy({ protocols: ['postgres'], postgresBackendPort: server.port, ini });
  [proxy, sameCert, strict, clientOnly] = await Promise.all([
    start(`${clientTls(certs.otherServerCertFile, certs.otherServerKeyFile)}${backendTls('verify-full')}`),
    start(`${clientTls(certs.certFile, certs.keyFile)}${backendTls('verify-full')}`),
    start(`${clientTls(certs.otherServerCertFile, certs.otherServerKeyFile, 'tls_mode = require\n')}${backendTls('require')}`),
    start(clientTls(certs.otherServerCertFile, certs.otherServerKeyFile)),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([proxy?.stop(), sameCert?.stop(), strict?.stop(), clientOnly?.stop()]);
  await server?.stop();
  if (pgDir !== '') await removeDir(pgDir);
  await certs?.remove();
});

/** psql through `port` with libpq connection options; PGSSLROOTCERT is the test CA. */
function psql(port: number, conninfo: string, sql: string, env: Record<string, string> = {}) {
  const argv = ['psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', `host=127.0.0.1 port=${port} dbname=test ${conninfo}`, '-c', sql];
  return runClient(argv, 30_000, { PGSSLROOTCERT: certs.caFile, PGCONNECT_TIMEOUT: '10', PGGSSENCMODE: 'disable', ...env });
}

/** Whether the server sees this session's link (the proxy's) as TLS. */
const SERVER_SSL = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

describe('TLS towards PostgreSQL clients and servers', () => {
  it('serves psql with sslmode=require, TLS on both links', async () => {
    const result = await psql(pgPort(proxy), `user=${TLS_USER} sslmode=require`, SERVER_SSL);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('t');
  });

  it('serves psql with sslmode=verify-full against the proxy certificate', async () => {
    const result = await psql(pgPort(proxy), `user=${TLS_USER} sslmode=verify-full`, 'SELECT current_user');
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(TLS_USER);
  });

  it('fails psql sslmode=verify-full against a CA that did not sign the proxy certificate', async () => {
    const result = await psql(pgPort(proxy), `user=${TLS_USER} sslmode=verify-full`, 'SELECT 1', { PGSSLROOTCERT: certs.otherCaFile });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/certificate verify failed/);
  });

  it('serves node-postgres with ssl', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: pgPort(proxy), user: TLS_USER, database: 'test', ssl: { ca: await Bun.file(certs.caFile).text() } });
    await client.connect();
    try {
      const { rows } = await client.query<{ ssl: boolean; n: number }>(`SELECT (${SERVER_SSL}) AS ssl, $1::int AS n`, [7]);
      expect(rows).toEqual([{ ssl: true, n: 7 }]);
    } finally {
      await client.end();
    }
  });

  it('serves postgres.js with ssl, and its cancel reaches the server over TLS', async () => {
    const sql = postgres({ host: '127.0.0.1', port: pgPort(proxy), user: TLS_USER, database: 'test', ssl: { ca: await Bun.file(certs.caFile).text() }, max: 1 });
    try {
      const [row] = await sql<{ ssl: boolean }[]>`SELECT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl`;
      expect(row?.ssl).toBe(true);
      const slow = sql`SELECT pg_sleep(30)`;
      const outcome = slow.then(
        () => 'finished',
        (error: { code?: string }) => error.code ?? 'no code',
      );
      await waitUntil(async () => {
        const probe = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'root', database: 'test' });
        await probe.connect();
        const { rows } = await probe.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'");
        await probe.end();
        return rows[0].n === 1;
      }, { timeoutMs: 10_000, description: 'the pg_sleep to run' });
      slow.cancel();
      expect(await outcome).toBe('57014');
    } finally {
      await sql.end();
    }
  });

  it('refuses a plaintext login under tls_mode = require with 28000, and counts it', async () => {
    const before = await strict.metricValue('tqdbproxy_client_tls_refused_total', { protocol: 'postgres', reason: 'plaintext' });
    const result = await psql(pgPort(strict), `user=${TLS_USER} sslmode=disable`, 'SELECT 1');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('connection without TLS refused by tqdbproxy (tls_mode = require)');
    const client = new pg.Client({ host: '127.0.0.1', port: pgPort(strict), user: TLS_USER, database: 'test' });
    const error = (await client.connect().then(
      () => null,
      (e: unknown) => e,
    )) as { code?: string; severity?: string } | null;
    expect(error?.code).toBe('28000');
    expect(error?.severity).toBe('FATAL');
    expect(await strict.metricValue('tqdbproxy_client_tls_refused_total', { protocol: 'postgres', reason: 'plaintext' })).toBe(before + 2);
    const ok = await psql(pgPort(strict), `user=${TLS_USER} sslmode=require`, SERVER_SSL);
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe('t');
  });

  it('exempts the unix socket from tls_mode = require (libpq never uses TLS there), the server link still TLS', async () => {
    // libpq finds <dir>/.s.PGSQL.<port>; the number only names the file (no TCP port is involved).
    const socketPath = join(pgDir, '.s.PGSQL.6543');
    await using local = await startProxy({
      protocols: ['postgres'],
      postgresBackendPort: server.port,
      ini: `${clientTls(certs.otherServerCertFile, certs.otherServerKeyFile, `tls_mode = require\nsocket = ${socketPath}\n`)}${backendTls('require')}`,
    });
    const argv = ['psql', '-X', '-At', `host=${pgDir} port=6543 dbname=test user=${TLS_USER}`, '-c', SERVER_SSL];
    const result = await runClient(argv, 30_000, { PGCONNECT_TIMEOUT: '10' });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('t');
    const tcp = await psql(pgPort(local), `user=${TLS_USER} sslmode=disable`, 'SELECT 1');
    expect(tcp.stderr).toContain('tls_mode = require');
  });

  it('encrypts the server link under backend_tls = require for a plaintext client', async () => {
    const proxyPlainClient = await startProxy({ protocols: ['postgres'], postgresBackendPort: server.port, ini: backendTls('require') });
    try {
      const result = await psql(pgPort(proxyPlainClient), `user=${TLS_USER} sslmode=disable`, SERVER_SSL);
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toBe('t');
    } finally {
      await proxyPlainClient.stop();
    }
  });

  it('uses TLS under backend_tls = prefer when the server offers it, and plaintext when it answers N (the shared server has ssl=off)', async () => {
    await using toTls = await startProxy({ protocols: ['postgres'], postgresBackendPort: server.port, ini: backendTls('prefer') });
    const tls = await psql(pgPort(toTls), `user=${TLS_USER} sslmode=disable`, SERVER_SSL);
    expect(tls.stderr).toBe('');
    expect(tls.stdout.trim()).toBe('t');
    await using toPlain = await startProxy({ protocols: ['postgres'], ini: '[postgres.main]\nbackend_tls = prefer\n' });
    const plain = await psql(pgPort(toPlain), 'user=root sslmode=disable', SERVER_SSL);
    expect(plain.stderr).toBe('');
    expect(plain.stdout.trim()).toBe('f');
  });

  it('keeps the server link plaintext with backend_tls = disable: a hostssl-only user is refused by the server', async () => {
    const result = await psql(pgPort(clientOnly), `user=${TLS_USER} sslmode=require`, 'SELECT 1');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/no pg_hba\.conf entry .*no encryption/);
  });

  it('refuses a server whose certificate does not name the address under verify-full, with a clear error', async () => {
    // 127.0.0.2 reaches the same server; its certificate names localhost and 127.0.0.1 only.
    const ini = `[postgres.main]\nprimary = 127.0.0.2:${server.port}\nbackend_tls = verify-full\nbackend_tls_ca_file = ${certs.caFile}\n`;
    const wrongName = await startProxy({ protocols: ['postgres'], ini });
    try {
      const result = await psql(pgPort(wrongName), `user=${TLS_USER} sslmode=disable`, 'SELECT 1');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/TLS to backend 127\.0\.0\.2:\d+ failed: certificate not accepted \(backend_tls = verify-full\): ERR_TLS_CERT_ALTNAME_INVALID/);
      // verify-ca checks the chain only: the same server is accepted.
      const caOnly = await startProxy({ protocols: ['postgres'], ini: ini.replace('verify-full', 'verify-ca') });
      try {
        const ok = await psql(pgPort(caOnly), `user=${TLS_USER} sslmode=disable`, SERVER_SSL);
        expect(ok.stderr).toBe('');
        expect(ok.stdout.trim()).toBe('t');
      } finally {
        await caOnly.stop();
      }
    } finally {
      await wrongName.stop();
    }
  });

  it('refuses under verify-ca a server signed by another CA', async () => {
    const ini = `[postgres.main]\nprimary = 127.0.0.1:${server.port}\nbackend_tls = verify-ca\nbackend_tls_ca_file = ${certs.otherCaFile}\n`;
    const wrongCa = await startProxy({ protocols: ['postgres'], ini });
    try {
      const result = await psql(pgPort(wrongCa), `user=${TLS_USER} sslmode=disable`, 'SELECT 1');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/certificate not accepted \(backend_tls = verify-ca\)/);
    } finally {
      await wrongCa.stop();
    }
  });

  it('asks TLS clients for a certificate signed by tls_ca_file', async () => {
    await using withClientCerts = await startProxy({
      protocols: ['postgres'],
      postgresBackendPort: server.port,
      ini: `${clientTls(certs.otherServerCertFile, certs.otherServerKeyFile, `tls_ca_file = ${certs.caFile}\n`)}${backendTls('require')}`,
    });
    const port = pgPort(withClientCerts);
    const without = await psql(port, `user=${TLS_USER} sslmode=require`, 'SELECT 1');
    expect(without.code).not.toBe(0);
    const withCert = await psql(port, `user=${TLS_USER} sslmode=require sslcert=${certs.clientCertFile} sslkey=${certs.clientKeyFile}`, SERVER_SSL);
    expect(withCert.stderr).toBe('');
    expect(withCert.stdout.trim()).toBe('t');
  });

  describe('a server that answers the SSLRequest wrongly', () => {
    /** A fake server that answers any first message with `answer`, then waits. */
    async function withFakeServer(answer: Uint8Array, run: (port: number) => Promise<void>): Promise<void> {
      const fake = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data: (s) => void s.write(answer) } });
      try {
        await run(fake.port);
      } finally {
        fake.stop(true);
      }
    }

    it("refuses 'S' followed by bytes that came before any TLS (CVE-2021-23222 class)", async () => {
      await withFakeServer(Uint8Array.from([0x53, ...Buffer.from('R\0\0\0\x08\0\0\0\0', 'latin1')]), async (port) => {
        await using p = await startProxy({ protocols: ['postgres'], ini: `[postgres.main]\nprimary = 127.0.0.1:${port}\nbackend_tls = require\n` });
        const result = await psql(pgPort(p), `user=${TLS_USER} sslmode=disable`, 'SELECT 1');
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain('sent unencrypted data after its SSL answer');
      });
    });

    it("refuses 'N' under backend_tls = require, naming the mode", async () => {
      await withFakeServer(Uint8Array.of(0x4e), async (port) => {
        await using p = await startProxy({ protocols: ['postgres'], ini: `[postgres.main]\nprimary = 127.0.0.1:${port}\nbackend_tls = require\n` });
        const result = await psql(pgPort(p), `user=${TLS_USER} sslmode=disable`, 'SELECT 1');
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain('does not accept TLS (it answered the SSLRequest with N; backend_tls = require)');
      });
    });
  });
});

describe('SCRAM channel binding through the proxy', () => {
  const scram = (port: number, channelBinding: string) =>
    psql(port, `user=${SCRAM.user} sslmode=require channel_binding=${channelBinding}`, 'SELECT current_user', { PGPASSWORD: SCRAM.password });

  it('logs in with channel_binding=disable over TLS on both links', async () => {
    const result = await scram(pgPort(proxy), 'disable');
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(SCRAM.user);
  });

  it('logs in with channel_binding=prefer when the server link is plaintext (SCRAM-SHA-256, no binding)', async () => {
    const result = await scram(pgPort(clientOnly), 'prefer');
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(SCRAM.user);
  });

  it('refuses channel_binding=prefer over two TLS links with different certificates with an error naming the fix', async () => {
    const result = await scram(pgPort(proxy), 'prefer');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('SCRAM channel binding cannot cross tqdbproxy');
    expect(result.stderr).toContain('channel_binding=disable');
  });

  it('fails channel_binding=require clearly when the certificates differ: no -PLUS mechanism is offered', async () => {
    const result = await scram(pgPort(proxy), 'require');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/channel binding is required, but server did not offer an authentication method that supports channel binding/);
  });

  it('binds end to end (channel_binding=require) when the proxy presents the server certificate', async () => {
    const result = await scram(pgPort(sameCert), 'require');
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(SCRAM.user);
    const prefer = await scram(pgPort(sameCert), 'prefer');
    expect(prefer.stderr).toBe('');
  });

  it('logs node-postgres in with SCRAM over TLS (no channel binding by default)', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: pgPort(proxy), user: SCRAM.user, password: SCRAM.password, database: 'test', ssl: { ca: await Bun.file(certs.caFile).text() } });
    await client.connect();
    const { rows } = await client.query<{ u: string }>('SELECT current_user AS u');
    await client.end();
    expect(rows[0]?.u).toBe(SCRAM.user);
  });
});

describe('certificate reload (SIGHUP)', () => {
  /** The SHA-256 fingerprint of the certificate the proxy presents now (direct TLS, chain not checked: only identity matters). */
  function servedFingerprint(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['postgresql'] }, () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.destroy();
      });
      socket.on('error', reject);
    });
  }
  const fingerprintOf = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;

  it('serves a renewed certificate after SIGHUP, keeps open TLS sessions, and keeps the last good one when the new file is broken', async () => {
    const cert = join(pgDir, 'reload.pem');
    const key = join(pgDir, 'reload.key');
    copyFileSync(certs.otherServerCertFile, cert);
    copyFileSync(certs.otherServerKeyFile, key);
    await using reloading = await startProxy({ protocols: ['postgres'], postgresBackendPort: server.port, ini: `${clientTls(cert, key)}${backendTls('require')}` });
    const port = pgPort(reloading);
    expect(await servedFingerprint(port)).toBe(fingerprintOf(certs.otherServerCertFile));
    const open = new pg.Client({ host: '127.0.0.1', port, user: TLS_USER, database: 'test', ssl: { ca: readFileSync(certs.caFile, 'utf8') } });
    await open.connect();
    try {
      copyFileSync(certs.certFile, cert);
      copyFileSync(certs.keyFile, key);
      reloading.signal('SIGHUP');
      await reloading.waitForStderr('config reloaded');
      expect(await servedFingerprint(port)).toBe(fingerprintOf(certs.certFile));
      expect((await open.query<{ n: number }>('SELECT 6 AS n')).rows).toEqual([{ n: 6 }]);
      writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
      reloading.signal('SIGHUP');
      await reloading.waitForStderr('config reload rejected');
      expect(await servedFingerprint(port)).toBe(fingerprintOf(certs.certFile));
    } finally {
      await open.end();
    }
  });
});

/** Raw client bytes: the startup-phase requests by hand. */
describe('the startup phase on the wire', () => {
  const SSL_REQUEST = Uint8Array.of(0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f);
  const GSSENC_REQUEST = Uint8Array.of(0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30);

  function startupMessage(user: string): Uint8Array {
    const params = Buffer.from(`user\0${user}\0database\0test\0\0`);
    const out = Buffer.alloc(8 + params.length);
    out.writeInt32BE(out.length, 0);
    out.writeInt32BE(196608, 4);
    params.copy(out, 8);
    return out;
  }

  /**
   * Connects, writes `bytes` in one go, and resolves with what was received:
   * everything until the proxy closes, or the first chunk when `isFirstOnly`.
   */
  function exchange(port: number, bytes: Uint8Array, isFirstOnly = false): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket: NetSocket = netConnect({ host: '127.0.0.1', port }, () => socket.write(bytes));
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        if (isFirstOnly) socket.destroy();
      });
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    });
  }

  it('refuses bytes sent after the SSLRequest before its answer (buffer stuffing), with 08P01 and no S', async () => {
    const before = await proxy.metricValue('tqdbproxy_client_tls_refused_total', { protocol: 'postgres', reason: 'unencrypted_data' });
    const stuffed = Buffer.concat([SSL_REQUEST, startupMessage(TLS_USER)]);
    const answer = await exchange(pgPort(proxy), stuffed);
    expect(String.fromCharCode(answer[0]!)).toBe('E');
    const text = answer.toString('latin1');
    expect(text).toContain('C08P01');
    expect(text).toContain('received unencrypted data after SSL request');
    expect(await proxy.metricValue('tqdbproxy_client_tls_refused_total', { protocol: 'postgres', reason: 'unencrypted_data' })).toBe(before + 1);
  });

  it('answers GSSENCRequest with N, then the SSLRequest with S', async () => {
    const socket = netConnect({ host: '127.0.0.1', port: pgPort(proxy) });
    const received: Buffer[] = [];
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    socket.on('data', (c: Buffer) => received.push(c));
    socket.write(GSSENC_REQUEST);
    await waitUntil(() => received.length > 0, { timeoutMs: 5000, description: 'the answer to GSSENCRequest' });
    socket.write(SSL_REQUEST);
    await waitUntil(() => Buffer.concat(received).length >= 2, { timeoutMs: 5000, description: 'the answer to SSLRequest' });
    socket.destroy();
    expect(Buffer.concat(received).toString('latin1')).toBe('NS');
  });

  it('answers the SSLRequest with N when no certificate is configured', async () => {
    await using plain = await startProxy({ protocols: ['postgres'], postgresBackendPort: server.port });
    const answer = await exchange(pgPort(plain), SSL_REQUEST, true);
    expect(answer.toString('latin1')).toBe('N');
  });

  /** Direct TLS (PostgreSQL 17 sslnegotiation=direct): a ClientHello first, then the StartupMessage inside. Resolves with what came back. */
  function directTls(port: number, alpn: string[] | undefined): Promise<{ alpn: string | false; received: Buffer }> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let selected: string | false = false;
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: [readFileSync(certs.caFile, 'utf8')], servername: 'localhost', ALPNProtocols: alpn }, () => {
        selected = socket.alpnProtocol ?? false;
        socket.write(startupMessage(TLS_USER));
      });
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        // ReadyForQuery ends the startup.
        if (Buffer.concat(chunks).includes(Buffer.from([0x5a, 0, 0, 0, 5]))) socket.end();
      });
      socket.on('close', () => resolve({ alpn: selected, received: Buffer.concat(chunks) }));
      socket.on('error', (error) => (chunks.length === 0 ? resolve({ alpn: selected, received: Buffer.alloc(0) }) : reject(error)));
    });
  }

  it('serves direct TLS with ALPN "postgresql" (sslnegotiation=direct): AuthenticationOk inside TLS', async () => {
    const { alpn, received } = await directTls(pgPort(proxy), ['postgresql']);
    expect(alpn).toBe('postgresql');
    expect(received.subarray(0, 9)).toEqual(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]));
  });

  it('refuses direct TLS without ALPN, as PostgreSQL 17 does', async () => {
    const before = await proxy.metricValue('tqdbproxy_client_tls_refused_total', { protocol: 'postgres', reason: 'handshake' });
    const { received } = await directTls(pgPort(proxy), undefined);
    expect(received.length).toBe(0);
    await waitUntil(async () => (await proxy.metricValue('tqdbproxy_client_tls_refused_total', { protocol: 'postgres', reason: 'handshake' })) === before + 1, {
      timeoutMs: 5000,
      description: 'the refusal to be counted',
    });
  });
});
