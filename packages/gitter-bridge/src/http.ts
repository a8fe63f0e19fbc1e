/**
 * The HTTP transport handed to the Gitter protocol layer (which imports no core code): the core's
 * HttpPool, one per API origin, shared by every client of it (the relay, puppets, token checks),
 * as fetch's global pool was.
 */
import { HttpPool } from '@causeway/bridge-core';
import type { HttpTransport } from './gitter';

const pools = new Map<string, HttpPool>();

export const gitterHttp: HttpTransport = {
  request: ({ origin, ...req }) => {
    let pool = pools.get(origin);
    if (!pool) pools.set(origin, (pool = new HttpPool(origin, { connections: 16 })));
    return pool.request(req);
  },
};
