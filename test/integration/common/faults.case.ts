// Faults from the client side: garbage bytes and a client killed mid-result cost that client only.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { ProtocolDriver } from '../../support/protocol-client.ts';
import type { ProxyProcess } from '../../support/proxy.ts';
import { waitUntil } from '../../support/wait.ts';

export function faultsCase(driver: ProtocolDriver): void {
  describe(`client faults (${driver.name})`, () => {
    let proxy: ProxyProcess;
    let port = 0;

    async function servesFreshClient(): Promise<void> {
      const c = await driver.connect(port);
      try {
        expect((await c.query('SELECT 42 AS answer')).rows.map((r) => Number(r.answer))).toEqual([42]);
      } finally {
        await c.end();
      }
    }

    const connections = (): Promise<number> => proxy.metricValue('tqdbproxy_client_connections', { protocol: driver.name });

    beforeAll(async () => {
      proxy = await driver.startProxy();
      port = driver.port(proxy);
    });

    afterAll(async () => {
      await proxy?.stop();
    });

    it('answers garbage bytes with a protocol error and a close, and serves a fresh client', async () => {
      expect(await driver.sendGarbage(port)).toBe(driver.codes.protocolViolation);
      await servesFreshClient();
      await waitUntil(async () => (await connections()) === 0, { description: 'the garbage client to be counted closed' });
    });

    it('a client killed in the middle of a large result leaves the proxy serving others, and its server session ends', async () => {
      const marker = `cc_${driver.name}_fault_big`;
      await driver.killMidResult(port, marker);
      await servesFreshClient();
      await waitUntil(async () => (await connections()) === 0, { description: 'the killed client to be closed' });
      await waitUntil(async () => (await driver.serverQueriesLike(marker)) === 0, { description: 'the server session running the big result to end', timeoutMs: 20_000 });
    });
  });
}
