// Accepts MariaDB clients on TCP and, optionally, a unix socket.
import { ClientListener } from '../net/client-listener.ts';
import { errPacketFor } from './errors.ts';
import { ClientConnection } from './frontend.ts';
import type { MysqlServices } from './services.ts';
import { writeErr } from './wire/packets/err.ts';
import { PacketWriter } from './wire/writer.ts';

export class MysqlServer extends ClientListener<ClientConnection, MysqlServices> {
  constructor(services: MysqlServices) {
    super(
      {
        section: '[mariadb]',
        encodeRefusal(message) {
          // Before the greeting: sequence 0 and no SQLSTATE, as mariadbd's own 1040.
          const w = new PacketWriter().begin();
          writeErr(w, errPacketFor('TOO_MANY_CONNECTIONS', message), false);
          w.end(0);
          return Uint8Array.from(w.finish()); // owned: the writer is not kept
        },
        connect: (socket, services, ticket) => new ClientConnection(socket, services, ticket),
      },
      services,
    );
  }
}
