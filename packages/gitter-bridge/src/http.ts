/**
 * The HTTP transport handed to the Gitter protocol layer (which imports no core code): the core's
 * HttpPool, one per API origin, shared by every client of it (the relay, puppets, token checks),
 * as fetch's global pool was.
 */
import { HttpPools } from '@causeway/bridge-core';
import type { HttpTransport } from './gitter';

const rest = new HttpPools({ connections: 16 });
/** Streams hold their connection while open, one per room: they get pools of their own, without a limit. */
const streams = new HttpPools({ connections: null });

export const gitterHttp: HttpTransport = {
  request: ({ origin, ...req }) => rest.for(origin).request(req),
  stream: ({ origin, ...req }) => streams.for(origin).stream(req),
};
