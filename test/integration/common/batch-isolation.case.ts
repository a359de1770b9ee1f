// Batched writes run as their own user, in their own database: writers of the same statement
// text from two databases and from a user without INSERT privilege, all at once, each get what
// they would get directly, and no row lands anywhere but its writer's database.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { DbClient, Login, ProtocolDriver } from '../../support/protocol-client.ts';
import type { ProxyProcess } from '../../support/proxy.ts';

const PER_GROUP = 12;

export function batchIsolationCase(driver: ProtocolDriver): void {
  describe(`write batching keeps users and databases apart (${driver.name})`, () => {
    const table = `cc_${driver.name}_wbiso`;
    const otherDatabase = `cc_${driver.name}_wbiso_db`;
    const reader = `cc_${driver.name}_wbiso_ro`;
    const isMariadb = driver.name === 'mariadb';
    const p = driver.param;
    let proxy: ProxyProcess;
    let direct: DbClient;
    let directOther: DbClient;

    const createTable = (c: DbClient): Promise<unknown> => c.query(`CREATE TABLE ${table} (id ${driver.autoIdColumn}, owner INT NOT NULL, v INT NOT NULL)`);

    beforeAll(async () => {
      direct = await driver.connect(driver.directPort);
      await dropAll();
      await direct.query(`CREATE DATABASE ${otherDatabase}`);
      await createTable(direct);
      directOther = await driver.connect(driver.directPort, { user: 'root', database: otherDatabase });
      await createTable(directOther);
      if (isMariadb) {
        await direct.query(`CREATE USER '${reader}'@'%' IDENTIFIED BY 'ro'`);
        await direct.query(`GRANT SELECT ON test.${table} TO '${reader}'@'%'`);
      } else {
        await direct.query(`CREATE ROLE ${reader} LOGIN`);
        await direct.query(`GRANT SELECT ON ${table} TO ${reader}`);
      }
      proxy = await driver.startProxy({ section: ['writebatch_enabled = true', 'writebatch_initial_delay_ms = 20', 'writebatch_min_delay_ms = 20', 'writebatch_max_delay_ms = 50'] });
    });

    async function dropAll(): Promise<void> {
      await direct.query(`DROP TABLE IF EXISTS ${table}`);
      await direct.query(`DROP DATABASE IF EXISTS ${otherDatabase}`);
      await direct.query(isMariadb ? `DROP USER IF EXISTS '${reader}'@'%'` : `DROP ROLE IF EXISTS ${reader}`);
    }

    afterAll(async () => {
      await proxy?.stop();
      await directOther?.end();
      if (direct !== undefined) {
        await dropAll();
        await direct.end();
      }
    });

    it('gives every writer its own database and its own privileges, even in one burst of one template', async () => {
      const port = driver.port(proxy);
      const open = (as: Login, n: number): Promise<DbClient[]> => Promise.all(Array.from({ length: n }, () => driver.connect(port, as)));
      const mine = await open({ user: 'root' }, PER_GROUP);
      const other = await open({ user: 'root', database: otherDatabase }, PER_GROUP);
      const readers = await open({ user: reader, password: 'ro' }, PER_GROUP);
      try {
        const sumBefore = await proxy.metricValue('tqdbproxy_write_batch_size_sum', { protocol: driver.name });
        const countBefore = await proxy.metricValue('tqdbproxy_write_batch_size_count', { protocol: driver.name });
        const sql = `INSERT INTO ${table} (owner, v) VALUES (${p(1)}, ${p(2)})`;
        const write = async (c: DbClient, owner: number): Promise<string> => {
          try {
            const results: string[] = [];
            for (let k = 0; k < 3; k++) results.push(String((await c.query(sql, [owner, k])).affectedRows));
            return results.join(',');
          } catch (error) {
            return `error ${(error as { code?: string }).code}`;
          }
        };
        const outcomes = await Promise.all([
          ...mine.map((c, i) => write(c, i)),
          ...other.map((c, i) => write(c, 100 + i)),
          ...readers.map((c, i) => write(c, 200 + i)),
        ]);
        expect(outcomes).toEqual([...Array(2 * PER_GROUP).fill('1,1,1'), ...Array(PER_GROUP).fill(`error ${driver.codes.permissionDenied}`)]);
        const owners = async (c: DbClient): Promise<number[]> => (await c.query(`SELECT owner FROM ${table} ORDER BY owner`)).rows.map((r) => Number(r.owner));
        const threeEach = (from: number): number[] => Array.from({ length: PER_GROUP }, (_, i) => [from + i, from + i, from + i]).flat();
        expect(await owners(direct)).toEqual(threeEach(0));
        expect(await owners(directOther)).toEqual(threeEach(100));
        // It did batch: the assertions above held for batches of more than one.
        const batches = (await proxy.metricValue('tqdbproxy_write_batch_size_count', { protocol: driver.name })) - countBefore;
        const batched = (await proxy.metricValue('tqdbproxy_write_batch_size_sum', { protocol: driver.name })) - sumBefore;
        expect(batched / batches).toBeGreaterThan(1);
      } finally {
        await Promise.all([...mine, ...other, ...readers].map((c) => c.end()));
      }
    });
  });
}
