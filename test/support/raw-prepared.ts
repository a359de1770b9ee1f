/**
 * Prepared statements over a RawMysqlClient, sent the way libmariadb sends
 * them: COM_STMT_EXECUTE carries the parameter types only on the first
 * execute of a statement (new_params_bound_flag = 1), and 0 afterwards while
 * the types stay the same. mysql2 sends them every time, so only a client
 * like this (or sysbench, PHP, MySQLdb) exercises the proxy's handling of
 * statements whose types were bound by an earlier execute.
 */
import { MysqlErrorPacket, RawMysqlClient } from './raw-mysql.ts';

const COM_STMT_PREPARE = 0x16;
const COM_STMT_EXECUTE = 0x17;
const MYSQL_TYPE_LONGLONG = 0x08;

export interface OkResult {
  affectedRows: number;
  insertId: number;
}

/** A statement prepared on one raw connection; `execute` binds BIGINT parameters. */
export class RawPreparedStatement {
  private hasSentTypes = false;

  private constructor(
    private readonly client: RawMysqlClient,
    readonly id: number,
    readonly paramCount: number,
  ) {}

  /** Prepares `sql`, reading the parameter and column definitions (the client runs without DEPRECATE_EOF). */
  static async prepare(client: RawMysqlClient, sql: string): Promise<RawPreparedStatement> {
    client.writePacket(0, Buffer.concat([Buffer.from([COM_STMT_PREPARE]), Buffer.from(sql, 'utf8')]));
    const first = await client.readPacket();
    if (MysqlErrorPacket.isErr(first.payload)) throw MysqlErrorPacket.decode(first.payload);
    const id = first.payload.readUInt32LE(1);
    const columns = first.payload.readUInt16LE(5);
    const params = first.payload.readUInt16LE(7);
    for (const count of [params, columns]) {
      if (count === 0) continue;
      for (let i = 0; i < count; i++) await client.readPacket();
      await client.readPacket(); // EOF
    }
    return new RawPreparedStatement(client, id, params);
  }

  /** Executes with `values` as signed BIGINTs (null: SQL NULL); resolves with the OK's fields or rejects with the ERR. */
  async execute(values: readonly (bigint | null)[]): Promise<OkResult> {
    if (values.length !== this.paramCount) throw new RangeError(`expected ${this.paramCount} values`);
    const bitmapLength = (this.paramCount + 7) >> 3;
    const head = Buffer.alloc(10 + bitmapLength + 1);
    head[0] = COM_STMT_EXECUTE;
    head.writeUInt32LE(this.id, 1);
    head[5] = 0; // CURSOR_TYPE_NO_CURSOR
    head.writeUInt32LE(1, 6); // iteration count
    values.forEach((value, i) => {
      if (value === null) head[10 + (i >> 3)]! |= 1 << (i & 7);
    });
    const sendTypes = !this.hasSentTypes;
    head[10 + bitmapLength] = sendTypes ? 1 : 0;
    const parts: Buffer[] = [head];
    if (sendTypes) {
      const types = Buffer.alloc(2 * this.paramCount);
      for (let i = 0; i < this.paramCount; i++) types[2 * i] = MYSQL_TYPE_LONGLONG;
      parts.push(types);
      this.hasSentTypes = true;
    }
    for (const value of values) {
      if (value === null) continue;
      const v = Buffer.alloc(8);
      v.writeBigInt64LE(value);
      parts.push(v);
    }
    this.client.writePacket(0, Buffer.concat(parts));
    const reply = await this.client.readPacket();
    if (MysqlErrorPacket.isErr(reply.payload)) throw MysqlErrorPacket.decode(reply.payload);
    if (reply.payload[0] !== 0x00) throw new Error(`expected OK, got 0x${reply.payload[0]?.toString(16)}`);
    let at = 1;
    const lenenc = (): number => {
      const b = reply.payload[at++]!;
      if (b < 0xfb) return b;
      const size = b === 0xfc ? 2 : b === 0xfd ? 3 : 8;
      const n = Number(reply.payload.readUIntLE(at, Math.min(size, 6)));
      at += size;
      return n;
    };
    const affectedRows = lenenc();
    const insertId = lenenc();
    return { affectedRows, insertId };
  }
}

/** `count` raw clients logged in to `database`, each with `sql` prepared. Close them with `client.quit()`. */
export async function connectPrepared(port: number, count: number, sql: string, database = 'test'): Promise<{ client: RawMysqlClient; statement: RawPreparedStatement }[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = await RawMysqlClient.connect(port);
      await client.login({ database });
      return { client, statement: await RawPreparedStatement.prepare(client, sql) };
    }),
  );
}
