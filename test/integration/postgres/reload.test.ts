// SIGHUP reloads the [postgres] section as it does [mariadb]: new connections get the new config,
// open ones keep working.
import { describe, expect, it } from 'bun:test';
import pg from 'pg';
import { startProxy } from '../../support/proxy.ts';

describe('PostgreSQL SIGHUP reload', () => {
  it('applies a new max_packet_size to new connections and keeps open ones serving', async () => {
    await using proxy = await startProxy({ protocols: ['postgres'], ini: '[postgres]\nmax_packet_size = 65536' });
    const port = proxy.listeners.postgres!.port;
    const big = `SELECT length('${'x'.repeat(200_000)}') AS n`;
    const open = new pg.Client({ host: '127.0.0.1', port, user: 'root', database: 'test' });
    await open.connect();
    try {
      const before = new pg.Client({ host: '127.0.0.1', port, user: 'root', database: 'test' });
      await before.connect();
      before.on('error', () => {});
      const refused = await before.query(big).catch((e: unknown) => e);
      expect((refused as { code?: string }).code).toBe('08P01');
      await before.end().catch(() => {});

      const config = await Bun.file(proxy.configPath).text();
      await Bun.write(proxy.configPath, config.replace('max_packet_size=65536', 'max_packet_size=1048576'));
      proxy.signal('SIGHUP');
      await proxy.waitForStderr(/config reloaded/);

      const after = new pg.Client({ host: '127.0.0.1', port, user: 'root', database: 'test' });
      await after.connect();
      try {
        expect((await after.query(big)).rows).toEqual([{ n: 200_000 }]);
      } finally {
        await after.end();
      }
      expect((await open.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await open.end();
    }
  });
});
