// The Bun socket handlers both protocols' connections use: each connection object is the
// socket's `data`, and the handlers only route events to it.
import type { Socket, SocketHandler } from 'bun';
import type { OutQueue } from './out-queue.ts';

/** What a server-facing connection offers its socket's handlers. */
export interface BackendSocketOwner {
  /** True once the link was upgraded: the raw socket then sees only ciphertext. */
  readonly isTls: boolean;
  readonly out: OutQueue | null;
  onData(chunk: Uint8Array): void;
  /** The socket closed or failed; `error` is set when it was not our doing. */
  onClose(error: Error | null): void;
  onTlsHandshake(socket: Socket<this>, isOk: boolean, error: Error | null): void;
}

/**
 * Handlers for a server-facing socket (`plain`, which also hears connect
 * errors) and for the TLS socket that replaces it after an upgrade (`tls`).
 */
export function backendSocketHandlers<T extends BackendSocketOwner>(): { plain: SocketHandler<T>; tls: SocketHandler<T> } {
  const shared = {
    drain(socket: Socket<T>) {
      socket.data.out?.drain();
    },
    close(socket: Socket<T>, error?: Error) {
      socket.data.onClose(error ?? null);
    },
    error(socket: Socket<T>, error: Error) {
      socket.data.onClose(error);
    },
    end(socket: Socket<T>) {
      socket.end();
    },
  };
  return {
    plain: {
      ...shared,
      data(socket, chunk) {
        // After upgradeTLS the raw socket still sees the ciphertext; the TLS socket delivers the plaintext.
        if (socket.data.isTls) return;
        socket.data.onData(chunk);
      },
      connectError(socket, error) {
        socket.data.onClose(error);
      },
    },
    tls: {
      ...shared,
      data(socket, chunk) {
        socket.data.onData(chunk);
      },
      handshake(socket, isOk, error) {
        socket.data.onTlsHandshake(socket, isOk, error);
      },
    },
  };
}

/** What a client connection offers the handlers of its socket after a TLS upgrade. */
export interface ClientTlsSocketOwner {
  onClientData(chunk: Uint8Array): void;
  onClientDrain(): void;
  /** `alpn`: the protocol the client and the proxy agreed on, if any. */
  onClientTlsHandshake(isOk: boolean, error: Error | null, alpn: string | false | null): void;
  close(): void;
}

/** Handlers of a client socket after its TLS upgrade; the raw socket's handlers then ignore its data. */
export function clientTlsHandlers<T extends ClientTlsSocketOwner>(): SocketHandler<T> {
  return {
    data(socket, chunk) {
      socket.data.onClientData(chunk);
    },
    drain(socket) {
      socket.data.onClientDrain();
    },
    handshake(socket, isOk, error) {
      socket.data.onClientTlsHandshake(isOk, error, socket.alpnProtocol);
    },
    close(socket) {
      socket.data.close();
    },
    error(socket) {
      socket.data.close();
    },
    end(socket) {
      socket.data.close();
    },
  };
}
