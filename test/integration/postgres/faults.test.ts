// One misbehaving client or a dying backend must not stop the proxy from serving everyone else.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import pg from 'pg';
import { pgCstr, pgErrorFields, pgMessage, pgQuery, pgStartupMessage } from '../../support/bytes.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { rawPgClient } from '../../support/raw-postgres.ts';
import { waitUntil } from '../../support/wait.ts';

let proxy: ProxyProcess;
let port = 0;

beforeAll(async () => {
  proxy = await startProxy({ protocols: ['postgres'], ini: '[postgres]\nmax_packet_size = 1048576' });
  port = proxy.listeners.postgres!.port;
});

afterAll(async () => {
  await proxy?.stop();
});

async function servesFreshClient(atPort = port): Promise<void> {
  const c = new pg.Client({ host: '127.0.0.1', port: atPort, user: 'root', database: 'test' });
  await c.connect();
  try {
    expect((await c.query('SELECT 42 AS answer')).rows).toEqual([{ answer: 42 }]);
  } finally {
    await c.end();
  }
}

async function activeSessions(pattern: string, serverPort = 5432): Promise<number> {
  const c = new pg.Client({ host: '127.0.0.1', port: serverPort, user: 'root', database: 'test' });
  await c.connect();
  try {
    const r = await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()', [`%${pattern}%`]);
    return r.rows[0].n as number;
  } finally {
    await c.end();
  }
}

function errorOf(messages: { type: string; body: Uint8Array }[]): Record<string, string> | undefined {
  const e = messages.find((m) => m.type === 'E');
  return e === undefined ? undefined : pgErrorFields(e.body);
}

describe('PostgreSQL faults', () => {
  it('garbage instead of a startup message gets 08P01 and a close; others keep working', async () => {
    const raw = await rawPgClient(port);
    raw.socket.write(Uint8Array.from([0x7f, 0xff, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef]));
    await raw.closed;
    expect(errorOf(raw.messages())).toMatchObject({ V: 'FATAL', C: '08P01' });
    await servesFreshClient();
  });

  it('an unknown message type after login gets 08P01 and a close', async () => {
    const raw = await rawPgClient(port);
    await raw.login();
    const from = raw.received().length;
    raw.socket.write(pgMessage('\u0001', [1, 2, 3]));
    await raw.closed;
    expect(errorOf(raw.messages(from))).toMatchObject({ V: 'FATAL', C: '08P01' });
    await servesFreshClient();
  });

  it('a message larger than max_packet_size gets 08P01 and a close, before it is buffered', async () => {
    const raw = await rawPgClient(port);
    await raw.login();
    const from = raw.received().length;
    // Only the header is sent: the proxy must refuse on the announced length alone.
    raw.socket.write(Uint8Array.from([0x51, 0x00, 0x20, 0x00, 0x00]));
    await raw.closed;
    const error = errorOf(raw.messages(from));
    expect(error).toMatchObject({ V: 'FATAL', C: '08P01' });
    expect(error!.M).toContain('max_packet_size');
    await servesFreshClient();
  });

  it('an unsupported protocol version is refused with 08P01', async () => {
    const raw = await rawPgClient(port);
    raw.socket.write(pgStartupMessage(2 << 16, [...pgCstr('user'), ...pgCstr('root'), 0]));
    await raw.closed;
    expect(errorOf(raw.messages())).toMatchObject({ C: '08P01' });
  });

  it('answers SSLRequest and GSSENCRequest with N and goes on in plain text', async () => {
    const raw = await rawPgClient(port);
    raw.socket.write(pgStartupMessage(80877103));
    await waitUntil(() => raw.received().length >= 1, { description: 'the SSL answer' });
    expect(raw.received()[0]).toBe(0x4e);
    raw.socket.write(pgStartupMessage(80877104));
    await waitUntil(() => raw.received().length >= 2, { description: 'the GSSENC answer' });
    expect(raw.received()[1]).toBe(0x4e);
    raw.socket.write(Uint8Array.from(pgStartupMessage(196608, [...pgCstr('user'), ...pgCstr('root'), ...pgCstr('database'), ...pgCstr('test'), 0])));
    await waitUntil(() => raw.messages(2).some((m) => m.type === 'Z'), { description: 'ReadyForQuery' });
    raw.socket.end();
  });

  it('a cancel request with an unknown key is dropped and breaks nothing', async () => {
    const raw = await rawPgClient(port);
    raw.socket.write(pgStartupMessage(80877102, [0, 0, 0, 1, 0, 0, 0, 2]));
    await raw.closed;
    expect(raw.received().length).toBe(0);
    await servesFreshClient();
  });

  it('a cancel through node-postgres stops the right query and not another session\'s', async () => {
    const victim = new pg.Client({ host: '127.0.0.1', port, user: 'root', database: 'test' });
    const bystander = new pg.Client({ host: '127.0.0.1', port, user: 'root', database: 'test' });
    await victim.connect();
    await bystander.connect();
    try {
      const victimQuery = victim.query('SELECT pg_sleep(30), 1 AS pg_fault_victim').then(
        () => 'finished',
        (e: unknown) => (e as { code?: string }).code,
      );
      const bystanderQuery = bystander.query('SELECT pg_sleep(0.5), 2 AS pg_fault_bystander');
      await waitUntil(async () => (await activeSessions('pg_fault_victim')) === 1, { description: 'the victim query to run' });
      // node-postgres cancels by opening a new connection with the key it got at startup.
      const canceller = new pg.Client({ host: '127.0.0.1', port, user: 'root', database: 'test' });
      (canceller as unknown as { cancel(target: pg.Client, query: unknown): void }).cancel(victim, (victim as unknown as { activeQuery: unknown }).activeQuery);
      expect(await victimQuery).toBe('57014');
      expect((await bystanderQuery).rows[0]).toMatchObject({ pg_fault_bystander: 2 });
    } finally {
      await victim.end();
      await bystander.end();
    }
  });
});

describe('PostgreSQL faults with a throwaway server', () => {
  let server: PostgresServer;
  let own: ProxyProcess;
  let ownPort = 0;

  beforeAll(async () => {
    server = await startPostgres();
    own = await startProxy({ protocols: ['postgres'], postgresBackendPort: server.port });
    ownPort = own.listeners.postgres!.port;
  });

  afterAll(async () => {
    await own?.stop();
    await server?.stop();
  });

  it('a backend killed mid-query gives the client 08006, and the proxy serves again once the server is back', async () => {
    const raw = await rawPgClient(ownPort);
    await raw.login();
    const from = raw.received().length;
    raw.socket.write(pgQuery('SELECT pg_sleep(30) AS pg_fault_killed'));
    await waitUntil(async () => (await activeSessions('pg_fault_killed', server.port)) === 1, { description: 'the query to run' });
    await server.kill();
    await raw.closed;
    expect(errorOf(raw.messages(from))).toMatchObject({ V: 'FATAL', C: '08006' });
    await server.restart();
    await servesFreshClient(ownPort);
  });

  it('a backend shut down by the server relays the server\'s own 57P01', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: ownPort, user: 'root', database: 'test' });
    await c.connect();
    const error = new Promise<{ code?: string }>((resolve) => c.on('error', (e) => resolve(e as { code?: string })));
    const admin = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'root', database: 'test' });
    await admin.connect();
    try {
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'root' AND pid <> pg_backend_pid() AND backend_type = 'client backend'");
      expect((await error).code).toBe('57P01');
    } finally {
      await admin.end();
      await c.end().catch(() => {});
    }
    await servesFreshClient(ownPort);
  });

  it('a proxy shutdown tells an idle client 57P01', async () => {
    const stopping = await startProxy({ protocols: ['postgres'], postgresBackendPort: server.port });
    const raw = await rawPgClient(stopping.listeners.postgres!.port);
    await raw.login();
    const from = raw.received().length;
    await stopping.stop();
    await raw.closed;
    expect(errorOf(raw.messages(from))).toMatchObject({ V: 'FATAL', C: '57P01' });
  });
});

describe('PostgreSQL connection limits', () => {
  it('refuses the client past max_client_connections with the server\'s own 53300, and serves again once one leaves', async () => {
    await using limited = await startProxy({ protocols: ['postgres'], ini: '[postgres]\nmax_client_connections = 2' });
    const limitedPort = limited.listeners.postgres!.port;
    const held = [new pg.Client({ host: '127.0.0.1', port: limitedPort, user: 'root', database: 'test' }), new pg.Client({ host: '127.0.0.1', port: limitedPort, user: 'root', database: 'test' })];
    await Promise.all(held.map((c) => c.connect()));
    const third = new pg.Client({ host: '127.0.0.1', port: limitedPort, user: 'root', database: 'test' });
    const refused = await third.connect().then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    await third.end().catch(() => {});
    expect(refused?.code).toBe('53300');
    await held[0]!.end();
    await waitUntil(async () => (await limited.metricValue('tqdbproxy_client_connections', { protocol: 'postgres' })) === 1, { description: 'the first client to leave' });
    await servesFreshClient(limitedPort);
    await held[1]!.end();
  });

  it('drops a client that does not log in within handshake_timeout_ms', async () => {
    await using limited = await startProxy({ protocols: ['postgres'], ini: '[postgres]\nhandshake_timeout_ms = 300' });
    const raw = await rawPgClient(limited.listeners.postgres!.port);
    await raw.closed;
    expect(raw.received().length).toBe(0);
    await servesFreshClient(limited.listeners.postgres!.port);
  });
});
