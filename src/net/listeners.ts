/**
 * The listening sockets of one protocol front end: its TCP or unix address
 * and an optional extra unix socket, with one-line bind failures and the
 * deeper accept queue. Both listeners use it; the handlers are theirs.
 */
import type { SocketHandler, TCPSocketListener, UnixSocketListener } from 'bun';
import { existsSync, unlinkSync } from 'node:fs';
import type { Address } from '../config/types.ts';
import { deepenListenBacklog } from './listen-backlog.ts';
import { listenFailure } from './listen-failure.ts';

export class Listeners<Data> {
  private listening: (TCPSocketListener<Data> | UnixSocketListener<Data>)[] = [];
  /** The config section bind failures name, e.g. `[mariadb]`. */
  private readonly section: string;

  constructor(section: string) {
    this.section = section;
  }

  /** Starts listening; returns the bound address text (TCP port 0 resolved). Throws a one-line error when it cannot bind. */
  listen(address: Address, socketPath: string | null, handlers: SocketHandler<Data>): string {
    let bound: string;
    if (address.kind === 'tcp') {
      let listener: TCPSocketListener<Data>;
      try {
        listener = Bun.listen<Data>({ hostname: address.host, port: address.port, socket: handlers });
      } catch (error) {
        throw listenFailure(`${this.section} listen`, address.text, error);
      }
      this.listening.push(listener);
      deepenListenBacklog(listener.port);
      bound = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${listener.port}`;
    } else {
      this.listening.push(this.listenUnix(address.path, handlers, `${this.section} listen`));
      bound = address.text;
    }
    if (socketPath !== null) this.listening.push(this.listenUnix(socketPath, handlers, `${this.section} socket`));
    return bound;
  }

  private listenUnix(path: string, handlers: SocketHandler<Data>, key: string): UnixSocketListener<Data> {
    try {
      // A stale socket file from a crashed run would make listen fail.
      if (existsSync(path)) unlinkSync(path);
      return Bun.listen<Data>({ unix: path, socket: handlers });
    } catch (error) {
      throw listenFailure(key, `unix:${path}`, error);
    }
  }

  /** Stops accepting new connections; existing ones continue. */
  stop(): void {
    for (const listener of this.listening) listener.stop(false);
    this.listening = [];
  }
}
