// One misbehaving client or a dying backend must not stop the proxy from serving everyone else.
// Garbage bytes and a client killed mid-result are tested for both protocols in test/integration/common/faults.case.ts.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
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

describe('faults', () => {
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
