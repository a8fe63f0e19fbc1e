/**
 * The HTTP transport handed to the Gitter protocol layer (which imports no core code): the core's
 * HttpPool, one per API origin, shared by every client of it (the relay, puppets, token checks),
 * as fetch's global pool was.
 */
import { HttpPool } from '@causeway/bridge-core';
import type { HttpTransport } from './gitter';

const pools = new Map<string, HttpPool>();
/** Streams hold their connection while open, one per room: they get pools of their own, without a limit. */
const streamPools = new Map<string, HttpPool>();

function poolFor(map: Map<string, HttpPool>, origin: string, connections: number | null): HttpPool {
  let pool = map.get(origin);
  if (!pool) map.set(origin, (pool = new HttpPool(origin, { connections })));
  return pool;
}

export const gitterHttp: HttpTransport = {
  request: ({ origin, ...req }) => poolFor(pools, origin, 16).request(req),
  stream: ({ origin, ...req }) => poolFor(streamPools, origin, null).stream(req),
};
