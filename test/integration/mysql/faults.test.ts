// One misbehaving client or a dying backend must not stop the proxy from serving everyone else.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import mysql from 'mysql2';
import { startMariaDb, type MariaDbServer } from '../../support/mariadb.ts';
import { mysqlConnect } from '../../support/mysql.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { waitUntil } from '../../support/wait.ts';

let proxy: ProxyProcess;

beforeAll(async () => {
  proxy = await startProxy({ ini: '[mariadb]\nmax_packet_size = 1048576' });
});

afterAll(async () => {
  await proxy?.stop();
});

async function servesFreshClient(port: number): Promise<void> {
  const c = await mysqlConnect(port);
  try {
    const [rows] = await c.query('SELECT 42 AS answer');
    expect(rows as unknown).toEqual([{ answer: 42 }]);
  } finally {
    await c.end();
  }
}

/** Opens a raw TCP connection and collects what the proxy sends. */
async function rawClient(port: number): Promise<{ socket: import('bun').Socket<undefined>; received: () => Uint8Array; closed: Promise<void> }> {
  const chunks: Uint8Array[] = [];
  let onClose = (): void => {};
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data(_s, chunk) {
        chunks.push(Uint8Array.from(chunk));
      },
      close() {
        onClose();
      },
    },
  });
  return { socket, received: () => Buffer.concat(chunks), closed };
}

describe('faults', () => {
  it('a client killed in the middle of a large result leaves the proxy serving others', async () => {
    const c = mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'test' });
    await new Promise<void>((resolve, reject) => {
      const stream = c.query("SELECT REPEAT('x', 1000) AS pad FROM seq_1_to_200000").stream();
      stream.once('data', () => {
        c.destroy();
        resolve();
      });
      stream.once('error', reject);
    });
    await servesFreshClient(proxy.port);
    await waitUntil(async () => (await proxy.metricValue('tqdbproxy_client_connections', { protocol: 'mariadb' })) === 0, { description: 'the killed client is closed' });
  });

  it('garbage bytes get an error and a close, and others keep working', async () => {
    const raw = await rawClient(proxy.port);
    await waitUntil(() => raw.received().length > 4, { description: 'the greeting' });
    raw.socket.write(Uint8Array.from([0x05, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x00]));
    await raw.closed;
    const bytes = raw.received();
    const greetingLength = bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16);
    const reply = bytes.subarray(4 + greetingLength);
    expect(reply[4]).toBe(0xff);
    await servesFreshClient(proxy.port);
  });

  it('a packet larger than max_packet_size gets ER_NET_PACKET_TOO_LARGE and a close', async () => {
    const c = await mysqlConnect(proxy.port);
    let errno = 0;
    try {
      await c.query(`SELECT '${'x'.repeat(2 * 1024 * 1024)}' AS big`);
    } catch (error) {
      errno = (error as { errno: number }).errno;
    }
    expect(errno).toBe(1153);
    c.destroy();
    await servesFreshClient(proxy.port);
  });

  it('an unreachable backend gives a clear connection error', async () => {
    await using dead = await startProxy({ backendPort: 1 });
    let message = '';
    try {
      await mysqlConnect(dead.port);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('cannot connect to backend');
  });
});

describe('backend loss', () => {
  let db: MariaDbServer;
  let lossProxy: ProxyProcess;

  beforeAll(async () => {
    db = await startMariaDb();
    lossProxy = await startProxy({ backendPort: db.port });
  });

  afterAll(async () => {
    await lossProxy?.stop();
    await db?.stop();
  });

  it('a backend that dies mid-query gives its client a lost-connection error and the proxy recovers', async () => {
    const c = await mysqlConnect(lossProxy.port);
    const pending = c.query('SELECT SLEEP(30)').then(
      () => 'answered',
      (error: { code?: string; errno?: number; message: string }) => error.code ?? String(error.errno),
    );
    await waitUntil(async () => {
      const probe = await mysqlConnect(db.port);
      try {
        const [rows] = await probe.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(30)'");
        return (rows as { n: number }[])[0]!.n === 1;
      } finally {
        await probe.end();
      }
    }, { description: 'the query is running' });
    await db.kill();
    const outcome = await pending;
    expect(outcome).not.toBe('answered');
    expect(['PROTOCOL_CONNECTION_LOST', '2013', 'ECONNRESET']).toContain(outcome);
    c.destroy();

    let refused = '';
    try {
      await mysqlConnect(lossProxy.port);
    } catch (error) {
      refused = (error as Error).message;
    }
    expect(refused).toContain('cannot connect to backend');

    await db.restart();
    await servesFreshClient(lossProxy.port);
  });
});
