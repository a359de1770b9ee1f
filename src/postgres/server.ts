// Accepts PostgreSQL clients on TCP and, optionally, a unix socket.
import { ClientListener } from '../net/client-listener.ts';
import { errorResponseFor } from './errors.ts';
import { PgClientConnection } from './frontend.ts';
import type { PgServices } from './services.ts';
import { writeErrorResponse } from './wire/messages.ts';
import { MessageWriter } from './wire/writer.ts';

export class PgServer extends ClientListener<PgClientConnection, PgServices> {
  constructor(services: PgServices) {
    super(
      {
        section: '[postgres]',
        // PostgreSQL's own answer when it is full: FATAL 53300, before anything else.
        encodeRefusal: (message) => Uint8Array.from(writeErrorResponse(new MessageWriter(), errorResponseFor('TOO_MANY_CONNECTIONS', message)).finish()), // owned: the writer is not kept
        connect: (socket, services, ticket) => new PgClientConnection(socket, services, ticket),
      },
      services,
    );
  }
}
