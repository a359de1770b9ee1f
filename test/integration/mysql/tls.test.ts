// TLS on both links (issue #11). The backend is a throwaway mariadbd with
// require_secure_transport=ON, so a plaintext proxy-to-server link would be
// refused: every login that works here went over TLS to the server.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { copyFileSync, writeFileSync } from 'node:fs';
import mariadb from 'mariadb';
import { startMariaDb, type MariaDbServer } from '../../support/mariadb.ts';
import { mysqlConnect, runMariadbCli } from '../../support/mysql.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { makeCertificates, type Certificates } from '../../support/tls.ts';

let certs: Certificates;
let db: MariaDbServer;
/** TLS offered to clients (allow), verify-full towards the server. */
let proxy: ProxyProcess;
/** tls_mode = require with client certificates (tls_ca_file), verify-ca towards the server. */
let strict: ProxyProcess;
/** TLS to clients, plaintext to the shared server on 3306 (the client link alone is encrypted). */
let clientOnly: ProxyProcess;
/** clientOnly's own copies of the server certificate, swapped by the reload test. */
let reloadCert: string;
let reloadKey: string;

function clientTlsIni(extra = ''): string {
  return `[mariadb]\ntls_cert_file = ${certs.certFile}\ntls_key_file = ${certs.keyFile}\n${extra}`;
}

beforeAll(async () => {
  certs = await makeCertificates();
  db = await startMariaDb({
    tls: { caFile: certs.caFile, certFile: certs.certFile, keyFile: certs.keyFile, requireSecureTransport: true },
    extraArgs: ['--plugin-load-add=auth_ed25519'],
  });
  const admin = await mysqlConnect(db.port, { ssl: { ca: await Bun.file(certs.caFile).text() } });
  await admin.query("CREATE USER 'tls_edu'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('ed-secret')");
  await admin.query("CREATE USER 'tls_nat'@'%' IDENTIFIED BY 'nat-secret'");
  await admin.query("GRANT SELECT ON *.* TO 'tls_edu'@'%', 'tls_nat'@'%'");
  await admin.end();
  const backend = `[mariadb.main]\nbackend_tls = verify-full\nbackend_tls_ca_file = ${certs.caFile}\n`;
  proxy = await startProxy({ backendPort: db.port, ini: `${clientTlsIni()}${backend}` });
  strict = await startProxy({
    backendPort: db.port,
    ini: `${clientTlsIni(`tls_mode = require\ntls_ca_file = ${certs.caFile}\n`)}[mariadb.main]\nbackend_tls = verify-ca\nbackend_tls_ca_file = ${certs.caFile}\n`,
  });
  reloadCert = `${certs.dir}/reload.pem`;
  reloadKey = `${certs.dir}/reload.key`;
  copyFileSync(certs.certFile, reloadCert);
  copyFileSync(certs.keyFile, reloadKey);
  clientOnly = await startProxy({ ini: `[mariadb]\ntls_cert_file = ${reloadCert}\ntls_key_file = ${reloadKey}\n` });
}, 120_000);

afterAll(async () => {
  await Promise.all([proxy?.stop(), strict?.stop(), clientOnly?.stop()]);
  await db?.stop();
  await certs?.remove();
});

const ca = () => Bun.file(certs.caFile).text();

/** The cipher of the proxy's link as the server sees it: empty when that link is plaintext. */
async function serverSideCipher(conn: Awaited<ReturnType<typeof mysqlConnect>>): Promise<string> {
  const [rows] = await conn.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
  return (rows as { Value: string }[])[0]?.Value ?? '';
}

describe('TLS towards clients and backends (MariaDB)', () => {
  it('serves the mariadb CLI with --ssl --ssl-verify-server-cert, TLS on both links', async () => {
    const result = await runMariadbCli(proxy.port, "status; SHOW SESSION STATUS LIKE 'Ssl_cipher'", [
      '--ssl',
      '--ssl-verify-server-cert',
      `--ssl-ca=${certs.caFile}`,
      '-N',
      '-B',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/SSL:\s+Cipher in use is \S+/);
    expect(result.stdout).toMatch(/Ssl_cipher\t\S+/);
  });

  it('refuses --ssl-verify-server-cert when the client trusts another CA', async () => {
    const result = await runMariadbCli(proxy.port, 'SELECT 1', ['--ssl', '--ssl-verify-server-cert', `--ssl-ca=${certs.otherCaFile}`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/SSL|certificate/i);
  });

  it('serves mysql2 with ssl', async () => {
    const conn = await mysqlConnect(proxy.port, { ssl: { ca: await ca() } });
    const [rows] = await conn.query('SELECT 1 AS one');
    expect(rows as unknown).toEqual([{ one: 1 }]);
    expect(await serverSideCipher(conn)).not.toBe('');
    await conn.end();
  });

  it('compresses inside TLS on both links (mysql2 ssl + compress)', async () => {
    const conn = await mysqlConnect(proxy.port, { ssl: { ca: await ca() }, compress: true });
    const [status] = await conn.query("SHOW SESSION STATUS LIKE 'Compression'");
    expect(status as unknown).toEqual([{ Variable_name: 'Compression', Value: 'ON' }]);
    expect(await serverSideCipher(conn)).not.toBe('');
    const [rows] = await conn.query("SELECT LENGTH(REPEAT('t', 500000)) AS n, REPEAT('t', 70000) AS s");
    expect(rows as unknown).toEqual([{ n: 500000, s: 't'.repeat(70000) }]);
    await conn.end();
  });

  it('runs the node mariadb connector\'s batch() over TLS and compression, as one bulk execute', async () => {
    const conn = await mariadb.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'test', ssl: { ca: await ca() }, compress: true });
    try {
      await conn.query('CREATE TABLE IF NOT EXISTS tls_bulk (id INT PRIMARY KEY, v VARCHAR(10))');
      const result = await conn.batch('INSERT INTO tls_bulk VALUES (?, ?)', [[1, 'a'], [2, 'b'], [3, 'c']]);
      expect(Number((result as { affectedRows: number }).affectedRows)).toBe(3);
      const [executes] = await conn.query("SHOW SESSION STATUS LIKE 'Com_stmt_execute'");
      expect((executes as { Value: string }).Value).toBe('1');
      const [compression] = await conn.query("SHOW SESSION STATUS LIKE 'Compression'");
      expect((compression as { Value: string }).Value).toBe('ON');
      await conn.query('DROP TABLE tls_bulk');
    } finally {
      await conn.end();
    }
  });

  it('encrypts the server link for a plaintext client (tls_mode = allow)', async () => {
    const conn = await mysqlConnect(proxy.port);
    expect(await serverSideCipher(conn)).not.toBe('');
    await conn.end();
  });

  it('relays an auth switch (client_ed25519) with TLS on the server link only', async () => {
    const result = await runMariadbCli(proxy.port, 'SELECT CURRENT_USER()', ['-N', '-B', '-utls_edu', '-ped-secret']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('tls_edu@%');
  });

  it('relays an auth switch (client_ed25519) with TLS on both links', async () => {
    const result = await runMariadbCli(proxy.port, 'SELECT CURRENT_USER()', ['-N', '-B', '--ssl', `--ssl-ca=${certs.caFile}`, '-utls_edu', '-ped-secret']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('tls_edu@%');
  });

  it('relays the server\'s access-denied error inside TLS', async () => {
    let errno = 0;
    try {
      await mysqlConnect(proxy.port, { ssl: { ca: await ca() }, user: 'tls_nat', password: 'wrong', database: undefined });
    } catch (error) {
      errno = (error as { errno: number }).errno;
    }
    expect(errno).toBe(1045);
  });

  it('encrypts only the client link towards a plaintext backend', async () => {
    const conn = await mysqlConnect(clientOnly.port, { ssl: { ca: await ca() } });
    const [rows] = await conn.query('SELECT 2 AS two');
    expect(rows as unknown).toEqual([{ two: 2 }]);
    expect(await serverSideCipher(conn)).toBe('');
    await conn.end();
    const cli = await runMariadbCli(clientOnly.port, 'SELECT 3', ['-N', '-B', '--ssl', '--ssl-verify-server-cert', `--ssl-ca=${certs.caFile}`]);
    expect(cli.stderr).toBe('');
    expect(cli.stdout.trim()).toBe('3');
  });

  it('relays an auth switch (client_ed25519) with TLS on the client link only', async () => {
    // Over the server's unix socket, which require_secure_transport accepts without TLS.
    await using unixBackend = await startProxy({ ini: `${clientTlsIni()}[mariadb.main]\nprimary = unix:${db.socketPath}\n` });
    const result = await runMariadbCli(unixBackend.port, 'SELECT CURRENT_USER()', ['-N', '-B', '--ssl', `--ssl-ca=${certs.caFile}`, '-utls_edu', '-ped-secret']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('tls_edu@%');
  });

  it('refuses a plaintext login under tls_mode = require, with a clear error, and counts it', async () => {
    const before = await strict.metricValue('tqdbproxy_client_tls_refused_total', { protocol: 'mariadb', reason: 'plaintext' });
    let error: { errno?: number; message?: string } = {};
    try {
      await mysqlConnect(strict.port);
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.errno).toBe(1045);
    expect(error.message).toContain('tls_mode = require');
    expect(await strict.metricValue('tqdbproxy_client_tls_refused_total', { protocol: 'mariadb', reason: 'plaintext' })).toBe(before + 1);
  });

  it('accepts a client certificate signed by tls_ca_file', async () => {
    const conn = await mysqlConnect(strict.port, {
      ssl: { ca: await ca(), cert: await Bun.file(certs.clientCertFile).text(), key: await Bun.file(certs.clientKeyFile).text() },
    });
    const [rows] = await conn.query('SELECT 4 AS four');
    expect(rows as unknown).toEqual([{ four: 4 }]);
    expect(await serverSideCipher(conn)).not.toBe('');
    await conn.end();
  });

  it('refuses a TLS client without a certificate when tls_ca_file is set', async () => {
    let failed = false;
    try {
      const conn = await mysqlConnect(strict.port, { ssl: { ca: await ca() } });
      await conn.query('SELECT 1');
      await conn.end();
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
  });

  it('refuses a backend whose certificate another CA signed (verify-full)', async () => {
    await using wrongCa = await startProxy({
      backendPort: db.port,
      ini: `[mariadb.main]\nbackend_tls = verify-full\nbackend_tls_ca_file = ${certs.otherCaFile}\n`,
    });
    let error: { errno?: number; message?: string } = {};
    try {
      await mysqlConnect(wrongCa.port);
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.errno).toBe(1105); // ER_UNKNOWN_ERROR with the proxy's message: CR_* numbers in an ERR packet read as malformed to libmariadb
    expect(error.message).toContain('certificate');
  });

  it('refuses a plaintext-only backend under backend_tls = require', async () => {
    await using plainOnly = await startProxy({ ini: '[mariadb.main]\nbackend_tls = require\n' });
    let error: { errno?: number; message?: string } = {};
    try {
      await mysqlConnect(plainOnly.port);
    } catch (e) {
      error = e as typeof error;
    }
    // The shared server on 3306 has no TLS configured (have_ssl = DISABLED).
    expect(error.errno).toBe(1105); // ER_UNKNOWN_ERROR with the proxy's message: CR_* numbers in an ERR packet read as malformed to libmariadb
    expect(error.message).toContain('does not offer TLS');
  });

  it('reloads its certificate on SIGHUP; open TLS connections stay up', async () => {
    const oldConn = await mysqlConnect(clientOnly.port, { ssl: { ca: await ca() } });
    // The other CA's self-signed certificate replaces the served one: only a client trusting that CA accepts it.
    copyFileSync(certs.otherCaFile, reloadCert);
    copyFileSync(certs.otherCaFile.replace(/\.pem$/, '.key'), reloadKey);
    clientOnly.signal('SIGHUP');
    await clientOnly.waitForStderr('config reloaded');
    const fresh = await mysqlConnect(clientOnly.port, {
      // Its certificate names no host: only the chain is the point here.
      ssl: { ca: await Bun.file(certs.otherCaFile).text(), checkServerIdentity: () => undefined } as { ca: string },
    });
    const [rows] = await fresh.query('SELECT 5 AS five');
    expect(rows as unknown).toEqual([{ five: 5 }]);
    await fresh.end();
    let isOldCaRefused = false;
    await mysqlConnect(clientOnly.port, { ssl: { ca: await ca() } }).then((c) => c.end(), () => (isOldCaRefused = true));
    expect(isOldCaRefused).toBe(true);
    const [old] = await oldConn.query('SELECT 6 AS six');
    expect(old as unknown).toEqual([{ six: 6 }]);
    await oldConn.end();
  });

  it('keeps serving its last good certificate when a reload finds a broken one', async () => {
    writeFileSync(reloadCert, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    clientOnly.signal('SIGHUP');
    await clientOnly.waitForStderr('config reload rejected');
    const conn = await mysqlConnect(clientOnly.port, {
      ssl: { ca: await Bun.file(certs.otherCaFile).text(), checkServerIdentity: () => undefined } as { ca: string },
    });
    const [rows] = await conn.query('SELECT 7 AS seven');
    expect(rows as unknown).toEqual([{ seven: 7 }]);
    await conn.end();
  });
});
