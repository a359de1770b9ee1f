// Authentication is relayed end to end: the proxy stores no credentials, and
// plugin switches (here to client_ed25519) pass through untouched.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { startMariaDb, type MariaDbServer } from '../../support/mariadb.ts';
import { mysqlConnect, runMariadbCli } from '../../support/mysql.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';

let db: MariaDbServer;
let proxy: ProxyProcess;

beforeAll(async () => {
  db = await startMariaDb({ extraArgs: ['--plugin-load-add=auth_ed25519'] });
  const admin = await mysqlConnect(db.port);
  await admin.query("CREATE USER 'edu'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('ed-secret')");
  await admin.query("CREATE USER 'nat'@'%' IDENTIFIED BY 'nat-secret'");
  await admin.query("GRANT SELECT ON *.* TO 'edu'@'%', 'nat'@'%'");
  await admin.end();
  proxy = await startProxy({ backendPort: db.port });
});

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

describe('authentication relay', () => {
  it('relays an auth switch to client_ed25519 (mariadb CLI)', async () => {
    const result = await runMariadbCli(proxy.port, 'SELECT CURRENT_USER()', ['-N', '-B', '-uedu', '-ped-secret']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('edu@%');
  });

  it('relays the server\'s access-denied error for a wrong ed25519 password', async () => {
    const result = await runMariadbCli(proxy.port, 'SELECT 1', ['-uedu', '-pwrong']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('1045');
  });

  it('relays mysql_native_password for mysql2, and its access-denied error', async () => {
    const c = await mysqlConnect(proxy.port, { user: 'nat', password: 'nat-secret', database: undefined });
    const [rows] = await c.query('SELECT CURRENT_USER() AS u');
    expect(rows as unknown).toEqual([{ u: 'nat@%' }]);
    await c.end();
    let errno = 0;
    try {
      await mysqlConnect(proxy.port, { user: 'nat', password: 'nope', database: undefined });
    } catch (error) {
      errno = (error as { errno: number }).errno;
    }
    expect(errno).toBe(1045);
  });

  it('keeps serving after failed logins', async () => {
    const c = await mysqlConnect(proxy.port);
    const [rows] = await c.query('SELECT 1 AS one');
    expect(rows as unknown).toEqual([{ one: 1 }]);
    await c.end();
  });
});
