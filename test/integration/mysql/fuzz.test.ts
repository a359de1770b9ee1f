/**
 * Issue #10: a seeded fuzz of the handshake and command phases through the
 * proxy. At least 20,000 malformed packets within a bounded time; the proxy
 * must not crash or hang (every complete packet gets an answer or a close),
 * and a well-behaved client beside the fuzzers gets 0 wrong answers.
 *
 * Replay a failure with TQDB_FUZZ_SEED=<seed printed on failure>.
 * The backend is a throwaway mariadbd: fuzzed commands are sent to a server as
 * root, and the shared one is not ours to stress. Commands that act beyond the
 * connection (SHUTDOWN, PROCESS_KILL, REFRESH) are never generated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import mysql from 'mysql2/promise';
import { startMariaDb, type MariaDbServer } from '../../support/mariadb.ts';
import { startProxy, type ProxyProcess } from '../../support/proxy.ts';
import { RawMysqlClient } from '../../support/raw-mysql.ts';

const TARGET_PACKETS = 20_000;
const BUDGET_MS = 50_000;
const WORKERS = 8;
/** A complete packet without any answer or close for this long is a hang. */
const HANG_MS = 5_000;

const seed = Number(process.env.TQDB_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: small, fast, and the same sequence for the same seed. */
function prng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const bytes = (r: Rand, n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(r, 256)));

/** Byte flips, truncation, extension: a valid packet made wrong. */
function mutate(r: Rand, payload: Buffer): Buffer {
  let out = Buffer.from(payload);
  const ops = 1 + int(r, 4);
  for (let i = 0; i < ops; i++) {
    switch (int(r, 5)) {
      case 0:
        if (out.length > 0) out[int(r, out.length)] = int(r, 256);
        break;
      case 1:
        out = out.subarray(0, int(r, out.length + 1));
        break;
      case 2:
        out = Buffer.concat([out, bytes(r, 1 + int(r, 64))]);
        break;
      case 3:
        if (out.length > 1) out[1 + int(r, out.length - 1)] = [0x00, 0xff, 0xfe, 0xfb, 0xfc, 0xfd][int(r, 6)]!;
        break;
      default:
        out = Buffer.concat([out.subarray(0, int(r, out.length + 1)), bytes(r, int(r, 16))]);
    }
  }
  return out;
}

function handshakeResponse(r: Rand): Buffer {
  const head = Buffer.alloc(32);
  head.writeUInt32LE((0x000aa205 | (int(r, 4) === 0 ? int(r, 2 ** 31) : 0)) >>> 0, 0);
  head.writeUInt32LE(16 * 1024 * 1024, 4);
  head[8] = 45;
  return Buffer.concat([head, Buffer.from('root\0'), Buffer.from([0]), Buffer.from('test\0mysql_native_password\0')]);
}

/** Commands whose answers stay on this connection (never SHUTDOWN 0x08, REFRESH 0x07, PROCESS_KILL 0x0c). */
const SAFE_COMMANDS = [0x02, 0x03, 0x04, 0x09, 0x0a, 0x0d, 0x0e, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0xfa, 0x00, 0x05, 0x06, 0x20, 0x7f, 0xff];

function commandPacket(r: Rand): Buffer {
  const base = [
    Buffer.from("\x03SELECT 1, 'fuzz'"),
    Buffer.from('\x03/* ttl:5 file:fuzz.go line:1 */ SELECT 2'),
    Buffer.from('\x16SELECT ?, ?'),
    Buffer.concat([Buffer.from([0x17]), bytes(r, 4), Buffer.from([0, 1, 0, 0, 0, 0, 1, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0])]),
    Buffer.from('\x02test'),
    Buffer.from('\x04seq_1_to_3\0'),
    Buffer.concat([Buffer.from([0x1c]), bytes(r, 4), Buffer.from([1, 0, 0, 0])]),
    Buffer.concat([Buffer.from([0x1a]), bytes(r, 4)]),
  ][int(r, 8)]!;
  const choice = int(r, 10);
  if (choice < 6) {
    const out = mutate(r, base);
    // Never let a mutation turn into a command that acts beyond this connection.
    if (out.length > 0 && !SAFE_COMMANDS.includes(out[0]!)) out[0] = 0x03;
    return out;
  }
  if (choice < 8) return Buffer.concat([Buffer.from([SAFE_COMMANDS[int(r, SAFE_COMMANDS.length)]!]), bytes(r, int(r, 40))]);
  if (choice < 9 && int(r, 4) === 0) return Buffer.alloc(0); // empty command: a protocol violation
  return Buffer.concat([Buffer.from([0x03]), Buffer.from('SELECT '), bytes(r, int(r, 200))]);
}

function frame(seq: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(payload.length, 0, 3);
  h[3] = seq & 0xff;
  return Buffer.concat([h, payload]);
}

interface Tally {
  packets: number;
  hangs: string[];
  connections: number;
}

/** Waits until the client received more than `before` bytes or closed; false after HANG_MS. */
function answered(c: RawMysqlClient, before: number): Promise<boolean> {
  return c.waitForBytesOrClose(before, HANG_MS);
}

async function fuzzHandshake(r: Rand, port: number, tally: Tally): Promise<void> {
  const c = await RawMysqlClient.connect(port);
  tally.connections++;
  try {
    const kind = int(r, 6);
    let packet: Buffer;
    if (kind === 0) packet = frame(int(r, 256), bytes(r, int(r, 300)));
    else if (kind === 1) packet = frame(1, Buffer.alloc(0));
    else if (kind === 2) {
      // A lying header: more than the pre-login cap; the proxy must close without waiting for it.
      const h = Buffer.from([0, 0, 0, 1]);
      h.writeUIntLE(20_000 + int(r, 0xffffff - 20_000), 0, 3);
      packet = Buffer.concat([h, bytes(r, 64)]);
    } else packet = frame(int(r, 3) === 0 ? int(r, 256) : 1, mutate(r, handshakeResponse(r)));
    const before = c.bytesReceived;
    c.write(packet);
    tally.packets++;
    const announced = packet.readUIntLE(0, 3);
    if (announced + 4 <= packet.length && !(await answered(c, before))) tally.hangs.push(`handshake packet ${packet.subarray(0, 48).toString('hex')}`);
  } finally {
    c.destroy();
  }
}

async function fuzzCommands(r: Rand, port: number, tally: Tally, deadline: number): Promise<void> {
  const c = await RawMysqlClient.connect(port);
  tally.connections++;
  try {
    await c.login({ database: 'test' });
    for (let i = 0; i < 100 && !c.isClosed && performance.now() < deadline && tally.packets < TARGET_PACKETS; i++) {
      const payload = commandPacket(r);
      const seq = int(r, 8) === 0 ? int(r, 256) : 0;
      const before = c.bytesReceived;
      // A COM_PING behind each fuzzed packet: commands that have no answer of their own get one then.
      c.write(Buffer.concat([frame(seq, payload), frame(0, Buffer.from([0x0e]))]));
      tally.packets++;
      if (!(await answered(c, before))) {
        tally.hangs.push(`command packet seq ${seq} ${payload.subarray(0, 48).toString('hex')}`);
        return;
      }
    }
  } catch {
    // Login refused or the connection closed under us: the proxy's answer to what we sent.
  } finally {
    c.destroy();
  }
}

let server: MariaDbServer;
let proxy: ProxyProcess;

beforeAll(async () => {
  server = await startMariaDb({ maxConnections: 300 });
  proxy = await startProxy({ backendPort: server.port, ini: '[mariadb]\nmax_packet_size = 1048576\nhandshake_timeout_ms = 5000' });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

describe(`fuzz (seed ${seed})`, () => {
  it(`${TARGET_PACKETS} malformed handshake and command packets: no crash, no hang, a good client never wrong`, async () => {
    console.log(`fuzz seed ${seed} (replay with TQDB_FUZZ_SEED=${seed})`);
    const tally: Tally = { packets: 0, hangs: [], connections: 0 };
    const deadline = performance.now() + BUDGET_MS;
    let isDone = false;

    const good = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: 'test' });
    let checks = 0;
    let wrong = 0;
    const goodLoop = (async () => {
      const r = prng(seed ^ 0x5eed);
      while (!isDone) {
        const n = int(r, 1_000_000);
        const [rows] = await good.query('SELECT ? + 1 AS v', [n]);
        checks++;
        if (Number((rows as { v: number }[])[0]?.v) !== n + 1) wrong++;
        // Paced, not a busy loop: the fuzzers and the proxy share two cores with it.
        await Bun.sleep(1);
      }
    })();

    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      const r = prng(seed + w * 7919);
      while (tally.packets < TARGET_PACKETS && performance.now() < deadline && tally.hangs.length === 0) {
        try {
          if (int(r, 3) === 0) await fuzzHandshake(r, proxy.port, tally);
          else await fuzzCommands(r, proxy.port, tally, deadline);
        } catch (error) {
          // A refused connect means the proxy is gone: that is the crash we look for.
          if (proxy.proc.exitCode !== null) throw new Error(`proxy exited (${proxy.proc.exitCode}) with seed ${seed}: ${String(error)}`);
        }
      }
    });
    await Promise.all(workers);
    isDone = true;
    await goodLoop;
    await good.end();

    console.log(`fuzz: ${tally.packets} packets over ${tally.connections} connections; good client ${checks} checks, ${wrong} wrong`);
    expect(proxy.proc.exitCode, `seed ${seed}: the proxy exited`).toBeNull();
    expect(tally.hangs, `seed ${seed}: packets with neither an answer nor a close within ${HANG_MS} ms`).toEqual([]);
    expect(tally.packets, `seed ${seed}`).toBeGreaterThanOrEqual(TARGET_PACKETS);
    expect(wrong, `seed ${seed}`).toBe(0);
    expect(checks).toBeGreaterThan(0);
    expect(proxy.stderr(), `seed ${seed}`).not.toContain('internal error');
  }, 90_000);
});
