// SIGHUP reload: a changed setting in this protocol's section reaches new connections, and open
// ones keep serving.
import { describe, expect, it } from 'bun:test';
import type { ProtocolDriver } from '../../support/protocol-client.ts';

export function reloadCase(driver: ProtocolDriver): void {
  describe(`SIGHUP reload (${driver.name})`, () => {
    it('applies a new max_packet_size to new connections and keeps open ones serving', async () => {
      await using proxy = await driver.startProxy({ section: ['max_packet_size = 65536'] });
      const port = driver.port(proxy);
      const big = `SELECT length('${'x'.repeat(200_000)}') AS n`;
      const open = await driver.connect(port);
      try {
        const before = await driver.connect(port);
        expect((await before.queryError(big)).code).toBe(driver.codes.packetTooLarge);
        await before.end();

        const config = await Bun.file(proxy.configPath).text();
        expect(config).toContain('max_packet_size=65536');
        await Bun.write(proxy.configPath, config.replace('max_packet_size=65536', 'max_packet_size=1048576'));
        proxy.signal('SIGHUP');
        await proxy.waitForStderr(/config reloaded/);

        const after = await driver.connect(port);
        try {
          expect((await after.query(big)).rows.map((r) => Number(r.n))).toEqual([200_000]);
        } finally {
          await after.end();
        }
        expect((await open.query('SELECT 1 AS one')).rows.map((r) => Number(r.one))).toEqual([1]);
      } finally {
        await open.end();
      }
    });

    it('turns write batching on for connections that were already open', async () => {
      const table = `cc_${driver.name}_reload`;
      const direct = await driver.connect(driver.directPort);
      await direct.query(`DROP TABLE IF EXISTS ${table}`);
      await direct.query(`CREATE TABLE ${table} (id ${driver.autoIdColumn}, v INT)`);
      try {
        await using proxy = await driver.startProxy({ section: ['writebatch_enabled = false'] });
        const labels = { protocol: driver.name };
        const c = await driver.connect(driver.port(proxy));
        try {
          expect((await c.query(`INSERT INTO ${table} (v) VALUES (1)`)).affectedRows).toBe(1);
          expect(await proxy.metricValue('tqdbproxy_write_excluded_total', { ...labels, reason: 'disabled' })).toBe(1);
          const config = await Bun.file(proxy.configPath).text();
          expect(config).toContain('writebatch_enabled=false');
          await Bun.write(proxy.configPath, config.replace('writebatch_enabled=false', 'writebatch_enabled=true'));
          proxy.signal('SIGHUP');
          await proxy.waitForStderr(/config reloaded/);
          const before = await proxy.metricValue('tqdbproxy_write_batched_total', labels);
          expect((await c.query(`INSERT INTO ${table} (v) VALUES (2)`)).affectedRows).toBe(1);
          expect(await proxy.metricValue('tqdbproxy_write_batched_total', labels)).toBe(before + 1);
          expect((await direct.query(`SELECT v FROM ${table} ORDER BY v`)).rows.map((r) => Number(r.v))).toEqual([1, 2]);
        } finally {
          await c.end();
        }
      } finally {
        await direct.query(`DROP TABLE IF EXISTS ${table}`);
        await direct.end();
      }
    });
  });
}
