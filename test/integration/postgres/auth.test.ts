// Authentication is relayed end to end: the proxy stores no credentials, the server decides.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import postgres from 'postgres';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { runClient } from '../../support/process.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { makeScratchDir, removeDir } from '../../support/tmp.ts';
import { waitUntil } from '../../support/wait.ts';

let server: PostgresServer;
let proxy: ProxyProcess;
let port = 0;
let hbaDir = '';

const USERS = {
  scram: { user: 'tqdb_auth_scram', password: 'scr@m-Secret!' },
  md5: { user: 'tqdb_auth_md5', password: 'md5 secret' },
  cleartext: { user: 'tqdb_auth_clear', password: 'clear-secret' },
} as const;

beforeAll(async () => {
  hbaDir = makeScratchDir('tqdb-pg-hba-');
  const hba = join(hbaDir, 'pg_hba.conf');
  writeFileSync(
    hba,
    [
      'local all all trust',
      'host all root 127.0.0.1/32 trust',
      `host all ${USERS.scram.user} 127.0.0.1/32 scram-sha-256`,
      `host all ${USERS.md5.user} 127.0.0.1/32 md5`,
      `host all ${USERS.cleartext.user} 127.0.0.1/32 password`,
      '',
    ].join('\n'),
  );
  // The server runs as the postgres OS user and must read the file.
  chmodSync(hbaDir, 0o755);
  chmodSync(hba, 0o644);
  server = await startPostgres({ settings: { hba_file: hba } });
  const admin = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'root', database: 'test' });
  await admin.connect();
  await admin.query("SET password_encryption = 'scram-sha-256'");
  await admin.query(`CREATE ROLE ${USERS.scram.user} LOGIN PASSWORD '${USERS.scram.password}'`);
  await admin.query(`CREATE ROLE ${USERS.cleartext.user} LOGIN PASSWORD '${USERS.cleartext.password}'`);
  // md5 in pg_hba uses SCRAM when the stored verifier is SCRAM: store an md5 one.
  await admin.query("SET password_encryption = 'md5'");
  await admin.query(`CREATE ROLE ${USERS.md5.user} LOGIN PASSWORD '${USERS.md5.password}'`);
  await admin.end();
  proxy = await startProxy({ protocols: ['postgres'], postgresBackendPort: server.port });
  port = proxy.listeners.postgres!.port;
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
  if (hbaDir !== '') await removeDir(hbaDir);
});

async function whoAmI(user: string, password: string): Promise<string> {
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'test' });
  await c.connect();
  try {
    const r = await c.query('SELECT current_user AS u');
    return r.rows[0].u as string;
  } finally {
    await c.end();
  }
}

async function loginError(user: string, password: string): Promise<{ code?: string; message?: string }> {
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'test' });
  const error = await c.connect().then(
    () => null,
    (e: unknown) => e as { code?: string; message?: string },
  );
  await c.end().catch(() => {});
  if (error === null) throw new Error(`${user} logged in with a wrong password`);
  return error;
}

describe('PostgreSQL authentication relay', () => {
  for (const [method, { user, password }] of Object.entries(USERS)) {
    it(`logs in with ${method} through node-postgres`, async () => {
      expect(await whoAmI(user, password)).toBe(user);
    });

    it(`refuses a wrong ${method} password with the server's 28P01`, async () => {
      const error = await loginError(user, `${password}-wrong`);
      expect(error.code).toBe('28P01');
      expect(error.message).toContain(`password authentication failed for user "${user}"`);
    });
  }

  it('logs in with SCRAM-SHA-256 through postgres.js and Bun.SQL', async () => {
    const sql = postgres({ host: '127.0.0.1', port, user: USERS.scram.user, password: USERS.scram.password, database: 'test', max: 1 });
    try {
      const [row] = await sql`SELECT current_user AS u`;
      expect(row).toEqual({ u: USERS.scram.user });
    } finally {
      await sql.end();
    }
    const bun = new Bun.SQL({ hostname: '127.0.0.1', port, username: USERS.scram.user, password: USERS.scram.password, database: 'test', max: 1 });
    try {
      const rows = await bun`SELECT current_user AS u`;
      expect([...rows]).toEqual([{ u: USERS.scram.user }]);
    } finally {
      await bun.close();
    }
  });

  it('logs in with md5 through psql, and refuses a wrong password', async () => {
    const argv = ['psql', '-X', '-At', '-h', '127.0.0.1', '-p', String(port), '-U', USERS.md5.user, '-d', 'test', '-c', 'SELECT current_user'];
    const ok = await runClient(argv, 30_000, { PGPASSWORD: USERS.md5.password });
    expect(ok.stdout.trim()).toBe(USERS.md5.user);
    const bad = await runClient(argv, 30_000, { PGPASSWORD: 'nope' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('password authentication failed');
  });

  it('relays the server\'s refusal of an unknown role', async () => {
    const error = await loginError('tqdb_auth_nobody', 'x');
    expect(error.code).toBe('28000');
  });

  it('closes the client after a failed login, at the proxy and at the server', async () => {
    await loginError(USERS.scram.user, 'wrong');
    await waitUntil(async () => (await proxy.metricValue('tqdbproxy_client_connections', { protocol: 'postgres' })) === 0, { description: 'the refused client to be closed' });
    const admin = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'root', database: 'test' });
    await admin.connect();
    try {
      const r = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
      expect(r.rows[0].n).toBe(0);
    } finally {
      await admin.end();
    }
  });
});
