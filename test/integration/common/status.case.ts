// SHOW TQDB STATUS and SHOW TQDB STATUS LIKE, answered by the proxy on both listeners.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { DbClient, ProtocolDriver } from '../../support/protocol-client.ts';
import type { ProxyProcess } from '../../support/proxy.ts';

export function statusCase(driver: ProtocolDriver): void {
  describe(`SHOW TQDB STATUS (${driver.name})`, () => {
    let proxy: ProxyProcess;
    let c: DbClient;

    beforeAll(async () => {
      proxy = await driver.startProxy();
      c = await driver.connect(driver.port(proxy));
    });

    afterAll(async () => {
      await c?.end();
      await proxy?.stop();
    });

    it('answers five Variable_name/Value rows in a fixed order', async () => {
      await c.query('SELECT 1 AS one');
      const { rows } = await c.query('SHOW TQDB STATUS');
      expect(rows).toEqual([
        { Variable_name: 'Shard', Value: 'main' },
        { Variable_name: 'Backend', Value: 'primary' },
        { Variable_name: 'CacheAge', Value: '' },
        { Variable_name: 'LastBatchSize', Value: '' },
        { Variable_name: 'InTransaction', Value: '0' },
      ]);
    });

    it('filters by LIKE, case-insensitively, with % and _', async () => {
      expect((await c.query("SHOW TQDB STATUS LIKE 'Shard'")).rows).toEqual([{ Variable_name: 'Shard', Value: 'main' }]);
      expect((await c.query("show tqdb status like 'cache%'")).rows).toEqual([{ Variable_name: 'CacheAge', Value: '' }]);
      expect((await c.query("SHOW TQDB STATUS LIKE '_n%'")).rows.map((r) => r.Variable_name)).toEqual(['InTransaction']);
      expect((await c.query("SHOW TQDB STATUS LIKE '%'")).rows.length).toBe(5);
      expect((await c.query("SHOW TQDB STATUS LIKE 'nothing%'")).rows).toEqual([]);
    });

    it('reports the transaction state the server reports', async () => {
      await c.query('BEGIN');
      expect((await c.status('InTransaction')).InTransaction).toBe('1');
      await c.query('ROLLBACK');
      expect((await c.status('InTransaction')).InTransaction).toBe('0');
    });

    it('is not sent to the server: the server would reject it', async () => {
      const d = await driver.connect(driver.directPort);
      try {
        expect((await d.queryError('SHOW TQDB STATUS')).code).toBe(driver.codes.syntaxError);
      } finally {
        await d.end();
      }
    });
  });
}
