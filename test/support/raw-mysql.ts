/**
 * A deliberately minimal MySQL-protocol client over a raw socket, for fault
 * tests that a real driver will not perform: send garbage before or after
 * login, vanish in the middle of a result set, read exactly what the proxy
 * sends before it closes. Everything else uses mysql2 or the `mariadb` CLI.
 *
 * Login supports an empty password only (the test servers' root), which needs
 * no scramble: the auth response is zero bytes for every plugin we meet.
 * Packets are returned as physical packets (no 16 MiB reassembly).
 * https://mariadb.com/kb/en/connection/
 */

/** Capability flags used by `login` (https://mariadb.com/kb/en/connection/#capabilities). */
const Capability = {
  LongPassword: 1 << 0, // CLIENT_MYSQL
  LongFlag: 1 << 2, // CLIENT_LONG_FLAG
  ConnectWithDb: 1 << 3, // CLIENT_CONNECT_WITH_DB
  Protocol41: 1 << 9, // CLIENT_PROTOCOL_41
  Transactions: 1 << 13, // CLIENT_TRANSACTIONS
  SecureConnection: 1 << 15, // CLIENT_SECURE_CONNECTION
  MultiResults: 1 << 17, // CLIENT_MULTI_RESULTS
  PluginAuth: 1 << 19, // CLIENT_PLUGIN_AUTH
} as const;

const COM_QUERY = 0x03;
const UTF8MB4_GENERAL_CI = 45;

export interface ServerHandshake {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  capabilities: number;
  statusFlags: number;
  authPluginName: string;
}

export interface RawPacket {
  seq: number;
  payload: Buffer;
}

/** An ERR packet from the server (or the proxy), decoded. */
export class MysqlErrorPacket extends Error {
  constructor(
    readonly errno: number,
    readonly sqlState: string,
    message: string,
  ) {
    super(`ERROR ${errno} (${sqlState}): ${message}`);
    this.name = 'MysqlErrorPacket';
  }

  static isErr(payload: Buffer): boolean {
    return payload.length > 0 && payload[0] === 0xff;
  }

  static decode(payload: Buffer): MysqlErrorPacket {
    const errno = payload.readUInt16LE(1);
    const hasState = payload[3] === 0x23; // '#'
    const sqlState = hasState ? payload.toString('latin1', 4, 9) : '';
    const message = payload.toString('utf8', hasState ? 9 : 3);
    return new MysqlErrorPacket(errno, sqlState, message);
  }
}

type SocketData = { client: RawMysqlClient };

export class RawMysqlClient {
  /** The server greeting; undefined until `connect` has read it. */
  handshake: ServerHandshake | undefined;
  private socket: Bun.Socket<SocketData> | undefined;
  private inbox = Buffer.alloc(0);
  private pendingWrites: Uint8Array[] = [];
  private wakeReaders: Array<() => void> = [];
  private isSocketClosed = false;
  private totalReceived = 0;

  private constructor() {}

  /**
   * Opens a TCP connection and reads the server greeting. Rejects with a
   * `MysqlErrorPacket` when the server answers with ERR instead (too many
   * connections, backend unavailable behind a proxy).
   */
  static async connect(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<RawMysqlClient> {
    const client = new RawMysqlClient();
    client.socket = await Bun.connect<SocketData>({
      hostname: host,
      port,
      data: { client },
      socket: {
        data(socket, chunk) {
          socket.data.client.onData(chunk);
        },
        drain(socket) {
          socket.data.client.flush();
        },
        close(socket) {
          socket.data.client.onClose();
        },
        error(socket) {
          socket.data.client.onClose();
        },
      },
    });
    const greeting = await client.readPacket(timeoutMs);
    if (MysqlErrorPacket.isErr(greeting.payload)) {
      client.destroy();
      throw MysqlErrorPacket.decode(greeting.payload);
    }
    client.handshake = parseHandshake(greeting.payload);
    return client;
  }

  /** Bytes received so far, including packets already read. */
  get bytesReceived(): number {
    return this.totalReceived;
  }

  get isClosed(): boolean {
    return this.isSocketClosed;
  }

  /**
   * Logs in with an empty password. Follows one AuthSwitchRequest (answered
   * with an empty response). Rejects with the server's `MysqlErrorPacket`.
   */
  async login(options: { user?: string; database?: string; timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    let capabilities =
      Capability.LongPassword |
      Capability.LongFlag |
      Capability.Protocol41 |
      Capability.Transactions |
      Capability.SecureConnection |
      Capability.MultiResults |
      Capability.PluginAuth;
    if (options.database !== undefined) capabilities |= Capability.ConnectWithDb;
    const head = Buffer.alloc(32);
    head.writeUInt32LE(capabilities >>> 0, 0);
    head.writeUInt32LE(16 * 1024 * 1024, 4);
    head[8] = UTF8MB4_GENERAL_CI;
    const parts: Buffer[] = [head, cstr(options.user ?? 'root'), Buffer.from([0])]; // 0: empty auth response
    if (options.database !== undefined) parts.push(cstr(options.database));
    parts.push(cstr(this.handshake?.authPluginName || 'mysql_native_password'));
    this.writePacket(1, Buffer.concat(parts));

    for (let round = 0; round < 2; round++) {
      const reply = await this.readPacket(timeoutMs);
      const marker = reply.payload[0];
      if (marker === 0x00) return;
      if (marker === 0xff) throw MysqlErrorPacket.decode(reply.payload);
      if (marker === 0xfe && round === 0) {
        this.writePacket((reply.seq + 1) & 0xff, Buffer.alloc(0));
        continue;
      }
      throw new Error(`unexpected packet during login: 0x${marker?.toString(16)}`);
    }
    throw new Error('login did not finish after an auth switch');
  }

  /** Sends COM_QUERY with sequence id 0. */
  sendQuery(sql: string): void {
    this.writePacket(0, Buffer.concat([Buffer.from([COM_QUERY]), Buffer.from(sql, 'utf8')]));
  }

  /** Frames `payload` as one packet (it must be under 16 MiB) and sends it. */
  writePacket(seq: number, payload: Uint8Array): void {
    if (payload.length >= 0xffffff) throw new RangeError('writePacket sends one physical packet; payload too large');
    const header = Buffer.alloc(4);
    header.writeUIntLE(payload.length, 0, 3);
    header[3] = seq;
    this.write(Buffer.concat([header, payload]));
  }

  /** Sends bytes as they are: garbage, truncated packets, a lying length header. */
  write(bytes: Uint8Array): void {
    if (this.isSocketClosed) throw new Error('the connection is closed');
    this.pendingWrites.push(bytes);
    this.flush();
  }

  /**
   * The next physical packet. Rejects when the connection closes first (with
   * the number of bytes left unframed) or after `timeoutMs`.
   */
  async readPacket(timeoutMs = 10_000): Promise<RawPacket> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.inbox.length >= 4) {
        const len = this.inbox.readUIntLE(0, 3);
        if (this.inbox.length >= 4 + len) {
          const packet = { seq: this.inbox[3], payload: Buffer.from(this.inbox.subarray(4, 4 + len)) };
          this.inbox = this.inbox.subarray(4 + len);
          return packet;
        }
      }
      if (this.isSocketClosed) {
        throw new Error(`the connection closed before a complete packet arrived (${this.inbox.length} bytes pending)`);
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw new Error(`no complete packet within ${timeoutMs} ms`);
      await this.waitForData(remaining);
    }
  }

  /**
   * Resolves true once more than `count` bytes have arrived in all or the peer
   * closed, false when `timeoutMs` passes first (a fuzzer's "no answer").
   */
  async waitForBytesOrClose(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.totalReceived <= count && !this.isSocketClosed) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      await this.waitForData(remaining);
    }
    return true;
  }

  /** Resolves with whether the peer closed the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.isSocketClosed) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      await this.waitForData(remaining);
    }
    return true;
  }

  /**
   * Closes abruptly, the way a crashed client disappears: the socket is
   * terminated without a COM_QUIT, discarding anything unsent.
   */
  destroy(): void {
    if (this.socket !== undefined && !this.isSocketClosed) this.socket.terminate();
    this.onClose();
  }

  /** Sends COM_QUIT and closes, the way a well-behaved client leaves. */
  quit(): void {
    if (this.isSocketClosed) return;
    this.writePacket(0, Buffer.from([0x01]));
    this.socket?.end();
  }

  private onData(chunk: Buffer): void {
    this.totalReceived += chunk.length;
    this.inbox = this.inbox.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.inbox, chunk]);
    this.wake();
  }

  private onClose(): void {
    this.isSocketClosed = true;
    this.pendingWrites = [];
    this.wake();
  }

  /** Writes what the socket accepts; the rest waits for `drain`. */
  private flush(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    while (this.pendingWrites.length > 0) {
      const head = this.pendingWrites[0];
      const written = socket.write(head);
      if (written < 0) {
        this.onClose();
        return;
      }
      if (written < head.length) {
        this.pendingWrites[0] = head.subarray(written);
        return;
      }
      this.pendingWrites.shift();
    }
  }

  private wake(): void {
    const readers = this.wakeReaders;
    this.wakeReaders = [];
    for (const wake of readers) wake();
  }

  private waitForData(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeReaders.push(done);
    });
  }
}

function cstr(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
}

/** Initial handshake packet, protocol version 10. */
function parseHandshake(payload: Buffer): ServerHandshake {
  let at = 0;
  const protocolVersion = payload[at++];
  if (protocolVersion !== 10) throw new Error(`unexpected handshake protocol version ${protocolVersion}`);
  const versionEnd = payload.indexOf(0, at);
  const serverVersion = payload.toString('latin1', at, versionEnd);
  at = versionEnd + 1;
  const connectionId = payload.readUInt32LE(at);
  at += 4 + 8 + 1; // auth-plugin-data part 1, filler
  const capabilitiesLow = payload.readUInt16LE(at);
  at += 2 + 1; // capabilities (lower), default collation
  const statusFlags = payload.readUInt16LE(at);
  at += 2;
  const capabilitiesHigh = payload.readUInt16LE(at);
  at += 2;
  const authDataLength = payload[at++];
  at += 10; // reserved (MariaDB: filler + extended capabilities)
  const capabilities = (capabilitiesLow | (capabilitiesHigh << 16)) >>> 0;
  let authPluginName = '';
  if ((capabilities & Capability.SecureConnection) !== 0) at += Math.max(13, authDataLength - 8);
  if ((capabilities & Capability.PluginAuth) !== 0 && at < payload.length) {
    const end = payload.indexOf(0, at);
    authPluginName = payload.toString('latin1', at, end === -1 ? payload.length : end);
  }
  return { protocolVersion, serverVersion, connectionId, capabilities, statusFlags, authPluginName };
}
